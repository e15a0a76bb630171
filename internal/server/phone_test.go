package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/database/dbtest"
	"github.com/crmprofi/crm/internal/live"
	"github.com/crmprofi/crm/internal/phone"
)

// devicePhone is a simulated phone speaking to the test server.
type devicePhone struct {
	t          *testing.T
	handler    http.Handler
	id, token  string
	lastStatus int
}

// call sends a device request and decodes the answer into out.
func (d *devicePhone) call(method, path string, body, out any) int {
	d.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			d.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if d.id != "" {
		req.Header.Set("Authorization", "Device "+d.id+"."+d.token)
	}
	rec := httptest.NewRecorder()
	d.handler.ServeHTTP(rec, req)
	if out != nil && rec.Body.Len() > 0 {
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			d.t.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body.String())
		}
	}
	d.lastStatus = rec.Code
	return rec.Code
}

func pairBody(id, secret string) map[string]any {
	return map[string]any{"v": 1, "pairing_id": id, "secret": secret,
		"device": map[string]string{"name": "Телефон Алисы", "model": "Pixel 8", "os": "Android 15", "app_version": "1.0.0", "install_id": "i-1"},
		"push":   map[string]string{"provider": "none"}}
}

// pairPhone pairs and confirms a phone for m through the API.
func (e *testEnv) pairPhone(m dbtest.Member) *devicePhone {
	e.t.Helper()
	var p newPairingJSON
	if code := e.api(&m, "POST", "/api/phone/pairings/", map[string]any{}, &p); code != http.StatusCreated {
		e.t.Fatalf("create pairing: %d", code)
	}
	id, secret, ok := phone.ParseLink(p.QRPayload)
	if !ok {
		e.t.Fatalf("qr payload %q", p.QRPayload)
	}
	d := &devicePhone{t: e.t, handler: e.srv}
	var ans pairAnswer
	if code := d.call("POST", "/api/phone/v1/pair", pairBody(id, secret), &ans); code != http.StatusCreated {
		e.t.Fatalf("pair: %d", code)
	}
	d.id, d.token = ans.DeviceID, ans.DeviceToken
	if code := e.api(&m, "POST", "/api/phone/pairings/"+id+"/confirm/", map[string]any{"confirm_code": ans.ConfirmCode}, nil); code != http.StatusOK {
		e.t.Fatalf("confirm: %d", code)
	}
	return d
}

func TestPhonePairingAPI(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		alisa := e.cast.Alisa
		var p newPairingJSON
		if code := e.api(&alisa, "POST", "/api/phone/pairings/", map[string]any{}, &p); code != http.StatusCreated {
			t.Fatalf("create: %d", code)
		}
		if !strings.HasSuffix(p.QRPNGURL, "/api/phone/pairings/"+strconv.FormatInt(p.ID, 10)+"/qr.png") || !strings.Contains(p.QRPayload, "/m/pair#v=1&p=") {
			t.Fatalf("pairing: %+v", p)
		}
		id, secret, _ := phone.ParseLink(p.QRPayload)
		d := &devicePhone{t: t, handler: e.srv}

		var refusal deviceError
		if code := d.call("POST", "/api/phone/v1/pair", pairBody(id, phone.NewSecret()), &refusal); code != http.StatusBadRequest || refusal.Error != "invalid_pairing" {
			t.Fatalf("guessed secret: %d %+v", code, refusal)
		}
		if code := d.call("POST", "/api/phone/v1/pair", pairBody("999999", secret), &refusal); code != http.StatusBadRequest || refusal.Error != "invalid_pairing" {
			t.Fatalf("guessed pairing: %d %+v", code, refusal)
		}
		var ans pairAnswer
		if code := d.call("POST", "/api/phone/v1/pair", pairBody(id, secret), &ans); code != http.StatusCreated || len(ans.ConfirmCode) != 4 {
			t.Fatalf("pair: %d %+v", code, ans)
		}
		if code := d.call("POST", "/api/phone/v1/pair", pairBody(id, secret), &refusal); code != http.StatusBadRequest {
			t.Fatalf("reused secret: %d", code)
		}
		d.id, d.token = ans.DeviceID, ans.DeviceToken
		var st deviceStatusJSON
		if d.call("GET", "/api/phone/v1/device", nil, &st); st.Status != "pending_confirmation" {
			t.Fatalf("before confirm: %+v", st)
		}

		var seen pairingJSON
		if code := e.api(&alisa, "GET", "/api/phone/pairings/"+id+"/", nil, &seen); code != http.StatusOK ||
			seen.Status != "claimed" || seen.ConfirmCode != ans.ConfirmCode || seen.Device == nil || seen.Device.Model != "Pixel 8" {
			t.Fatalf("pairing seen by the page: %d %+v", code, seen)
		}
		vera := e.cast.Vera
		if code := e.api(&vera, "GET", "/api/phone/pairings/"+id+"/", nil, nil); code != http.StatusNotFound {
			t.Fatalf("another user's pairing: %d", code)
		}
		if code := e.api(&vera, "POST", "/api/phone/pairings/"+id+"/confirm/", nil, nil); code != http.StatusNotFound {
			t.Fatalf("another user confirms: %d", code)
		}
		if code := e.api(&alisa, "POST", "/api/phone/pairings/"+id+"/confirm/", map[string]any{"confirm_code": "xxxx"}, nil); code != http.StatusBadRequest {
			t.Fatalf("wrong code: %d", code)
		}
		if code := e.api(&alisa, "POST", "/api/phone/pairings/"+id+"/confirm/", nil, &seen); code != http.StatusOK || seen.Status != "active" {
			t.Fatalf("confirm: %d %+v", code, seen)
		}
		if d.call("GET", "/api/phone/v1/device", nil, &st); st.Status != "active" || st.Poll.WaitS != 25 {
			t.Fatalf("after confirm: %+v", st)
		}

		var list struct {
			Count   int          `json:"count"`
			Results []deviceJSON `json:"results"`
		}
		if e.api(&vera, "GET", "/api/phone/devices/", nil, &list); list.Count != 0 {
			t.Fatalf("Вера sees Алиса's phone: %+v", list)
		}
		admin := e.cast.Admin
		if e.api(&admin, "GET", "/api/phone/devices/?user="+strconv.FormatInt(alisa.ID, 10), nil, &list); list.Count != 1 || list.Results[0].Status != "active" {
			t.Fatalf("admin's list: %+v", list)
		}
		if code := e.api(&vera, "DELETE", "/api/phone/devices/"+d.id+"/", nil, nil); code != http.StatusNotFound {
			t.Fatalf("Вера revokes Алиса's phone: %d", code)
		}

		// A second phone replaces the first: the first gets 401.
		second := e.pairPhone(alisa)
		if code := d.call("GET", "/api/phone/v1/commands", nil, &refusal); code != http.StatusUnauthorized || refusal.Error != "device_revoked" {
			t.Fatalf("replaced phone: %d %+v", code, refusal)
		}
		if code := e.api(&admin, "DELETE", "/api/phone/devices/"+second.id+"/", nil, nil); code != http.StatusNoContent {
			t.Fatalf("admin revokes: %d", code)
		}
		if code := second.call("GET", "/api/phone/v1/device", nil, &refusal); code != http.StatusUnauthorized || refusal.Error != "device_revoked" {
			t.Fatalf("revoked phone: %d %+v", code, refusal)
		}
		if code := second.call("GET", "/api/phone/v1/device", nil, nil); code != http.StatusUnauthorized {
			t.Fatal(code)
		}
		bad := &devicePhone{t: t, handler: e.srv, id: second.id, token: "guess"}
		if code := bad.call("GET", "/api/phone/v1/device", nil, &refusal); code != http.StatusUnauthorized || refusal.Error != "device_unauthorized" {
			t.Fatalf("guessed token: %d %+v", code, refusal)
		}

		// Each step is audited, the secrets never.
		var actions []string
		rows, err := e.db.QueryContext(context.Background(), `SELECT action || ' ' || outcome || ' ' || detail FROM audit_log WHERE action LIKE 'phone.%' ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var a string
			if err := rows.Scan(&a); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(a, secret) || strings.Contains(a, d.token) {
				t.Fatalf("a secret in the audit log: %s", a)
			}
			actions = append(actions, strings.Fields(a)[0])
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		got := strings.Join(actions, ",")
		for _, want := range []string{"phone.pair", "phone.confirm", "phone.revoke"} {
			if !strings.Contains(got, want) {
				t.Errorf("audit lacks %s: %s", want, got)
			}
		}
	})
}

// httpPhone is a phone on a real HTTP connection (the long-poll).
func httpPhone(t *testing.T, base string, d *devicePhone, path string, out any) int {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, base+path, nil)
	if err != nil {
		t.Error(err)
		return 0
	}
	req.Header.Set("Authorization", "Device "+d.id+"."+d.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return 0
	}
	defer func() { _ = resp.Body.Close() }()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Error(err)
	}
	return resp.StatusCode
}

func TestCallRequestAPI(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		ts := httptest.NewServer(e.srv)
		defer ts.Close()
		defer e.srv.Close()
		boris, vera := e.cast.Boris, e.cast.Vera
		d := e.pairPhone(boris)

		var refusal detail
		if code := e.api(&vera, "POST", "/api/call-requests/", map[string]any{"phone": "+74951234567"}, &refusal); code != http.StatusConflict || refusal.Code != "no_active_device" {
			t.Fatalf("no phone: %d %+v", code, refusal)
		}
		var invalid map[string][]string
		if code := e.api(&boris, "POST", "/api/call-requests/", map[string]any{"phone": "12"}, &invalid); code != http.StatusBadRequest || len(invalid["phone"]) != 1 {
			t.Fatalf("bad number: %d %+v", code, invalid)
		}

		// The user's live events, as the page would see them.
		sub, _, _, err := e.srv.live.Subscribe(context.Background(), boris.ID, live.Cursor{}, "test")
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Close()

		// A phone waiting in the long-poll wakes for the request.
		polled := make(chan commandsJSON, 1)
		go func() {
			var got commandsJSON
			httpPhone(t, ts.URL, d, "/api/phone/v1/commands?wait=20", &got)
			polled <- got
		}()
		for e.srv.live.Subscribers(boris.ID) < 2 {
			time.Sleep(5 * time.Millisecond)
		}
		req := httptest.NewRequest("POST", "/api/call-requests/", strings.NewReader(`{"phone": "8 (495) 123-45-67"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", "click-1")
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: e.session(boris)})
		rec := httptest.NewRecorder()
		e.srv.ServeHTTP(rec, req)
		var created callRequestJSON
		if err := json.Unmarshal(rec.Body.Bytes(), &created); err != nil || rec.Code != http.StatusCreated || created.Status != "pending" {
			t.Fatalf("create: %d %s", rec.Code, rec.Body.String())
		}
		var got commandsJSON
		select {
		case got = <-polled:
		case <-time.After(15 * time.Second):
			t.Fatal("the long-poll did not wake")
		}
		if len(got.Commands) != 1 || got.Commands[0].ID != strconv.FormatInt(created.ID, 10) || got.Commands[0].Phone.E164 != "+74951234567" || got.Commands[0].Status != "sent" {
			t.Fatalf("commands: %+v", got)
		}
		// The same click again is the same request.
		rec = httptest.NewRecorder()
		req = httptest.NewRequest("POST", "/api/call-requests/", strings.NewReader(`{"phone": "8 (495) 123-45-67"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", "click-1")
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: e.session(boris)})
		e.srv.ServeHTTP(rec, req)
		var again callRequestJSON
		_ = json.Unmarshal(rec.Body.Bytes(), &again)
		if again.ID != created.ID {
			t.Fatalf("idempotency: %d vs %d", again.ID, created.ID)
		}

		path := "/api/phone/v1/commands/" + strconv.FormatInt(created.ID, 10)
		var cmd commandJSON
		if code := d.call("GET", path, nil, &cmd); code != http.StatusOK || cmd.Type != "call_request" {
			t.Fatalf("command: %d %+v", code, cmd)
		}
		acks := []struct{ id, typ, want string }{
			{"a1", "delivered", "delivered"},
			{"a1", "delivered", "delivered"},
			{"a3", "dialed", "dialed"},
			{"a2", "opened", "dialed"},
		}
		for _, a := range acks {
			var ans map[string]string
			code := d.call("POST", path+"/events", map[string]any{"event_id": a.id, "type": a.typ, "channel": "poll", "device_at": "2026-12-04T12:00:01.250+03:00"}, &ans)
			if code != http.StatusOK || ans["status"] != a.want {
				t.Fatalf("ack %s %s: %d %v", a.id, a.typ, code, ans)
			}
		}
		if code := d.call("POST", path+"/events", map[string]any{"event_id": "x", "type": "rang"}, nil); code != http.StatusBadRequest {
			t.Fatalf("unknown type: %d", code)
		}
		var shown callRequestJSON
		if code := e.api(&boris, "GET", fmt.Sprintf("/api/call-requests/%d/", created.ID), nil, &shown); code != http.StatusOK || shown.Status != "dialed" {
			t.Fatalf("show: %d %+v", code, shown)
		}
		late := 0
		for _, ev := range shown.Events {
			if ev.Late {
				late++
			}
		}
		if len(shown.Events) != 5 || late != 1 {
			t.Fatalf("events: %+v", shown.Events)
		}
		if code := e.api(&vera, "GET", fmt.Sprintf("/api/call-requests/%d/", created.ID), nil, nil); code != http.StatusNotFound {
			t.Fatalf("another user's request: %d", code)
		}

		// The page saw every status.
		var statuses []string
		for len(statuses) < 4 {
			select {
			case ev := <-sub.C:
				if ev.Type == phone.EventCallRequest {
					var v struct{ Status string }
					_ = json.Unmarshal(ev.Data, &v)
					statuses = append(statuses, v.Status)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("live events: %v", statuses)
			}
		}
		if strings.Join(statuses, ",") != "pending,sent,delivered,dialed" {
			t.Fatalf("live events: %v", statuses)
		}

		// A new click supersedes; cancel withdraws.
		var a, b callRequestJSON
		e.api(&boris, "POST", "/api/call-requests/", map[string]any{"phone": "+7 916 111-22-33"}, &a)
		e.api(&boris, "POST", "/api/call-requests/", map[string]any{"phone": "+7 916 111-22-44"}, &b)
		if e.api(&boris, "GET", fmt.Sprintf("/api/call-requests/%d/", a.ID), nil, &shown); shown.Status != "superseded" {
			t.Fatalf("superseded: %+v", shown)
		}
		if code := e.api(&boris, "POST", fmt.Sprintf("/api/call-requests/%d/cancel/", b.ID), nil, &shown); code != http.StatusOK || shown.Status != "withdrawn" {
			t.Fatalf("cancel: %d %+v", code, shown)
		}

		// An empty long-poll answers after its wait.
		var empty commandsJSON
		if code := httpPhone(t, ts.URL, d, "/api/phone/v1/commands?wait=1", &empty); code != http.StatusOK || len(empty.Commands) != 0 {
			t.Fatalf("empty poll: %d %+v", code, empty)
		}

		// A deactivated user's phone is revoked, even mid-poll.
		done := make(chan int, 1)
		go func() {
			var out map[string]any
			done <- httpPhone(t, ts.URL, d, "/api/phone/v1/commands?wait=20", &out)
		}()
		for e.srv.live.Subscribers(boris.ID) < 2 {
			time.Sleep(5 * time.Millisecond)
		}
		admin := e.cast.Admin
		if code := e.api(&admin, "PATCH", fmt.Sprintf("/api/users/%d/", boris.ID), map[string]any{"is_active": false}, nil); code != http.StatusOK {
			t.Fatalf("deactivate: %d", code)
		}
		select {
		case code := <-done:
			if code != http.StatusUnauthorized {
				t.Fatalf("poll of a deactivated user's phone: %d", code)
			}
		case <-time.After(15 * time.Second):
			t.Fatal("the poll did not end")
		}
	})
}
