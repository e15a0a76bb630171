package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/auth"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// cacheSessions starts the server's session cache (PostgreSQL) and waits
// until its listener listens; on SQLite it does nothing.
func (e *testEnv) cacheSessions() {
	e.t.Helper()
	if e.srv.sessions == nil {
		return
	}
	e.srv.CacheSessions(context.Background())
	e.t.Cleanup(e.srv.Close)
	e.waitListening()
}

// waitListening waits until the session cache's listener listens.
func (e *testEnv) waitListening() {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !e.srv.sessions.Listening() {
		if time.Now().After(deadline) {
			e.t.Fatal("the session cache does not listen")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// eventually polls ok until it holds, for at most a few seconds: another
// process's change reaches this one asynchronously, by NOTIFY.
func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not seen within 5 s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// sessionStatements is how many statements a GET of /api/me/ with session
// sends, and the user it answers with (nil when it is refused).
func (e *testEnv) me(session string) (*userJSON, int64) {
	e.t.Helper()
	req := httptest.NewRequest("GET", "/api/me/", nil)
	rec, n := e.serveCounting(req, session)
	if rec.Code != http.StatusOK {
		return nil, n
	}
	var u userJSON
	if err := json.Unmarshal(rec.Body.Bytes(), &u); err != nil {
		e.t.Fatal(err)
	}
	return &u, n
}

// requestUser is what a GET with session finds as its user: the path the
// authentication of a read takes (the cache, when it holds the session).
func (e *testEnv) requestUser(session string) (*auth.User, error) {
	return e.srv.users.CachedUserBySession(context.Background(), session, e.srv.cfg.SessionTTL)
}

// TestAnotherProcessesChangesReachCachedSessions: a session this process
// remembers (PostgreSQL) still shows, on its next requests, what another
// process — a second database handle, as a second `crm serve` — changed:
// a sign-out, a deactivation, a role or data scope, notifications read or
// added, a phone paired or unpaired, a dictionary, the branch's time zone,
// and the same for an API token's user. On SQLite nothing is remembered
// and every change shows at once.
func TestAnotherProcessesChangesReachCachedSessions(t *testing.T) {
	for _, d := range dbtest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			e, other := twoProcesses(t, d)
			e.cacheSessions()
			otherUsers := auth.NewStore(other)
			exec := func(q string, args ...any) {
				t.Helper()
				if _, err := other.ExecContext(ctx, q, args...); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			c := e.cast
			alisa := e.session(c.Alisa)
			// remembered checks that a GET with the session sends no
			// statement for it (PostgreSQL) once it has been seen.
			remembered := func(session string) {
				t.Helper()
				e.me(session)
				if _, n := e.me(session); d == database.Postgres && n != 0 {
					t.Fatalf("GET /api/me/ of a known session: %d statements, want 0", n)
				}
			}
			user := func(session string) *auth.User {
				t.Helper()
				u, err := e.requestUser(session)
				if err != nil {
					t.Fatal(err)
				}
				return u
			}

			t.Run("a role and a data scope", func(t *testing.T) {
				remembered(alisa)
				exec(`UPDATE users SET role = 'branch_director', data_scope = 'branch' WHERE id = $1`, c.Alisa.ID)
				eventually(t, "the new role", func() bool {
					u, _ := e.me(alisa)
					return u != nil && u.Role == access.RoleBranchDirector && u.DataScope == access.Branch
				})
			})
			t.Run("notifications added and read", func(t *testing.T) {
				remembered(alisa)
				unread := user(alisa).Unread
				exec(`INSERT INTO notifications (user_id, kind, title, created_at) VALUES ($1, 'x', 'Соседу', $2)`, c.Alisa.ID, time.Now().UTC())
				eventually(t, "one more unread", func() bool { return user(alisa).Unread == unread+1 })
				remembered(alisa)
				exec(`UPDATE notifications SET is_read = $1, read_at = $2 WHERE user_id = $3`, true, time.Now().UTC(), c.Alisa.ID)
				eventually(t, "none unread", func() bool { return user(alisa).Unread == 0 })
			})
			t.Run("a phone paired and unpaired", func(t *testing.T) {
				remembered(alisa)
				var device int64
				if err := other.QueryRowContext(ctx, `INSERT INTO phone_devices (user_id, token_hash, status, created_at, activated_at)
					VALUES ($1, 'соседский', 'active', $2, $2) RETURNING id`, c.Alisa.ID, time.Now().UTC()).Scan(&device); err != nil {
					t.Fatal(err)
				}
				eventually(t, "the phone", func() bool { return user(alisa).Request.Phone })
				remembered(alisa)
				exec(`UPDATE phone_devices SET status = 'revoked', revoked_at = $1 WHERE id = $2`, time.Now().UTC(), device)
				eventually(t, "no phone", func() bool { return !user(alisa).Request.Phone })
			})
			t.Run("a dictionary", func(t *testing.T) {
				remembered(alisa)
				version := user(alisa).Request.DictionaryVersion
				exec(`INSERT INTO spheres (name) VALUES ('Сфера соседа')`)
				eventually(t, "the new dictionaries' number", func() bool { return user(alisa).Request.DictionaryVersion > version })
				if body, _ := e.pageBody(alisa, "/companies/new"); !strings.Contains(body, "Сфера соседа") {
					t.Error("the company form does not offer the new sphere")
				}
			})
			t.Run("the branch's time zone", func(t *testing.T) {
				remembered(alisa)
				exec(`UPDATE branches SET time_zone = 'Asia/Omsk' WHERE id = (SELECT branch_id FROM users WHERE id = $1)`, c.Alisa.ID)
				eventually(t, "the branch's new zone", func() bool { return user(alisa).BranchTZ == "Asia/Omsk" })
			})
			t.Run("an API token's user", func(t *testing.T) {
				gleb := e.bearerToken(c.Gleb)
				get := func() int {
					return e.bearer(gleb, "GET", "/api/me/", "").Code
				}
				get()
				before := e.db.Statements()
				if get() != http.StatusOK {
					t.Fatal("the token is refused")
				}
				if n := e.db.Statements() - before; d == database.Postgres && n != 0 {
					t.Fatalf("GET with a known token user: %d statements, want 0", n)
				}
				exec(`UPDATE users SET is_active = $1 WHERE id = $2`, false, c.Gleb.ID)
				eventually(t, "the token's user deactivated", func() bool { return get() == http.StatusUnauthorized })
			})
			t.Run("a sign-out", func(t *testing.T) {
				remembered(alisa)
				if err := otherUsers.DeleteSession(ctx, alisa); err != nil {
					t.Fatal(err)
				}
				eventually(t, "the sign-out", func() bool {
					u, _ := e.me(alisa)
					return u == nil
				})
			})
			t.Run("a deactivation", func(t *testing.T) {
				boris := e.session(c.Boris)
				remembered(boris)
				exec(`UPDATE users SET is_active = $1 WHERE id = $2`, false, c.Boris.ID)
				eventually(t, "the deactivation", func() bool {
					_, err := e.requestUser(boris)
					return errors.Is(err, apperr.ErrUnauthenticated)
				})
			})
		})
	}
}

// pageBody GETs path with session and returns its body and statements.
func (e *testEnv) pageBody(session, path string) (string, int64) {
	e.t.Helper()
	rec, n := e.serveCounting(httptest.NewRequest("GET", path, nil), session)
	if rec.Code != http.StatusOK {
		e.t.Fatalf("%s: status %d", path, rec.Code)
	}
	return rec.Body.String(), n
}

// bearerToken is an API access token of m.
func (e *testEnv) bearerToken(m dbtest.Member) string {
	e.t.Helper()
	p, err := e.srv.tokens.Issue(context.Background(), m.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	return p.Access
}

// TestWritesShowOnTheNextRequestOfTheProcess: with the session cache on,
// a request that writes is followed, in the same process and without any
// waiting, by requests that see what it wrote — its own session's user
// and other users' alike.
func TestWritesShowOnTheNextRequestOfTheProcess(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		e.cacheSessions()
		c := e.cast
		alisa := e.session(c.Alisa)
		warm := func() {
			t.Helper()
			e.me(alisa)
			if _, n := e.me(alisa); e.db.Dialect == database.Postgres && n != 0 {
				t.Fatalf("a known session: %d statements, want 0", n)
			}
		}
		warm()
		// An admin changes Алиса's role: her next request has it.
		code := e.api(&c.Admin, "PATCH", "/api/users/"+strconv.FormatInt(c.Alisa.ID, 10)+"/",
			map[string]any{"role": "branch_director", "data_scope": "branch"}, nil)
		if code != http.StatusOK {
			t.Fatalf("role: %d", code)
		}
		if u, _ := e.me(alisa); u == nil || u.Role != access.RoleBranchDirector {
			t.Fatalf("the next request: %+v, want the new role", u)
		}
		// A task Борис gives her rings her bell.
		warm()
		unread := e.user(alisa).Unread
		if code := e.api(&c.Boris, "POST", "/api/tasks/", map[string]any{"title": "Позвонить", "assigned_to": c.Alisa.ID,
			"due_at": "2030-01-01T10:00:00+03:00"}, nil); code != http.StatusCreated {
			t.Fatalf("task: %d", code)
		}
		if got := e.user(alisa).Unread; got != unread+1 {
			t.Fatalf("unread after a task from Борис: %d, want %d", got, unread+1)
		}
		// She reads them all.
		warm()
		req := httptest.NewRequest("POST", "/api/notifications/read-all/", nil)
		if rec, _ := e.serveCounting(req, alisa); rec.Code >= 300 {
			t.Fatalf("read all: %d", rec.Code)
		}
		if got := e.user(alisa).Unread; got != 0 {
			t.Fatalf("unread after reading all: %d", got)
		}
		// She pairs a phone: the next page has the call buttons' fact.
		warm()
		e.pairPhone(c.Alisa)
		if !e.user(alisa).Request.Phone {
			t.Fatal("no phone after pairing")
		}
		// She signs out.
		warm()
		req = httptest.NewRequest("POST", "/logout", nil)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		if rec, _ := e.serveCounting(req, alisa); rec.Code >= 400 {
			t.Fatalf("logout: %d", rec.Code)
		}
		if u, _ := e.me(alisa); u != nil {
			t.Fatal("the session still works after signing out")
		}
	})
}

// user is requestUser that must succeed.
func (e *testEnv) user(session string) *auth.User {
	e.t.Helper()
	u, err := e.requestUser(session)
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

// TestSessionCacheSurvivesALostListener: when the listener's connection
// is killed, what changes meanwhile (its NOTIFY lost) still shows, and
// once the listener is back the sessions are remembered again.
func TestSessionCacheSurvivesALostListener(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		if e.db.Dialect != database.Postgres {
			t.Skip("SQLite: no listener, nothing remembered")
		}
		e.cacheSessions()
		ctx := context.Background()
		c := e.cast
		alisa := e.session(c.Alisa)
		e.me(alisa)
		if _, n := e.me(alisa); n != 0 {
			t.Fatalf("a known session: %d statements, want 0", n)
		}
		listener := func() int64 {
			var pid int64
			err := e.db.QueryRowContext(ctx, `SELECT pid FROM pg_stat_activity
				WHERE datname = current_database() AND query = 'LISTEN `+auth.SessionCacheChannel+`'`).Scan(&pid)
			if err != nil {
				return 0
			}
			return pid
		}
		pid := listener()
		if pid == 0 {
			t.Fatal("no listener connection")
		}
		if _, err := e.db.ExecContext(ctx, `SELECT pg_terminate_backend($1)`, pid); err != nil {
			t.Fatal(err)
		}
		// Changed while nobody listens: no NOTIFY reaches this process.
		if _, err := e.db.ExecContext(ctx, `UPDATE users SET role = 'admin' WHERE id = $1`, c.Alisa.ID); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the role changed while the listener was down", func() bool {
			u, _ := e.me(alisa)
			return u != nil && u.Role == access.RoleAdmin
		})
		eventually(t, "a new listener", func() bool { p := listener(); return p != 0 && p != pid })
		e.waitListening()
		if u, _ := e.me(alisa); u == nil || u.Role != access.RoleAdmin {
			t.Fatalf("after the reconnect: %+v, want the new role", u)
		}
		if _, n := e.me(alisa); n != 0 {
			t.Fatalf("a known session after the reconnect: %d statements, want 0", n)
		}
	})
}

// TestSessionCacheKeepsTheTouchAndTheExpiry: a remembered session due for
// its 10-minute touch, or past its expiry, goes to the database as
// without the cache: the touch slides the expiry, the expired session is
// refused.
func TestSessionCacheKeepsTheTouchAndTheExpiry(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		e.cacheSessions()
		ctx := context.Background()
		alisa := e.session(e.cast.Alisa)
		e.me(alisa)
		e.me(alisa)
		old := time.Now().UTC().Add(-11 * time.Minute)
		// Behind the cache's back: as if the session had been idle for 11
		// minutes (the trigger tells the listener; wait for it).
		if _, err := e.db.ExecContext(ctx, `UPDATE sessions SET last_seen_at = $1`, old); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the session's new last use", func() bool {
			e.me(alisa)
			var seen time.Time
			if err := e.db.QueryRowContext(ctx, `SELECT last_seen_at FROM sessions`).Scan(&seen); err != nil {
				t.Fatal(err)
			}
			return seen.After(old.Add(time.Minute))
		})
		if _, err := e.db.ExecContext(ctx, `UPDATE sessions SET expires_at = $1`, time.Now().UTC().Add(-time.Second)); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the expiry", func() bool { u, _ := e.me(alisa); return u == nil })
	})
}
