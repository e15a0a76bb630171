package server

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/audit"
	"github.com/crmprofi/crm/internal/auth"
)

// credentials is the body of POST /api/token/ and of the sign-in form.
type credentials struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

func (c *credentials) fromForm(v url.Values) error {
	c.Username, c.Password = v.Get("username"), v.Get("password")
	return nil
}

// refreshInput is the body of the refresh and blacklist endpoints.
type refreshInput struct {
	Refresh string `json:"refresh"`
}

func (in *refreshInput) fromForm(v url.Values) error {
	in.Refresh = v.Get("refresh")
	return nil
}

func (in refreshInput) validate() error {
	if strings.TrimSpace(in.Refresh) == "" {
		return apperr.Invalid{"refresh": "Обязательное поле."}
	}
	return nil
}

// signIn checks credentials under the throttle and audits the outcome,
// ok or denied. Both the API and the sign-in page go through it.
func (s *Server) signIn(w http.ResponseWriter, r *http.Request, c credentials) (*auth.User, error) {
	ip := s.clientIP(r)
	login := auth.NormalizeUsername(c.Username)
	err := s.throttle.Check(r.Context(), login, ip)
	if err == nil {
		err = s.throttle.Reserve(r.Context(), login, ip)
	}
	if err != nil {
		if !errors.Is(err, apperr.ErrThrottled) {
			return nil, err
		}
		setRetryAfter(w, err)
		s.auditLogin(r, nil, login, audit.Denied, "throttled")
		return nil, err
	}
	u, err := s.users.Authenticate(r.Context(), login, c.Password)
	if errors.Is(err, apperr.ErrUnauthenticated) {
		if _, ferr := s.throttle.Fail(r.Context(), login, ip); ferr != nil {
			return nil, ferr
		}
		s.auditLogin(r, nil, login, audit.Denied, "bad credentials")
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	if err := s.throttle.Succeed(r.Context(), login, ip); err != nil {
		return nil, err
	}
	s.auditLogin(r, u, login, audit.OK, "")
	return u, nil
}

// setRetryAfter tells a throttled client how many seconds to wait.
func setRetryAfter(w http.ResponseWriter, err error) {
	var th *auth.Throttled
	if errors.As(err, &th) {
		w.Header().Set("Retry-After", strconv.Itoa(int(th.RetryAfter.Seconds()+0.999)))
	}
}

func (s *Server) auditLogin(r *http.Request, u *auth.User, login, outcome, reason string) {
	// The client is taken here, not from the context, so the entry is
	// complete even where no middleware put an actor in the context.
	ctx := audit.WithClient(r.Context(), s.clientIP(r), r.UserAgent())
	e := audit.Entry{Action: "auth.login", ObjectType: "user", Outcome: outcome, Detail: map[string]any{"username": login}}
	if reason != "" {
		e.Detail["reason"] = reason
	}
	var by access.Scope // a failed sign-in is no one's
	if u != nil {
		by, e.ObjectID = u.Scope(), audit.ID(u.ID)
	}
	if err := audit.Record(ctx, s.db, by, e); err != nil {
		s.log.ErrorContext(r.Context(), "audit of a sign-in failed", "err", err)
	}
}

// tokenNotValid is the contract's 401 for a bad token.
var tokenNotValid = detail{Detail: "Токен недействителен или просрочен", Code: "token_not_valid"}

func (s *Server) obtainToken(w http.ResponseWriter, r *http.Request) error {
	var in credentials
	if err := decode(w, r, &in); err != nil {
		return err
	}
	inv := apperr.Invalid{}
	if strings.TrimSpace(in.Username) == "" {
		inv.Add("username", "Обязательное поле.")
	}
	if in.Password == "" {
		inv.Add("password", "Обязательное поле.")
	}
	if err := inv.Err(); err != nil {
		return err
	}
	u, err := s.signIn(w, r, in)
	if errors.Is(err, apperr.ErrUnauthenticated) {
		return writeJSON(w, http.StatusUnauthorized, detail{
			Detail: "Не найдено активной учетной записи с указанными данными", Code: "no_active_account"})
	}
	if err != nil {
		return err
	}
	pair, err := s.tokens.Issue(r.Context(), u.ID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, pair)
}

func (s *Server) refreshToken(w http.ResponseWriter, r *http.Request) error {
	var in refreshInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if err := in.validate(); err != nil {
		return err
	}
	pair, err := s.tokens.Refresh(r.Context(), in.Refresh)
	if errors.Is(err, apperr.ErrUnauthenticated) {
		return writeJSON(w, http.StatusUnauthorized, tokenNotValid)
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, pair)
}

func (s *Server) blacklistToken(w http.ResponseWriter, r *http.Request) error {
	var in refreshInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if err := in.validate(); err != nil {
		return err
	}
	err := s.tokens.Blacklist(r.Context(), in.Refresh)
	if errors.Is(err, apperr.ErrUnauthenticated) {
		return writeJSON(w, http.StatusUnauthorized, tokenNotValid)
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, struct{}{})
}
