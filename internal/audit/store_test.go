package audit_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/audit"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

func TestListIsForAdminsOnly(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		cast := dbtest.NewCast(t, db)
		s := audit.NewStore(db)
		for _, m := range cast.All() {
			_, _, err := s.List(context.Background(), m.Scope, audit.Filter{})
			switch {
			case m.Scope.IsAdmin() && err != nil:
				t.Errorf("admin: %v", err)
			case !m.Scope.IsAdmin() && !errors.Is(err, apperr.ErrForbidden):
				t.Errorf("%s: %v, want forbidden", m.Username, err)
			}
		}
	})
}

func TestListFilters(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		cast := dbtest.NewCast(t, db)
		s := audit.NewStore(db)
		day := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
		entries := []audit.Entry{
			{At: day, ActorID: cast.Alisa.ID, ActorName: "Алиса Аксёнова", Action: "export.companies", Outcome: audit.Denied},
			{At: day.Add(time.Hour), ActorID: cast.Admin.ID, Action: "export.contacts"},
			{At: day.Add(24 * time.Hour), ActorID: cast.Admin.ID, Action: "exporter.odd"},
			{At: day.Add(48 * time.Hour), ActorID: cast.Boris.ID, Action: "note.delete", ObjectType: "note", ObjectID: "7",
				Detail: map[string]any{"text": "старая заметка"}},
		}
		for _, e := range entries {
			if err := audit.Record(ctx, db, e); err != nil {
				t.Fatal(err)
			}
		}
		tests := []struct {
			name string
			f    audit.Filter
			want []string
		}{
			{"everything comes newest first", audit.Filter{}, []string{"note.delete", "exporter.odd", "export.contacts", "export.companies"}},
			{"an action filter matches a prefix", audit.Filter{Action: "export."}, []string{"export.contacts", "export.companies"}},
			{"an exact action matches itself", audit.Filter{Action: "note.delete"}, []string{"note.delete"}},
			{"an actor filter keeps their entries", audit.Filter{Actor: cast.Admin.ID}, []string{"exporter.odd", "export.contacts"}},
			{"since is inclusive and until exclusive", audit.Filter{Since: day.Add(time.Hour), Until: day.Add(48 * time.Hour)}, []string{"exporter.odd", "export.contacts"}},
			{"an outcome filter keeps refusals", audit.Filter{Outcome: audit.Denied}, []string{"export.companies"}},
			{"an object filter finds one object", audit.Filter{ObjectType: "note", ObjectID: "7"}, []string{"note.delete"}},
			{"a page holds page size entries", audit.Filter{Page: 2, PageSize: 3}, []string{"export.companies"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, count, err := s.List(ctx, cast.Admin.Scope, tt.f)
				if err != nil {
					t.Fatal(err)
				}
				var actions []string
				for _, e := range got {
					actions = append(actions, e.Action)
				}
				if len(actions) != len(tt.want) || (tt.f.Page == 0 && count != len(tt.want)) {
					t.Fatalf("got %v (count %d), want %v", actions, count, tt.want)
				}
				for i := range actions {
					if actions[i] != tt.want[i] {
						t.Fatalf("got %v, want %v", actions, tt.want)
					}
				}
			})
		}
		t.Run("an entry comes back whole", func(t *testing.T) {
			got, _, err := s.List(ctx, cast.Admin.Scope, audit.Filter{Action: "note"})
			if err != nil || len(got) != 1 {
				t.Fatal(got, err)
			}
			e := got[0]
			if !e.At.Equal(day.Add(48*time.Hour)) || e.ActorID != cast.Boris.ID || e.Outcome != audit.OK || e.Detail["text"] != "старая заметка" {
				t.Fatalf("got %+v", e)
			}
		})
	})
}
