package audit_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/access"
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
		entries := []struct {
			by access.Scope
			e  audit.Entry
		}{
			{cast.Alisa.Scope, audit.Entry{At: day, Action: "export.companies", Outcome: audit.Denied}},
			{cast.Admin.Scope, audit.Entry{At: day.Add(time.Hour), Action: "export.contacts"}},
			{cast.Admin.Scope, audit.Entry{At: day.Add(24 * time.Hour), Action: "exporter.odd"}},
			{cast.Boris.Scope, audit.Entry{At: day.Add(48 * time.Hour), Action: "note.delete", ObjectType: "note", ObjectID: "7",
				Detail: map[string]any{"text": "старая заметка"}}},
		}
		for _, x := range entries {
			if err := audit.Record(ctx, db, x.by, x.e); err != nil {
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

func TestEntriesNameTheirActor(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		cast := dbtest.NewCast(t, db)
		ctx := audit.WithClient(context.Background(), "10.1.2.3", "")
		tests := []struct {
			name       string
			by         access.Scope
			wantID     int64
			wantName   string
			wantSystem bool
		}{
			{"an entry by a user names the user", cast.Boris.Scope, cast.Boris.ID, "Борис Бородин", false},
			{"an entry by the system names the system actor", access.System("job:purge"), 0, "job:purge", true},
			{"an entry by no one names no one", access.Scope{}, 0, "", false},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				id := audit.ID(int64(i + 1))
				err := db.InTx(ctx, func(tx *sql.Tx) error {
					return audit.Record(ctx, tx, tt.by, audit.Entry{Action: "test.actor", ObjectType: "test", ObjectID: id})
				})
				if err != nil {
					t.Fatal(err)
				}
				got, _, err := audit.NewStore(db).List(ctx, cast.Admin.Scope, audit.Filter{ObjectType: "test", ObjectID: id})
				if err != nil || len(got) != 1 {
					t.Fatal(got, err)
				}
				e := got[0]
				if e.ActorID != tt.wantID || e.ActorName != tt.wantName || e.System != tt.wantSystem || e.IP != "10.1.2.3" {
					t.Fatalf("entry = %+v, want actor %d %q system %v from 10.1.2.3", e, tt.wantID, tt.wantName, tt.wantSystem)
				}
			})
		}
	})
}
