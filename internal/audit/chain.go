package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"time"

	"github.com/crmprofi/crm/internal/database"
)

// The chain. Every entry's hash is the SHA-256 of
//
//	"crm-audit-v1", id, at, actor_id, actor_name, actor_system, action,
//	object_type, object_id, outcome, ip, detail, previous hash
//
// each field written as its length (8 bytes, big-endian) and its bytes:
// at in UTC as RFC 3339 with nanoseconds (stored to the microsecond),
// numbers and booleans in decimal ("1"/"0"), detail as canonical JSON
// (keys sorted, no spaces, numbers as written) and the previous hash in
// hex ("" for the first entry). The order of the chain is the id order:
// audit_head hands out the ids under its row lock, so ids grow in the
// order the appends commit and verify walks the same order.

// chainVersion opens every encoding, so a later encoding can be told apart.
const chainVersion = "crm-audit-v1"

// headLock takes the chain's head for this transaction: the row lock
// makes other appends wait until commit (on SQLite the write lock does
// already), and returns the id the new entry gets and the hash it chains
// to.
const headLock = `UPDATE audit_head SET last_id = last_id + 1 WHERE id = 1 RETURNING last_id, last_hash, sealed`

// Hash returns the hash of e chained to prev, e's detail being the JSON
// as stored. It is exported for tests and tools that check a chain.
func Hash(prev string, e Entry, detail string) string {
	h := sha256.New()
	field := func(s string) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		_, _ = h.Write(n[:])
		_, _ = h.Write([]byte(s))
	}
	field(chainVersion)
	field(strconv.FormatInt(e.ID, 10))
	field(e.At.UTC().Format(time.RFC3339Nano))
	field(strconv.FormatInt(e.ActorID, 10))
	field(e.ActorName)
	field(boolString(e.System))
	field(e.Action)
	field(e.ObjectType)
	field(e.ObjectID)
	field(e.Outcome)
	field(e.IP)
	field(CanonicalJSON(detail))
	field(prev)
	return hexSum(h)
}

func hexSum(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }

func boolString(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// CanonicalJSON re-encodes a detail the way Record writes it: object keys
// sorted, no insignificant space, numbers kept as written. Text that is
// not JSON is returned as it is (and hashed so).
func CanonicalJSON(s string) string {
	if s == "" || s == "{}" {
		return "{}"
	}
	d := json.NewDecoder(bytes.NewReader([]byte(s)))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil || d.More() {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return s
	}
	return string(b)
}

// appendEntry writes e at the chain's end in tx: take the head (and with
// it the id), seal older entries if they still have no hash, insert the
// entry with its hash, move the head.
func appendEntry(ctx context.Context, tx *sql.Tx, e Entry, detail string) error {
	var prev string
	var sealed bool
	if err := tx.QueryRowContext(ctx, headLock).Scan(&e.ID, &prev, &sealed); err != nil {
		return fmt.Errorf("audit chain head: %w", err)
	}
	if !sealed {
		var err error
		if prev, err = sealBefore(ctx, tx, e.ID); err != nil {
			return err
		}
	}
	sum := Hash(prev, e, detail)
	_, err := tx.ExecContext(ctx, `INSERT INTO audit_log (id, at, actor_id, actor_name, actor_system, action, object_type, object_id, outcome, ip, detail, hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		e.ID, e.At, database.NullInt64(e.ActorID), e.ActorName, e.System, e.Action, e.ObjectType, e.ObjectID, e.Outcome, e.IP, detail, sum)
	if err != nil {
		return fmt.Errorf("audit %s: %w", e.Action, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE audit_head SET last_hash = $1, sealed = $2 WHERE id = 1`, sum, true); err != nil {
		return fmt.Errorf("audit chain head: %w", err)
	}
	return nil
}

// Seal hashes the entries written before the chain existed (the
// migration leaves their hash empty), in id order, once; later calls find
// nothing to do. The server calls it at start and "crm audit verify"
// before it checks; an audited write does it too when it comes first.
func Seal(ctx context.Context, db *database.DB) error {
	return db.InTx(ctx, func(tx *sql.Tx) error {
		var sealed bool
		if err := tx.QueryRowContext(ctx, `SELECT sealed FROM audit_head WHERE id = 1`).Scan(&sealed); err != nil {
			return fmt.Errorf("audit chain head: %w", err)
		}
		if sealed {
			return nil
		}
		var last int64
		var prev string
		// Take the head's lock without moving it.
		if err := tx.QueryRowContext(ctx, `UPDATE audit_head SET last_id = last_id WHERE id = 1 RETURNING last_id, last_hash, sealed`).
			Scan(&last, &prev, &sealed); err != nil {
			return fmt.Errorf("audit chain head: %w", err)
		}
		if sealed {
			return nil
		}
		prev, err := sealBefore(ctx, tx, last+1)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE audit_head SET last_hash = $1, sealed = $2 WHERE id = 1`, prev, true)
		return err
	})
}

// sealBatch is how many old entries sealBefore reads at a time: the
// driver cannot update while a result is open in the same transaction.
const sealBatch = 1000

// sealBefore hashes the entries below id that have none, in id order,
// and returns the last entry's hash.
func sealBefore(ctx context.Context, tx *sql.Tx, id int64) (string, error) {
	prev, after := "", int64(0)
	for {
		batch, err := readEntries(ctx, tx, after, id, sealBatch)
		if err != nil {
			return "", err
		}
		if len(batch) == 0 {
			return prev, nil
		}
		for _, r := range batch {
			sum := Hash(prev, r.Entry, r.detail)
			if !r.hash.Valid {
				if _, err := tx.ExecContext(ctx, `UPDATE audit_log SET hash = $1 WHERE id = $2`, sum, r.ID); err != nil {
					return "", fmt.Errorf("seal audit entry %d: %w", r.ID, err)
				}
			}
			prev, after = sum, r.ID
		}
	}
}

// stored is an entry as read back for the chain: its detail as stored
// and its hash (NULL before sealing).
type stored struct {
	Entry
	detail string
	hash   sql.NullString
}

// entryColumns are read by readEntries and Store.Each, in this order.
const entryColumns = `id, at, COALESCE(actor_id, 0), actor_name, actor_system, action, object_type, object_id, outcome, ip, detail, hash`

func scanStored(rows *sql.Rows) (stored, error) {
	var r stored
	err := rows.Scan(&r.ID, &r.At, &r.ActorID, &r.ActorName, &r.System, &r.Action, &r.ObjectType, &r.ObjectID,
		&r.Outcome, &r.IP, &r.detail, &r.hash)
	r.At = r.At.UTC()
	return r, err
}

// readEntries returns up to limit entries with after < id < before, in id
// order.
func readEntries(ctx context.Context, q database.Querier, after, before int64, limit int) ([]stored, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+entryColumns+` FROM audit_log WHERE id > $1 AND id < $2 ORDER BY id LIMIT $3`,
		after, before, limit)
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	defer rows.Close()
	var out []stored
	for rows.Next() {
		r, err := scanStored(rows)
		if err != nil {
			return nil, fmt.Errorf("read audit log: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	return out, nil
}

// Broken is the first link of the chain that does not hold.
type Broken struct {
	ID       int64  // the entry whose hash does not match (0: the head)
	Expected string // the hash its content and predecessor give
	Found    string // the hash stored
	Reason   string // in Russian, for the page and the terminal
}

// Error says which entry breaks the chain.
func (b *Broken) Error() string {
	if b.ID == 0 {
		return "цепочка нарушена: " + b.Reason
	}
	return fmt.Sprintf("цепочка нарушена на записи %d: %s (ожидался хеш %s, найден %s)", b.ID, b.Reason, short(b.Expected), short(b.Found))
}

func short(h string) string {
	if h == "" {
		return "—"
	}
	if len(h) > 16 {
		return h[:16] + "…"
	}
	return h
}

// Checked is how far a walk of the chain got: the last entry that holds
// (its id and hash) and how many entries the walk read.
type Checked struct {
	LastID   int64
	LastHash string
	Count    int64
}

// Walk checks the chain from the entry after from (LastID 0 and
// LastHash "" for the start) over at most limit entries (0: to the end),
// in id order. It returns how far the chain holds and, when a link does
// not, *Broken as the error. Reaching the end, it also checks the head as
// it was when the walk began: entries cut off the end leave the head
// pointing past the last entry. Appends made while it walks are fine.
func Walk(ctx context.Context, db *database.DB, from Checked, limit int64) (Checked, error) {
	at := Checked{LastID: from.LastID, LastHash: from.LastHash}
	var head Checked
	var sealed bool
	if err := db.QueryRowContext(ctx, `SELECT last_id, last_hash, sealed FROM audit_head WHERE id = 1`).
		Scan(&head.LastID, &head.LastHash, &sealed); err != nil {
		return at, fmt.Errorf("audit chain head: %w", err)
	}
	if at.LastID > 0 {
		// The anchor must still be what was verified: a rewritten history
		// changes every hash after the rewrite, this one included.
		var h sql.NullString
		err := db.QueryRowContext(ctx, `SELECT hash FROM audit_log WHERE id = $1`, at.LastID).Scan(&h)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return at, &Broken{ID: at.LastID, Expected: at.LastHash, Reason: "проверенная ранее запись удалена"}
		case err != nil:
			return at, fmt.Errorf("read audit log: %w", err)
		case h.String != at.LastHash:
			return at, &Broken{ID: at.LastID, Expected: at.LastHash, Found: h.String, Reason: "проверенная ранее запись изменена"}
		}
	}
	const batch = 5000
	for limit == 0 || at.Count < limit {
		n := int64(batch)
		if limit > 0 {
			n = min(n, limit-at.Count)
		}
		got, err := walkBatch(ctx, db, &at, n)
		if err != nil {
			return at, err
		}
		if got < n {
			break
		}
	}
	if limit > 0 && at.Count == limit {
		return at, nil // not at the end yet
	}
	switch {
	case !sealed: // old entries without a hash: walkBatch has said so
	case head.LastID > at.LastID:
		return at, &Broken{ID: at.LastID + 1, Expected: head.LastHash,
			Reason: fmt.Sprintf("в конце журнала не хватает записей: последняя — %d, а цепочка доходила до %d", at.LastID, head.LastID)}
	case head.LastID == at.LastID && head.LastHash != at.LastHash:
		return at, &Broken{ID: at.LastID, Expected: head.LastHash, Found: at.LastHash, Reason: "последняя запись не та, что записало приложение"}
	}
	return at, nil
}

// walkBatch checks up to n entries after at, moving at; it returns how
// many it read.
func walkBatch(ctx context.Context, db *database.DB, at *Checked, n int64) (int64, error) {
	rows, err := db.QueryContext(ctx, `SELECT `+entryColumns+` FROM audit_log WHERE id > $1 ORDER BY id LIMIT $2`, at.LastID, n)
	if err != nil {
		return 0, fmt.Errorf("read audit log: %w", err)
	}
	defer rows.Close()
	var got int64
	for rows.Next() {
		r, err := scanStored(rows)
		if err != nil {
			return got, fmt.Errorf("read audit log: %w", err)
		}
		got++
		want := Hash(at.LastHash, r.Entry, r.detail)
		if !r.hash.Valid || r.hash.String != want {
			b := &Broken{ID: r.ID, Expected: want, Found: r.hash.String, Reason: "хеш записи не совпадает с её содержимым и предыдущей записью"}
			switch {
			case !r.hash.Valid:
				b.Reason = "у записи нет хеша"
			case at.Count > 0 && r.ID > at.LastID+1:
				b.Reason = fmt.Sprintf("перед ней удалены записи %d–%d", at.LastID+1, r.ID-1)
			}
			return got, b
		}
		at.LastID, at.LastHash = r.ID, r.hash.String
		at.Count++
	}
	if err := rows.Err(); err != nil {
		return got, fmt.Errorf("read audit log: %w", err)
	}
	return got, nil
}

// Verify walks the whole chain: the count of entries when it holds, else
// *Broken naming the first entry that breaks it.
func Verify(ctx context.Context, db *database.DB) (int64, error) {
	c, err := Walk(ctx, db, Checked{}, 0)
	return c.Count, err
}
