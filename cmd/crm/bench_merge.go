package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/crmprofi/crm/internal/company"
	"github.com/crmprofi/crm/internal/database"
)

// Sizes of the company the merge bench absorbs.
const (
	benchMergeContacts = 100
	benchMergeNotes    = 1000
)

// benchMerge measures a merge of a company with 100 contacts and 1,000
// notes into another, and its undo, through the real handler stack (POST
// /api/companies/{id}/merge/ and …/unmerge/ as an admin): runs pairs are
// made fresh, each merged and undone once.
func benchMerge(ctx context.Context, out io.Writer, h http.Handler, db *database.DB, session string, adminID int64, runs int) error {
	var merge, undo []time.Duration
	var mergeStmts, undoStmts int64
	for range runs {
		surv, dup, err := benchMergePair(ctx, db, adminID)
		if err != nil {
			return err
		}
		post := func(path, body string) (time.Duration, int64, error) {
			req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.AddCookie(&http.Cookie{Name: "crm_session", Value: session})
			rec := httptest.NewRecorder()
			before := db.Statements()
			t := time.Now()
			h.ServeHTTP(rec, req)
			d := time.Since(t)
			if rec.Code != http.StatusOK {
				return 0, 0, fmt.Errorf("POST %s: status %d: %.300s", path, rec.Code, rec.Body.String())
			}
			return d, db.Statements() - before, nil
		}
		body := `{"duplicate": ` + strconv.FormatInt(dup, 10) + `}`
		d, n, err := post("/api/companies/"+strconv.FormatInt(surv, 10)+"/merge/", body)
		if err != nil {
			return err
		}
		merge, mergeStmts = append(merge, d), mergeStmts+n
		d, n, err = post("/api/companies/"+strconv.FormatInt(surv, 10)+"/unmerge/", body)
		if err != nil {
			return err
		}
		undo, undoStmts = append(undo, d), undoStmts+n
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "\nОбъединение (%d контактов, %d заметок)\tp50\tмакс.\tSQL/запрос\tзапусков\t\n", benchMergeContacts, benchMergeNotes)
	for _, r := range []struct {
		name  string
		lat   []time.Duration
		stmts int64
	}{{"Объединение компаний (API)", merge, mergeStmts}, {"Отмена объединения (API)", undo, undoStmts}} {
		slices.Sort(r.lat)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.1f\t%d\t\n", r.name, ms(r.lat[len(r.lat)/2]), ms(r.lat[len(r.lat)-1]),
			float64(r.stmts)/float64(len(r.lat)), len(r.lat))
	}
	return tw.Flush()
}

// benchMergePair writes two companies of the admin's, the second with
// the contacts and notes the bench moves, and returns their ids.
func benchMergePair(ctx context.Context, db *database.DB, adminID int64) (surv, dup int64, err error) {
	store := company.NewStore(db)
	stamp := strconv.FormatInt(time.Now().UnixNano(), 36)
	list := []company.NewCompany{
		{Name: "Слияние " + stamp, ResponsibleID: adminID, CreatedBy: adminID,
			Phones: []company.Phone{{Value: "+7 495 123-45-67", Kind: "work"}}, Emails: []company.Email{{Value: "a@merge.ru", Kind: "work"}}},
		{Name: "Слияние дубль " + stamp, ResponsibleID: adminID, CreatedBy: adminID,
			Phones: []company.Phone{{Value: "+7 916 123-45-67", Kind: "mobile"}}, Emails: []company.Email{{Value: "b@merge.ru", Kind: "work"}}},
	}
	for i := range list {
		if inv := list[i].Normalize(); len(inv) > 0 {
			return 0, 0, inv
		}
	}
	err = db.InTx(ctx, func(tx *sql.Tx) error {
		ids, err := store.InsertBatch(ctx, tx, list)
		if err != nil {
			return err
		}
		surv, dup = ids[0], ids[1]
		now := database.Now()
		var contacts, notes [][]any
		for i := range benchMergeContacts {
			contacts = append(contacts, []any{dup, "Контакт" + strconv.Itoa(i), "Иван", "контакт иван", database.NullInt64(adminID), now, now})
		}
		for i := range benchMergeNotes {
			notes = append(notes, []any{dup, database.NullInt64(adminID), "Заметка " + strconv.Itoa(i), now})
		}
		if err := db.InsertRows(ctx, tx, `INSERT INTO contacts (company_id, last_name, first_name, name_norm, created_by, created_at, updated_at)`, contacts); err != nil {
			return err
		}
		return db.InsertRows(ctx, tx, `INSERT INTO company_notes (company_id, author_id, text, created_at)`, notes)
	})
	return surv, dup, err
}
