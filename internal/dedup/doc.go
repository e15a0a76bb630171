// Package dedup is the one place where CRM ПРОФИ turns what people type into
// keys that can be compared: company names, free text, addresses, phone
// numbers and e-mail addresses, and where Russian company identifiers (ИНН,
// КПП, ОГРН/ОГРНИП) are checked.
//
// Every other package (company store, search, import, duplicate detection)
// calls this one instead of folding strings itself, so that a value stored in
// a *_norm column and a search query typed later go through exactly the same
// rules. SQLite folds only ASCII, so Cyrillic case folding and ё→е have to
// happen here, in Go, before anything reaches the database.
//
// All functions are pure, allocation-light and safe for concurrent use. The
// normalisers are idempotent: feeding a result back in returns it unchanged,
// which lets callers re-normalise stored values without drift.
package dedup
