package fcm_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/phone"
	"github.com/crmprofi/crm/internal/phone/fcm"
	"github.com/crmprofi/crm/internal/phone/fcmfake"
)

func newSender(t *testing.T) (*fcm.Sender, *fcmfake.Server) {
	t.Helper()
	fake, err := fcmfake.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	s, err := fake.Sender(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s, fake
}

func callMessage(token string) phone.PushMessage {
	now := time.Now()
	m, _ := phone.CallMessage(phone.CallRequest{ID: 42, ExpiresAt: now.Add(2 * time.Minute), PhoneDisplay: "+7 495 123-45-67",
		CompanyName: "ООО Ромашка", ContactName: "Иван"}, token, now)
	return m
}

// TestSendThroughFake sends through the real SDK to the fake: the token
// exchange with a signed JWT, then messages:send with the contract's body.
func TestSendThroughFake(t *testing.T) {
	s, fake := newSender(t)
	ch, cancel := fake.Subscribe("tok-1")
	defer cancel()
	if err := s.Push(context.Background(), callMessage("tok-1")); err != nil {
		t.Fatal(err)
	}
	m := <-ch
	if m.Data["id"] != "42" || m.Data["type"] != "call_request" || m.Data["v"] != "1" || !strings.EqualFold(m.Priority, "HIGH") || m.TTL != "90s" ||
		m.CollapseKey != "call_request" {
		t.Fatalf("message %+v", m)
	}
	// The body as sent: data only, nothing personal.
	body := string(fake.Attempts()[0].Body)
	for _, personal := range []string{"495", "Ромашка", "Иван", "notification"} {
		if strings.Contains(body, personal) {
			t.Fatalf("the body carries %q: %s", personal, body)
		}
	}
	var shape struct {
		Message struct {
			Data map[string]string `json:"data"`
		} `json:"message"`
	}
	if err := json.Unmarshal(fake.Attempts()[0].Body, &shape); err != nil || len(shape.Message.Data) != 4 {
		t.Fatalf("data %+v %v", shape, err)
	}
}

// TestClassify: FCM's refusals as the fake scripts them, through the SDK.
func TestClassify(t *testing.T) {
	s, fake := newSender(t)
	cases := []struct {
		f     fcmfake.Failure
		fault phone.PushFault
		code  string
		after time.Duration
	}{
		{fcmfake.Unregistered, phone.PushBadToken, "UNREGISTERED", 0},
		{fcmfake.QuotaExceeded(7), phone.PushRetry, "QUOTA_EXCEEDED", 7 * time.Second},
		{fcmfake.SenderIDMismatch, phone.PushConfig, "SENDER_ID_MISMATCH", 0},
		{fcmfake.Internal, phone.PushRetry, "INTERNAL", 0},
		{fcmfake.InvalidArgument, phone.PushBadToken, "INVALID_ARGUMENT", 0},
	}
	for _, c := range cases {
		fake.FailToken("tok-x", c.f)
		err := s.Push(context.Background(), callMessage("tok-x"))
		var pe *phone.PushError
		if !errors.As(err, &pe) || pe.Fault != c.fault || pe.Code != c.code || pe.RetryAfter != c.after {
			t.Errorf("%s: %#v", c.f.Code, pe)
		}
	}
	// 503: the SDK tries again itself within the context; still failing,
	// it is a retry for later.
	fake.FailToken("tok-x", fcmfake.Unavailable)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := s.Push(ctx, callMessage("tok-x"))
	var pe *phone.PushError
	if !errors.As(err, &pe) || pe.Fault != phone.PushRetry {
		t.Errorf("503: %#v", err)
	}
}
