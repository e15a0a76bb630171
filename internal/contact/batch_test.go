package contact_test

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"

	"github.com/crmprofi/crm/internal/contact"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

func TestInsertBatchIsSearchableLikeCreate(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		cast := dbtest.NewCast(t, db)
		company := insertCompany(t, db, "ООО «Ромашка»", cast.BranchA, cast.Alisa.ID)
		s := contact.NewStore(db)
		ctx := context.Background()
		// More rows than one statement holds, to cross a chunk border.
		list := make([]contact.NewContact, 3000)
		for i := range list {
			list[i] = contact.NewContact{CompanyID: company, LastName: fmt.Sprintf("Фамилия%04d", i), FirstName: "Пётр",
				Position: "Инженер", CreatedBy: cast.Alisa.ID,
				Phones: []contact.Phone{{Value: fmt.Sprintf("8 (916) 100-%02d-%02d", i/100, i%100), Kind: "mobile"}},
				Emails: []contact.Email{{Value: fmt.Sprintf("p%d@Romashka.ru", i)}}}
		}
		list = append(list, contact.NewContact{LastName: "Одиночкин", CreatedBy: cast.Vera.ID})
		if err := db.InTx(ctx, func(tx *sql.Tx) error { return s.InsertBatch(ctx, tx, list) }); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			query string
			want  string
		}{
			{"+7 916 100-29-99", "Фамилия2999 Пётр"},
			{"p17@romashka.ru", "Фамилия0017 Пётр"},
			{"фамилия0042 петр", "Фамилия0042 Пётр"},
		} {
			got, n, err := s.List(ctx, cast.Alisa.Scope, contact.Filter{Search: tc.query})
			if err != nil || n != 1 || got[0].FullName != tc.want || len(got[0].Phones) != 1 || got[0].Phones[0].E164 == "" {
				t.Fatalf("%q: %d %+v %v", tc.query, n, got, err)
			}
		}
		if _, n, _ := s.List(ctx, cast.Vera.Scope, contact.Filter{Search: "одиночкин"}); n != 1 {
			t.Fatalf("the companyless loaded contact is not its creator's: %d", n)
		}
	})
}

// TestInsertBatchWritesSearchWordsInKeyOrder: the batch's contact_terms
// rows reach the table in the search key's order (term, live, name_norm,
// contact_id), whatever the order of the contacts — B-tree inserts in key
// order are what keeps a big import's search words cheap. PostgreSQL's
// heap shows the order given (COPY appends; ctid); SQLite's table is
// that key (WITHOUT ROWID), always in its order, so there the test checks
// only that every word is written.
func TestInsertBatchWritesSearchWordsInKeyOrder(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		cast := dbtest.NewCast(t, db)
		s := contact.NewStore(db)
		ctx := context.Background()
		var list []contact.NewContact
		for _, name := range []string{"Яковлев Юрий", "Борисов Антон", "Яковлев Андрей", "Абрамов Юрий"} {
			last, first, _ := strings.Cut(name, " ")
			for i := range 40 { // past database.BulkMin and copyMin: the bulk path
				list = append(list, contact.NewContact{LastName: last, FirstName: first, Position: fmt.Sprintf("отдел%02d", 40-i),
					CreatedBy: cast.Alisa.ID})
			}
		}
		if err := db.InTx(ctx, func(tx *sql.Tx) error { return s.InsertBatch(ctx, tx, list) }); err != nil {
			t.Fatal(err)
		}
		q := `SELECT term, name_norm, contact_id FROM contact_terms ORDER BY term, live, name_norm, contact_id`
		if db.Dialect == database.Postgres {
			q = `SELECT term, name_norm, contact_id FROM contact_terms ORDER BY ctid`
		}
		rows, err := db.QueryContext(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = rows.Close() }()
		var prevTerm, prevName string
		var prevID int64
		n := 0
		for rows.Next() {
			var term, name string
			var id int64
			if err := rows.Scan(&term, &name, &id); err != nil {
				t.Fatal(err)
			}
			if n > 0 && cmp.Or(strings.Compare(term, prevTerm), strings.Compare(name, prevName), cmp.Compare(id, prevID)) < 0 {
				t.Fatalf("row %d (%s, %s, %d) written after (%s, %s, %d)", n, term, name, id, prevTerm, prevName, prevID)
			}
			prevTerm, prevName, prevID = term, name, id
			n++
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if n != len(list)*3 {
			t.Fatalf("%d search words, want %d", n, len(list)*3)
		}
	})
}
