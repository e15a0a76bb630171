package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/crmprofi/crm/internal/phone"
	"github.com/crmprofi/crm/internal/phone/fcmfake"
)

// simPhone is a simulated phone speaking the device side of the API
// (api.md, «Call from phone»): what the Android app does, without it.
type simPhone struct {
	base   string
	client *http.Client
	cred   string // "<device_id>.<token>"
}

// simRefusal is a device endpoint's refusal ({"error": code}).
type simRefusal struct {
	Status int
	Code   string `json:"error"`
	Detail string `json:"detail"`
}

func (e *simRefusal) Error() string {
	return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Detail)
}

// do sends one request; an answer other than 2xx is a *simRefusal.
func (p *simPhone) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, p.base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if p.cred != "" {
		req.Header.Set("Authorization", "Device "+p.cred)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		ref := &simRefusal{Status: resp.StatusCode}
		if json.Unmarshal(raw, ref) != nil || ref.Code == "" {
			ref.Code, ref.Detail = "http_error", strings.TrimSpace(string(raw))
		}
		return ref
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return nil
}

// simPair claims the pairing of a QR code's link.
func simPair(ctx context.Context, client *http.Client, base, link, name, pushToken string) (*simPhone, string, error) {
	id, secret, ok := phone.ParseLink(link)
	if !ok {
		return nil, "", errors.New("--pair-url: ожидается ссылка вида …/m/pair#v=1&p=…&s=…")
	}
	p := &simPhone{base: base, client: client}
	var ans struct {
		DeviceID    string `json:"device_id"`
		DeviceToken string `json:"device_token"`
		ConfirmCode string `json:"confirm_code"`
	}
	err := p.do(ctx, http.MethodPost, "/api/phone/v1/pair", map[string]any{
		"v": 1, "pairing_id": id, "secret": secret,
		"device": map[string]string{"name": name, "model": "crm phone-sim", "os": "Go", "app_version": version, "install_id": name},
		"push":   simPush(pushToken),
	}, &ans)
	if err != nil {
		return nil, "", err
	}
	p.cred = ans.DeviceID + "." + ans.DeviceToken
	return p, ans.ConfirmCode, nil
}

// simPush is the push part of a pairing: FCM with token, or none.
func simPush(token string) map[string]string {
	if token == "" {
		return map[string]string{"provider": "none"}
	}
	return map[string]string{"provider": "fcm", "token": token}
}

// status is the device's status (active, pending_confirmation).
func (p *simPhone) status(ctx context.Context) (string, error) {
	var st struct {
		Status string `json:"status"`
	}
	err := p.do(ctx, http.MethodGet, "/api/phone/v1/device", nil, &st)
	return st.Status, err
}

// simCommand is a command as the phone reads it.
type simCommand struct {
	ID    string `json:"id"`
	Type  string `json:"type"`
	Phone struct {
		E164    string `json:"e164"`
		Display string `json:"display"`
	} `json:"phone"`
	Status string `json:"status"`
}

// poll is one long-poll of up to wait.
func (p *simPhone) poll(ctx context.Context, wait time.Duration) ([]simCommand, error) {
	var out struct {
		Commands []simCommand `json:"commands"`
	}
	err := p.do(ctx, http.MethodGet, fmt.Sprintf("/api/phone/v1/commands?wait=%d", int(wait/time.Second)), nil, &out)
	return out.Commands, err
}

// ack acknowledges a command; the request's status after it comes back.
func (p *simPhone) ack(ctx context.Context, id, eventID, typ string) (string, error) {
	return p.ackVia(ctx, id, eventID, typ, "poll")
}

// ackVia acknowledges a command that came through channel (poll, fcm).
func (p *simPhone) ackVia(ctx context.Context, id, eventID, typ, channel string) (string, error) {
	var out struct {
		Status string `json:"status"`
	}
	err := p.do(ctx, http.MethodPost, "/api/phone/v1/commands/"+url.PathEscape(id)+"/events", map[string]string{
		"event_id": eventID, "type": typ, "channel": channel, "device_at": time.Now().Format(time.RFC3339Nano),
	}, &out)
	return out.Status, err
}

// cmdPhoneSim pairs a simulated phone from a QR code's link (or resumes
// one from a credential file), long-polls for call requests and
// acknowledges each, one line per step on stdout.
func cmdPhoneSim(ctx context.Context, env *environment, args []string) error {
	fs := flag.NewFlagSet("phone-sim", flag.ContinueOnError)
	target := fs.String("url", "", "адрес CRM; пусто — из --pair-url")
	pairURL := fs.String("pair-url", "", "ссылка из QR-кода (qr_payload): …/m/pair#v=1&p=…&s=…")
	credFile := fs.String("credential-file", "", "файл учётных данных телефона: записать после привязки, или прочитать, чтобы продолжить без привязки")
	acks := fs.String("ack", "delivered,opened,dialed", "подтверждения на каждую команду через запятую (delivered, opened, dialed, cancelled, error); пусто — не подтверждать")
	duplicate := fs.Bool("duplicate-acks", false, "отправлять каждое подтверждение дважды с тем же event_id")
	reorder := fs.Bool("reorder-acks", false, "отправлять подтверждения в обратном порядке")
	wait := fs.Duration("wait", phone.DefaultWait, "ожидание одного long-poll (не больше 30s)")
	count := fs.Int("count", 0, "завершиться после стольких команд; 0 — работать до остановки")
	name := fs.String("name", "phone-sim", "имя телефона, которое увидит CRM")
	confirmWait := fs.Duration("confirm-timeout", 5*time.Minute, "сколько ждать подтверждения кода в CRM")
	fcmFake := fs.String("fcm-fake", "", "адрес поддельного FCM (fcmfake): получать запросы push-сообщениями вместо long-poll")
	russianUsage(env, fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	var ackList []string
	for a := range strings.SplitSeq(*acks, ",") {
		if a = strings.TrimSpace(a); a == "" {
			continue
		}
		if _, ok := phone.AckTypes[a]; !ok {
			return fmt.Errorf("--ack: неизвестное подтверждение %q", a)
		}
		ackList = append(ackList, a)
	}
	if *reorder {
		slices.Reverse(ackList)
	}
	times := 1 // how often each acknowledgement is sent
	if *duplicate {
		times = 2
	}
	if *wait < time.Second || *wait > phone.MaxWait {
		return errors.New("--wait: от 1s до 30s")
	}
	base := strings.TrimRight(*target, "/")
	if base == "" && *pairURL != "" {
		u, err := url.Parse(*pairURL)
		if err != nil || u.Host == "" {
			return errors.New("--pair-url: ожидается полная ссылка из QR-кода")
		}
		base = u.Scheme + "://" + u.Host
	}
	if base == "" {
		return errors.New("укажите --pair-url или --url")
	}
	client := &http.Client{Timeout: *wait + 15*time.Second}
	out := env.stdout

	pushToken := ""
	if *fcmFake != "" {
		pushToken = "sim-" + phone.NewSecret()
	}
	var p *simPhone
	switch {
	case *pairURL != "":
		var code string
		var err error
		p, code, err = simPair(ctx, client, base, *pairURL, *name, pushToken)
		if err != nil {
			return fmt.Errorf("привязка не удалась: %w", err)
		}
		if *credFile != "" {
			if err := os.WriteFile(*credFile, []byte(p.cred), 0o600); err != nil {
				return err
			}
		}
		fmt.Fprintf(out, "paired device=%s confirm_code=%s\n", strings.SplitN(p.cred, ".", 2)[0], code)
	case *credFile != "":
		raw, err := os.ReadFile(*credFile)
		if err != nil {
			return err
		}
		p = &simPhone{base: base, client: client, cred: strings.TrimSpace(string(raw))}
		if err := p.do(ctx, http.MethodPut, "/api/phone/v1/device/push", simPush(pushToken), nil); err != nil {
			var ref *simRefusal
			if errors.As(err, &ref) && ref.Status == http.StatusUnauthorized {
				fmt.Fprintln(out, "revoked", ref.Code)
			}
			return fmt.Errorf("push-токен: %w", err)
		}
	default:
		return errors.New("укажите --pair-url или --credential-file")
	}

	// Wait for the user to confirm the code in the CRM.
	deadline := time.Now().Add(*confirmWait)
	for {
		st, err := p.status(ctx)
		if err != nil {
			return fmt.Errorf("телефон не принят: %w", err)
		}
		if st == phone.DeviceActive {
			break
		}
		if time.Now().After(deadline) {
			return errors.New("код не подтвердили вовремя")
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(200 * time.Millisecond):
		}
	}
	fmt.Fprintln(out, "active")

	seen := map[string]bool{}
	handled := 0
	// handle shows a command once (the phone drops duplicates by request
	// id) and acknowledges it through the channel it came by.
	handle := func(id, channel string) error {
		if seen[id] {
			return nil
		}
		seen[id] = true
		var full simCommand
		if err := p.do(ctx, http.MethodGet, "/api/phone/v1/commands/"+url.PathEscape(id), nil, &full); err != nil {
			return fmt.Errorf("команда %s: %w", id, err)
		}
		fmt.Fprintf(out, "command id=%s phone=%s status=%s channel=%s\n", full.ID, full.Phone.E164, full.Status, channel)
		for _, a := range ackList {
			for range times {
				st, err := p.ackVia(ctx, id, id+"-"+a, a, channel)
				if err != nil {
					return fmt.Errorf("подтверждение %s: %w", a, err)
				}
				fmt.Fprintf(out, "ack id=%s type=%s status=%s\n", id, a, st)
			}
		}
		handled++
		return nil
	}
	if *fcmFake != "" {
		return simListenFCM(ctx, client, *fcmFake, pushToken, out, handle, func() bool { return *count != 0 && handled >= *count })
	}
	for *count == 0 || handled < *count {
		cmds, err := p.poll(ctx, *wait)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			var ref *simRefusal
			if errors.As(err, &ref) && ref.Status == http.StatusUnauthorized {
				fmt.Fprintln(out, "revoked", ref.Code)
			}
			return fmt.Errorf("long-poll: %w", err)
		}
		fresh := 0
		for _, c := range cmds {
			if seen[c.ID] {
				continue
			}
			fresh++
			if err := handle(c.ID, "poll"); err != nil {
				return err
			}
		}
		if fresh == 0 && len(cmds) > 0 {
			// Only commands already shown (not acknowledged): do not spin.
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(time.Second):
			}
		}
	}
	return nil
}

// simListenFCM receives the push messages of token from the fake FCM at
// fake and handles each call request until done or ctx ends; an
// «unpaired» message ends it like a 401 would.
func simListenFCM(ctx context.Context, client *http.Client, fake, token string, out io.Writer, handle func(id, channel string) error,
	done func() bool) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream := &http.Client{Transport: client.Transport} // no timeout: the stream is long
	ready := make(chan struct{})
	var failed error
	go func() {
		select {
		case <-ready:
			fmt.Fprintln(out, "fcm listening")
		case <-ctx.Done():
		}
	}()
	err := fcmfake.Listen(ctx, stream, fake, token, ready, func(m fcmfake.Message) {
		if failed != nil || done() {
			return
		}
		switch m.Data["type"] {
		case "call_request":
			if err := handle(m.Data["id"], "fcm"); err != nil {
				failed = err
				cancel()
				return
			}
		case "unpaired":
			fmt.Fprintln(out, "revoked unpaired")
			failed = errors.New("телефон отвязан")
			cancel()
			return
		}
		if done() {
			cancel()
		}
	})
	if failed != nil {
		return failed
	}
	if err != nil && ctx.Err() == nil {
		return err
	}
	return nil
}
