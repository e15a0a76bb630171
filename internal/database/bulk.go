package database

import (
	"context"
	"database/sql"
	"fmt"
)

// BulkMin is the smallest batch the stores write through the bulk path:
// below it the row triggers cost less than the statements that switch
// them off and keep their tables for the batch.
const BulkMin = 16

// SetBulk marks the transaction q as writing a batch whose derived tables
// (tallies, duplicate marks) the writing store keeps itself, set-based, so
// that the INSERT triggers of companies, their phones and e-mails and of
// contacts stand aside until SetBulk(false). PostgreSQL: the
// transaction-local setting crm.bulk; SQLite: the row of bulk_writes,
// which no other connection can see before it is deleted (migration 00023
// explains both). q must be a transaction.
func (db *DB) SetBulk(ctx context.Context, q Querier, on bool) error {
	var stmt string
	switch {
	case db.Dialect == Postgres && on:
		stmt = `SELECT set_config('crm.bulk', 'on', true)`
	case db.Dialect == Postgres:
		stmt = `SELECT set_config('crm.bulk', 'off', true)`
	case on:
		stmt = `INSERT INTO bulk_writes (id) VALUES (1) ON CONFLICT (id) DO NOTHING`
	default:
		stmt = `DELETE FROM bulk_writes`
	}
	if _, err := q.ExecContext(ctx, stmt); err != nil {
		return fmt.Errorf("bulk writes %v: %w", on, err)
	}
	return nil
}

// Bulk runs fn, which writes n rows in tx, with the INSERT triggers
// standing aside (SetBulk) when n is BulkMin or more, and tells fn whether
// they do, so that it keeps the derived tables itself. The flag is cleared
// however fn ends.
func (db *DB) Bulk(ctx context.Context, tx *sql.Tx, n int, fn func(bulk bool) error) (err error) {
	bulk := n >= BulkMin && !db.rowByRow
	if bulk {
		if err := db.SetBulk(ctx, tx, true); err != nil {
			return err
		}
		defer func() {
			if off := db.SetBulk(context.WithoutCancel(ctx), tx, false); err == nil {
				err = off
			}
		}()
	}
	return fn(bulk)
}

// RowByRow returns db with the bulk write path turned off: Bulk never
// sets the flag, so every INSERT trigger fires row by row, and InsertRows
// never COPYs. Tests write the same data through both and compare what
// they derive.
func (db *DB) RowByRow() *DB {
	slow := *db
	slow.rowByRow = true
	return &slow
}
