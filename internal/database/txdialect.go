package database

import (
	"database/sql"
	"sync"
)

// openTxs maps each transaction InTx began, while it is open, to the
// dialect of its database: a *sql.Tx does not say which driver it runs
// on, and a helper given only the transaction (audit.Record, called with
// the action's tx) would otherwise ask the database. It is the one
// process-wide table in the package, keyed by the transaction itself, so
// two databases open at once (the tests run both) never mix.
var openTxs sync.Map // *sql.Tx → Dialect

// TxDialect returns the dialect of tx when InTx began it and it is still
// open; ok is false for a transaction begun elsewhere.
func TxDialect(tx *sql.Tx) (d Dialect, ok bool) {
	v, ok := openTxs.Load(tx)
	if !ok {
		return "", false
	}
	return v.(Dialect), true
}
