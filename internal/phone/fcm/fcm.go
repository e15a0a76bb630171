// Package fcm sends the phones' push messages through Firebase Cloud
// Messaging HTTP v1 with the Firebase Admin SDK (firebase.google.com/go/v4)
// and classifies FCM's refusals by what the CRM does about them
// (phone.PushError).
package fcm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	firebase "firebase.google.com/go/v4"
	"firebase.google.com/go/v4/errorutils"
	"firebase.google.com/go/v4/messaging"
	"google.golang.org/api/option"

	"github.com/crmprofi/crm/internal/phone"
)

// Sender sends data messages through FCM.
type Sender struct {
	client  *messaging.Client
	project string
}

// New reads the service-account key file at credentials and prepares a
// Sender for its project. endpoint, when not empty, replaces FCM's
// (https://fcm.googleapis.com/v1): the tests' fake.
func New(ctx context.Context, credentials, endpoint string) (*Sender, error) {
	raw, err := os.ReadFile(credentials) //nolint:gosec // the administrator's configured path
	if err != nil {
		return nil, fmt.Errorf("FCM: ключ сервисного аккаунта: %w", err)
	}
	var key struct {
		Type      string `json:"type"`
		ProjectID string `json:"project_id"`
	}
	if err := json.Unmarshal(raw, &key); err != nil || key.Type != "service_account" || key.ProjectID == "" {
		return nil, fmt.Errorf("FCM: %s — не ключ сервисного аккаунта Firebase (JSON с type service_account и project_id)", credentials)
	}
	opts := []option.ClientOption{option.WithAuthCredentialsJSON(option.ServiceAccount, raw)}
	if endpoint != "" {
		opts = append(opts, option.WithEndpoint(endpoint))
	}
	app, err := firebase.NewApp(ctx, &firebase.Config{ProjectID: key.ProjectID}, opts...)
	if err != nil {
		return nil, fmt.Errorf("FCM: %w", err)
	}
	client, err := app.Messaging(ctx)
	if err != nil {
		return nil, fmt.Errorf("FCM: %w", err)
	}
	return &Sender{client: client, project: key.ProjectID}, nil
}

// Project is the Firebase project of the key.
func (s *Sender) Project() string { return s.project }

// Push sends m: data only, priority HIGH, m.TTL (whole seconds), collapse
// key call_request. A refusal is a *phone.PushError.
func (s *Sender) Push(ctx context.Context, m phone.PushMessage) error {
	ttl := m.TTL.Truncate(time.Second)
	msg := &messaging.Message{
		Token: m.Token, //nolint:staticcheck // api.md's message has "token"; a registration token is what the app sends
		Data:  m.Data,
		Android: &messaging.AndroidConfig{
			Priority:    "high", // the SDK accepts only lower case; FCM reads it as HIGH
			TTL:         &ttl,
			CollapseKey: phone.PushCollapseKey,
		},
	}
	if _, err := s.client.Send(ctx, msg); err != nil {
		return Classify(err)
	}
	return nil
}

// Classify turns an error of the SDK into a *phone.PushError.
func Classify(err error) *phone.PushError {
	pe := &phone.PushError{Err: err, Fault: phone.PushRetry, Code: "NETWORK"}
	if resp := errorutils.HTTPResponse(err); resp != nil { //nolint:bodyclose // a buffered copy; its Close is a no-op
		pe.RetryAfter = retryAfter(resp)
		pe.Code = strconv.Itoa(resp.StatusCode)
	}
	switch {
	case messaging.IsUnregistered(err):
		pe.Fault, pe.Code = phone.PushBadToken, "UNREGISTERED"
	case messaging.IsInvalidArgument(err):
		// A malformed token is refused so; our message is fixed and
		// checked, so the token is what is wrong.
		pe.Fault, pe.Code = phone.PushBadToken, "INVALID_ARGUMENT"
	case messaging.IsSenderIDMismatch(err):
		pe.Fault, pe.Code = phone.PushConfig, "SENDER_ID_MISMATCH"
	case messaging.IsThirdPartyAuthError(err):
		pe.Fault, pe.Code = phone.PushConfig, "THIRD_PARTY_AUTH_ERROR"
	case errorutils.IsUnauthenticated(err):
		pe.Fault, pe.Code = phone.PushConfig, "UNAUTHENTICATED"
	case errorutils.IsPermissionDenied(err):
		pe.Fault, pe.Code = phone.PushConfig, "PERMISSION_DENIED"
	case messaging.IsQuotaExceeded(err):
		pe.Code = "QUOTA_EXCEEDED"
	case messaging.IsUnavailable(err):
		pe.Code = "UNAVAILABLE"
	case messaging.IsInternal(err):
		pe.Code = "INTERNAL"
	case errorutils.IsNotFound(err):
		pe.Fault, pe.Code = phone.PushBadToken, "NOT_FOUND"
	case errors.Is(err, context.DeadlineExceeded) || errorutils.IsDeadlineExceeded(err):
		pe.Code = "TIMEOUT"
	}
	if pe.Fault == phone.PushRetry && pe.Code == "NETWORK" && errorutils.HTTPResponse(err) == nil && isOAuth(err) { //nolint:bodyclose // a buffered copy
		// The token exchange refused the key: configuration.
		pe.Fault, pe.Code = phone.PushConfig, "UNAUTHENTICATED"
	}
	return pe
}

// isOAuth reports whether err is the OAuth token endpoint refusing the
// service account (invalid_grant and the like), not the network.
func isOAuth(err error) bool {
	s := err.Error()
	for _, w := range []string{"invalid_grant", "invalid_client", "unauthorized_client", "oauth2: "} {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// retryAfter reads Retry-After: seconds or an HTTP date.
func retryAfter(resp *http.Response) time.Duration {
	v := resp.Header.Get("Retry-After")
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}
