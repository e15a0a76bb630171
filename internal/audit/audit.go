// Package audit keeps the append-only log of who did what. An entry is
// written with the action's own transaction, so an action and its record
// commit or vanish together; refused attempts are recorded on their own.
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

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
	ID         int64          `json:"id"`
	At         time.Time      `json:"at"`
	ActorID    int64          `json:"actor"`
	ActorName  string         `json:"actor_name"`
	Action     string         `json:"action"`
	ObjectType string         `json:"object_type"`
	ObjectID   string         `json:"object_id"`
	Outcome    string         `json:"outcome"`
	IP         string         `json:"ip"`
	Detail     map[string]any `json:"detail"`
}

type actorKey struct{}

// Actor is who acts in a request: set once by the HTTP layer, read by Record.
type Actor struct {
	ID   int64
	Name string
	IP   string
}

// WithActor returns ctx carrying the acting user and their address.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor stored by WithActor.
func ActorFrom(ctx context.Context) Actor {
	a, _ := ctx.Value(actorKey{}).(Actor)
	return a
}

// ID formats an integer object id.
func ID(id int64) string { return strconv.FormatInt(id, 10) }

// Record writes e with q — the action's transaction, or the database for a
// refused attempt. Actor, IP and time default to the context's actor and now.
func Record(ctx context.Context, q database.Querier, e Entry) error {
	a := ActorFrom(ctx)
	if e.ActorID == 0 {
		e.ActorID = a.ID
	}
	if e.ActorName == "" {
		e.ActorName = a.Name
	}
	if e.IP == "" {
		e.IP = a.IP
	}
	if e.At.IsZero() {
		e.At = database.Now()
	}
	if e.Outcome == "" {
		e.Outcome = OK
	}
	detail := []byte("{}")
	if len(e.Detail) > 0 {
		var err error
		if detail, err = json.Marshal(e.Detail); err != nil {
			return fmt.Errorf("audit detail: %w", err)
		}
	}
	_, err := q.ExecContext(ctx, `INSERT INTO audit_log (at, actor_id, actor_name, action, object_type, object_id, outcome, ip, detail)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		e.At, database.NullInt64(e.ActorID), e.ActorName, e.Action, e.ObjectType, e.ObjectID, e.Outcome, e.IP, string(detail))
	if err != nil {
		return fmt.Errorf("audit %s: %w", e.Action, err)
	}
	return nil
}
