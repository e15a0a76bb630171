package task

import (
	"context"
	"time"

	"github.com/crmprofi/crm/internal/auth"
	"github.com/crmprofi/crm/internal/database"
)

// zoneOfUser is the SQL of a user's zone names: their own and their
// branch's, for auth.ResolveZone. The user's id is bound at ph.
func zoneOfUser(ph string) string {
	return `SELECT zu.time_zone, COALESCE(zb.time_zone, '') FROM users zu LEFT JOIN branches zb ON zb.id = zu.branch_id WHERE zu.id = ` + ph
}

// UserLocation is the time zone user id lives in (auth.ResolveZone), read with
// q; def for an unknown user.
func UserLocation(ctx context.Context, q database.Querier, id int64, def *time.Location) (*time.Location, error) {
	var own, branch string
	err := q.QueryRowContext(ctx, zoneOfUser("$1"), id).Scan(&own, &branch)
	if err != nil && !isNoRows(err) {
		return nil, err
	}
	return auth.ResolveZone(own, branch, def), nil
}

// Location is the time zone of user id: the one "today" and "this week"
// are computed in for them, and their recurring tasks' times kept in.
func (s *Store) Location(ctx context.Context, id int64) (*time.Location, error) {
	return UserLocation(ctx, s.db, id, s.def)
}

// DefaultLocation is the zone of users with neither their own zone nor a
// branch's (the configured default).
func (s *Store) DefaultLocation() *time.Location { return s.def }
