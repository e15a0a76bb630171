package company

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/crmprofi/crm/internal/database"
)

// Choice is one option of a select in the company forms and filters.
type Choice struct {
	ID       int64
	Name     string
	BranchID int64 // users only
}

// Choices are the options the company forms and filters offer.
type Choices struct {
	Statuses, Spheres, Branches, Users []Choice
}

// Choices reads the dictionaries and active users for the forms and the
// list's filters in one query.
func (s *Store) Choices(ctx context.Context) (Choices, error) {
	d, _, err := s.readDictionaries(ctx, s.db)
	if err != nil {
		return Choices{}, err
	}
	return d.choices, nil
}

// ChoicesAt returns the dictionaries and active users at least as new as
// version, the number of the dictionaries (table dictionary_version) the
// caller read with its credential (auth.RequestFacts): the lists come
// from memory while the number has not grown, and are read again, once
// for all the requests that wait on it, when it has. Another process's
// change shows on the next request that reads the new number. Version 0
// (not known, or the caller may have changed the dictionaries itself
// since it read its number) reads them afresh. The lists are shared:
// the caller must not change them.
func (s *Store) ChoicesAt(ctx context.Context, version int64) (Choices, error) {
	if s.choices == nil {
		return s.Choices(ctx)
	}
	d, err := s.dictionariesAt(ctx, s.db, max(version, 0), version <= 0, nil)
	if err != nil {
		return Choices{}, err
	}
	return d.choices, nil
}

// dictionariesAt returns the dictionaries at least as new as version,
// from memory when the held ones are (and have every id that has asks
// for), else read afresh once for all the callers that wait on them
// (always with fresh). q is where the caller read its number. A
// transaction reads them through itself and does not keep them: its
// number may count its own changes, not committed yet, which only it
// sees; and the pool may have no connection to spare while it holds one.
func (s *Store) dictionariesAt(ctx context.Context, q database.Querier, version int64, fresh bool,
	has func(*dictionaries) bool,
) (*dictionaries, error) {
	c := s.choices
	usable := func(e *choicesEntry) bool {
		return e != nil && !fresh && e.version >= version && (has == nil || has(e.dicts))
	}
	if c != nil {
		if e := c.entry.Load(); usable(e) {
			return e.dicts, nil
		}
	}
	if c == nil || q != database.Querier(s.db) {
		d, _, err := s.readDictionaries(ctx, q)
		return d, err
	}
	// One reading at a time: those that waited find the lists it read.
	c.reading.Lock()
	defer c.reading.Unlock()
	if e := c.entry.Load(); usable(e) {
		return e.dicts, nil
	}
	// The pool reads what is committed: at least the caller's number.
	d, v, err := s.readDictionaries(ctx, s.db)
	if err != nil {
		return nil, err
	}
	c.keep(d, v)
	return d, nil
}

// choicesCache holds the last dictionaries read and their number (read
// in the same statement, so the number is theirs).
type choicesCache struct {
	entry   atomic.Pointer[choicesEntry]
	reading sync.Mutex
}

type choicesEntry struct {
	version int64
	dicts   *dictionaries
}

// keep stores d read at version v unless newer lists are already held:
// the number only grows, so a slower reading never replaces a newer one.
func (c *choicesCache) keep(d *dictionaries, v int64) {
	next := &choicesEntry{version: v, dicts: d}
	for {
		cur := c.entry.Load()
		if cur != nil && cur.version >= v {
			return
		}
		if c.entry.CompareAndSwap(cur, next) {
			return
		}
	}
}

// dictionaries are what the forms offer (choices) and what a company row
// shows of what it references, by id: the names of statuses and
// branches, and every user's names and branch — inactive users too,
// since a company may keep a deactivated responsible. The responsible's
// branch decides access (Company.Ref): it is as exact as the rest, its
// changes bump the number as well (migration 00058).
type dictionaries struct {
	choices            Choices
	statuses, branches map[int64]string
	users              map[int64]userNames
}

// readDictionaries reads the four lists, every user and the
// dictionaries' number through q in one statement: a UNION ALL told
// apart by its first column (0 is the number), each list in its own
// order.
func (s *Store) readDictionaries(ctx context.Context, q database.Querier) (*dictionaries, int64, error) {
	d := &dictionaries{statuses: map[int64]string{}, branches: map[int64]string{}, users: map[int64]userNames{}}
	ch := &d.choices
	var version int64
	rows, err := q.QueryContext(ctx, `SELECT 0, 0, '', '', 0, version, '', '', '', 0, 1 FROM dictionary_version WHERE id = 1
		UNION ALL SELECT 1, position, name, '', 0, id, name, '', '', 0, 1 FROM company_statuses
		UNION ALL SELECT 2, 0, name, '', 0, id, name, '', '', 0, 1 FROM spheres
		UNION ALL SELECT 3, 0, name, '', 0, id, name, '', '', 0, 1 FROM branches
		UNION ALL SELECT 4, 0, first_name, last_name, id, id, username, first_name, last_name, COALESCE(branch_id, 0),
			CASE WHEN is_active THEN 1 ELSE 0 END FROM users
		ORDER BY 1, 2, 3, 4, 5`)
	if err != nil {
		return nil, 0, fmt.Errorf("choices: %w", err)
	}
	lists := map[int]*[]Choice{1: &ch.Statuses, 2: &ch.Spheres, 3: &ch.Branches, 4: &ch.Users}
	err = eachRow(rows, func() error {
		var (
			list, pos, userID, active int
			key1, key2                string
			c                         Choice
			username, first, last     string
		)
		if err := rows.Scan(&list, &pos, &key1, &key2, &userID, &c.ID, &username, &first, &last, &c.BranchID, &active); err != nil {
			return err
		}
		c.Name = username
		switch list {
		case 0:
			version = c.ID
			return nil
		case 1:
			d.statuses[c.ID] = c.Name
		case 3:
			d.branches[c.ID] = c.Name
		case 4:
			d.users[c.ID] = userNames{username: username, first: first, last: last, branch: c.BranchID}
			if active == 0 {
				return nil // a name to show, not an option
			}
			c.Name = fullName(username, first, last)
		}
		*lists[list] = append(*lists[list], c)
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("choices: %w", err)
	}
	return d, version, nil
}

// name fills what c shows of what it references: the names of its
// status, branch, responsible, author and (deleted) who deleted it, and
// the responsible's branch. A reference missing here is left without a
// name, as the joins it replaces left a dangling one.
func (d *dictionaries) name(c *Company) {
	c.StatusName = d.statuses[deref(c.StatusID)]
	c.BranchName = d.branches[deref(c.BranchID)]
	c.ResponsibleName, c.responsibleBranch, c.CreatedByName, c.DeletedByName = "", 0, "", ""
	if id := deref(c.ResponsibleID); id != 0 {
		u := d.users[id]
		c.ResponsibleName, c.responsibleBranch = u.full(), u.branch
	}
	if id := deref(c.CreatedByID); id != 0 {
		c.CreatedByName = d.users[id].full()
	}
	if c.DeletedAt != nil {
		c.DeletedByName = d.users[c.deletedBy].full()
	}
}

// has reports whether d knows every reference of list.
func (d *dictionaries) has(list []Company) bool {
	for i := range list {
		c := &list[i]
		_, st := d.statuses[deref(c.StatusID)]
		_, br := d.branches[deref(c.BranchID)]
		_, ru := d.users[deref(c.ResponsibleID)]
		_, cu := d.users[deref(c.CreatedByID)]
		_, du := d.users[c.deletedBy]
		if !(st || c.StatusID == nil) || !(br || c.BranchID == nil) || !(ru || c.ResponsibleID == nil) ||
			!(cu || c.CreatedByID == nil) || !(du || c.deletedBy == 0) {
			return false
		}
	}
	return true
}

// fillNames names the references of list, whose statement read the
// dictionaries' number version, through q (the pool, or the caller's
// transaction): from the dictionaries in memory when they are as new
// and know every reference, which costs no statement; else read afresh
// once (dictionariesAt). Every company read names its references here.
func (s *Store) fillNames(ctx context.Context, q database.Querier, list []Company, version int64) error {
	if len(list) == 0 {
		return nil
	}
	d, err := s.dictionariesAt(ctx, q, version, false, func(d *dictionaries) bool { return d.has(list) })
	if err != nil {
		return fmt.Errorf("company names: %w", err)
	}
	for i := range list {
		d.name(&list[i])
	}
	return nil
}
