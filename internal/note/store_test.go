package note_test

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"testing"

	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
	"github.com/crmprofi/crm/internal/note"
)

func insertCompany(t *testing.T, db *database.DB, name string, branch, responsible int64) int64 {
	t.Helper()
	now := database.Now()
	var id int64
	err := db.QueryRowContext(context.Background(), `INSERT INTO companies (name, name_norm, branch_id, responsible_id, created_by, created_at, updated_at)
		VALUES ($1, $1, $2, $3, $3, $4, $4) RETURNING id`, name, branch, responsible, now).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

type auditRow struct {
	action, outcome string
	actor           int64
	detail          map[string]any
}

func auditOf(t *testing.T, db *database.DB, id int64) []auditRow {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), `SELECT action, outcome, COALESCE(actor_id, 0), detail FROM audit_log
		WHERE object_type = 'note' AND object_id = $1 ORDER BY id`, strconv.FormatInt(id, 10))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []auditRow
	for rows.Next() {
		var r auditRow
		var raw string
		if err := rows.Scan(&r.action, &r.outcome, &r.actor, &raw); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(raw), &r.detail); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestNoteTimeline(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		cast := dbtest.NewCast(t, db)
		s := note.NewStore(db)
		ctx := context.Background()
		company := insertCompany(t, db, "Ромашка", cast.BranchA, cast.Alisa.ID)
		alisa := cast.Alisa.Scope
		first, err := s.Create(ctx, alisa, note.Input{Company: company, Text: "Первый звонок", Type: "call_out"})
		if err != nil {
			t.Fatal(err)
		}
		second, err := s.Create(ctx, cast.Gleb.Scope, note.Input{Company: company, Text: "Письмо отправлено", Type: "email_out"})
		if err != nil {
			t.Fatal(err)
		}
		if first.AuthorName != "Алиса Аксёнова" || first.Edited() || first.Type != "call_out" {
			t.Fatalf("created %+v", first)
		}

		t.Run("pinned notes come first, then the newest", func(t *testing.T) {
			if _, err := s.SetPinned(ctx, alisa, first.ID, true); err != nil {
				t.Fatal(err)
			}
			list, n, err := s.List(ctx, alisa, note.Filter{CompanyID: company})
			if err != nil || n != 2 || list[0].ID != first.ID || !list[0].IsPinned || list[1].ID != second.ID {
				t.Fatalf("list %+v %d %v", list, n, err)
			}
			if list[0].Edited() {
				t.Fatal("pinning marked the note edited")
			}
		})

		t.Run("the author's edit marks the note edited", func(t *testing.T) {
			got, err := s.Update(ctx, alisa, first.ID, note.Input{Text: "Первый звонок: перезвонить в пятницу", Type: "call_out"})
			if err != nil || !got.Edited() || !got.IsPinned {
				t.Fatalf("update %+v %v", got, err)
			}
		})

		t.Run("bad input is refused in Russian", func(t *testing.T) {
			_, err := s.Create(ctx, alisa, note.Input{Company: company, Text: "  ", Type: "fax"})
			inv, ok := apperr.AsInvalid(err)
			if !ok || inv["text"] == "" || inv["note_type"] == "" {
				t.Fatalf("err %v", err)
			}
			_, err = s.Create(ctx, cast.Vera.Scope, note.Input{Company: company, Text: "чужая"})
			if inv, _ := apperr.AsInvalid(err); inv["company"] != "Компания не найдена" {
				t.Fatalf("hidden company: %v", err)
			}
		})

		t.Run("a deletion is audited with the deleted text", func(t *testing.T) {
			if _, err := s.Delete(ctx, cast.Gleb.Scope, second.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Get(ctx, cast.Gleb.Scope, second.ID); !errors.Is(err, apperr.ErrNotFound) {
				t.Fatalf("get deleted: %v", err)
			}
			rows := auditOf(t, db, second.ID)
			last := rows[len(rows)-1]
			if last.action != "note.delete" || last.outcome != "ok" || last.actor != cast.Gleb.ID || last.detail["text"] != "Письмо отправлено" {
				t.Fatalf("audit %+v", rows)
			}
		})
	})
}

func TestNoteAccessMatrix(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		cast := dbtest.NewCast(t, db)
		s := note.NewStore(db)
		ctx := context.Background()
		// Алиса's company in branch A: Вера (self, branch B) does not see it;
		// Глеб (global manager) sees it but may not edit the company.
		company := insertCompany(t, db, "Ромашка", cast.BranchA, cast.Alisa.ID)
		// sees, may pin (author or CanEditCompany); only Борис is the author.
		cases := []struct {
			member      dbtest.Member
			sees, pins  bool
			isTheAuthor bool
		}{
			{cast.Admin, true, true, false},
			{cast.Alisa, true, true, false},
			{cast.Boris, true, true, true},
			{cast.Vera, false, false, false},
			{cast.Gleb, true, false, false},
			{cast.Darya, true, true, false},
		}
		for _, tc := range cases {
			t.Run(tc.member.Username+" on a note by Борис", func(t *testing.T) {
				n, err := s.Create(ctx, cast.Boris.Scope, note.Input{Company: company, Text: "Секрет " + tc.member.Username})
				if err != nil {
					t.Fatal(err)
				}
				sc := tc.member.Scope
				_, getErr := s.Get(ctx, sc, n.ID)
				list, _, err := s.List(ctx, sc, note.Filter{CompanyID: company})
				if err != nil {
					t.Fatal(err)
				}
				listed := false
				for _, x := range list {
					listed = listed || x.ID == n.ID
				}
				_, pinErr := s.SetPinned(ctx, sc, n.ID, true)
				_, upErr := s.Update(ctx, sc, n.ID, note.Input{Text: "чужая правка"})
				_, delErr := s.Delete(ctx, sc, n.ID)
				switch {
				case !tc.sees:
					for _, err := range []error{getErr, pinErr, upErr, delErr} {
						if !errors.Is(err, apperr.ErrNotFound) {
							t.Fatalf("got %v, want not found", err)
						}
					}
					if listed {
						t.Fatal("listed a hidden note")
					}
					for _, r := range auditOf(t, db, n.ID) {
						if r.actor == tc.member.ID {
							t.Fatalf("audit of a hidden note: %+v", r)
						}
					}
				case tc.isTheAuthor:
					if getErr != nil || !listed || pinErr != nil || upErr != nil || delErr != nil {
						t.Fatalf("author: get %v listed %v pin %v update %v delete %v", getErr, listed, pinErr, upErr, delErr)
					}
				default:
					if getErr != nil || !listed {
						t.Fatalf("get %v listed %v", getErr, listed)
					}
					if (pinErr == nil) != tc.pins {
						t.Fatalf("pin: %v, want allowed %v", pinErr, tc.pins)
					}
					var forb *apperr.Forbidden
					if !errors.As(upErr, &forb) || forb.Reason != "Изменить заметку может только её автор" {
						t.Fatalf("update: %v", upErr)
					}
					if !errors.As(delErr, &forb) || forb.Reason != "Удалить заметку может только её автор" {
						t.Fatalf("delete: %v", delErr)
					}
					// The server records refusals (one place, for forms and the
					// API); the store hands it what the entry must keep.
					if !errors.As(delErr, &forb) || forb.Detail["text"] != n.Text || forb.Detail["author"] != n.AuthorName {
						t.Fatalf("the refused delete does not carry the note: %+v", forb)
					}
				}
			})
		}
	})
}
