package auth

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/crmprofi/crm/internal/database"
)

// SessionCache remembers, in this process, the users that UserBySession
// and RequestUser found, so that a request that changes nothing (GET,
// HEAD) by a known session or token user sends no statement to find its
// user. It serves PostgreSQL only, where that statement is a round trip
// and ≈0.19 ms of the server's CPU on a flat profile; on SQLite the
// statement is a call in this process, cheap as it is, and nothing is
// remembered.
//
// It is never stale in a way a user could notice:
//   - every change of what the statement reads (sessions, users, their
//     branch, notifications, phones, the dictionaries' number) is
//     announced by triggers (migration 00059) on the channel
//     crm_session_cache, at commit, to every process; the listener
//     forgets the users named;
//   - while the listener is not listening (not started, dropped,
//     reconnecting) nothing is remembered and every request reads the
//     database; a new connection starts from nothing;
//   - a request that may have written waits, before its answer leaves
//     (Sync), until the listener has received a NOTIFY it sent after its
//     writes: notifications arrive in commit order, so by then the
//     forgetting its writes caused is done in this process;
//   - an entry keeps the session's expiry and last use: a request past
//     either (expired, or due for the 10-minute touch) reads the
//     database, as without the cache.
type SessionCache struct {
	db  *database.DB
	log *slog.Logger
	// mark tells this process's Sync payloads from other processes'.
	mark string
	// max bounds the entries kept (sessions and token users together).
	max int

	mu        sync.RWMutex
	listening bool
	// gen grows with every forgetting; a reading that began at gen g
	// may be kept only if nothing it read was forgotten after g.
	gen      uint64
	allGen   uint64           // the last forgetting of everything
	userGen  map[int64]uint64 // the last forgetting of each user
	sessions map[string]*sessionEntry
	users    map[int64]*User // RequestUser's answers
	byUser   map[int64]map[string]struct{}

	syncMu  sync.Mutex
	syncSeq uint64
	waiters map[uint64]chan struct{}
}

// sessionEntry is UserBySession's answer for one session.
type sessionEntry struct {
	user          User
	expires, seen time.Time
}

// SessionCacheChannel is the channel the triggers of migration 00059 and
// Sync notify.
const SessionCacheChannel = "crm_session_cache"

// Bounds of the cache: at most DefaultSessionCacheSize entries (an entry
// is a User of a few hundred bytes), how long Sync may take to send its
// NOTIFY and then wait for it to come back before it forgets everything
// instead.
const (
	DefaultSessionCacheSize = 10_000
	syncSend                = 5 * time.Second
	syncWait                = time.Second
	listenRetryFirst        = 100 * time.Millisecond
	listenRetryCap          = 5 * time.Second
)

// NewSessionCache returns a cache of request users on db, which must be
// PostgreSQL. It remembers nothing until Run is listening.
func NewSessionCache(db *database.DB, log *slog.Logger) *SessionCache {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	c := &SessionCache{db: db, log: log, mark: hex.EncodeToString(b), max: DefaultSessionCacheSize, waiters: map[uint64]chan struct{}{}}
	c.reset()
	return c
}

// reset empties the maps. c.mu is held (or c is new).
func (c *SessionCache) reset() {
	c.userGen = map[int64]uint64{}
	c.sessions = map[string]*sessionEntry{}
	c.users = map[int64]*User{}
	c.byUser = map[int64]map[string]struct{}{}
}

// Listening reports whether the cache is in use: its listener is
// listening.
func (c *SessionCache) Listening() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.listening
}

// Len is how many entries the cache holds.
func (c *SessionCache) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.sessions) + len(c.users)
}

// begin starts a reading of the database that may be kept: the
// generation to pass to keep, and false when the cache is not in use.
func (c *SessionCache) begin() (uint64, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen, c.listening
}

// session returns the entry of the session with token hash h.
func (c *SessionCache) session(h string) (sessionEntry, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if !c.listening {
		return sessionEntry{}, false
	}
	e, ok := c.sessions[h]
	if !ok {
		return sessionEntry{}, false
	}
	return *e, true
}

// user returns RequestUser's remembered answer for id.
func (c *SessionCache) user(id int64) (User, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if !c.listening {
		return User{}, false
	}
	u, ok := c.users[id]
	if !ok {
		return User{}, false
	}
	return *u, true
}

// fresh says what a reading begun at gen read of user id is still
// current: nothing forgot it since. c.mu is held.
func (c *SessionCache) fresh(gen uint64, id int64) bool {
	return c.listening && c.allGen <= gen && c.userGen[id] <= gen
}

// keepSession remembers e for the session with token hash h, read from
// a reading begun at gen.
func (c *SessionCache) keepSession(gen uint64, h string, e sessionEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.fresh(gen, e.user.ID) {
		return
	}
	if _, ok := c.sessions[h]; !ok {
		c.makeRoom()
	}
	c.sessions[h] = &e
	set := c.byUser[e.user.ID]
	if set == nil {
		set = map[string]struct{}{}
		c.byUser[e.user.ID] = set
	}
	set[h] = struct{}{}
}

// keepUser remembers u as RequestUser's answer, read from a reading
// begun at gen.
func (c *SessionCache) keepUser(gen uint64, u User) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.fresh(gen, u.ID) {
		return
	}
	if _, ok := c.users[u.ID]; !ok {
		c.makeRoom()
	}
	c.users[u.ID] = &u
}

// makeRoom drops an entry, any (the map's order), when the cache is
// full. c.mu is held.
func (c *SessionCache) makeRoom() {
	if len(c.sessions)+len(c.users) < c.max {
		return
	}
	for h, e := range c.sessions {
		delete(c.sessions, h)
		if set := c.byUser[e.user.ID]; set != nil {
			delete(set, h)
			if len(set) == 0 {
				delete(c.byUser, e.user.ID)
			}
		}
		return
	}
	for id := range c.users {
		delete(c.users, id)
		return
	}
}

// forget drops what is remembered of user id and refuses the readings
// of it in flight.
func (c *SessionCache) forget(id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if len(c.userGen) >= c.max {
		// Too many users forgotten one by one to keep track of: forget
		// everyone instead.
		c.forgetAllLocked()
		return
	}
	c.userGen[id] = c.gen
	for h := range c.byUser[id] {
		delete(c.sessions, h)
	}
	delete(c.byUser, id)
	delete(c.users, id)
}

// forgetAll drops everything and refuses the readings in flight.
func (c *SessionCache) forgetAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.forgetAllLocked()
}

func (c *SessionCache) forgetAllLocked() {
	c.allGen = c.gen
	c.reset()
}

// setListening turns the cache on or off, empty either way. Off, the
// waiting Syncs are let go: nothing is remembered that they wait to see
// forgotten.
func (c *SessionCache) setListening(on bool) {
	c.mu.Lock()
	c.gen++
	c.listening = on
	c.forgetAllLocked()
	c.mu.Unlock()
	if !on {
		c.syncMu.Lock()
		for seq, ch := range c.waiters {
			close(ch)
			delete(c.waiters, seq)
		}
		c.syncMu.Unlock()
	}
}

// Run listens for the announcements of changes until ctx ends,
// connecting again after a failure; the cache is in use only while it
// listens.
func (c *SessionCache) Run(ctx context.Context) {
	defer c.setListening(false)
	wait := listenRetryFirst
	for ctx.Err() == nil {
		listened, err := c.listen(ctx)
		c.setListening(false)
		if ctx.Err() != nil {
			return
		}
		if listened {
			wait = listenRetryFirst
		}
		c.log.Warn("session cache: LISTEN connection lost; requests read their users from the database until it is back", "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(wait*2, listenRetryCap)
	}
}

// listen is one connection of Run: it reports whether LISTEN began.
func (c *SessionCache) listen(ctx context.Context) (bool, error) {
	conn, err := pgx.Connect(ctx, c.db.DSN())
	if err != nil {
		return false, err
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		_ = conn.Close(closeCtx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+SessionCacheChannel); err != nil {
		return false, err
	}
	// What committed before LISTEN took effect, the readings from now on
	// see; what commits after, the listener hears of.
	c.setListening(true)
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return true, err
		}
		c.receive(n.Payload)
	}
}

// receive acts on one announcement: a user's id, "all", or a Sync's
// mark.
func (c *SessionCache) receive(payload string) {
	if rest, ok := strings.CutPrefix(payload, "sync "); ok {
		mark, seq, _ := strings.Cut(rest, " ")
		if mark != c.mark {
			return // another process's
		}
		n, err := strconv.ParseUint(seq, 10, 64)
		if err != nil {
			return
		}
		c.syncMu.Lock()
		if ch, ok := c.waiters[n]; ok {
			close(ch)
			delete(c.waiters, n)
		}
		c.syncMu.Unlock()
		return
	}
	if id, err := strconv.ParseInt(payload, 10, 64); err == nil {
		c.forget(id)
		return
	}
	c.forgetAll() // "all", or what this version does not know
}

// Sync returns once the cache has forgotten what the writes this
// process committed before the call made stale, so that the next
// request sees them: it sends a NOTIFY of its own and waits (at most
// syncWait) for the listener to receive it. Notifications arrive in
// commit order, so the triggers' announcements of those writes were
// received first. A failure, or a wait too long, forgets everything
// instead. A cache not in use returns at once.
func (c *SessionCache) Sync(ctx context.Context) {
	if !c.Listening() {
		return
	}
	ch := make(chan struct{})
	c.syncMu.Lock()
	c.syncSeq++
	seq := c.syncSeq
	c.waiters[seq] = ch
	c.syncMu.Unlock()
	defer func() {
		c.syncMu.Lock()
		delete(c.waiters, seq)
		c.syncMu.Unlock()
	}()
	// The request's answer waits on this, whether or not its client
	// is still there; a pool busy beyond syncSend forgets everything.
	sendCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), syncSend)
	defer cancel()
	if _, err := c.db.ExecContext(sendCtx, `SELECT pg_notify($1, $2)`, SessionCacheChannel,
		"sync "+c.mark+" "+strconv.FormatUint(seq, 10)); err != nil {
		c.forgetAll()
		return
	}
	t := time.NewTimer(syncWait)
	defer t.Stop()
	select {
	case <-ch:
	case <-t.C:
		c.log.Warn("session cache: no answer to its own NOTIFY; forgetting every user", "wait", syncWait)
		c.forgetAll()
	}
}
