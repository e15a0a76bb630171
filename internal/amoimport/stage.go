package amoimport

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"strings"

	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/dedup"
)

// stageBatch is how many rows one multi-row INSERT writes: enough to make
// the round trips cheap, few enough that the batch's memory does not
// matter whatever the file's size; a power of two, so that a full batch
// is one statement (database.Pieces).
const stageBatch = 512

// stageColumns are the columns Stage writes, in the order of stageValues.
const stageColumns = `INSERT INTO import_rows (import_id, number, line, kind, amo_id, inn, name_key, name_norm,
	address_key, company_key, record, issues, action, reason, entity)`

// Stage writes one import_rows row per row of rows, in batches, with the
// keys planning joins on, and returns how many rows it wrote. It reads
// rows one at a time and holds at most one batch, so memory stays flat
// however long the file is. A Skip becomes a row with action skip, its
// reason in Russian and its code as the row's issue.
//
// The keys come from the duplicate engine's normalisers (package dedup):
// inn is the record's ИНН when its check digits pass; name_norm is
// dedup.NormalizeName of the company's name, the key companies.name_norm
// holds; name_key is that key with the legal form in front
// (dedup.LegalForm: "ооо|ромашка"), because in an import «ООО Ромашка» and
// «АО Ромашка» are two companies; address_key is dedup.NormalizeAddress,
// the key companies.address_norm holds; on a contact's row company_key and
// name_norm are those of its company's name. A record's entity starts as
// its own number: Plan rewrites only the rows that join another.
//
// On PostgreSQL, when the caller's transaction was begun by InTx, the
// rows go in one COPY as they are read (stageStream); otherwise in
// batches through database.InsertRows (multi-row INSERTs on SQLite),
// inside the caller's transaction on both.
func Stage(ctx context.Context, tx *sql.Tx, db *database.DB, importID int64, rows Rows) (int, error) {
	if n, ok, err := stageStream(ctx, tx, db, importID, rows); ok {
		return n, err
	}
	batch := make([][]any, 0, stageBatch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := db.InsertRows(ctx, tx, stageColumns, batch); err != nil {
			return fmt.Errorf("stage rows: %w", err)
		}
		batch = batch[:0]
		return nil
	}
	n := 0
	for {
		row, err := rows.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return n, err
		}
		v, err := stageValues(importID, row)
		if err != nil {
			return n, err
		}
		if v == nil {
			continue
		}
		batch = append(batch, v)
		n++
		if len(batch) == stageBatch {
			if err := flush(); err != nil {
				return n, err
			}
		}
	}
	return n, flush()
}

// stageStream is Stage as one COPY on PostgreSQL (database.CopyStream):
// the file is read and its rows encoded while the server inserts the rows
// already sent, where a COPY per batch had each side wait for the other.
// An import of 100,000 rows spent 1.1 s of CPU reading and encoding and
// the server 1.6 s inserting them. ok is false where CopyStream does not
// apply (SQLite, database.DB.RowByRow): Stage then writes batches.
func stageStream(ctx context.Context, tx *sql.Tx, db *database.DB, importID int64, rows Rows) (n int, ok bool, err error) {
	var readErr error // the file's or a record's, returned as the batch path returns it
	copied, ok, err := db.CopyStream(ctx, tx, stageColumns, func() ([]any, error) {
		for {
			row, err := rows.Next()
			if errors.Is(err, io.EOF) {
				return nil, nil
			}
			if err == nil {
				var v []any
				if v, err = stageValues(importID, row); v == nil && err == nil {
					continue
				}
				if err == nil {
					return v, nil
				}
			}
			readErr = err
			return nil, err
		}
	})
	switch {
	case readErr != nil:
		return int(copied), ok, readErr
	case err != nil:
		return int(copied), ok, fmt.Errorf("stage rows: %w", err)
	}
	return int(copied), ok, nil
}

// stageValues is the row of import_rows for one Row, in stageColumns'
// order; nil for an empty Row.
func stageValues(importID int64, row Row) ([]any, error) {
	switch {
	case row.Record != nil:
		r := row.Record
		keys := recordKeys(r)
		record, err := encodeRecord(nil, r)
		if err != nil {
			return nil, fmt.Errorf("stage record %d: %w", r.Number, err)
		}
		issues, err := json.Marshal(nonNil(r.Issues))
		if err != nil {
			return nil, fmt.Errorf("stage record %d: %w", r.Number, err)
		}
		var amo sql.NullInt64
		if r.AmoID > 0 {
			amo = sql.NullInt64{Int64: r.AmoID, Valid: true}
		}
		return []any{importID, r.Number, r.Line, string(r.Kind), amo, keys.inn, keys.nameKey, keys.nameNorm,
			keys.addressKey, keys.companyKey, string(record), string(issues), "", "", r.Number}, nil
	case row.Skip != nil:
		s := row.Skip
		record, err := encodeRecord(nil, &Record{Number: s.Number, Line: s.Line})
		if err != nil {
			return nil, err
		}
		issues, err := json.Marshal([]Issue{{Code: s.Reason}})
		if err != nil {
			return nil, err
		}
		return []any{importID, s.Number, s.Line, "", sql.NullInt64{}, "", "", "", "", "", string(record), string(issues),
			ActionSkip, SkipReason(s.Reason), sql.NullInt64{}}, nil
	}
	return nil, nil
}

// stagedKeys are the keys of one staged record.
type stagedKeys struct {
	inn, nameKey, nameNorm, addressKey, companyKey string
}

// recordKeys computes the keys planning joins a record on.
func recordKeys(r *Record) stagedKeys {
	var k stagedKeys
	switch r.Kind {
	case KindCompany:
		k.inn = usableINN(r.INN)
		k.nameKey, k.nameNorm = NameKey(r.Name)
		k.addressKey = dedup.NormalizeAddress(html.UnescapeString(r.Address))
	case KindContact:
		k.companyKey, k.nameNorm = NameKey(contactCompany(r.Company))
	}
	return k
}

// NameKey is the key an import compares company names by, and
// dedup.NormalizeName's key (what companies.name_norm holds) inside it:
// key is the legal form, "|" and the normalised name ("ооо|ромашка" for
// «ООО «Ромашка»», "|ромашка" for «Ромашка»); both are "" for a name
// that normalises to nothing. HTML entities (`&quot;`) are decoded first.
func NameKey(name string) (key, norm string) {
	name = html.UnescapeString(name)
	norm = dedup.NormalizeName(name)
	if norm == "" {
		return "", ""
	}
	return dedup.LegalForm(name) + "|" + norm, norm
}

// contactCompany is a contact's company name as the company's own row
// would hold it: cut to the length a company name takes (the reader cuts
// a company row's name, not the name a contact's row gives), so that the
// two keys agree.
func contactCompany(name string) string {
	cut, _ := limitRunes(strings.TrimSpace(name), maxCompanyName)
	return cut
}

// usableINN returns inn when it is a valid ИНН (check digits pass, not all
// zeros) and "" otherwise: only a valid ИНН may join companies.
func usableINN(inn string) string {
	if inn == "" || dedup.ValidateINN(inn) != "" || strings.Trim(inn, "0") == "" {
		return ""
	}
	return inn
}

// skipReasons are the Russian texts of the reasons a row is no record.
var skipReasons = map[string]string{
	"blank_line":           "Пустая строка",
	"empty_row":            "Строка без значений",
	"repeated_header":      "Повтор строки заголовков",
	"garbage_row":          "Не запись: не указан «Тип»",
	"unknown_type":         "Неизвестный «Тип»: не компания и не контакт",
	"company_without_name": "Компания без названия",
	"contact_empty":        "Контакт без имени, телефона и e-mail",
}

// SkipReason is the Russian text of a Skip's reason code, for the report.
func SkipReason(code string) string {
	if s, ok := skipReasons[code]; ok {
		return s
	}
	return "Строка пропущена (" + code + ")"
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
