package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/phone/fcmfake"
)

// simProcess is a running `crm phone-sim`, its stdout read line by line.
type simProcess struct {
	cmd   *exec.Cmd
	lines chan string
	done  chan error
	out   *syncBuffer
}

func startPhoneSim(t *testing.T, inst *instance, args ...string) *simProcess {
	t.Helper()
	cmd := exec.CommandContext(context.Background(), crmBinary(t), append([]string{"phone-sim", "--url", inst.URL}, args...)...)
	cmd.Env = inst.env
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	sim := &simProcess{cmd: cmd, lines: make(chan string, 100), done: make(chan error, 1), out: &syncBuffer{}}
	cmd.Stderr = sim.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			_, _ = sim.out.Write([]byte(sc.Text() + "\n"))
			sim.lines <- sc.Text()
		}
		close(sim.lines)
		sim.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		// Not cmd.ProcessState: the goroutine above writes it in Wait
		// (a data race under -race). Killing a process that has already
		// exited only returns os.ErrProcessDone.
		_ = cmd.Process.Kill()
	})
	return sim
}

// expect waits for a line starting with prefix and returns it.
func (s *simProcess) expect(t *testing.T, prefix string) string {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case l, ok := <-s.lines:
			if !ok {
				t.Fatalf("phone-sim ended before %q:\n%s", prefix, s.out.String())
			}
			if strings.HasPrefix(l, prefix) {
				return l
			}
		case <-timeout:
			t.Fatalf("phone-sim did not print %q:\n%s", prefix, s.out.String())
		}
	}
}

// wait waits for the simulator to end and returns its error.
func (s *simProcess) wait(t *testing.T) error {
	t.Helper()
	for range s.lines { //nolint:revive // drain what is left
	}
	select {
	case err := <-s.done:
		return err
	case <-time.After(60 * time.Second):
		t.Fatalf("phone-sim did not end:\n%s", s.out.String())
		return nil
	}
}

// apiClient is a signed-in user of the e2e instance (a Bearer token).
type apiClient struct {
	t     *testing.T
	base  string
	token string
}

func (c *apiClient) call(method, path string, body, out any, headers ...string) int {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			c.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
		}
	}
	return resp.StatusCode
}

type e2eCallRequest struct {
	ID     int64  `json:"id"`
	Status string `json:"status"`
	Events []struct {
		Type string `json:"type"`
		Late bool   `json:"late"`
	} `json:"events"`
}

// TestPhoneSimEndToEnd runs the real binary (crm serve) and the real
// simulator (crm phone-sim) against each database: pairing and its
// refusals, call requests through the long-poll with acknowledgements in
// order, duplicated and reordered, supersede, expiry, a replaced phone.
func TestPhoneSimEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e")
	}
	const pairingTTL, callTTL = 4 * time.Second, 5 * time.Second
	t.Setenv("CRM_PHONE_PAIRING_TTL", pairingTTL.String())
	t.Setenv("CRM_PHONE_CALL_TTL", callTTL.String())
	for dialect, newURL := range e2eDatabases(t) {
		t.Run(string(dialect), func(t *testing.T) {
			inst, api := startAnna(t, newURL())
			newPairing := func() (int64, string) {
				var p struct {
					ID        int64  `json:"id"`
					QRPayload string `json:"qr_payload"`
				}
				if code := api.call("POST", "/api/phone/pairings/", nil, &p); code != http.StatusCreated {
					t.Fatalf("pairing: %d", code)
				}
				return p.ID, p.QRPayload
			}
			confirm := func(id int64, line string) {
				t.Helper()
				code := strings.TrimPrefix(line[strings.Index(line, "confirm_code="):], "confirm_code=")
				var seen struct {
					Status      string `json:"status"`
					ConfirmCode string `json:"confirm_code"`
				}
				api.call("GET", fmt.Sprintf("/api/phone/pairings/%d/", id), nil, &seen)
				if seen.Status != "claimed" || seen.ConfirmCode != code {
					t.Fatalf("the page shows %+v, the phone %s", seen, code)
				}
				if st := api.call("POST", fmt.Sprintf("/api/phone/pairings/%d/confirm/", id), map[string]string{"confirm_code": code}, nil); st != http.StatusOK {
					t.Fatalf("confirm: %d", st)
				}
			}
			request := func(number, key string) e2eCallRequest {
				t.Helper()
				var r e2eCallRequest
				if code := api.call("POST", "/api/call-requests/", map[string]string{"phone": number}, &r, "Idempotency-Key", key); code != http.StatusCreated {
					t.Fatalf("call request: %d", code)
				}
				return r
			}
			show := func(id int64) e2eCallRequest {
				t.Helper()
				var r e2eCallRequest
				api.call("GET", fmt.Sprintf("/api/call-requests/%d/", id), nil, &r)
				return r
			}
			cred := filepath.Join(t.TempDir(), "phone.cred")

			// No phone yet.
			var refusal struct{ Code string }
			if code := api.call("POST", "/api/call-requests/", map[string]string{"phone": "+74951234567"}, &refusal); code != http.StatusConflict || refusal.Code != "no_active_device" {
				t.Fatalf("no phone: %d %+v", code, refusal)
			}

			// Pair, confirm, and one request delivered → opened → dialed.
			pid, link := newPairing()
			sim := startPhoneSim(t, inst, "--pair-url", link, "--credential-file", cred, "--count", "1")
			confirm(pid, sim.expect(t, "paired "))
			sim.expect(t, "active")
			r1 := request("8 (495) 123-45-67", "click-1")
			sim.expect(t, fmt.Sprintf("command id=%d phone=+74951234567", r1.ID))
			sim.expect(t, fmt.Sprintf("ack id=%d type=dialed status=dialed", r1.ID))
			if err := sim.wait(t); err != nil {
				t.Fatalf("phone-sim: %v\n%s", err, sim.out.String())
			}
			if got := show(r1.ID); got.Status != "dialed" || len(got.Events) != 5 {
				t.Fatalf("first request: %+v", got)
			}
			if again := request("8 (495) 123-45-67", "click-1"); again.ID != r1.ID {
				t.Fatalf("the same key made a new request: %d", again.ID)
			}

			// The secret of that QR code is spent; a guessed one fails.
			reused := startPhoneSim(t, inst, "--pair-url", link)
			if err := reused.wait(t); err == nil || !strings.Contains(reused.out.String(), "invalid_pairing") {
				t.Fatalf("reused secret: %v\n%s", err, reused.out.String())
			}
			_, link2 := newPairing()
			guessed := startPhoneSim(t, inst, "--pair-url", link2[:strings.Index(link2, "&s=")]+"&s=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
			if err := guessed.wait(t); err == nil || !strings.Contains(guessed.out.String(), "invalid_pairing") {
				t.Fatalf("guessed secret: %v\n%s", err, guessed.out.String())
			}

			// Duplicated and reordered acknowledgements: dialed first, the
			// rest late; the repeats change nothing.
			sim = startPhoneSim(t, inst, "--credential-file", cred, "--count", "1", "--duplicate-acks", "--reorder-acks")
			sim.expect(t, "active")
			r2 := request("+7 916 123-45-67", "click-2")
			sim.expect(t, fmt.Sprintf("ack id=%d type=dialed status=dialed", r2.ID))
			sim.expect(t, fmt.Sprintf("ack id=%d type=dialed status=dialed", r2.ID))
			sim.expect(t, fmt.Sprintf("ack id=%d type=delivered status=dialed", r2.ID))
			if err := sim.wait(t); err != nil {
				t.Fatalf("phone-sim: %v\n%s", err, sim.out.String())
			}
			got := show(r2.ID)
			late := 0
			for _, e := range got.Events {
				if e.Late {
					late++
				}
			}
			// created, sent, dialed, opened (late), delivered (late)
			if got.Status != "dialed" || len(got.Events) != 5 || late != 2 {
				t.Fatalf("reordered: %+v", got)
			}

			// A new click supersedes the open one; the new one expires.
			r3 := request("+7 916 000-00-01", "click-3")
			r4 := request("+7 916 000-00-02", "click-4")
			if got := show(r3.ID); got.Status != "superseded" {
				t.Fatalf("superseded: %+v", got)
			}
			time.Sleep(callTTL + 500*time.Millisecond)
			if got := show(r4.ID); got.Status != "expired" {
				t.Fatalf("expired: %+v", got)
			}

			// An expired QR code.
			_, link3 := newPairing()
			time.Sleep(pairingTTL + 500*time.Millisecond)
			expired := startPhoneSim(t, inst, "--pair-url", link3)
			if err := expired.wait(t); err == nil || !strings.Contains(expired.out.String(), "pairing_expired") {
				t.Fatalf("expired pairing: %v\n%s", err, expired.out.String())
			}

			// A new phone replaces the old one, which gets 401.
			pid, link = newPairing()
			next := startPhoneSim(t, inst, "--pair-url", link, "--count", "1")
			confirm(pid, next.expect(t, "paired "))
			next.expect(t, "active")
			old := startPhoneSim(t, inst, "--credential-file", cred)
			if err := old.wait(t); err == nil || !strings.Contains(old.out.String(), "device_revoked") {
				t.Fatalf("replaced phone: %v\n%s", err, old.out.String())
			}
			r5 := request("+7 916 000-00-03", "click-5")
			next.expect(t, fmt.Sprintf("ack id=%d type=dialed status=dialed", r5.ID))
			if err := next.wait(t); err != nil {
				t.Fatalf("phone-sim: %v\n%s", err, next.out.String())
			}
		})
	}
}

// TestPhoneSimFCMEndToEnd runs the real binary with FCM pointed at the
// fake (the real Firebase SDK, the OAuth exchange with a generated key)
// and the simulator listening on the fake's delivery stream: the happy
// path through FCM, a token FCM no longer knows (cleared; the long-poll
// still delivers), and SENDER_ID_MISMATCH in /readyz for the admin.
func TestPhoneSimFCMEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e")
	}
	fake, err := fcmfake.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	creds, err := fake.WriteCredentials(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("CRM_FCM_CREDENTIALS", creds)
	t.Setenv("CRM_FCM_ENDPOINT", fake.Endpoint())
	for dialect, newURL := range e2eDatabases(t) {
		t.Run(string(dialect), func(t *testing.T) {
			inst, api := startAnna(t, newURL())
			var p struct {
				ID        int64  `json:"id"`
				QRPayload string `json:"qr_payload"`
			}
			if code := api.call("POST", "/api/phone/pairings/", nil, &p); code != http.StatusCreated {
				t.Fatalf("pairing: %d", code)
			}
			cred := filepath.Join(t.TempDir(), "phone.cred")
			sim := startPhoneSim(t, inst, "--pair-url", p.QRPayload, "--credential-file", cred, "--count", "1", "--fcm-fake", fake.URL)
			line := sim.expect(t, "paired ")
			code := strings.TrimPrefix(line[strings.Index(line, "confirm_code="):], "confirm_code=")
			if st := api.call("POST", fmt.Sprintf("/api/phone/pairings/%d/", p.ID)+"confirm/", map[string]string{"confirm_code": code}, nil); st != http.StatusOK {
				t.Fatalf("confirm: %d", st)
			}
			sim.expect(t, "active")
			sim.expect(t, "fcm listening")
			request := func(number, key string) e2eCallRequest {
				t.Helper()
				var r e2eCallRequest
				if code := api.call("POST", "/api/call-requests/", map[string]string{"phone": number}, &r, "Idempotency-Key", key); code != http.StatusCreated {
					t.Fatalf("call request: %d", code)
				}
				return r
			}
			type shown struct {
				Status string `json:"status"`
				Events []struct {
					Type    string `json:"type"`
					Channel string `json:"channel"`
				} `json:"events"`
			}
			show := func(id int64) shown {
				var r shown
				api.call("GET", fmt.Sprintf("/api/call-requests/%d/", id), nil, &r)
				return r
			}

			// Happy path: pushed, fetched, acknowledged through FCM. (The
			// fake serves both databases' runs: count from here.)
			accepted, attempted := len(fake.Accepted()), len(fake.Attempts())
			r1 := request("8 (495) 123-45-67", "fcm-1")
			sim.expect(t, fmt.Sprintf("command id=%d phone=+74951234567 status=sent channel=fcm", r1.ID))
			sim.expect(t, fmt.Sprintf("ack id=%d type=dialed status=dialed", r1.ID))
			if err := sim.wait(t); err != nil {
				t.Fatalf("phone-sim: %v\n%s", err, sim.out.String())
			}
			got := show(r1.ID)
			var channels []string
			for _, e := range got.Events {
				channels = append(channels, e.Type+"/"+e.Channel)
			}
			if got.Status != "dialed" || !slices.Contains(channels, "sent/fcm") || !slices.Contains(channels, "delivered/fcm") {
				t.Fatalf("through FCM: %+v", got)
			}
			for _, m := range fake.Accepted()[accepted:] {
				if len(m.Data) != 4 || m.Data["id"] != fmt.Sprint(r1.ID) {
					t.Fatalf("the push carries %v", m.Data)
				}
			}

			// FCM forgot the token: cleared, and the long-poll delivers.
			fake.FailNext(fcmfake.Unregistered)
			r2 := request("+7 916 123-45-67", "fcm-2")
			deadline := time.Now().Add(30 * time.Second)
			for {
				var devices struct {
					Results []struct {
						PushProvider string `json:"push_provider"`
					} `json:"results"`
				}
				api.call("GET", "/api/phone/devices/", nil, &devices)
				attempts := 0
				for _, a := range fake.Attempts()[attempted:] {
					if a.Status == http.StatusNotFound {
						attempts++
					}
				}
				if attempts == 1 && (len(devices.Results) == 0 || devices.Results[0].PushProvider != "fcm") {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the token was not cleared: %+v\n%s", devices, inst.log.String())
				}
				time.Sleep(100 * time.Millisecond)
			}
			if st := show(r2.ID).Status; st != "pending" {
				t.Fatalf("after UNREGISTERED: %s", st)
			}
			poll := startPhoneSim(t, inst, "--credential-file", cred, "--count", "1")
			poll.expect(t, fmt.Sprintf("command id=%d phone=+79161234567 status=sent channel=poll", r2.ID))
			if err := poll.wait(t); err != nil {
				t.Fatalf("phone-sim: %v\n%s", err, poll.out.String())
			}

			// A key of another Firebase project: the admin sees it in /readyz.
			sim = startPhoneSim(t, inst, "--credential-file", cred, "--count", "1", "--fcm-fake", fake.URL)
			sim.expect(t, "active")
			sim.expect(t, "fcm listening")
			fake.FailNext(fcmfake.SenderIDMismatch)
			r3 := request("+7 916 000-00-01", "fcm-3")
			deadline = time.Now().Add(30 * time.Second)
			for {
				var ready struct {
					Checks []struct {
						Name   string `json:"name"`
						OK     bool   `json:"ok"`
						Status string `json:"status"`
					} `json:"checks"`
				}
				api.call("GET", "/readyz", nil, &ready)
				found := ""
				for _, c := range ready.Checks {
					if c.Name == "fcm" {
						found = c.Status
					}
				}
				if strings.HasPrefix(found, "degraded: SENDER_ID_MISMATCH") && strings.Contains(found, "другого проекта Firebase") {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("/readyz fcm: %q", found)
				}
				time.Sleep(100 * time.Millisecond)
			}
			if st := show(r3.ID).Status; st != "pending" {
				t.Fatalf("after SENDER_ID_MISMATCH: %s", st)
			}
			var notes struct {
				Results []struct {
					Title string `json:"title"`
				} `json:"results"`
			}
			api.call("GET", "/api/notifications/", nil, &notes)
			if len(notes.Results) == 0 || !strings.Contains(notes.Results[0].Title, "Push-уведомления") {
				t.Fatalf("the admin was not told: %+v", notes)
			}
			_ = sim.cmd.Process.Kill()
		})
	}
}

// startAnna starts the binary with one administrator, Анна Петрова
// («anna»), and returns her API client.
func startAnna(t *testing.T, dbURL string) (*instance, *apiClient) {
	t.Helper()
	inst := startCRM(t, dbURL)
	inst.crm(t, "createsuperuser", "--username", "anna", "--password", "Ромашка-2026!", "--first-name", "Анна", "--last-name", "Петрова")
	api := &apiClient{t: t, base: inst.URL}
	var tok struct{ Access string }
	if code := api.call("POST", "/api/token/", map[string]string{"username": "anna", "password": "Ромашка-2026!"}, &tok); code != http.StatusOK {
		t.Fatalf("token: %d", code)
	}
	api.token = tok.Access
	return inst, api
}
