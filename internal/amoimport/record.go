// Package amoimport imports amoCRM's export of contacts and companies
// (CSV in any of its encodings and delimiters, or .xlsx) into CRM ПРОФИ.
//
// An import runs in four steps, each its own part of the package, all in
// one transaction:
//
//   - Parse (parse*.go): the file becomes Records, one per data row,
//     cleaned and repaired (ИНН, КПП, phones, e-mails), each with its
//     physical line and its warnings; rows that are no records (blank, a
//     repeated header, footer garbage, …) become Skips with their reason;
//   - Stage (stage.go): the records go into import_rows, with the keys that
//     planning joins on;
//   - Plan (plan*.go): which records are one company or contact, within
//     the file and against the base (through the one duplicate engine's
//     keys), whose they are («Ответственный»), which company each contact
//     belongs to; every row gets its action and reason — a dry run stops
//     here, and its import_rows are the report;
//   - Apply (apply*.go): the plan is written in bulk.
//
// The plan is made over the staged rows in the database rather than in
// memory: a 1,000,000-row export then needs no more memory than a
// 100,000-row one, and the staged rows are the report a dry run shows and
// the page filters.
package amoimport

import (
	"time"

	"github.com/crmprofi/crm/internal/contactinfo"
)

// Kind is what a record is in amoCRM («Тип»).
type Kind string

// The kinds of records the import takes; any other «Тип» is skipped.
const (
	KindCompany Kind = "company"
	KindContact Kind = "contact"
)

// Record is one data row of the export as the importer understands it.
// Its JSON is what import_rows.record keeps between the steps.
type Record struct {
	// Number is the record's position after the header, counting every
	// record the CSV reader returns (blank lines included), from 1; Line is
	// the physical line it starts on (the header is line 1). Both are what
	// the report shows and what the fixtures' truth files number by.
	Number int  `json:"number"`
	Line   int  `json:"line"`
	Kind   Kind `json:"kind"`
	// AmoID is amoCRM's «ID»; 0 when the row has none.
	AmoID int64 `json:"amo_id,omitempty"`

	// Name is the company's name (a company row) or the contact's full
	// name as exported (a contact row); FirstName, LastName and
	// MiddleName are the contact's, from their own columns or split from
	// the full name.
	Name       string `json:"name,omitempty"`
	FirstName  string `json:"first_name,omitempty"`
	LastName   string `json:"last_name,omitempty"`
	MiddleName string `json:"middle_name,omitempty"`
	Position   string `json:"position,omitempty"`
	// Company is the contact's company name as written in its row.
	Company string `json:"company,omitempty"`

	// Responsible, CreatedBy and UpdatedBy are amoCRM users as exported
	// (display names); deciding matches them to CRM users.
	Responsible string    `json:"responsible,omitempty"`
	CreatedBy   string    `json:"created_by,omitempty"`
	UpdatedBy   string    `json:"updated_by,omitempty"`
	CreatedAt   time.Time `json:"created_at,omitzero"`
	UpdatedAt   time.Time `json:"updated_at,omitzero"`

	// INN, KPP and OGRN are repaired and valid, or "" (the warning says
	// what the cell held).
	INN     string `json:"inn,omitempty"`
	KPP     string `json:"kpp,omitempty"`
	OGRN    string `json:"ogrn,omitempty"`
	Address string `json:"address,omitempty"`
	Website string `json:"website,omitempty"`

	// Phones are split one number each (an extension stays with its
	// number), with the kind of their column and E164/Ext filled where
	// the number has a normal form; Emails are the valid addresses.
	Phones []contactinfo.Phone `json:"phones,omitempty"`
	Emails []contactinfo.Email `json:"emails,omitempty"`
	// Notes are the non-empty «Примечание N» cells, in column order.
	Notes []string `json:"notes,omitempty"`
	// Spheres are the «Теги» and «Сфера деятельности» values, split and
	// trimmed, without repeats.
	Spheres []string `json:"spheres,omitempty"`

	// Issues are the record's warnings found while reading.
	Issues []Issue `json:"issues,omitempty"`
}

// Issue is a warning about one record: something repaired, dropped or
// not understood. Code is one of the codes of the fixtures' truth files
// (inn_leading_zero_lost, email_invalid, responsible_unknown, …); Field is
// the column's header as in the file; Value is the cell as it was; Fixed
// is what the importer made of it ("" when it dropped the value).
type Issue struct {
	Code  string `json:"code"`
	Field string `json:"field,omitempty"`
	Value string `json:"value,omitempty"`
	Fixed string `json:"fixed,omitempty"`
}

// Skip is a row of the file that is no record to import, with its
// position (numbered as Record's) and its reason: one of the truth files'
// invalid reasons (blank_line, empty_row, repeated_header, garbage_row,
// unknown_type, company_without_name, contact_empty).
type Skip struct {
	Number int    `json:"number"`
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

// The actions of a row in the report (import_rows.action).
const (
	// ActionCreate: the row creates a company or contact.
	ActionCreate = "create"
	// ActionUpdate: the row changes a company or contact already in the
	// base (an earlier import's, found by its amoCRM ID, or the same
	// company by ИНН or name and address).
	ActionUpdate = "update"
	// ActionMerge: the row is another row of the same company or contact
	// in this file; its values join that one's.
	ActionMerge = "merge"
	// ActionSkip: nothing to do — not a record, or nothing new.
	ActionSkip = "skip"
	// ActionError: the row could not be imported; the reason says why.
	ActionError = "error"
)

// Row is what the reader returns for one record of the file: a Record to
// import or a Skip.
type Row struct {
	Record *Record
	Skip   *Skip
}

// Summary is the totals of a run, as the API shows them
// (GET /api/imports/{id}/ "summary"): rows created, updated, merged into
// another row, skipped and failed.
type Summary struct {
	Created int `json:"created"`
	Updated int `json:"updated"`
	Merged  int `json:"merged"`
	Skipped int `json:"skipped"`
	Errors  int `json:"errors"`
}

// Rows is a source of rows, read one at a time: the Parser, or a slice in
// tests. Next returns io.EOF after the last row.
type Rows interface {
	Next() (Row, error)
}
