package duplicate

import (
	"slices"
	"sync"
	"sync/atomic"
)

// Recent holds what the saves of this process found when they asked the
// engine about a company (the check on save), for the re-check of the
// same company: a PATCH was checked twice, by the request and again by
// the periodic re-check of the company it marked dirty, and the engine's
// two statements were a third of PostgreSQL's time on a PATCH of the
// load test (issue 6). The re-check takes a save's likely duplicates
// instead of asking the engine again when the company reads as the save
// wrote it (the same normalised probe); it still reads the company's
// current pairs and rescores every candidate from the rows as they are.
//
// A company changed by someone else after the save's check is dirty
// itself: its own re-check, later, sees the saved company and writes
// their pair, which the saved company's re-check then keeps (it reads its
// pairs afresh). That holds unless such a re-check ran while the save was
// in flight, having read the company as it was: a save whose check and
// commit overlap a re-check of this process is not kept (Start, Keep).
// Rechecks in other processes are not seen; the periodic full scan
// remains the net for that rare case. A nil *Recent keeps nothing.
type Recent struct {
	mu    sync.Mutex
	found map[int64]recentCheck
	// rechecks counts the re-checks begun, running those not ended.
	rechecks, running atomic.Int64
}

// recentLimit bounds the companies Recent holds: those re-checked by
// another process are never taken.
const recentLimit = 10_000

type recentCheck struct {
	probe  Record
	likely []int64
}

// NewRecent returns an empty Recent.
func NewRecent() *Recent { return &Recent{found: map[int64]recentCheck{}} }

// Ticket is what Start hands a save for Keep.
type Ticket struct {
	rechecks int64
	ok       bool
}

// Start is called before a save's check: a re-check running now may
// already have read the company, so what the save finds is not kept.
func (r *Recent) Start() Ticket {
	if r == nil {
		return Ticket{}
	}
	n := r.rechecks.Load()
	return Ticket{rechecks: n, ok: r.running.Load() == 0}
}

// Keep remembers, once the save of company id has committed, the likely
// duplicates its check found for p (matches, as many as a re-check takes:
// RecheckLimit), unless a re-check began or ran since t.
func (r *Recent) Keep(t Ticket, id int64, p Probe, matches []Match) {
	if r == nil || !t.ok || id == 0 {
		return
	}
	var likely []int64
	for _, m := range matches {
		if m.Score >= Likely {
			likely = append(likely, m.ID)
		}
	}
	c := recentCheck{probe: sortedRecord(p), likely: likely}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.rechecks.Load() != t.rechecks || r.running.Load() != 0 {
		return
	}
	if _, ok := r.found[id]; !ok && len(r.found) >= recentLimit {
		for k := range r.found { // any one: a full map is an odd case
			delete(r.found, k)
			break
		}
	}
	r.found[id] = c
}

// take returns and forgets the likely duplicates a save found for
// company id if it checked p as it is now; ok is false otherwise.
func (r *Recent) take(id int64, p Probe) (likely []int64, ok bool) {
	if r == nil {
		return nil, false
	}
	r.mu.Lock()
	c, found := r.found[id]
	delete(r.found, id)
	r.mu.Unlock()
	if !found || !sameRecord(c.probe, sortedRecord(p)) {
		return nil, false
	}
	return c.likely, true
}

// begin and end bracket a re-check run.
func (r *Recent) begin() {
	if r != nil {
		r.mu.Lock()
		r.running.Add(1)
		r.rechecks.Add(1)
		r.mu.Unlock()
	}
}

func (r *Recent) end() {
	if r != nil {
		r.running.Add(-1)
	}
}

// sortedRecord is p normalised, its phones and e-mails in order: a save
// lists them as typed, a re-check as the database returns them.
func sortedRecord(p Probe) Record {
	rec := RecordOf(p)
	slices.Sort(rec.Phones)
	slices.Sort(rec.Emails)
	return rec
}

func sameRecord(a, b Record) bool {
	return a.ID == b.ID && a.NameNorm == b.NameNorm && a.INN == b.INN && a.KPP == b.KPP && a.OGRN == b.OGRN &&
		a.AddressNorm == b.AddressNorm && a.Domain == b.Domain &&
		slices.Equal(a.Phones, b.Phones) && slices.Equal(a.Emails, b.Emails)
}
