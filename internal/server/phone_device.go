package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/audit"
	"github.com/crmprofi/crm/internal/live"
	"github.com/crmprofi/crm/internal/phone"
)

// The phone's side of «Позвонить с телефона» (api.md, «Call from phone»,
// device side): /api/phone/v1/…, authenticated with
// "Authorization: Device <device_id>.<device_token>" (pair needs none).
// Refusals answer {"error": code, "detail": message}.

const deviceKey ctxKey = 100

func deviceFrom(r *http.Request) phone.Device {
	d, _ := r.Context().Value(deviceKey).(phone.Device)
	return d
}

// deviceError is the body of a refused device request.
type deviceError struct {
	Error  string `json:"error"`
	Detail string `json:"detail,omitempty"`
}

// deviceRefusals maps the phone package's failures to the contract's
// statuses and Russian messages.
var deviceRefusals = []struct {
	err    error
	status int
	detail string
}{
	{phone.ErrInvalidPairing, http.StatusBadRequest, "Ссылка привязки недействительна. Создайте новый QR-код."},
	{phone.ErrPairingExpired, http.StatusGone, "Ссылка устарела, создайте новый QR-код."},
	{phone.ErrTooManyAttempts, http.StatusTooManyRequests, "Слишком много попыток. Создайте новый QR-код."},
	{phone.ErrDeviceRevoked, http.StatusUnauthorized, "Телефон отвязан от CRM. Привяжите его заново."},
	{phone.ErrBadCredential, http.StatusUnauthorized, "Телефон не опознан. Привяжите его заново."},
}

// deviceWrap is wrap for the device endpoints: the phone package's
// refusals in the device shape, everything else as usual.
func (s *Server) deviceWrap(h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		err := h(w, r)
		if err == nil {
			return
		}
		for _, ref := range deviceRefusals {
			if errors.Is(err, ref.err) {
				if ref.status == http.StatusUnauthorized {
					w.Header().Set("WWW-Authenticate", "Device")
				}
				_ = writeJSON(w, ref.status, deviceError{Error: ref.err.Error(), Detail: ref.detail})
				return
			}
		}
		s.fail(w, r, err)
	}
}

// deviceCredential is the credential of the request ("" when none).
func deviceCredential(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if cred, ok := strings.CutPrefix(h, "Device "); ok {
		return strings.TrimSpace(cred)
	}
	return ""
}

// authenticateDevice lets through the requests of a paired phone.
func (s *Server) authenticateDevice(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := audit.WithClient(r.Context(), s.clientIP(r), r.UserAgent())
		r = r.WithContext(ctx)
		d, err := s.phones.Authenticate(ctx, deviceCredential(r))
		if err != nil {
			s.deviceWrap(func(http.ResponseWriter, *http.Request) error { return err })(w, r)
			return
		}
		if err := s.phones.Seen(ctx, d); err != nil {
			s.log.WarnContext(ctx, "phone last seen", "err", err)
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(ctx, deviceKey, d)))
	})
}

// flexibleID reads an id sent as a JSON string or number.
type flexibleID string

func (f *flexibleID) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*f = flexibleID(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*f = flexibleID(n.String())
	return nil
}

type pushJSON struct {
	Provider string `json:"provider"`
	Token    string `json:"token"`
}

type pairInput struct {
	V         int              `json:"v"`
	PairingID flexibleID       `json:"pairing_id"`
	Secret    string           `json:"secret"`
	Device    phone.DeviceInfo `json:"device"`
	Push      pushJSON         `json:"push"`
}

type pairAnswer struct {
	DeviceID    string    `json:"device_id"`
	DeviceToken string    `json:"device_token"`
	ConfirmCode string    `json:"confirm_code"`
	Status      string    `json:"status"`
	ServerTime  time.Time `json:"server_time"`
}

// pairDevice is POST /api/phone/v1/pair: the phone claims the pairing of
// the QR code it scanned and gets its credential.
func (s *Server) pairDevice(w http.ResponseWriter, r *http.Request) error {
	r = r.WithContext(audit.WithClient(r.Context(), s.clientIP(r), r.UserAgent()))
	var in pairInput
	if err := decodeJSONOnly(w, r, &in); err != nil {
		return err
	}
	if in.V != 1 {
		return apperr.Invalid{"v": "Поддерживается версия 1"}
	}
	c, err := s.phones.Claim(r.Context(), phone.Claim{PairingID: string(in.PairingID), Secret: in.Secret, Device: in.Device,
		PushProvider: in.Push.Provider, PushToken: in.Push.Token})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, pairAnswer{DeviceID: c.Device.CredentialID(), DeviceToken: c.Token,
		ConfirmCode: c.ConfirmCode, Status: "pending_confirmation", ServerTime: time.Now().UTC()})
}

type deviceStatusJSON struct {
	Status     string    `json:"status"`
	ServerTime time.Time `json:"server_time"`
	Poll       struct {
		WaitS int `json:"wait_s"`
	} `json:"poll"`
}

func deviceStatus(d phone.Device) string {
	if d.Status == phone.DevicePending {
		return "pending_confirmation"
	}
	return d.Status
}

func (s *Server) showDevice(w http.ResponseWriter, r *http.Request) error {
	out := deviceStatusJSON{Status: deviceStatus(deviceFrom(r)), ServerTime: time.Now().UTC()}
	out.Poll.WaitS = int(phone.DefaultWait / time.Second)
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) setDevicePush(w http.ResponseWriter, r *http.Request) error {
	var in pushJSON
	if err := decodeJSONOnly(w, r, &in); err != nil {
		return err
	}
	if err := s.phones.SetPush(r.Context(), deviceFrom(r), in.Provider, in.Token); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]string{"status": deviceStatus(deviceFrom(r))})
}

func (s *Server) unpairDevice(w http.ResponseWriter, r *http.Request) error {
	if err := s.phones.Unpair(r.Context(), deviceFrom(r)); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]string{"status": phone.DeviceRevoked})
}

// commandJSON is a command as the phone reads it.
type commandJSON struct {
	ID        string       `json:"id"`
	Type      string       `json:"type"`
	CreatedAt time.Time    `json:"created_at"`
	ExpiresAt time.Time    `json:"expires_at"`
	Phone     commandPhone `json:"phone"`
	Contact   *commandWho  `json:"contact,omitempty"`
	Status    string       `json:"status"`
}

type commandPhone struct {
	E164    string `json:"e164"`
	Display string `json:"display"`
}

type commandWho struct {
	Name    string `json:"name"`
	Company string `json:"company,omitempty"`
}

func toCommandJSON(c phone.CallRequest) commandJSON {
	out := commandJSON{ID: strconv.FormatInt(c.ID, 10), Type: "call_request", CreatedAt: c.CreatedAt.UTC(), ExpiresAt: c.ExpiresAt.UTC(),
		Phone: commandPhone{E164: c.Phone.E164, Display: c.PhoneDisplay}, Status: c.Status}
	switch {
	case c.ContactName != "":
		out.Contact = &commandWho{Name: c.ContactName, Company: c.CompanyName}
	case c.CompanyName != "":
		out.Contact = &commandWho{Name: c.CompanyName}
	}
	return out
}

type commandsJSON struct {
	Commands []commandJSON `json:"commands"`
}

func toCommandsJSON(list []phone.CallRequest) commandsJSON {
	out := commandsJSON{Commands: make([]commandJSON, len(list))}
	for i, c := range list {
		out.Commands[i] = toCommandJSON(c)
	}
	return out
}

// waitParam reads ?wait= (seconds, 0–30; longer is cut to 30).
func waitParam(r *http.Request) (time.Duration, error) {
	v := r.URL.Query().Get("wait")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, apperr.Invalid{"wait": "Ожидается число секунд от 0 до 30"}
	}
	return min(time.Duration(n)*time.Second, phone.MaxWait), nil
}

// deviceCommands is the long-poll: the commands waiting for the phone at
// once, or — after up to wait seconds — an empty list. It listens to the
// user's live events, which reach every process (PostgreSQL's NOTIFY,
// SQLite's commit hook), so a call request made in another process wakes
// it as promptly as one made here.
func (s *Server) deviceCommands(w http.ResponseWriter, r *http.Request) error {
	d := deviceFrom(r)
	wait, err := waitParam(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	var events <-chan live.Event
	if wait > 0 {
		// Subscribe before looking, so nothing made in between is missed.
		sub, _, _, err := s.live.Subscribe(ctx, d.UserID, live.Cursor{}, "phone:"+d.CredentialID())
		if err != nil {
			return err
		}
		defer sub.Close()
		events = sub.C
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		cmds, err := s.phones.Commands(ctx, d)
		if err != nil {
			return err
		}
		if len(cmds) > 0 || wait == 0 {
			return writeJSON(w, http.StatusOK, toCommandsJSON(cmds))
		}
		err = s.awaitCommand(ctx, events, timer.C)
		if errors.Is(err, errWaitOver) {
			return writeJSON(w, http.StatusOK, commandsJSON{Commands: []commandJSON{}})
		}
		if err != nil && !errors.Is(err, errStreamEnded) {
			return err
		}
		// The phone may have been revoked meanwhile.
		if _, err := s.phones.Authenticate(ctx, deviceCredential(r)); err != nil {
			return err
		}
		if errors.Is(err, errStreamEnded) {
			return writeJSON(w, http.StatusOK, commandsJSON{Commands: []commandJSON{}})
		}
	}
}

// How a long-poll's wait ends without a command: the time is up, or the
// user's event stream ended (the hub closed, the user was deactivated).
var (
	errWaitOver    = errors.New("long-poll: nothing came")
	errStreamEnded = errors.New("long-poll: the event stream ended")
)

// awaitCommand waits for a new call request, or a change of the phone,
// of the user (nil), or tells why it stopped waiting.
func (s *Server) awaitCommand(ctx context.Context, events <-chan live.Event, timeout <-chan time.Time) error {
	for {
		select {
		case e, ok := <-events:
			if !ok {
				return errStreamEnded
			}
			switch e.Type {
			case phone.EventDevice:
				return nil
			case phone.EventCallRequest:
				var v struct {
					Status string `json:"status"`
				}
				if json.Unmarshal(e.Data, &v) == nil && v.Status == phone.StatusPending {
					return nil
				}
			}
		case <-timeout:
			return errWaitOver
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (s *Server) showCommand(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	c, err := s.phones.Command(r.Context(), deviceFrom(r), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toCommandJSON(c))
}

type commandEventInput struct {
	EventID  string `json:"event_id"`
	Type     string `json:"type"`
	DeviceAt string `json:"device_at"`
	Channel  string `json:"channel"`
	Detail   string `json:"detail"`
}

func (s *Server) commandEvent(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in commandEventInput
	if err := decodeJSONOnly(w, r, &in); err != nil {
		return err
	}
	if len([]rune(in.Detail)) > 500 {
		return apperr.Invalid{"detail": "Не длиннее 500 символов"}
	}
	a := phone.Ack{EventID: in.EventID, Type: in.Type, Channel: in.Channel}
	if in.DeviceAt != "" {
		t, err := time.Parse(time.RFC3339Nano, in.DeviceAt)
		if err != nil {
			return apperr.Invalid{"device_at": "Ожидается время в формате RFC 3339"}
		}
		a.DeviceAt = t.UTC().Truncate(time.Microsecond)
	}
	status, err := s.phones.Acknowledge(r.Context(), deviceFrom(r), id, a)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]string{"status": status})
}
