package server

import (
	"errors"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/phone"
)

// The CRM side of «Позвонить с телефона» (api.md, «Call from phone»):
// the signed-in user pairs a phone, lists and revokes phones, and makes
// call requests. The phone's own endpoints are in phone_device.go.

// decodeJSONOnly fills dst from a JSON body; these endpoints have no form.
func decodeJSONOnly(w http.ResponseWriter, r *http.Request, dst any) error {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "" && ct != "application/json" {
		return apperr.Invalid{apperr.NonField: "Ожидается JSON (Content-Type: application/json)"}
	}
	r.Header.Set("Content-Type", "application/json")
	return decode(w, r, dst)
}

// pairingJSON is a pairing as the page sees it.
type pairingJSON struct {
	ID          int64              `json:"id"`
	Status      string             `json:"status"`
	Device      *pairingDeviceJSON `json:"device"`
	ConfirmCode string             `json:"confirm_code"`
	ExpiresAt   time.Time          `json:"expires_at"`
}

type pairingDeviceJSON struct {
	Name  string `json:"name"`
	Model string `json:"model"`
}

func toPairingJSON(p phone.Pairing) pairingJSON {
	out := pairingJSON{ID: p.ID, Status: p.Status, ExpiresAt: p.ExpiresAt.UTC()}
	if p.DeviceID != 0 {
		out.Device = &pairingDeviceJSON{Name: p.DeviceName, Model: p.DeviceModel}
	}
	// The code means something once a phone has claimed the pairing.
	if p.Status == phone.PairingClaimed || p.Status == phone.PairingActive {
		out.ConfirmCode = p.ConfirmCode
	}
	return out
}

// newPairingJSON is the answer of POST /api/phone/pairings/: the QR
// code's link and the URL of its image. The secret is in the link and
// nowhere else (not in the database, not in a URL a server logs).
type newPairingJSON struct {
	ID        int64     `json:"id"`
	Status    string    `json:"status"`
	QRPayload string    `json:"qr_payload"`
	QRPNGURL  string    `json:"qr_png_url"`
	ExpiresAt time.Time `json:"expires_at"`
}

// PairingLink is the QR code's content: the pairing id and secret travel
// in the fragment, which a browser never sends to a server.
func PairingLink(base string, id int64, secret string) string {
	return base + "/m/pair#v=1&p=" + strconv.FormatInt(id, 10) + "&s=" + secret
}

func (s *Server) createPairing(w http.ResponseWriter, r *http.Request) error {
	if r.ContentLength != 0 { // no body is needed; one that is sent is an object
		var none struct{}
		if err := decodeJSONOnly(w, r, &none); err != nil {
			return err
		}
	}
	p, link, err := s.startPairing(r)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, newPairingJSON{
		ID: p.ID, Status: p.Status, QRPayload: link,
		QRPNGURL:  s.siteURL(r) + qrPath(p.ID),
		ExpiresAt: p.ExpiresAt.UTC(),
	})
}

func (s *Server) showPairing(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	p, err := s.phones.GetPairing(r.Context(), scopeFrom(r), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toPairingJSON(p))
}

type confirmInput struct {
	ConfirmCode string `json:"confirm_code"`
}

func (s *Server) confirmPairing(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in confirmInput
	if r.ContentLength != 0 {
		if err := decodeJSONOnly(w, r, &in); err != nil {
			return err
		}
	}
	p, err := s.phones.ConfirmPairing(r.Context(), scopeFrom(r), id, in.ConfirmCode)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toPairingJSON(p))
}

func (s *Server) rejectPairing(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	p, err := s.phones.RejectPairing(r.Context(), scopeFrom(r), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toPairingJSON(p))
}

// deviceJSON is a paired phone in the CRM's lists.
type deviceJSON struct {
	ID           int64      `json:"id"`
	User         int64      `json:"user"`
	UserName     string     `json:"user_name"`
	Name         string     `json:"name"`
	Model        string     `json:"model"`
	OS           string     `json:"os"`
	AppVersion   string     `json:"app_version"`
	Status       string     `json:"status"`
	PushProvider string     `json:"push_provider"`
	RevokeReason string     `json:"revoke_reason"`
	CreatedAt    time.Time  `json:"created_at"`
	ActivatedAt  *time.Time `json:"activated_at"`
	RevokedAt    *time.Time `json:"revoked_at"`
	LastSeenAt   *time.Time `json:"last_seen_at"`
}

func (s *Server) listPhoneDevices(w http.ResponseWriter, r *http.Request) error {
	page, size, err := pageParams(r)
	if err != nil {
		return err
	}
	var user int64
	if v := r.URL.Query().Get("user"); v != "" {
		if user, err = strconv.ParseInt(v, 10, 64); err != nil || user <= 0 {
			return apperr.Invalid{"user": "Ожидается id пользователя"}
		}
	}
	list, err := s.phones.Devices(r.Context(), scopeFrom(r), user)
	if err != nil {
		return err
	}
	out := make([]deviceJSON, len(list))
	for i, d := range list {
		out[i] = deviceJSON{ID: d.ID, User: d.UserID, UserName: d.UserName, Name: d.Name, Model: d.Model, OS: d.OS,
			AppVersion: d.AppVersion, Status: d.Status, PushProvider: d.PushProvider, RevokeReason: d.RevokeReason,
			CreatedAt: d.CreatedAt.UTC(), ActivatedAt: d.ActivatedAt, RevokedAt: d.RevokedAt, LastSeenAt: d.LastSeenAt}
	}
	from, to := min((page-1)*size, len(out)), min(page*size, len(out))
	return writeJSON(w, http.StatusOK, newListPage(r, out[from:to], len(out), page, size))
}

func (s *Server) revokePhoneDevice(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := s.phones.Revoke(r.Context(), scopeFrom(r), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// callRequestInput is the body of POST /api/call-requests/.
type callRequestInput struct {
	Phone   string `json:"phone"`
	Company *int64 `json:"company"`
	Contact *int64 `json:"contact"`
}

// callRequestJSON is a call request as the CRM side sees it.
type callRequestJSON struct {
	ID        int64         `json:"id"`
	Status    string        `json:"status"`
	Phone     string        `json:"phone"`
	Display   string        `json:"phone_display"`
	Company   *int64        `json:"company"`
	Contact   *int64        `json:"contact"`
	CreatedAt time.Time     `json:"created_at"`
	ExpiresAt time.Time     `json:"expires_at"`
	Events    []phone.Event `json:"events,omitempty"`
}

func toCallRequestJSON(c phone.CallRequest) callRequestJSON {
	out := callRequestJSON{ID: c.ID, Status: c.Status, Phone: c.Phone.E164, Display: c.PhoneDisplay,
		CreatedAt: c.CreatedAt.UTC(), ExpiresAt: c.ExpiresAt.UTC(), Events: c.Events}
	if c.CompanyID != 0 {
		out.Company = &c.CompanyID
	}
	if c.ContactID != 0 {
		out.Contact = &c.ContactID
	}
	return out
}

// noActiveDevice is the 409 of a call request without a confirmed phone.
var noActiveDevice = detail{Code: "no_active_device", Detail: "Телефон не привязан. Привяжите его на странице «Мой телефон»."}

func (s *Server) createCallRequest(w http.ResponseWriter, r *http.Request) error {
	var in callRequestInput
	if err := decodeJSONOnly(w, r, &in); err != nil {
		return err
	}
	scope := scopeFrom(r)
	call := phone.CallInput{Phone: in.Phone, Key: r.Header.Get("Idempotency-Key")}
	inv := apperr.Invalid{}
	if strings.TrimSpace(in.Phone) == "" {
		inv.Add("phone", "Укажите номер телефона")
	}
	if in.Company != nil {
		c, err := s.companies.Get(r.Context(), scope, *in.Company)
		switch {
		case errors.Is(err, apperr.ErrNotFound):
			inv.Add("company", "Компания не найдена")
		case err != nil:
			return err
		default:
			call.CompanyID, call.CompanyName = c.ID, c.Name
		}
	}
	if in.Contact != nil {
		c, err := s.contacts.Get(r.Context(), scope, *in.Contact)
		switch {
		case errors.Is(err, apperr.ErrNotFound):
			inv.Add("contact", "Контакт не найден")
		case err != nil:
			return err
		default:
			call.ContactID, call.ContactName = c.ID, c.FullName
			if call.CompanyName == "" {
				call.CompanyName = c.CompanyName
			}
		}
	}
	if err := inv.Err(); err != nil {
		return err
	}
	c, created, err := s.phones.Request(r.Context(), scope, call)
	if errors.Is(err, phone.ErrNoActiveDevice) {
		return writeJSON(w, http.StatusConflict, noActiveDevice)
	}
	if err != nil {
		return err
	}
	if !created {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	return writeJSON(w, http.StatusCreated, toCallRequestJSON(c))
}

func (s *Server) showCallRequest(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	c, err := s.phones.GetRequest(r.Context(), scopeFrom(r), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toCallRequestJSON(c))
}

func (s *Server) cancelCallRequest(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	c, err := s.phones.Cancel(r.Context(), scopeFrom(r), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toCallRequestJSON(c))
}
