package server

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"

	"github.com/skip2/go-qrcode"

	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/phone"
	"github.com/crmprofi/crm/web/view"
)

// The pages of «Позвонить с телефона»: «Мой телефон» (/phone/), where a
// user pairs and unpairs their phone, the admin's list of everyone's
// phones (/admin/phones/), and the QR code's image.
//
// The QR code holds the pairing's secret. The database keeps its hash
// for the claim and, for the image, the QR code's link sealed with
// AES-GCM under a key derived from the server's secret key (and bound to
// the pairing's id): never the plain secret, and any process of the
// deployment can draw the image. The image is served at
// /api/phone/pairings/{id}/qr.png to the pairing's owner only, while it
// waits for a phone, with no caching; the URL carries no secret, so access
// logs never hold one.

// qrKey is the key that seals the QR codes' links, derived from the
// server's secret key.
func (s *Server) qrKey() []byte {
	key, err := hkdf.Key(sha256.New, []byte(s.cfg.SecretKey), nil, "crm phone pairing qr v1", 32)
	if err != nil {
		panic(err) // only for a length sha256 cannot give
	}
	return key
}

func (s *Server) qrCipher() cipher.AEAD {
	block, err := aes.NewCipher(s.qrKey())
	if err != nil {
		panic(err) // a 32-byte key always makes a cipher
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return aead
}

// sealQR encrypts a pairing's link, bound to its id.
func (s *Server) sealQR(id int64, link string) string {
	aead := s.qrCipher()
	nonce := make([]byte, aead.NonceSize())
	_, _ = rand.Read(nonce) // crypto/rand.Read never fails
	out := aead.Seal(nonce, nonce, []byte(link), []byte(strconv.FormatInt(id, 10)))
	return base64.RawURLEncoding.EncodeToString(out)
}

// openQR reads back what sealQR made for the pairing id.
func (s *Server) openQR(id int64, sealed string) (string, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(sealed)
	aead := s.qrCipher()
	if err != nil || len(raw) < aead.NonceSize() {
		return "", false
	}
	link, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte(strconv.FormatInt(id, 10)))
	return string(link), err == nil
}

// pairingLink is the link of the owner's pairing, while it waits.
func (s *Server) pairingLink(ctx context.Context, p phone.Pairing) (string, bool) {
	if p.Status != phone.PairingPending {
		return "", false
	}
	sealed, err := s.phones.SealedQR(ctx, p.ID)
	if err != nil || sealed == "" {
		return "", false
	}
	return s.openQR(p.ID, sealed)
}

// qrPath is where a pairing's QR code image is served.
func qrPath(id int64) string {
	return "/api/phone/pairings/" + strconv.FormatInt(id, 10) + "/qr.png"
}

// startPairing creates a pairing for the signed-in user and keeps its QR
// code for the image's URL.
func (s *Server) startPairing(r *http.Request) (phone.Pairing, string, error) {
	p, secret, err := s.phones.CreatePairing(r.Context(), scopeFrom(r))
	if err != nil {
		return phone.Pairing{}, "", err
	}
	link := PairingLink(s.siteURL(r), p.ID, secret)
	if err := s.phones.KeepQR(r.Context(), p.ID, s.sealQR(p.ID, link)); err != nil {
		return phone.Pairing{}, "", err
	}
	return p, link, nil
}

// pairingQRImage is GET /api/phone/pairings/{id}/qr.png: the owner's QR
// code while the pairing waits for a phone; 404 for anyone else, 410 once
// it has expired or been claimed.
func (s *Server) pairingQRImage(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	scope := scopeFrom(r)
	p, err := s.phones.GetPairing(r.Context(), scope, id)
	if err != nil {
		return err
	}
	if p.UserID != scope.UserID { // an admin may read the pairing, not its secret
		return apperr.ErrNotFound
	}
	link, ok := s.pairingLink(r.Context(), p)
	if !ok {
		return writeJSON(w, http.StatusGone, detail{Code: "pairing_expired", Detail: "Код истёк — создайте новый."})
	}
	png, err := qrcode.Encode(link, qrcode.Medium, 320)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(len(png)))
	_, err = w.Write(png)
	return err
}

// showPhonePage is «Мой телефон»: the paired phone, or how to pair one;
// ?pairing= shows a pairing in progress (the page's script asks for it
// again when the pairing changes).
func (s *Server) showPhonePage(w http.ResponseWriter, r *http.Request) error {
	scope := scopeFrom(r)
	u := userFrom(r)
	page := view.PhonePage{Location: u.Location(s.cfg.Location)}
	d, ok, err := s.phones.ActiveDevice(r.Context(), scope.UserID)
	if err != nil {
		return err
	}
	if ok {
		page.Device = &d
	}
	if v := r.URL.Query().Get("pairing"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return apperr.ErrNotFound
		}
		p, err := s.phones.GetPairing(r.Context(), scope, id)
		if err != nil {
			return err
		}
		if p.UserID != scope.UserID {
			return apperr.ErrNotFound
		}
		page.Pairing = &p
		if link, ok := s.pairingLink(r.Context(), p); ok {
			page.QRURL, page.Link = qrPath(id), link
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	return respond(w, r, http.StatusOK, nil, view.MyPhonePage(s.shell(r, "Мой телефон", ""), page))
}

// pairFromPage is the page's «Привязать телефон»: a new pairing, then the
// page with its QR code.
func (s *Server) pairFromPage(w http.ResponseWriter, r *http.Request) error {
	p, _, err := s.startPairing(r)
	if err != nil {
		return err
	}
	redirect(w, r, "/phone/?pairing="+strconv.FormatInt(p.ID, 10))
	return nil
}

// confirmFromPage and rejectFromPage answer the phone's request to pair
// from the page. A pairing that can no longer be confirmed (expired,
// already answered) comes back as the page of that pairing with a toast.
func (s *Server) confirmFromPage(w http.ResponseWriter, r *http.Request) error {
	return s.answerPairing(w, r, func(ctx context.Context, id int64) (phone.Pairing, error) {
		return s.phones.ConfirmPairing(ctx, scopeFrom(r), id, r.PostFormValue("confirm_code"))
	}, "Телефон привязан. Теперь рядом с номерами есть кнопка звонка с телефона.")
}

func (s *Server) rejectFromPage(w http.ResponseWriter, r *http.Request) error {
	return s.answerPairing(w, r, func(ctx context.Context, id int64) (phone.Pairing, error) {
		return s.phones.RejectPairing(ctx, scopeFrom(r), id)
	}, "Подключение отклонено.")
}

func (s *Server) answerPairing(w http.ResponseWriter, r *http.Request, act func(context.Context, int64) (phone.Pairing, error), ok string) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	back := "/phone/?pairing=" + strconv.FormatInt(id, 10)
	_, err = act(r.Context(), id)
	switch {
	case errors.Is(err, apperr.ErrConflict):
		setFlash(w, "error", "Привязку уже нельзя подтвердить: код истёк или на запрос уже ответили.")
		redirect(w, r, back)
		return nil
	case err != nil:
		var inv apperr.Invalid
		if errors.As(err, &inv) {
			setFlash(w, "error", "Код не совпадает. Создайте новый код и попробуйте снова.")
			redirect(w, r, back)
			return nil
		}
		return err
	}
	setFlash(w, "success", ok)
	redirect(w, r, "/phone/")
	return nil
}

// unpairFromPage is «Отвязать» on «Мой телефон» and in the admin's list.
func (s *Server) unpairFromPage(back string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		if err := s.phones.Revoke(r.Context(), scopeFrom(r), id); err != nil {
			return err
		}
		setFlash(w, "success", "Телефон отвязан.")
		redirect(w, r, back)
		return nil
	}
}

// adminPhones is /admin/phones/: everyone's phones.
func (s *Server) adminPhones(w http.ResponseWriter, r *http.Request) error {
	list, err := s.phones.Devices(r.Context(), scopeFrom(r), 0)
	if err != nil {
		return err
	}
	a := view.AdminPhones{Devices: list, Location: userFrom(r).Location(s.cfg.Location)}
	return respond(w, r, http.StatusOK, nil, view.AdminPhonesPage(s.shell(r, "Телефоны сотрудников", "admin"), a))
}

// canCall reports whether the signed-in user has a phone to call from:
// the pages show the call buttons only then. The statement that found
// the user read it (auth.RequestFacts); a request that may have paired or
// revoked a phone itself (not GET or HEAD) asks again. A failure hides
// the buttons rather than the page.
func (s *Server) canCall(r *http.Request) bool {
	if u := userFrom(r); u != nil && u.Request.PhoneKnown && readOnly(r) {
		return u.Request.Phone
	}
	ok, err := s.phones.HasActiveDevice(r.Context(), scopeFrom(r).UserID)
	if err != nil {
		s.log.WarnContext(r.Context(), "active phone", "err", err)
	}
	return ok
}

// cardCalls reads a card's call history and whether the viewer has a
// phone to call from, in one query (read is the phone store's
// CompanyCalls or ContactCalls).
func (s *Server) cardCalls(r *http.Request, read func(context.Context, int64, int64) (bool, []phone.CallEntry, error), id int64) (view.Calls, error) {
	on, list, err := read(r.Context(), scopeFrom(r).UserID, id)
	return s.callsView(r, on, list), err
}

// queueCardCalls is cardCalls with its read queued on set (queue is the
// phone store's QueueCompanyCalls); the function returned gives the calls
// once set has run.
func (s *Server) queueCardCalls(set *database.ReadSet, r *http.Request,
	queue func(*database.ReadSet, int64, int64) func() (bool, []phone.CallEntry, error), id int64,
) func() (view.Calls, error) {
	read := queue(set, scopeFrom(r).UserID, id)
	return func() (view.Calls, error) {
		on, list, err := read()
		return s.callsView(r, on, list), err
	}
}

// callsView is a card's call history in the viewer's time zone.
func (s *Server) callsView(r *http.Request, on bool, list []phone.CallEntry) view.Calls {
	return view.Calls{On: on, List: list, Location: userFrom(r).Location(s.cfg.Location)}
}
