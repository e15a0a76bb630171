// Package fcmfake is a fake Firebase Cloud Messaging on loopback for tests,
// `crm phone-sim` and `crm bench-phone`. It speaks the real wire protocol
// of FCM HTTP v1, so the CRM talks to it through the real Firebase Admin
// SDK: the OAuth2 JWT-bearer token exchange (the assertion's RS256
// signature checked against the service account's public key, which the
// fake generates: no key is ever stored in the repository), and
// messages:send with a bearer token, the body's shape checked. Errors can
// be scripted per token or per call, with FCM's real error bodies; the
// messages it accepts go to subscribers of their token, in process or as
// a stream of JSON lines (GET /fake/stream?token=…).
package fcmfake

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/crmprofi/crm/internal/phone/fcm"
)

// Project is the Firebase project of the fake's service account.
const Project = "crm-fake"

// Scope is the OAuth scope FCM needs.
const Scope = "https://www.googleapis.com/auth/firebase.messaging"

// Message is an accepted message as the phone would receive it.
type Message struct {
	Name        string            `json:"name"`
	Token       string            `json:"token"`
	Data        map[string]string `json:"data"`
	Priority    string            `json:"priority"`
	TTL         string            `json:"ttl"`
	CollapseKey string            `json:"collapse_key"`
	At          time.Time         `json:"at"`
}

// Attempt is one call of messages:send, whatever its answer.
type Attempt struct {
	Token  string
	At     time.Time
	Status int
	Body   []byte // the request's body as sent
}

// Failure is a scripted error answer.
type Failure struct {
	Status     int    // HTTP status
	GRPC       string // the error's status (NOT_FOUND, RESOURCE_EXHAUSTED, …)
	Code       string // the FcmError errorCode (UNREGISTERED, …)
	RetryAfter int    // seconds; 0: no Retry-After header
}

// Scripted failures with FCM's real codes.
var (
	Unregistered     = Failure{Status: 404, GRPC: "NOT_FOUND", Code: "UNREGISTERED"}
	Unavailable      = Failure{Status: 503, GRPC: "UNAVAILABLE", Code: "UNAVAILABLE"}
	Internal         = Failure{Status: 500, GRPC: "INTERNAL", Code: "INTERNAL"}
	SenderIDMismatch = Failure{Status: 403, GRPC: "PERMISSION_DENIED", Code: "SENDER_ID_MISMATCH"}
	InvalidArgument  = Failure{Status: 400, GRPC: "INVALID_ARGUMENT", Code: "INVALID_ARGUMENT"}
)

// QuotaExceeded is a 429 with Retry-After seconds.
func QuotaExceeded(retryAfter int) Failure {
	return Failure{Status: 429, GRPC: "RESOURCE_EXHAUSTED", Code: "QUOTA_EXCEEDED", RetryAfter: retryAfter}
}

// Server is a running fake.
type Server struct {
	// URL is the fake's base URL (http://127.0.0.1:port).
	URL string

	srv   *httptest.Server
	key   *rsa.PrivateKey
	keyID string
	email string

	mu       sync.Mutex
	issued   map[string]time.Time // access token → its expiry
	perToken map[string]Failure   // every send to the token fails so
	next     []Failure            // the next sends fail so, in order
	attempts []Attempt
	accepted []Message
	subs     map[string][]chan Message
	seq      int
	tokenTTL time.Duration
}

// Start starts a fake on a loopback port with a new service-account key.
// Close stops it.
func Start() (*Server, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	id := make([]byte, 20)
	_, _ = rand.Read(id)
	s := &Server{key: key, keyID: fmt.Sprintf("%x", id), email: "crm-push@" + Project + ".iam.gserviceaccount.com",
		issued: map[string]time.Time{}, perToken: map[string]Failure{}, subs: map[string][]chan Message{}, tokenTTL: time.Hour}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", s.token)
	mux.HandleFunc("POST /v1/projects/{project}/messages:send", s.send)
	mux.HandleFunc("GET /fake/stream", s.stream)
	s.srv = httptest.NewUnstartedServer(mux)
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s.srv.Listener = ln
	s.srv.Start()
	s.URL = s.srv.URL
	return s, nil
}

// Close stops the fake and ends its streams.
func (s *Server) Close() {
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// Endpoint is the FCM endpoint to give the Firebase SDK
// (option.WithEndpoint): the fake's /v1.
func (s *Server) Endpoint() string { return s.URL + "/v1" }

// CredentialsJSON is a service-account key file whose token_uri is the
// fake's: what CRM_FCM_CREDENTIALS points at.
func (s *Server) CredentialsJSON() []byte {
	der := x509.MarshalPKCS1PrivateKey(s.key)
	raw, _ := json.MarshalIndent(map[string]string{
		"type":                        "service_account",
		"project_id":                  Project,
		"private_key_id":              s.keyID,
		"private_key":                 string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: der})),
		"client_email":                s.email,
		"client_id":                   "100000000000000000001",
		"auth_uri":                    s.URL + "/auth",
		"token_uri":                   s.URL + "/token",
		"auth_provider_x509_cert_url": s.URL + "/certs",
		"universe_domain":             "googleapis.com",
	}, "", "  ")
	return raw
}

// WriteCredentials writes CredentialsJSON to a file in dir (mode 0600) and
// returns its path.
func (s *Server) WriteCredentials(dir string) (string, error) {
	path := filepath.Join(dir, "fcm-fake-service-account.json")
	return path, os.WriteFile(path, s.CredentialsJSON(), 0o600)
}

// Sender is the real FCM sender (the Firebase SDK) pointed at s, with the
// credentials written into dir.
func (s *Server) Sender(ctx context.Context, dir string) (*fcm.Sender, error) {
	path, err := s.WriteCredentials(dir)
	if err != nil {
		return nil, err
	}
	return fcm.New(ctx, path, s.Endpoint())
}

// FailToken makes every send to token fail with f, until ClearToken.
func (s *Server) FailToken(token string, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.perToken[token] = f
}

// ClearToken ends the scripted failure of token.
func (s *Server) ClearToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.perToken, token)
}

// FailNext makes the next sends, whatever their token, fail with fs in
// order.
func (s *Server) FailNext(fs ...Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next = append(s.next, fs...)
}

// Attempts returns every call of messages:send so far.
func (s *Server) Attempts() []Attempt {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Attempt(nil), s.attempts...)
}

// Accepted returns every message accepted so far.
func (s *Server) Accepted() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.accepted...)
}

// Subscribe delivers the messages accepted for token to the returned
// channel (buffered; a full channel drops) until cancel.
func (s *Server) Subscribe(token string) (<-chan Message, func()) {
	ch := make(chan Message, 64)
	s.mu.Lock()
	s.subs[token] = append(s.subs[token], ch)
	s.mu.Unlock()
	return ch, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		list := s.subs[token]
		for i, c := range list {
			if c == ch {
				s.subs[token] = append(list[:i], list[i+1:]...)
				break
			}
		}
	}
}

// oauthError answers the token endpoint's errors as Google does.
func oauthError(w http.ResponseWriter, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

// token is the OAuth2 JWT-bearer grant (RFC 7523) of a service account.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, "invalid_request", "bad form")
		return
	}
	if r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		oauthError(w, "unsupported_grant_type", "Invalid grant_type: "+r.PostForm.Get("grant_type"))
		return
	}
	if err := s.verifyAssertion(r.PostForm.Get("assertion")); err != nil {
		oauthError(w, "invalid_grant", err.Error())
		return
	}
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	tok := "ya29.fake-" + base64.RawURLEncoding.EncodeToString(b)
	s.mu.Lock()
	s.issued[tok] = time.Now().Add(s.tokenTTL)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": tok, "expires_in": int(s.tokenTTL / time.Second), "token_type": "Bearer"})
}

// verifyAssertion checks a JWT signed by the service account: RS256 with
// its key, issued by its email, for the token endpoint, not expired, with
// FCM's scope.
func (s *Server) verifyAssertion(jwt string) error {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return errors.New("assertion is not a JWT")
	}
	var header struct {
		Alg string `json:"alg"`
		Typ string `json:"typ"`
		Kid string `json:"kid"`
	}
	if err := decodeSegment(parts[0], &header); err != nil {
		return fmt.Errorf("JWT header: %w", err)
	}
	if header.Alg != "RS256" {
		return fmt.Errorf("JWT alg %q, want RS256", header.Alg)
	}
	if header.Kid != "" && header.Kid != s.keyID {
		return errors.New("JWT signed with an unknown key id")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return errors.New("JWT signature is not base64url")
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(&s.key.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
		return errors.New("invalid JWT signature")
	}
	var claims struct {
		Iss   string `json:"iss"`
		Aud   string `json:"aud"`
		Scope string `json:"scope"`
		Iat   int64  `json:"iat"`
		Exp   int64  `json:"exp"`
	}
	if err := decodeSegment(parts[1], &claims); err != nil {
		return fmt.Errorf("JWT claims: %w", err)
	}
	now := time.Now().Unix()
	switch {
	case claims.Iss != s.email:
		return errors.New("JWT iss is not the service account")
	case claims.Aud != s.URL+"/token":
		return fmt.Errorf("JWT aud %q is not the token endpoint", claims.Aud)
	case claims.Exp < now || claims.Iat > now+60 || claims.Exp-claims.Iat > 3600:
		return errors.New("invalid JWT: the token must be short-lived (60 minutes) and in a reasonable timeframe")
	case !strings.Contains(" "+claims.Scope+" ", " "+Scope+" ") && !strings.Contains(claims.Scope, "cloud-platform"):
		return errors.New("JWT scope lacks " + Scope)
	}
	return nil
}

func decodeSegment(seg string, v any) error {
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, v)
}

// fcmError writes FCM's error body: {"error": {"code", "message",
// "status", "details": [{"@type": "…FcmError", "errorCode"}]}}.
func fcmError(w http.ResponseWriter, f Failure, message string) {
	if message == "" {
		message = http.StatusText(f.Status)
	}
	details := []map[string]any{}
	if f.Code != "" {
		details = append(details, map[string]any{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": f.Code})
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	if f.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
	}
	w.WriteHeader(f.Status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
		"code": f.Status, "message": message, "status": f.GRPC, "details": details,
	}})
}

var ttlPattern = regexp.MustCompile(`^\d+(\.\d{1,9})?s$`)

// sendBody is the body of messages:send.
type sendBody struct {
	ValidateOnly bool `json:"validate_only"`
	Message      *struct {
		Token   string                     `json:"token"`
		Topic   string                     `json:"topic"`
		Data    map[string]json.RawMessage `json:"data"`
		Android *struct {
			Priority    string `json:"priority"`
			TTL         string `json:"ttl"`
			CollapseKey string `json:"collapse_key"`
		} `json:"android"`
		Notification json.RawMessage `json:"notification"`
	} `json:"message"`
}

// Validate checks a messages:send body as the CRM must send it (api.md):
// a token, data-only with string values v, type, id and exp, android
// priority HIGH, ttl in seconds of at most 90 s, collapse key
// call_request. It returns the field at fault.
func Validate(raw []byte) (Message, string, error) {
	var b sendBody
	if err := json.Unmarshal(raw, &b); err != nil {
		return Message{}, "", fmt.Errorf("invalid JSON payload received: %w", err)
	}
	m := b.Message
	if m == nil {
		return Message{}, "message", errors.New("message is required")
	}
	if m.Token == "" {
		return Message{}, "message.token", errors.New("a token is required")
	}
	if len(m.Notification) > 0 && string(m.Notification) != "null" {
		return Message{}, "message.notification", errors.New("data-only messages only")
	}
	out := Message{Token: m.Token, Data: map[string]string{}}
	for k, v := range m.Data {
		var str string
		if err := json.Unmarshal(v, &str); err != nil {
			return Message{}, "message.data." + k, fmt.Errorf("invalid value at 'message.data[%s].value' (TYPE_STRING)", k)
		}
		out.Data[k] = str
	}
	for _, k := range []string{"v", "type", "id"} {
		if out.Data[k] == "" {
			return Message{}, "message.data." + k, fmt.Errorf("data.%s is required", k)
		}
	}
	if out.Data["type"] == "call_request" {
		if _, err := time.Parse(time.RFC3339, out.Data["exp"]); err != nil {
			return Message{}, "message.data.exp", errors.New("data.exp must be an RFC 3339 time")
		}
	}
	if out.Data["v"] != "1" {
		return Message{}, "message.data.v", errors.New(`data.v must be "1"`)
	}
	for k := range out.Data {
		switch k {
		case "v", "type", "id", "exp":
		default:
			return Message{}, "message.data." + k, fmt.Errorf("unexpected data key %q (no personal data)", k)
		}
	}
	a := m.Android
	if a == nil {
		return Message{}, "message.android", errors.New("android config is required")
	}
	out.Priority, out.TTL, out.CollapseKey = a.Priority, a.TTL, a.CollapseKey
	if a.Priority != "HIGH" && a.Priority != "high" {
		return Message{}, "message.android.priority", errors.New("priority must be HIGH")
	}
	if !ttlPattern.MatchString(a.TTL) {
		return Message{}, "message.android.ttl", fmt.Errorf("invalid value at 'message.android.ttl' (type.googleapis.com/google.protobuf.Duration), %q", a.TTL)
	}
	if secs, _ := strconv.ParseFloat(strings.TrimSuffix(a.TTL, "s"), 64); secs > 90 || secs <= 0 {
		return Message{}, "message.android.ttl", errors.New("ttl must be at most 90s")
	}
	if a.CollapseKey != "call_request" && out.Data["type"] == "call_request" {
		return Message{}, "message.android.collapse_key", errors.New("collapse_key must be call_request")
	}
	return out, "", nil
}

// send is POST /v1/projects/{project}/messages:send.
func (s *Server) send(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	exp, issued := s.issued[bearer]
	s.mu.Unlock()
	if !ok || !issued || time.Now().After(exp) {
		s.record(Attempt{At: time.Now(), Status: 401, Body: raw})
		fcmError(w, Failure{Status: 401, GRPC: "UNAUTHENTICATED", Code: "THIRD_PARTY_AUTH_ERROR"},
			"Request had invalid authentication credentials. Expected OAuth 2 access token.")
		return
	}
	if r.PathValue("project") != Project {
		s.record(Attempt{At: time.Now(), Status: 403, Body: raw})
		fcmError(w, SenderIDMismatch, "SenderId mismatch")
		return
	}
	m, field, err := Validate(raw)
	if err != nil {
		s.record(Attempt{Token: m.Token, At: time.Now(), Status: 400, Body: raw})
		fcmError(w, InvalidArgument, field+": "+err.Error())
		return
	}
	s.mu.Lock()
	f, fail := s.perToken[m.Token]
	if !fail && len(s.next) > 0 {
		f, fail = s.next[0], true
		s.next = s.next[1:]
	}
	if fail {
		s.attempts = append(s.attempts, Attempt{Token: m.Token, At: time.Now(), Status: f.Status, Body: raw})
		s.mu.Unlock()
		fcmError(w, f, "")
		return
	}
	s.seq++
	m.Name = fmt.Sprintf("projects/%s/messages/%d", Project, s.seq)
	m.At = time.Now()
	s.attempts = append(s.attempts, Attempt{Token: m.Token, At: m.At, Status: 200, Body: raw})
	s.accepted = append(s.accepted, m)
	for _, ch := range s.subs[m.Token] {
		select {
		case ch <- m:
		default:
		}
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_ = json.NewEncoder(w).Encode(map[string]string{"name": m.Name})
}

func (s *Server) record(a Attempt) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attempts = append(s.attempts, a)
}

// stream is GET /fake/stream?token=…: the messages accepted for the
// token, one JSON line each, for a simulated phone in another process.
// The first line is {"name": ""} to say the subscription is on.
func (s *Server) stream(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	if token == "" {
		http.Error(w, "token required", http.StatusBadRequest)
		return
	}
	ch, cancel := s.Subscribe(token)
	defer cancel()
	fl, _ := w.(http.Flusher)
	w.Header().Set("Content-Type", "application/x-ndjson")
	enc := json.NewEncoder(w)
	_ = enc.Encode(Message{Token: token})
	if fl != nil {
		fl.Flush()
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case m := <-ch:
			if enc.Encode(m) != nil {
				return
			}
			if fl != nil {
				fl.Flush()
			}
		}
	}
}

// Listen reads the stream of token on a fake at base URL (another
// process) and calls fn with each message until ctx ends or the stream
// breaks. ready is closed once the subscription is on.
func Listen(ctx context.Context, client *http.Client, base, token string, ready chan<- struct{}, fn func(Message)) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+"/fake/stream?token="+url.QueryEscape(token), nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("fcm fake stream: %s", resp.Status)
	}
	dec := json.NewDecoder(resp.Body)
	first := true
	for {
		var m Message
		if err := dec.Decode(&m); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("fcm fake stream: %w", err)
		}
		if first {
			first = false
			if ready != nil {
				close(ready)
			}
			continue
		}
		fn(m)
	}
}
