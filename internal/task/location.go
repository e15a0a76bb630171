package task

import (
	"context"
	"sync"
	"time"

	"github.com/crmprofi/crm/internal/database"
)

// zones caches time.LoadLocation by name: lists resolve the same few
// zones row after row, and LoadLocation reads the zone database each time.
var zones sync.Map // name → *time.Location (nil for a bad name)

// LoadZone returns the zone named name, or nil when the name is empty or
// not an IANA zone.
func LoadZone(name string) *time.Location {
	if name == "" {
		return nil
	}
	if v, ok := zones.Load(name); ok {
		loc, _ := v.(*time.Location)
		return loc
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		loc = nil
	}
	zones.Store(name, loc)
	return loc
}

// ResolveZone is the rule of whose time a user lives in: their own zone,
// else their branch's, else def.
func ResolveZone(userZone, branchZone string, def *time.Location) *time.Location {
	if loc := LoadZone(userZone); loc != nil {
		return loc
	}
	if loc := LoadZone(branchZone); loc != nil {
		return loc
	}
	if def == nil {
		return time.UTC
	}
	return def
}

// zoneOfUser is the SQL of a user's zone names: their own and their
// branch's, for ResolveZone. The user's id is bound at ph.
func zoneOfUser(ph string) string {
	return `SELECT zu.time_zone, COALESCE(zb.time_zone, '') FROM users zu LEFT JOIN branches zb ON zb.id = zu.branch_id WHERE zu.id = ` + ph
}

// UserLocation is the time zone user id lives in (ResolveZone), read with
// q; def for an unknown user.
func UserLocation(ctx context.Context, q database.Querier, id int64, def *time.Location) (*time.Location, error) {
	var own, branch string
	err := q.QueryRowContext(ctx, zoneOfUser("$1"), id).Scan(&own, &branch)
	if err != nil && !isNoRows(err) {
		return nil, err
	}
	return ResolveZone(own, branch, def), nil
}

// Location is the time zone of user id: the one "today" and "this week"
// are computed in for them, and their recurring tasks' times kept in.
func (s *Store) Location(ctx context.Context, id int64) (*time.Location, error) {
	return UserLocation(ctx, s.db, id, s.def)
}

// DefaultLocation is the zone of users with neither their own zone nor a
// branch's (the configured default).
func (s *Store) DefaultLocation() *time.Location { return s.def }
