package server

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/phone"
)

// TestPairingQRImage: the QR code's image is its owner's while the
// pairing waits for a phone, never cached, and its URL holds no secret;
// anyone else gets 404, a claimed or expired pairing 410.
func TestPairingQRImage(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		alisa, vera, admin := e.cast.Alisa, e.cast.Vera, e.cast.Admin
		var p newPairingJSON
		if code := e.api(&alisa, "POST", "/api/phone/pairings/", nil, &p); code != http.StatusCreated {
			t.Fatalf("create: %d", code)
		}
		_, secret, _ := phone.ParseLink(p.QRPayload)
		if strings.Contains(p.QRPNGURL, secret) {
			t.Fatalf("the image's URL holds the secret: %s", p.QRPNGURL)
		}
		path := qrPath(p.ID)
		rec := e.do(&alisa, "GET", path, nil)
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "image/png" ||
			rec.Header().Get("Cache-Control") != "no-store" || !strings.HasPrefix(rec.Body.String(), "\x89PNG\r\n") {
			t.Fatalf("owner: %d %v", rec.Code, rec.Header())
		}
		for _, m := range []struct {
			name string
			code int
		}{{vera.Username, e.do(&vera, "GET", path, nil).Code}, {admin.Username, e.do(&admin, "GET", path, nil).Code}} {
			if m.code != http.StatusNotFound {
				t.Errorf("%s: %d, want 404", m.name, m.code)
			}
		}
		if code := e.do(nil, "GET", path, nil).Code; code != http.StatusUnauthorized {
			t.Errorf("anonymous: %d, want 401", code)
		}

		// The database holds the link sealed, never the secret; another
		// process with the same secret key draws the same image.
		var sealed string
		if err := e.db.QueryRowContext(context.Background(), `SELECT qr_sealed FROM phone_pairings WHERE id = $1`, p.ID).Scan(&sealed); err != nil ||
			sealed == "" || strings.Contains(sealed, secret) {
			t.Fatalf("stored: %q %v", sealed, err)
		}
		other := New(e.srv.cfg, slog.New(slog.DiscardHandler), e.db)
		req := httptest.NewRequest("GET", path, nil)
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: e.session(alisa)})
		again := httptest.NewRecorder()
		other.ServeHTTP(again, req)
		if again.Code != http.StatusOK || again.Body.String() != rec.Body.String() {
			t.Errorf("another process: %d", again.Code)
		}

		// Claimed: the code has done its work.
		id, _, _ := phone.ParseLink(p.QRPayload)
		d := &devicePhone{t: t, handler: e.srv}
		if code := d.call("POST", "/api/phone/v1/pair", pairBody(id, secret), nil); code != http.StatusCreated {
			t.Fatalf("claim: %d", code)
		}
		if code := e.do(&alisa, "GET", path, nil).Code; code != http.StatusGone {
			t.Errorf("claimed: %d, want 410", code)
		}

		// Expired: five minutes later.
		var q newPairingJSON
		if code := e.api(&alisa, "POST", "/api/phone/pairings/", nil, &q); code != http.StatusCreated {
			t.Fatalf("create: %d", code)
		}
		e.srv.phones.SetClock(func() time.Time { return time.Now().Add(phone.DefaultPairingTTL + time.Second) })
		defer e.srv.phones.SetClock(time.Now)
		if code := e.do(&alisa, "GET", qrPath(q.ID), nil).Code; code != http.StatusGone {
			t.Errorf("expired: %d, want 410", code)
		}
		page := e.do(&alisa, "GET", "/phone/?pairing="+strconv.FormatInt(q.ID, 10), nil).Body.String()
		if !strings.Contains(page, "Код истёк — создайте новый") {
			t.Errorf("the page of an expired pairing does not say so")
		}
	})
}

// TestPhonePageFlow is pairing without the script: the form creates the
// pairing and shows its QR code, the phone claims it, the page shows the
// code to confirm, the form confirms; then «Отвязать».
func TestPhonePageFlow(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		alisa := e.cast.Alisa
		if body := e.do(&alisa, "GET", "/phone/", nil).Body.String(); !strings.Contains(body, `data-testid="phone-pair"`) {
			t.Fatalf("no «Привязать телефон»:\n%.500s", body)
		}
		rec := e.do(&alisa, "POST", "/phone/pair", "")
		loc := rec.Header().Get("Location")
		if rec.Code != http.StatusSeeOther || !strings.HasPrefix(loc, "/phone/?pairing=") {
			t.Fatalf("pair: %d %q", rec.Code, loc)
		}
		id := strings.TrimPrefix(loc, "/phone/?pairing=")
		page := e.do(&alisa, "GET", loc, nil).Body.String()
		if !strings.Contains(page, `src="/api/phone/pairings/`+id+`/qr.png"`) {
			t.Fatalf("no QR code on the page:\n%.2000s", page)
		}
		if code := e.do(&e.cast.Vera, "GET", loc, nil).Code; code != http.StatusNotFound {
			t.Errorf("another user's pairing page: %d", code)
		}
		start := strings.Index(page, `value="http`)
		link := page[start+len(`value="`):]
		link = strings.ReplaceAll(link[:strings.Index(link, `"`)], "&amp;", "&")
		pid, secret, ok := phone.ParseLink(link)
		if !ok || pid != id {
			t.Fatalf("link on the page: %q", link)
		}
		d := &devicePhone{t: t, handler: e.srv}
		var ans pairAnswer
		if code := d.call("POST", "/api/phone/v1/pair", pairBody(pid, secret), &ans); code != http.StatusCreated {
			t.Fatalf("claim: %d", code)
		}
		page = e.do(&alisa, "GET", loc, nil).Body.String()
		if !strings.Contains(page, "Телефон Pixel 8 («Телефон Алисы») просит подключения. Код на телефоне:") || !strings.Contains(page, ">"+ans.ConfirmCode+"<") {
			t.Fatalf("no request to confirm:\n%.3000s", page)
		}
		rec = e.do(&alisa, "POST", "/phone/pairings/"+id+"/confirm", "confirm_code="+ans.ConfirmCode)
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/phone/" {
			t.Fatalf("confirm: %d %q", rec.Code, rec.Header().Get("Location"))
		}
		page = e.do(&alisa, "GET", "/phone/", nil).Body.String()
		if !strings.Contains(page, `data-testid="phone-device"`) || !strings.Contains(page, "Pixel 8") {
			t.Fatalf("no paired phone:\n%.2000s", page)
		}
		if code := e.do(&e.cast.Vera, "POST", "/phone/devices/"+ans.DeviceID+"/revoke", "").Code; code != http.StatusNotFound {
			t.Errorf("another user's unpair: %d", code)
		}
		if code := e.do(&alisa, "POST", "/phone/devices/"+ans.DeviceID+"/revoke", "").Code; code != http.StatusSeeOther {
			t.Fatalf("unpair: %d", code)
		}
		if page = e.do(&alisa, "GET", "/phone/", nil).Body.String(); strings.Contains(page, `data-testid="phone-device"`) {
			t.Fatal("still paired after «Отвязать»")
		}
	})
}

// TestAdminPhones: the admin sees everyone's phones and unpairs one; the
// others may not open the page.
func TestAdminPhones(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		d := e.pairPhone(e.cast.Alisa)
		admin := e.cast.Admin
		page := e.do(&admin, "GET", "/admin/phones/", nil).Body.String()
		if !strings.Contains(page, "Pixel 8") || !strings.Contains(page, e.cast.Alisa.FullName()) {
			t.Fatalf("admin's list:\n%.2000s", page)
		}
		if code := e.do(&e.cast.Boris, "GET", "/admin/phones/", nil).Code; code != http.StatusForbidden {
			t.Errorf("branch director: %d", code)
		}
		if code := e.do(&admin, "POST", "/admin/phones/"+d.id+"/revoke", "").Code; code != http.StatusSeeOther {
			t.Fatalf("admin unpairs: %d", code)
		}
		if code := d.call("GET", "/api/phone/v1/device", nil, nil); code != http.StatusUnauthorized {
			t.Errorf("the unpaired phone: %d, want 401", code)
		}
	})
}

// TestCallButtonsAndHistory: the call buttons appear beside every phone
// of the card, the lists and the contact only for a user with a paired
// phone; the card's history shows the requests with their final status.
func TestCallButtonsAndHistory(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		alisa, boris := e.cast.Alisa, e.cast.Boris
		var co struct {
			ID int64 `json:"id"`
		}
		if code := e.api(&alisa, "POST", "/api/companies/", map[string]any{"name": "Ромашка",
			"phones": []map[string]string{{"value": "+7 495 123-45-67"}, {"value": "+7 495 123-45-68"}}}, &co); code != http.StatusCreated {
			t.Fatalf("company: %d", code)
		}
		var ct struct {
			ID int64 `json:"id"`
		}
		if code := e.api(&alisa, "POST", "/api/contacts/", map[string]any{"company": co.ID, "last_name": "Иванов", "first_name": "Иван",
			"phones": []map[string]string{{"value": "+7 916 000-00-01"}}}, &ct); code != http.StatusCreated {
			t.Fatalf("contact: %d", code)
		}
		card := "/companies/" + strconv.FormatInt(co.ID, 10) + "/"
		contactCard := "/contacts/" + strconv.FormatInt(ct.ID, 10) + "/"
		buttons := func(path string) int {
			return strings.Count(e.do(&alisa, "GET", path, nil).Body.String(), `data-testid="call-button"`)
		}
		for _, path := range []string{card, contactCard, "/companies/", "/contacts/"} {
			if n := buttons(path); n != 0 {
				t.Errorf("%s without a phone: %d call buttons", path, n)
			}
		}
		d := e.pairPhone(alisa)
		for path, want := range map[string]int{card: 3, contactCard: 1, "/companies/": 1, "/contacts/": 1} {
			if n := buttons(path); n != want {
				t.Errorf("%s: %d call buttons, want %d", path, n, want)
			}
		}
		if body := e.do(&alisa, "GET", card, nil).Body.String(); !strings.Contains(body, `aria-label="Позвонить с телефона: +7 (495) 123-45-67"`) ||
			!strings.Contains(body, `href="tel:+74951234567"`) {
			t.Errorf("the button's name or the tel: link is missing:\n%s", body[strings.Index(body, `data-testid="company-phones"`):][:1500])
		}

		// Two requests: the first superseded by the second, which the phone dials.
		var first, second callRequestJSON
		e.api(&alisa, "POST", "/api/call-requests/", map[string]any{"phone": "+7 495 123-45-67", "company": co.ID}, &first)
		e.api(&alisa, "POST", "/api/call-requests/", map[string]any{"phone": "+7 916 000-00-01", "company": co.ID, "contact": ct.ID}, &second)
		for i, typ := range []string{"delivered", "opened", "dialed"} {
			if code := d.call("POST", "/api/phone/v1/commands/"+strconv.FormatInt(second.ID, 10)+"/events",
				map[string]any{"event_id": "e" + strconv.Itoa(i), "type": typ, "channel": "poll", "device_at": time.Now().UTC()}, nil); code != http.StatusOK {
				t.Fatalf("%s: %d", typ, code)
			}
		}
		body := e.do(&boris, "GET", card, nil).Body.String() // Борис sees Алиса's company (his branch)
		for _, want := range []string{"Запрос звонка с телефона: +7 (495) 123-45-67", "Заменён новым запросом",
			"Запрос звонка с телефона: +7 (916) 000-00-01", "Иванов Иван", "Набран", "Алиса"} {
			if !strings.Contains(body, want) {
				t.Errorf("the card's history lacks %q:\n%s", want, body[max(0, strings.Index(body, `call-history`)):][:1500])
			}
		}
		if strings.Contains(body, `data-testid="call-button"`) {
			t.Error("Борис has no phone but sees call buttons")
		}
		if body := e.do(&alisa, "GET", contactCard, nil).Body.String(); !strings.Contains(body, "Запрос звонка с телефона: +7 (916) 000-00-01") {
			t.Error("the contact's history lacks its request")
		}
		var n int
		if err := e.db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM phone_call_requests WHERE company_id = $1`, co.ID).Scan(&n); err != nil || n != 2 {
			t.Fatalf("requests: %d %v", n, err)
		}
	})
}
