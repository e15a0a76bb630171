// Package audit keeps the append-only log of who did what. An entry is
// written with the action's own transaction, so an action and its record
// commit or vanish together; refused attempts are recorded on their own.
package audit

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/database"
)

// Outcomes of an audited action.
const (
	OK     = "ok"
	Denied = "denied"
	Error  = "error"
)

// Entry is one line of the audit log.
type Entry struct {
	ID        int64     `json:"id"`
	At        time.Time `json:"at"`
	ActorID   int64     `json:"actor"`
	ActorName string    `json:"actor_name"`
	// System marks an entry written by the application itself (a job, a
	// command); ActorName then names which, and ActorID is 0.
	System     bool           `json:"actor_system"`
	Action     string         `json:"action"`
	ObjectType string         `json:"object_type"`
	ObjectID   string         `json:"object_id"`
	Outcome    string         `json:"outcome"`
	IP         string         `json:"ip"`
	Detail     map[string]any `json:"detail"`
	// Hash is the entry's link in the chain (chain.go), as read back;
	// Record computes it and ignores what is given, and the same for the
	// lane the entry is in and its number there.
	Hash string `json:"hash,omitempty"`
	Lane int64  `json:"-"`
	Seq  int64  `json:"-"`
}

type clientKey struct{}

// client is who sent the request an action is made in.
type client struct{ ip, userAgent string }

// WithClient returns ctx carrying the address and the user agent of the
// request's client, which Record writes beside the actor of every entry
// made in the request. Who acted is not in the context: it is the scope
// each write is made with.
func WithClient(ctx context.Context, ip, userAgent string) context.Context {
	return context.WithValue(ctx, clientKey{}, client{ip: ip, userAgent: userAgent})
}

// ClientIP returns the address stored by WithClient.
func ClientIP(ctx context.Context) string {
	c, _ := ctx.Value(clientKey{}).(client)
	return c.ip
}

// userAgentLimit is how much of a user agent an entry keeps.
const userAgentLimit = 512

// UserAgent returns the user agent stored by WithClient, cut to
// userAgentLimit bytes (on a character boundary).
func UserAgent(ctx context.Context) string {
	c, _ := ctx.Value(clientKey{}).(client)
	ua := c.userAgent
	if len(ua) > userAgentLimit {
		ua = strings.ToValidUTF8(ua[:userAgentLimit], "")
	}
	return ua
}

// ID formats an integer object id.
func ID(id int64) string { return strconv.FormatInt(id, 10) }

// Record writes e with q — the action's transaction, or the database for a
// refused attempt. The actor is by, the scope the action was made with: a
// user (id and name), the system actor of a job or command (its name), or
// no one (a failed sign-in). The IP defaults to the context's client, the
// detail's "user_agent" to the client's user agent (WithClient), and the
// time to now.
//
// The entry goes at the end of a lane of the hash chain (chain.go):
// Record takes the lane's head, which other audited writes to that lane
// then wait for until q's transaction ends — so an action should record
// its entry as its last write. Given the database rather than a transaction, Record uses a
// transaction of its own.
func Record(ctx context.Context, q database.Querier, by access.Scope, e Entry) error {
	e.ActorID, e.ActorName, e.System = by.UserID, by.Name, by.IsSystem()
	if e.IP == "" {
		e.IP = ClientIP(ctx)
	}
	if ua := UserAgent(ctx); ua != "" {
		if _, given := e.Detail["user_agent"]; !given {
			e.Detail = maps.Clone(e.Detail)
			if e.Detail == nil {
				e.Detail = map[string]any{}
			}
			e.Detail["user_agent"] = ua
		}
	}
	if e.At.IsZero() {
		e.At = database.Now()
	}
	// Stored to the microsecond in UTC on both databases: hash what is stored.
	e.At = e.At.UTC().Truncate(time.Microsecond)
	if e.Outcome == "" {
		e.Outcome = OK
	}
	detail := "{}"
	if len(e.Detail) > 0 {
		b, err := json.Marshal(e.Detail)
		if err != nil {
			return fmt.Errorf("audit detail: %w", err)
		}
		detail = string(b) // keys sorted: the same detail is the same text
	}
	switch q := q.(type) {
	case *sql.Tx:
		d, ok := database.TxDialect(q)
		if !ok {
			var err error
			if d, err = dialectOf(ctx, q); err != nil {
				return err
			}
		}
		return appendEntry(ctx, q, d, e, detail)
	case *database.DB:
		return q.InTx(ctx, func(tx *sql.Tx) error { return appendEntry(ctx, tx, q.Dialect, e, detail) })
	case interface {
		BeginTx(context.Context, *sql.TxOptions) (*sql.Tx, error)
	}:
		tx, err := q.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("audit %s: %w", e.Action, err)
		}
		d, err := dialectOf(ctx, tx)
		if err == nil {
			err = appendEntry(ctx, tx, d, e, detail)
		}
		if err != nil {
			_ = tx.Rollback()
			return err
		}
		return tx.Commit()
	default:
		return fmt.Errorf("audit %s: %T is neither a transaction nor a database", e.Action, q)
	}
}
