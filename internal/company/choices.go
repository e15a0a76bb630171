package company

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
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
	ch, _, err := s.readChoices(ctx)
	return ch, err
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
	c := s.choices
	if c == nil {
		return s.Choices(ctx)
	}
	if version > 0 {
		if e := c.entry.Load(); e != nil && e.version >= version {
			return e.choices, nil
		}
		// One reading at a time: those that waited find the lists it read.
		c.reading.Lock()
		defer c.reading.Unlock()
		if e := c.entry.Load(); e != nil && e.version >= version {
			return e.choices, nil
		}
	}
	ch, v, err := s.readChoices(ctx)
	if err != nil {
		return ch, err
	}
	c.keep(ch, v)
	return ch, nil
}

// choicesCache holds the last Choices read and the dictionaries' number
// they were read at (in the same statement, so the number is theirs).
type choicesCache struct {
	entry   atomic.Pointer[choicesEntry]
	reading sync.Mutex
}

type choicesEntry struct {
	version int64
	choices Choices
}

// keep stores ch read at version v unless newer lists are already held:
// the number only grows, so a slower reading never replaces a newer one.
func (c *choicesCache) keep(ch Choices, v int64) {
	next := &choicesEntry{version: v, choices: ch}
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

// readChoices reads the four lists and the dictionaries' number in one
// statement: a UNION ALL told apart by its first column (0 is the
// number), each list in its own order.
func (s *Store) readChoices(ctx context.Context) (Choices, int64, error) {
	var ch Choices
	var version int64
	rows, err := s.db.QueryContext(ctx, `SELECT 0, 0, '', '', 0, version, '', '', '', 0 FROM dictionary_version WHERE id = 1
		UNION ALL SELECT 1, position, name, '', 0, id, name, '', '', 0 FROM company_statuses
		UNION ALL SELECT 2, 0, name, '', 0, id, name, '', '', 0 FROM spheres
		UNION ALL SELECT 3, 0, name, '', 0, id, name, '', '', 0 FROM branches
		UNION ALL SELECT 4, 0, first_name, last_name, id, id, username, first_name, last_name, COALESCE(branch_id, 0) FROM users WHERE is_active
		ORDER BY 1, 2, 3, 4, 5`)
	if err != nil {
		return ch, 0, fmt.Errorf("choices: %w", err)
	}
	lists := map[int]*[]Choice{1: &ch.Statuses, 2: &ch.Spheres, 3: &ch.Branches, 4: &ch.Users}
	err = eachRow(rows, func() error {
		var (
			list, pos, userID     int
			key1, key2            string
			c                     Choice
			username, first, last string
		)
		if err := rows.Scan(&list, &pos, &key1, &key2, &userID, &c.ID, &username, &first, &last, &c.BranchID); err != nil {
			return err
		}
		if list == 0 {
			version = c.ID
			return nil
		}
		c.Name = username
		if list == 4 {
			c.Name = fullName(username, first, last)
		}
		*lists[list] = append(*lists[list], c)
		return nil
	})
	if err != nil {
		return ch, 0, fmt.Errorf("choices: %w", err)
	}
	return ch, version, nil
}
