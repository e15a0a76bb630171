package audit

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"hash/fnv"
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
// numbers and booleans in decimal ("1"/"0"), detail as stored — Record
// stores it as encoding/json writes a map (keys sorted, no spaces), and
// the check hashes the stored bytes without decoding them —
// and the previous hash in hex ("" for the first entry).
//
// Lanes. The log is Lanes independent chains ("ветви"): an entry belongs
// to one lane, has its number there (seq: 1, 2, … without gaps) and
// chains to the lane's previous entry. Each lane has its own head row in
// audit_lane, whose row lock an append holds until commit; so audited
// writes wait only for those in the same lane, not for every other one.
// An append takes the lane of its object (a hash of object type and id,
// or of the actor when there is no object) and, on PostgreSQL, when that
// lane is busy, the next free one (SKIP LOCKED): a transaction that holds
// a lane always finds one free — its own — so lanes never deadlock. The
// order of a lane is its seq order; the previous hash fixes it, so lane
// and seq need not be hashed: moving an entry to another lane or number
// breaks both places. The chain from before the lanes is lane 0,
// unchanged (seq = id). Ids are unique across lanes and grow within a
// lane; a rolled back action leaves a gap in the ids, never in a lane.

// chainVersion opens every encoding, so a later encoding can be told apart.
const chainVersion = "crm-audit-v1"

// Lanes is how many independent chains the log is kept in (rows of
// audit_lane, made by migration 00041).
const Lanes = 16

// Hash returns the hash of e chained to prev, e's detail being the JSON
// text as stored. It is exported for tests and tools that check a chain.
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
	field(detail)
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

// laneOf is the lane an entry prefers: that of its object, so that one
// object's entries tend to share a lane, or of its actor.
func laneOf(e Entry) int64 {
	h := fnv.New32a()
	if e.ObjectType != "" || e.ObjectID != "" {
		_, _ = h.Write([]byte(e.ObjectType + "\x00" + e.ObjectID))
	} else {
		_, _ = h.Write([]byte(strconv.FormatInt(e.ActorID, 10) + "\x00" + e.ActorName))
	}
	return int64(h.Sum32() % Lanes)
}

// laneHead is a lane's head as an append takes it: the lane, the seq and
// id the new entry gets, the hash it chains to, and whether the lane's
// older entries are all hashed.
type laneHead struct {
	lane, seq, id int64
	hash          string
	sealed        bool
}

// takeLane returns the head of a lane for tx, moved on by one; the
// entry's own write (appendEntry) then stores it. The lane is the
// preferred one or, on PostgreSQL when it is busy, the next free one
// after it; an unsealed lane 0 comes first, so the first append seals it.
//
// On PostgreSQL the head is taken with an UPDATE, whose row lock makes
// other appends to that lane wait until tx ends (with every lane busy, it
// waits for the preferred one), and the id comes from the identity
// sequence. On SQLite tx holds the database's only write lock from its
// BEGIN (_txlock=immediate), so a plain read of the head is enough and
// the id is the largest rowid plus one — a seek to the end of the
// table's B-tree, what SQLite itself would assign.
func takeLane(ctx context.Context, tx *sql.Tx, d database.Dialect, prefer int64) (laneHead, error) {
	var h laneHead
	order := `ORDER BY sealed, (lane + ` + strconv.Itoa(Lanes) + ` - $1) % ` + strconv.Itoa(Lanes) + ` LIMIT 1`
	var err error
	if d == database.Postgres {
		returning := ` RETURNING lane, last_seq, last_hash, sealed, nextval(pg_get_serial_sequence('audit_log', 'id'))`
		err = tx.QueryRowContext(ctx, `UPDATE audit_lane SET last_seq = last_seq + 1
			WHERE lane = (SELECT lane FROM audit_lane `+order+` FOR UPDATE SKIP LOCKED)`+returning, prefer).
			Scan(&h.lane, &h.seq, &h.hash, &h.sealed, &h.id)
		if errors.Is(err, sql.ErrNoRows) {
			err = tx.QueryRowContext(ctx, `UPDATE audit_lane SET last_seq = last_seq + 1 WHERE lane = $1`+returning, prefer).
				Scan(&h.lane, &h.seq, &h.hash, &h.sealed, &h.id)
		}
	} else {
		err = tx.QueryRowContext(ctx, `SELECT lane, last_seq + 1, last_hash, sealed, (SELECT COALESCE(MAX(id), 0) + 1 FROM audit_log)
			FROM audit_lane `+order, prefer).Scan(&h.lane, &h.seq, &h.hash, &h.sealed, &h.id)
	}
	if err != nil {
		return h, fmt.Errorf("audit chain head: %w", err)
	}
	return h, nil
}

// dialectOf tells which database tx is on, for a Record given a
// transaction that InTx did not begin (database.TxDialect does not know
// it): the drivers return TRUE as a Go bool (pgx) or as the integer 1
// (SQLite).
func dialectOf(ctx context.Context, tx *sql.Tx) (database.Dialect, error) {
	var v any
	if err := tx.QueryRowContext(ctx, `SELECT TRUE`).Scan(&v); err != nil {
		return "", fmt.Errorf("audit chain head: %w", err)
	}
	if _, ok := v.(bool); ok {
		return database.Postgres, nil
	}
	return database.SQLite, nil
}

// appendEntry writes e at the end of a lane in tx: take the lane's head
// (and with it the seq and id), seal the lane's older entries if they
// still have no hash, insert the entry with its hash, store the head.
func appendEntry(ctx context.Context, tx *sql.Tx, d database.Dialect, e Entry, detail string) error {
	h, err := takeLane(ctx, tx, d, laneOf(e))
	if err != nil {
		return err
	}
	e.ID, e.Lane, e.Seq = h.id, h.lane, h.seq
	prev := h.hash
	if !h.sealed {
		if prev, err = sealBefore(ctx, tx, h.lane, h.seq); err != nil {
			return err
		}
	}
	sum := Hash(prev, e, detail)
	insert := `INSERT INTO audit_log (id, lane, seq, at, actor_id, actor_name, actor_system, action, object_type, object_id, outcome, ip, detail, hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`
	args := []any{e.ID, e.Lane, e.Seq, e.At, database.NullInt64(e.ActorID), e.ActorName, e.System, e.Action, e.ObjectType, e.ObjectID, e.Outcome, e.IP, detail, sum}
	if d == database.Postgres {
		// The entry and the lane's new head in one statement (a
		// data-modifying WITH, which SQLite has not): one round trip
		// fewer for every audited write.
		head := `UPDATE audit_lane SET last_seq = $3, last_hash = $14, last_id = $1, sealed = TRUE WHERE lane = $2`
		if _, err := tx.ExecContext(ctx, `WITH e AS (`+insert+`) `+head, args...); err != nil {
			return fmt.Errorf("audit %s: %w", e.Action, err)
		}
		return nil
	}
	if _, err := tx.ExecContext(ctx, insert, args...); err != nil {
		return fmt.Errorf("audit %s: %w", e.Action, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE audit_lane SET last_seq = $1, last_hash = $2, last_id = $3, sealed = $4 WHERE lane = $5`,
		e.Seq, sum, e.ID, true, e.Lane); err != nil {
		return fmt.Errorf("audit chain head: %w", err)
	}
	return nil
}

// Seal hashes the entries written before the chain existed (the
// migration leaves their hash empty; they are all in lane 0), in order,
// once; later calls find nothing to do. The server calls it at start and
// "crm audit verify" before it checks; an audited write does it too when
// it comes first.
func Seal(ctx context.Context, db *database.DB) error {
	return db.InTx(ctx, func(tx *sql.Tx) error {
		var sealed bool
		if err := tx.QueryRowContext(ctx, `SELECT sealed FROM audit_lane WHERE lane = 0`).Scan(&sealed); err != nil {
			return fmt.Errorf("audit chain head: %w", err)
		}
		if sealed {
			return nil
		}
		var last int64
		var prev string
		// Take the head's lock without moving it.
		if err := tx.QueryRowContext(ctx, `UPDATE audit_lane SET last_seq = last_seq WHERE lane = 0 RETURNING last_seq, last_hash, sealed`).
			Scan(&last, &prev, &sealed); err != nil {
			return fmt.Errorf("audit chain head: %w", err)
		}
		if sealed {
			return nil
		}
		prev, err := sealBefore(ctx, tx, 0, last+1)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE audit_lane SET last_hash = $1, sealed = $2 WHERE lane = 0`, prev, true)
		return err
	})
}

// sealBatch is how many old entries sealBefore reads at a time: the
// driver cannot update while a result is open in the same transaction.
const sealBatch = 1000

// sealBefore hashes the entries of lane below seq that have none, in
// order, and returns the last entry's hash.
func sealBefore(ctx context.Context, tx *sql.Tx, lane, seq int64) (string, error) {
	prev, after := "", int64(0)
	for {
		batch, err := readEntries(ctx, tx, lane, after, seq, sealBatch)
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
			prev, after = sum, r.Seq
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
const entryColumns = `id, lane, seq, at, COALESCE(actor_id, 0), actor_name, actor_system, action, object_type, object_id, outcome, ip, detail, hash`

func scanStored(rows *sql.Rows) (stored, error) {
	var r stored
	err := rows.Scan(&r.ID, &r.Lane, &r.Seq, &r.At, &r.ActorID, &r.ActorName, &r.System, &r.Action, &r.ObjectType, &r.ObjectID,
		&r.Outcome, &r.IP, &r.detail, &r.hash)
	r.At = r.At.UTC()
	return r, err
}

// readEntries returns up to limit entries of lane with after < seq <
// before, in order.
func readEntries(ctx context.Context, q database.Querier, lane, after, before int64, limit int) ([]stored, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+entryColumns+` FROM audit_log WHERE lane = $1 AND seq > $2 AND seq < $3 ORDER BY seq LIMIT $4`,
		lane, after, before, limit)
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
	Lane     int64  // the lane it is in
	ID       int64  // the entry whose hash does not match (0: none, the lane's head is wrong)
	Seq      int64  // its number in the lane
	Expected string // the hash its content and predecessor give
	Found    string // the hash stored
	Reason   string // in Russian, for the page and the terminal
}

// Error says which entry breaks the chain.
func (b *Broken) Error() string {
	if b.ID == 0 {
		return fmt.Sprintf("цепочка нарушена в ветви %d: %s", b.Lane, b.Reason)
	}
	return fmt.Sprintf("цепочка нарушена на записи %d (ветвь %d, №%d): %s (ожидался хеш %s, найден %s)",
		b.ID, b.Lane, b.Seq, b.Reason, short(b.Expected), short(b.Found))
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

// Checked is how far a walk of a lane got: the last entry that holds
// (its number, id and hash) and how many entries the walk read.
type Checked struct {
	Lane     int64
	LastSeq  int64
	LastID   int64
	LastHash string
	Count    int64
}

// Walk checks from.Lane from the entry after from (LastSeq 0 and
// LastHash "" for the start) over at most limit entries (0: to the end),
// in order. It returns how far the lane holds and, when a link does not,
// *Broken as the error. Reaching the end, it also checks the lane's head
// as it was when the walk began: entries cut off the end leave the head
// pointing past the last entry. Appends made while it walks are fine.
func Walk(ctx context.Context, db *database.DB, from Checked, limit int64) (Checked, error) {
	at := from
	at.Count = 0
	var head Checked
	var sealed bool
	err := db.QueryRowContext(ctx, `SELECT last_seq, last_id, last_hash, sealed FROM audit_lane WHERE lane = $1`, at.Lane).
		Scan(&head.LastSeq, &head.LastID, &head.LastHash, &sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return at, &Broken{Lane: at.Lane, Reason: "нет головы ветви (строка audit_lane удалена)"}
	}
	if err != nil {
		return at, fmt.Errorf("audit chain head: %w", err)
	}
	if at.LastSeq > 0 {
		// The anchor must still be what was verified: a rewritten history
		// changes every hash after the rewrite, this one included.
		var h sql.NullString
		err := db.QueryRowContext(ctx, `SELECT id, hash FROM audit_log WHERE lane = $1 AND seq = $2`, at.Lane, at.LastSeq).Scan(&at.LastID, &h)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return at, &Broken{Lane: at.Lane, ID: at.LastID, Seq: at.LastSeq, Expected: at.LastHash, Reason: "проверенная ранее запись удалена"}
		case err != nil:
			return at, fmt.Errorf("read audit log: %w", err)
		case h.String != at.LastHash:
			return at, &Broken{Lane: at.Lane, ID: at.LastID, Seq: at.LastSeq, Expected: at.LastHash, Found: h.String, Reason: "проверенная ранее запись изменена"}
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
	case head.LastSeq > at.LastSeq:
		return at, &Broken{Lane: at.Lane, ID: head.LastID, Seq: at.LastSeq + 1, Expected: head.LastHash,
			Reason: fmt.Sprintf("в конце ветви не хватает записей: последняя — №%d, а ветвь доходила до №%d", at.LastSeq, head.LastSeq)}
	case head.LastSeq == at.LastSeq && head.LastHash != at.LastHash:
		return at, &Broken{Lane: at.Lane, ID: at.LastID, Seq: at.LastSeq, Expected: head.LastHash, Found: at.LastHash,
			Reason: "последняя запись ветви не та, что записало приложение"}
	}
	return at, nil
}

// walkBatch checks up to n entries after at, moving at; it returns how
// many it read.
func walkBatch(ctx context.Context, db *database.DB, at *Checked, n int64) (int64, error) {
	rows, err := db.QueryContext(ctx, `SELECT `+entryColumns+` FROM audit_log WHERE lane = $1 AND seq > $2 ORDER BY seq LIMIT $3`, at.Lane, at.LastSeq, n)
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
			b := &Broken{Lane: at.Lane, ID: r.ID, Seq: r.Seq, Expected: want, Found: r.hash.String, Reason: "хеш записи не совпадает с её содержимым и предыдущей записью"}
			switch {
			case !r.hash.Valid:
				b.Reason = "у записи нет хеша"
			case r.Seq > at.LastSeq+1 && (at.Lane != 0 || at.Count > 0):
				b.Reason = fmt.Sprintf("перед ней удалены записи ветви №%d–%d", at.LastSeq+1, r.Seq-1)
			}
			return got, b
		}
		at.LastSeq, at.LastID, at.LastHash = r.Seq, r.ID, r.hash.String
		at.Count++
	}
	if err := rows.Err(); err != nil {
		return got, fmt.Errorf("read audit log: %w", err)
	}
	return got, nil
}

// Verify walks every lane of the chain whole: the count of entries when
// they all hold, else *Broken naming the first entry (in lane order)
// that breaks it.
func Verify(ctx context.Context, db *database.DB) (int64, error) {
	var n int64
	for lane := range int64(Lanes) {
		c, err := Walk(ctx, db, Checked{Lane: lane}, 0)
		n += c.Count
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
