package company

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/audit"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/dedup"
	"github.com/crmprofi/crm/internal/duplicate"
	"github.com/crmprofi/crm/internal/notify"
)

// Store keeps company records. Every method takes the caller's scope and
// puts its visibility into the WHERE clause, so a hidden company is never
// loaded, only not found.
type Store struct {
	db  *database.DB
	now func() time.Time
	// choices keeps the dictionaries between requests: the options of
	// the forms and filters (ChoicesAt) and the names of what company
	// rows reference (fillNames); nil in a transaction, whose reads may
	// see what it has not committed.
	choices *choicesCache
	// recent, if set, is given what an update's duplicate check found,
	// for the re-check of the company (ShareChecks).
	recent *duplicate.Recent
	// deferred, if set, takes the names whose name_trigrams rows wait
	// for one sorted write (DeferTrigrams).
	deferred *trigramQueue
}

// ShareChecks makes the store's updates hand what their duplicate check
// found to r, which the process's duplicate.Scanner shares (its Recent):
// the periodic re-check of the company they mark takes it instead of
// asking the engine again.
func (s *Store) ShareChecks(r *duplicate.Recent) { s.recent = r }

// NewStore returns a Store on db.
func NewStore(db *database.DB) *Store {
	return &Store{db: db, now: database.Now, choices: &choicesCache{}}
}

// WithTx returns the store working in the caller's transaction tx: its
// writes commit or roll back with the caller's (see database.DB.WithTx).
func (s *Store) WithTx(tx *sql.Tx) *Store {
	c := *s
	c.db = s.db.WithTx(tx)
	c.choices = nil
	c.recent = nil // the caller's transaction commits after Update returns
	return &c
}

// SetClock makes the store read the time from now (tests of the merge's
// undo period); nil restores the real clock.
func (s *Store) SetClock(now func() time.Time) {
	if now == nil {
		now = database.Now
	}
	s.now = func() time.Time { return now().UTC().Truncate(time.Microsecond) }
}

// reread is the scope a write reads its result back with: the writer may
// no longer see the company it has just saved (a manager handing it to
// someone else), and the answer is still the saved company.
var reread = access.System("company:reread")

// companyColumns is the select list of a company row: the ids of what
// it references, whose names fillNames adds from the dictionaries in
// memory (five joins per row cost the list page 40 % of its time, issue
// 6), and the dictionaries' number the statement read them at, which
// tells fillNames whether the dictionaries it holds are new enough.
// scanCompany reads it.
const companyColumns = `c.id, c.name, c.legal_name, c.inn, c.kpp, c.ogrn, c.address, c.website,
	COALESCE(c.status_id, 0), COALESCE(c.branch_id, 0), COALESCE(c.responsible_id, 0), COALESCE(c.created_by, 0),
	c.created_at, c.updated_at, c.deleted_at, COALESCE(c.deleted_by, 0), c.version,
	(SELECT version FROM dictionary_version WHERE id = 1)`

func fullName(username, first, last string) string {
	if n := strings.TrimSpace(first + " " + last); n != "" {
		return n
	}
	return username
}

// full is the user's name as a company row shows it.
func (u userNames) full() string { return fullName(u.username, u.first, u.last) }

// scanCompany reads a row of companyColumns (then extra) and returns the
// company without the names of its references, and the dictionaries'
// number the row was read at: its reader names them (fillNames).
func scanCompany(rows interface{ Scan(...any) error }, extra ...any) (Company, int64, error) {
	var (
		c                               Company
		status, branch, resp, createdBy int64
		deleted                         sql.NullTime
		version                         int64
	)
	dest := []any{&c.ID, &c.Name, &c.LegalName, &c.INN, &c.KPP, &c.OGRN, &c.Address, &c.Website,
		&status, &branch, &resp, &createdBy,
		&c.CreatedAt, &c.UpdatedAt, &deleted, &c.deletedBy, &c.Version, &version}
	if err := rows.Scan(append(dest, extra...)...); err != nil {
		return c, 0, fmt.Errorf("scan company: %w", err)
	}
	c.StatusID, c.BranchID, c.ResponsibleID, c.CreatedByID = ptr(status), ptr(branch), ptr(resp), ptr(createdBy)
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	if deleted.Valid {
		t := deleted.Time.UTC()
		c.DeletedAt = &t
	}
	c.Spheres, c.SphereNames, c.Phones, c.Emails = []int64{}, []string{}, []Phone{}, []Email{}
	return c, version, nil
}

// Get returns a visible, not deleted company; ErrNotFound otherwise. One
// query: the company's phones, e-mails and spheres come joined to its row.
func (s *Store) Get(ctx context.Context, scope access.Scope, id int64) (Company, error) {
	return s.get(ctx, s.db, scope, id, false)
}

// Card returns what the company card shows of a visible, live company: the
// company as Get reads it and its merges as Merges lists them, in one
// query (the card's statement budget, issue 6).
func (s *Store) Card(ctx context.Context, scope access.Scope, id int64) (Company, []MergeInfo, error) {
	set := s.db.NewReadSet()
	card := s.QueueCard(set, scope, id)
	if err := set.Run(ctx); err != nil {
		return Company{}, nil, err
	}
	return card(ctx)
}

// QueueCard queues Card's query on set, so that the card's sections can
// be sent with it (database.ReadSet); the function returned gives Card's
// answer once set has run: ErrNotFound for a company the scope does not
// see, which the caller must then not show any section of. The names of
// the company's references come from memory while the dictionaries have
// not changed; otherwise the function reads them (fillNames).
func (s *Store) QueueCard(set *database.ReadSet, scope access.Scope, id int64) func(context.Context) (Company, []MergeInfo, error) {
	var (
		c       Company
		merges  []MergeInfo
		version int64
		err     = database.ErrNotRun
	)
	q, args := readQuery(scope, id, false, true)
	set.Query(q, args, func(rows database.Rows) error {
		var found bool
		c, merges, version, found, err = readRows(rows, true)
		if err != nil {
			return err
		}
		if !found {
			err = apperr.ErrNotFound
		}
		return nil
	})
	return func(ctx context.Context) (Company, []MergeInfo, error) {
		if err != nil {
			return Company{}, nil, err
		}
		list := []Company{c}
		if err := s.fillNames(ctx, s.db, list, version); err != nil {
			return Company{}, nil, err
		}
		return list[0], s.withinUndo(merges), nil
	}
}

func (s *Store) get(ctx context.Context, q database.Querier, scope access.Scope, id int64, deleted bool) (Company, error) {
	query, args := readQuery(scope, id, deleted, false)
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return Company{}, fmt.Errorf("get company: %w", err)
	}
	defer rows.Close()
	c, _, version, found, err := readRows(rows, false)
	if err == nil {
		err = rows.Err()
	}
	if err != nil {
		return Company{}, err
	}
	if !found {
		return Company{}, apperr.ErrNotFound
	}
	list := []Company{c}
	if err := s.fillNames(ctx, q, list, version); err != nil {
		return Company{}, err
	}
	return list[0], nil
}

// childRowsOf selects the phones, e-mails and spheres of the company whose
// id is the placeholder ph as one set of rows told apart by k, in the
// columns fillChildren reads: k, company_id, pos, sort, child_id, value,
// kind, comment, norm, ext.
func childRowsOf(ph string) string {
	return `SELECT 1 AS k, company_id, position AS pos, '' AS sort, id AS child_id, value, kind, comment, e164 AS norm, ext
		FROM company_phones WHERE company_id = ` + ph + `
		UNION ALL SELECT 2, company_id, position, '', id, value, kind, comment, value_norm, '' FROM company_emails WHERE company_id = ` + ph + `
		UNION ALL SELECT 3, cs.company_id, 0, s.name, s.id, s.name, '', '', '', ''
		FROM company_spheres cs JOIN spheres s ON s.id = cs.sphere_id WHERE cs.company_id = ` + ph
}

// readQuery is Get in one query, and with merges also the merges into the
// company not undone yet (newest first): the company's row is joined to
// its child rows and to its merges, so it comes once per child and merge.
// A company has a handful of children and rarely a merge; the children
// are taken from the newest merge's rows only (readRows).
func readQuery(scope access.Scope, id int64, deleted, merges bool) (string, []any) {
	var w database.Where
	ph := w.Arg(id)
	from := ` FROM companies c LEFT JOIN (` + childRowsOf(ph) + `) ch ON ch.company_id = c.id`
	cols := `, ch.k, ch.pos, ch.sort, ch.child_id, ch.value, ch.kind, ch.comment, ch.norm, ch.ext`
	order := ` ORDER BY ch.k, ch.pos, ch.sort, ch.child_id`
	if merges {
		from += ` LEFT JOIN company_merges m ON m.survivor_id = c.id AND m.undone_at IS NULL
			LEFT JOIN companies a ON a.id = m.absorbed_id`
		cols += `, m.id, m.absorbed_id, a.name, m.merged_at`
		order = ` ORDER BY m.id DESC, ch.k, ch.pos, ch.sort, ch.child_id`
	}
	w.Add("c.id = " + ph)
	if deleted {
		w.Add("c.deleted_at IS NOT NULL")
	} else {
		w.Add("c.deleted_at IS NULL")
	}
	scope.Restrict(&w, "c")
	return `SELECT ` + companyColumns + cols + from + w.SQL() + order, w.Args()
}

// readRows reads readQuery's rows (and closes them) and the dictionaries'
// number they were read at; found is false when there were none.
func readRows(rows database.Rows, merges bool) (c Company, list []MergeInfo, version int64, found bool, err error) {
	err = eachRowOf(rows, func() error {
		var (
			k, pos, childID       sql.NullInt64
			sortName, value, kind sql.NullString
			comment, norm, ext    sql.NullString
			mID, mAbsorbed        sql.NullInt64
			mName                 sql.NullString
			mAt                   sql.NullTime
		)
		extra := []any{&k, &pos, &sortName, &childID, &value, &kind, &comment, &norm, &ext}
		if merges {
			extra = append(extra, &mID, &mAbsorbed, &mName, &mAt)
		}
		row, v, err := scanCompany(rows, extra...)
		if err != nil {
			return err
		}
		if !found {
			c, version, found = row, v, true
		}
		if mID.Valid && (len(list) == 0 || list[len(list)-1].ID != mID.Int64) {
			list = append(list, MergeInfo{ID: mID.Int64, SurvivorID: c.ID, SurvivorName: c.Name,
				AbsorbedID: mAbsorbed.Int64, AbsorbedName: mName.String, MergedAt: mAt.Time.UTC()})
		}
		if !k.Valid || len(list) > 1 {
			return nil // no children, or the children again with an older merge
		}
		switch k.Int64 {
		case 1:
			c.Phones = append(c.Phones, Phone{Value: value.String, Kind: kind.String, Comment: comment.String, E164: norm.String, Ext: ext.String})
		case 2:
			c.Emails = append(c.Emails, Email{Value: value.String, Kind: kind.String, Comment: comment.String, Norm: norm.String})
		default:
			c.Spheres = append(c.Spheres, childID.Int64)
			c.SphereNames = append(c.SphereNames, value.String)
		}
		return nil
	})
	if err != nil {
		return Company{}, nil, 0, false, fmt.Errorf("get company: %w", err)
	}
	return c, list, version, found, nil
}

// firstPhoneColumns follow companyColumns in a page that shows each
// company's first phone alone (Query.FirstPhone), from firstPhoneJoin;
// firstPhoneRow reads them.
const firstPhoneColumns = `, COALESCE(fp.id, 0), COALESCE(fp.value, ''), COALESCE(fp.kind, ''), COALESCE(fp.comment, ''),
	COALESCE(fp.e164, ''), COALESCE(fp.ext, '')`

// firstPhoneJoin joins company c to its first phone fp in the order its
// phones are read in (fillChildren, readRows): by position, then id. One
// look-up of the (company_id, position) index per row of the page.
const firstPhoneJoin = ` LEFT JOIN company_phones fp ON fp.id = (SELECT p.id FROM company_phones p WHERE p.company_id = c.id
	ORDER BY p.position, p.id LIMIT 1)`

// firstPhoneRow receives firstPhoneColumns.
type firstPhoneRow struct {
	id    int64
	phone Phone
}

// dest is where the columns go; none without firstPhone.
func (f *firstPhoneRow) dest(firstPhone bool) []any {
	if !firstPhone {
		return nil
	}
	p := &f.phone
	return []any{&f.id, &p.Value, &p.Kind, &p.Comment, &p.E164, &p.Ext}
}

// put gives c the phone read, if it has one.
func (f *firstPhoneRow) put(c *Company) {
	if f.id != 0 {
		c.Phones = []Phone{f.phone}
	}
}

// collectCounted reads company rows that end in the total count of the
// search (after firstPhoneColumns with firstPhone), and returns the rows,
// that count and the dictionaries' number they were read at.
func collectCounted(rows *sql.Rows, firstPhone bool) ([]Company, int, int64, error) {
	defer rows.Close()
	var (
		list    []Company
		total   int
		version int64
		fp      firstPhoneRow
	)
	for rows.Next() {
		fp = firstPhoneRow{}
		c, v, err := scanCompany(rows, append(fp.dest(firstPhone), &total)...)
		if err != nil {
			return nil, 0, 0, err
		}
		fp.put(&c)
		list, version = append(list, c), v
	}
	if err := rows.Err(); err != nil {
		return nil, 0, 0, fmt.Errorf("read companies: %w", err)
	}
	return list, total, version, nil
}

// collect is collectOf for *sql.Rows, whose Err the linters then see
// checked.
func collect(rows *sql.Rows, firstPhone bool) ([]Company, int64, error) {
	list, version, err := collectOf(rows, firstPhone)
	if err != nil {
		return nil, 0, err
	}
	return list, version, rows.Err()
}

// collectOf reads company rows (and closes them), from database/sql or a
// batch (database.ReadSet), and the dictionaries' number they were read
// at (one statement's: the same on every row). With firstPhone the rows
// end in firstPhoneColumns.
func collectOf(rows database.Rows, firstPhone bool) ([]Company, int64, error) {
	defer func() { _ = rows.Close() }()
	var (
		list    []Company
		version int64
		fp      firstPhoneRow
	)
	for rows.Next() {
		fp = firstPhoneRow{}
		c, v, err := scanCompany(rows, fp.dest(firstPhone)...)
		if err != nil {
			return nil, 0, err
		}
		fp.put(&c)
		list, version = append(list, c), v
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("read companies: %w", err)
	}
	return list, version, nil
}

// fillChildren loads the phones, e-mails and spheres of list in one
// query, whatever the length of the list: the three kinds of child rows
// come as one UNION ALL, told apart by its first column. The ids are one
// array on PostgreSQL (database.Dialect.InIDs): one text for any page.
// With phonesOnly it reads the phones alone (the list page's search by a
// phone, see Query.FirstPhone).
func fillChildren(ctx context.Context, q database.Querier, d database.Dialect, list []Company, phonesOnly bool) error {
	if len(list) == 0 {
		return nil
	}
	byID := make(map[int64]*Company, len(list))
	ids := make([]int64, len(list))
	for i := range list {
		byID[list[i].ID] = &list[i]
		ids[i] = list[i].ID
	}
	var w database.Where
	query := `SELECT 1, company_id, position, '', id, value, kind, comment, e164, ext FROM company_phones
		WHERE company_id` + d.InIDs(&w, ids)
	if !phonesOnly {
		query += `
		UNION ALL SELECT 2, company_id, position, '', id, value, kind, comment, value_norm, '' FROM company_emails
		WHERE company_id` + d.InIDs(&w, ids) + `
		UNION ALL SELECT 3, cs.company_id, 0, s.name, s.id, s.name, '', '', '', '' FROM company_spheres cs JOIN spheres s ON s.id = cs.sphere_id
		WHERE cs.company_id` + d.InIDs(&w, ids)
	}
	rows, err := q.QueryContext(ctx, query+`
		ORDER BY 1, 2, 3, 4, 5`, w.Args()...)
	if err != nil {
		return fmt.Errorf("company children: %w", err)
	}
	err = eachRow(rows, func() error {
		var (
			kind, id, pos, childID int64
			sortName, value        string
			p                      Phone
		)
		if err := rows.Scan(&kind, &id, &pos, &sortName, &childID, &value, &p.Kind, &p.Comment, &p.E164, &p.Ext); err != nil {
			return err
		}
		c := byID[id]
		switch kind {
		case 1:
			p.Value = value
			c.Phones = append(c.Phones, p)
		case 2:
			c.Emails = append(c.Emails, Email{Value: value, Kind: p.Kind, Comment: p.Comment, Norm: p.E164})
		default:
			c.Spheres = append(c.Spheres, childID)
			c.SphereNames = append(c.SphereNames, value)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("company children: %w", err)
	}
	return nil
}

// eachRow is eachRowOf for *sql.Rows, whose Err the linters then see
// checked.
func eachRow(rows *sql.Rows, fn func() error) error {
	if err := eachRowOf(rows, fn); err != nil {
		return err
	}
	return rows.Err()
}

// eachRowOf calls fn for each row (and closes the rows), from
// database/sql or a batch (database.ReadSet).
func eachRowOf(rows database.Rows, fn func() error) error {
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		if err := fn(); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Create validates in and writes a new company. The responsible defaults
// to the caller and the branch to the responsible's branch; assigning
// someone else is subject to the role's rules.
func (s *Store) Create(ctx context.Context, scope access.Scope, in Input) (Company, error) {
	if !scope.Acts() {
		return Company{}, apperr.ErrForbidden
	}
	if inv := in.shapeErrors(); len(inv) > 0 {
		return Company{}, inv
	}
	var n NewCompany
	in.apply(&n, true)
	if n.ResponsibleID == 0 {
		n.ResponsibleID = scope.UserID
	}
	n.CreatedBy = scope.UserID
	inv := n.Normalize()
	var out Company
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		resp, err := s.checkRefs(ctx, tx, &n, inv, !in.Branch.Set, nil, access.UserRef{}, nil)
		if err != nil {
			return err
		}
		// Who owns the company is decided before the other fields are
		// judged: a refusal does not depend on them.
		if err := scope.CanSetOwner(nil, n.owner(resp)); err != nil {
			return err
		}
		if err := inv.Err(); err != nil {
			return err
		}
		dups, confirmed, err := s.checkDuplicates(ctx, tx, scope, 0, &n, in, true, nil)
		if err != nil {
			return err
		}
		n.CreatedAt = database.Now()
		ids, err := s.InsertBatch(ctx, tx, []NewCompany{n})
		if err != nil {
			return err
		}
		detail := map[string]any{"name": n.Name, "inn": n.INN}
		if len(confirmed) > 0 {
			detail["confirmed_duplicate"] = confirmed
		}
		if err := audit.Record(ctx, tx, scope, audit.Entry{Action: "company.create", ObjectType: "company",
			ObjectID: audit.ID(ids[0]), Detail: detail}); err != nil {
			return err
		}
		if err := notifyResponsible(ctx, tx, scope, ids[0], n.Name, n.ResponsibleID); err != nil {
			return err
		}
		out, err = s.get(ctx, tx, reread, ids[0], false)
		out.Duplicates = dups
		return err
	})
	return out, err
}

// lockINN serialises, on PostgreSQL, the saves of companies with one ИНН
// until their transactions end, so that two people creating the same
// company at the same moment cannot both pass the duplicate check (the
// second waits and then sees the first). SQLite needs nothing: its
// write transactions already run one at a time.
func lockINN(ctx context.Context, tx *sql.Tx, d database.Dialect, inn string) error {
	if d != database.Postgres || inn == "" {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext('company.inn:' || $1))`, inn); err != nil {
		return fmt.Errorf("lock inn: %w", err)
	}
	return nil
}

// identityFields are the fields the duplicate check compares: an update
// that changes none of them is not checked (a company that already has a
// double can still get a new status).
var identityFields = []string{"name", "inn", "kpp", "ogrn", "address", "website", "phones", "emails"}

// checkDuplicates asks the duplicate engine, inside the save's
// transaction, whether n (company id, 0 when new) would duplicate a live
// company. A blocking match (the same ИНН and КПП, or the same ИНН and no
// КПП on either) refuses the save with *duplicate.Found when blockINN is
// set (a create, or an update that changes the ИНН or КПП); in strict
// mode (in.StrictDuplicates, the form) any likely match refuses it. With in.ConfirmDuplicate nothing refuses and the ids of
// what would have are returned as confirmed, for the audit entry. The
// likely matches come back to be shown with the saved company.
func (s *Store) checkDuplicates(ctx context.Context, tx *sql.Tx, scope access.Scope, id int64, n *NewCompany, in Input,
	blockINN bool, seen *asked,
) (likely []duplicate.Match, confirmed []int64, err error) {
	// The lock matters only when a match can refuse the save: an update
	// that keeps the ИНН and КПП makes no new pair of the same ИНН, and a
	// create of one waits for its own lock and then sees this company.
	if blockINN || in.StrictDuplicates {
		if err := lockINN(ctx, tx, s.db.Dialect, n.INN); err != nil {
			return nil, nil, err
		}
	}
	probe := duplicate.Probe{Exclude: id, Name: n.Name, INN: n.INN, KPP: n.KPP, OGRN: n.OGRN, Address: n.Address, Website: n.Website}
	for _, p := range n.Phones {
		probe.Phones = append(probe.Phones, p.E164)
	}
	for _, e := range n.Emails {
		probe.Emails = append(probe.Emails, e.Norm)
	}
	// As many as a re-check takes: the scope decides only what a match
	// shows, not which are found, so the re-check can take them (seen).
	matches, err := duplicate.New(s.db).WithTx(tx).Find(ctx, scope, probe, duplicate.RecheckLimit)
	if err != nil {
		return nil, nil, err
	}
	if seen != nil {
		*seen = asked{done: true, probe: probe, matches: matches}
	}
	matches = matches[:min(len(matches), saveMatches)]
	var refused []int64
	for _, m := range matches {
		blocks := blockINN && m.Blocking || in.StrictDuplicates && m.Score >= duplicate.Likely
		if blocks {
			refused = append(refused, m.ID)
		}
		if blocks || m.Score >= duplicate.Likely {
			likely = append(likely, m)
		}
	}
	if len(refused) > 0 && !in.ConfirmDuplicate {
		return nil, nil, &duplicate.Found{Matches: likely}
	}
	return likely, refused, nil
}

// checkRefs verifies that the status, spheres, branch and responsible of n
// exist, adding field errors to inv, and returns the responsible as the
// assignment rules see them. With defaultBranch the branch becomes the
// responsible's branch. An update passes the company as it was (was, its
// responsible as from): a reference it leaves as it was is not checked
// again — it was valid when set, and a PATCH of the address need not
// read four tables (issue 6).
func (s *Store) checkRefs(ctx context.Context, q database.Querier, n *NewCompany, inv apperr.Invalid, defaultBranch bool,
	was *NewCompany, from access.UserRef, names *refNames,
) (access.UserRef, error) {
	if names == nil {
		names = &refNames{}
	}
	// The fields the caller changed, compared once. A branch defaulted
	// below from a new responsible is theirs from the users table: it
	// exists, so taking it as unchanged here skips only that lookup.
	var changed []string
	if was != nil {
		changed = changedFields(*was, *n)
	}
	same := func(field string) bool { return was != nil && !slices.Contains(changed, field) }
	var resp access.UserRef
	if same("responsible") {
		resp = from
	} else if n.ResponsibleID != 0 {
		var branch sql.NullInt64
		var active bool
		var u userNames
		err := q.QueryRowContext(ctx, `SELECT branch_id, is_active, username, first_name, last_name FROM users WHERE id = $1`, n.ResponsibleID).
			Scan(&branch, &active, &u.username, &u.first, &u.last)
		switch {
		case errors.Is(err, sql.ErrNoRows) || err == nil && !active:
			inv.Add("responsible", "Пользователь не найден или неактивен")
		case err != nil:
			return resp, fmt.Errorf("check responsible: %w", err)
		default:
			resp = access.UserRef{ID: n.ResponsibleID, BranchID: branch.Int64}
			u.branch = branch.Int64
			names.responsible = &u
			if defaultBranch {
				n.BranchID = branch.Int64
			}
		}
	}
	// exists reads the name of a referenced row into *name.
	exists := func(table string, id int64, name **string) (bool, error) {
		var v string
		err := q.QueryRowContext(ctx, `SELECT name FROM `+table+` WHERE id = $1`, id).Scan(&v)
		if errors.Is(err, sql.ErrNoRows) {
			return false, nil
		}
		if err == nil {
			*name = &v
		}
		return err == nil, err
	}
	if n.StatusID != 0 && !same("status") {
		ok, err := exists("company_statuses", n.StatusID, &names.status)
		if err != nil {
			return resp, fmt.Errorf("check status: %w", err)
		}
		if !ok {
			inv.Add("status", "Такого статуса нет")
		}
	}
	if n.BranchID != 0 && !same("branch") {
		ok, err := exists("branches", n.BranchID, &names.branch)
		if err != nil {
			return resp, fmt.Errorf("check branch: %w", err)
		}
		if !ok {
			inv.Add("branch", "Такого филиала нет")
		}
	}
	if len(n.Spheres) > 0 && !same("spheres") {
		var w database.Where
		w.Add("id IN " + w.In(database.IDs(n.Spheres)...))
		var count int
		if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM spheres`+w.SQL(), w.Args()...).Scan(&count); err != nil {
			return resp, fmt.Errorf("check spheres: %w", err)
		}
		if count != len(n.Spheres) {
			inv.Add("spheres", "Такой сферы деятельности нет")
		}
	}
	return resp, nil
}

// Update changes a visible company. With full (PUT) every editable field
// is replaced and an absent one cleared; otherwise (PATCH) only the given
// fields change. A given version must match (ErrConflict otherwise);
// without it the last write wins.
func (s *Store) Update(ctx context.Context, scope access.Scope, id int64, in Input, full bool) (Company, error) {
	if inv := in.shapeErrors(); len(inv) > 0 {
		return Company{}, inv
	}
	var (
		out  Company
		seen asked
	)
	ticket := s.recent.Start()
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		cur, err := s.get(ctx, tx, scope, id, false)
		if err != nil {
			return err
		}
		if err := scope.CanEditCompany(cur.Ref()); err != nil {
			return err
		}
		if in.Version.Set && in.Version.Value != cur.Version {
			return apperr.ErrConflict
		}
		n := cur.draft()
		in.apply(&n, full)
		inv := n.Normalize()
		reassigned := n.ResponsibleID != deref(cur.ResponsibleID)
		from := cur.owner()
		was := cur.draft()
		// A new responsible brings their branch unless a branch was given.
		var names refNames
		resp, err := s.checkRefs(ctx, tx, &n, inv, reassigned && !in.Branch.Set, &was, from.Responsible, &names)
		if err != nil {
			return err
		}
		if err := scope.CanSetOwner(&from, n.owner(resp)); err != nil {
			return err
		}
		if err := inv.Err(); err != nil {
			return err
		}
		changed := changedFields(was, n)
		if len(changed) == 0 {
			out = cur
			return nil
		}
		var (
			dups      []duplicate.Match
			confirmed []int64
		)
		if slices.ContainsFunc(identityFields, func(f string) bool { return slices.Contains(changed, f) }) {
			blockINN := slices.Contains(changed, "inn") || slices.Contains(changed, "kpp")
			dups, confirmed, err = s.checkDuplicates(ctx, tx, scope, id, &n, in, blockINN, &seen)
			if err != nil {
				return err
			}
		}
		nm := n.norms()
		at := s.now()
		if err := s.writeFields(ctx, tx, id, cur.Version, &n, nm, changed, at); err != nil {
			return err
		}
		detail := map[string]any{"name": n.Name, "fields": changed}
		if len(confirmed) > 0 {
			detail["confirmed_duplicate"] = confirmed
		}
		if err := audit.Record(ctx, tx, scope, audit.Entry{Action: "company.update", ObjectType: "company",
			ObjectID: audit.ID(id), Detail: detail}); err != nil {
			return err
		}
		if reassigned {
			if err := notifyResponsible(ctx, tx, scope, id, n.Name, n.ResponsibleID); err != nil {
				return err
			}
		}
		var ok bool
		if out, ok = cur.updated(&n, changed, &names, at); !ok {
			out, err = s.get(ctx, tx, reread, id, false)
		}
		out.Duplicates = dups
		return err
	})
	if err == nil && seen.done {
		s.recent.Keep(ticket, id, seen.probe, seen.matches)
	}
	return out, err
}

// asked is what a save's duplicate check asked the engine and what it
// answered, for duplicate.Recent once the save has committed.
type asked struct {
	done    bool
	probe   duplicate.Probe
	matches []duplicate.Match
}

// saveMatches bounds the matches a save shows and judges.
const saveMatches = 20

// refNames are the names of the references checkRefs read (nil: not
// read), for the answer of an update that need not read its company back.
type refNames struct {
	status, branch *string
	responsible    *userNames
}

// userNames is what a company row shows of a user.
type userNames struct {
	username, first, last string
	branch                int64
}

// updated is c once Update has written n over it at at, the fields in
// changed being those that differ, and ok; or not ok when the answer
// needs names nobody read (new spheres, a reference checkRefs did not
// look up), which the caller then reads back. A PATCH of the address (the
// load test's) so ends without a second read of the company (issue 6):
// the row is what was read, locked by the UPDATE since, plus what it set.
func (c Company) updated(n *NewCompany, changed []string, names *refNames, at time.Time) (Company, bool) {
	for _, f := range changed {
		switch {
		case f == "spheres",
			f == "status" && n.StatusID != 0 && names.status == nil,
			f == "branch" && n.BranchID != 0 && names.branch == nil,
			f == "responsible" && n.ResponsibleID != 0 && names.responsible == nil:
			return c, false
		}
	}
	c.Name, c.LegalName, c.INN, c.KPP, c.OGRN = n.Name, n.LegalName, n.INN, n.KPP, n.OGRN
	c.Address, c.Website = n.Address, n.Website
	if slices.Contains(changed, "status") {
		c.StatusID, c.StatusName = ptr(n.StatusID), ""
		if n.StatusID != 0 {
			c.StatusName = *names.status
		}
	}
	if slices.Contains(changed, "branch") {
		c.BranchID, c.BranchName = ptr(n.BranchID), ""
		if n.BranchID != 0 {
			c.BranchName = *names.branch
		}
	}
	if slices.Contains(changed, "responsible") {
		c.ResponsibleID, c.ResponsibleName, c.responsibleBranch = ptr(n.ResponsibleID), "", 0
		if u := names.responsible; n.ResponsibleID != 0 {
			c.ResponsibleName, c.responsibleBranch = fullName(u.username, u.first, u.last), u.branch
		}
	}
	if slices.Contains(changed, "phones") {
		c.Phones = append([]Phone{}, n.Phones...)
	}
	if slices.Contains(changed, "emails") {
		c.Emails = append([]Email{}, n.Emails...)
	}
	c.UpdatedAt = at.UTC()
	c.Version++
	return c, true
}

// writeFields writes the fields of n onto live company id, read at
// version, with its derived keys, and rewrites the child rows of the
// fields in changed; the version goes up and updated_at becomes at. Update, merge and its undo all
// write through it. A concurrent writer since version makes it match
// nothing: ErrConflict.
func (s *Store) writeFields(ctx context.Context, tx *sql.Tx, id int64, version int, n *NewCompany, nm norms, changed []string, at time.Time) error {
	var w database.Where
	set := `UPDATE companies SET name = ` + w.Arg(n.Name) + `, name_norm = ` + w.Arg(nm.name) +
		`, legal_name = ` + w.Arg(n.LegalName) + `, legal_name_norm = ` + w.Arg(nm.legalName) +
		`, inn = ` + w.Arg(n.INN) + `, kpp = ` + w.Arg(n.KPP) + `, ogrn = ` + w.Arg(n.OGRN) +
		`, address = ` + w.Arg(n.Address) + `, address_norm = ` + w.Arg(nm.address) +
		`, website = ` + w.Arg(n.Website) + `, website_domain = ` + w.Arg(nm.domain) + `, status_id = ` + w.Arg(database.NullInt64(n.StatusID)) +
		`, branch_id = ` + w.Arg(database.NullInt64(n.BranchID)) +
		`, responsible_id = ` + w.Arg(database.NullInt64(n.ResponsibleID)) +
		`, updated_at = ` + w.Arg(at) + `, version = version + 1`
	w.Add("id = ?", id)
	w.Add("deleted_at IS NULL")
	w.Add("version = ?", version)
	res, err := tx.ExecContext(ctx, set+w.SQL(), w.Args()...)
	if err != nil {
		return fmt.Errorf("update company: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return apperr.ErrConflict
	}
	return s.replaceChildren(ctx, tx, id, n, nm, changed)
}

// notifyResponsible tells the company's new responsible, in the change's
// transaction, that someone made them responsible (nobody is told of
// their own doing: notify.Add skips it).
func notifyResponsible(ctx context.Context, tx *sql.Tx, scope access.Scope, id int64, name string, responsibleID int64) error {
	if responsibleID == 0 {
		return nil
	}
	body := ""
	if scope.Name != "" && !scope.IsSystem() {
		body = "Назначил(а): " + scope.Name
	}
	_, _, err := notify.Add(ctx, tx, notify.Notification{Kind: notify.KindCompanyResponsible,
		Title: "Вы назначены ответственным: " + name, Body: body, URL: "/companies/" + strconv.FormatInt(id, 10) + "/",
		UserID: responsibleID, ActorID: scope.UserID, ObjectType: "company", ObjectID: id})
	return err
}

// changedFields names the contract fields that differ between a and b.
func changedFields(a, b NewCompany) []string {
	var out []string
	add := func(name string, differ bool) {
		if differ {
			out = append(out, name)
		}
	}
	add("name", a.Name != b.Name)
	add("legal_name", a.LegalName != b.LegalName)
	add("inn", a.INN != b.INN)
	add("kpp", a.KPP != b.KPP)
	add("ogrn", a.OGRN != b.OGRN)
	add("address", a.Address != b.Address)
	add("website", a.Website != b.Website)
	add("status", a.StatusID != b.StatusID)
	add("branch", a.BranchID != b.BranchID)
	add("responsible", a.ResponsibleID != b.ResponsibleID)
	as, bs := slices.Clone(a.Spheres), slices.Clone(b.Spheres)
	slices.Sort(as)
	slices.Sort(bs)
	add("spheres", !slices.Equal(as, bs))
	add("phones", !slices.EqualFunc(a.Phones, b.Phones, func(x, y Phone) bool {
		return x.Value == y.Value && x.Kind == y.Kind && x.Comment == y.Comment
	}))
	add("emails", !slices.EqualFunc(a.Emails, b.Emails, func(x, y Email) bool {
		return x.Value == y.Value && x.Kind == y.Kind && x.Comment == y.Comment
	}))
	return out
}

// replaceChildren rewrites the search terms, phones, e-mails and spheres
// of a company whose fields in changed were updated, and adds a new name
// to the similar-names tables (writeNames).
func (s *Store) replaceChildren(ctx context.Context, tx *sql.Tx, id int64, n *NewCompany, nm norms, changed []string) error {
	var rows childRows
	rows.add(id, n, nm)
	if slices.Contains(changed, "name") {
		if err := s.writeNames(ctx, tx, []string{nm.name}); err != nil {
			return err
		}
	}
	for _, k := range childKinds {
		if !slices.ContainsFunc(k.fields, func(f string) bool { return slices.Contains(changed, f) }) {
			continue
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+k.table+" WHERE company_id = $1", id); err != nil { //nolint:gosec // table names are constants
			return fmt.Errorf("replace %s: %w", k.table, err)
		}
		if err := s.db.InsertRows(ctx, tx, k.insert, k.rows(&rows)); err != nil {
			return err
		}
	}
	return nil
}

// childRows are the rows of a company's search terms, phones, e-mails and
// spheres, gathered for multi-row INSERTs.
type childRows struct {
	terms, phones, emails, spheres [][]any
}

// add appends the child rows of live company id. A term row carries the
// company's sort key and scope columns (see migration 00004).
func (c *childRows) add(id int64, n *NewCompany, nm norms) {
	for _, t := range nm.terms {
		c.terms = append(c.terms, []any{t, true, nm.name, id, n.BranchID, n.ResponsibleID})
	}
	for pos, p := range n.Phones {
		suffix := dedup.Phone{E164: p.E164}.Suffix()
		c.phones = append(c.phones, []any{id, pos, p.Value, p.Kind, p.Comment, p.E164, p.Ext, suffix})
	}
	for pos, e := range n.Emails {
		c.emails = append(c.emails, []any{id, pos, e.Value, e.Norm, e.Kind, e.Comment})
	}
	for _, sp := range n.Spheres {
		c.spheres = append(c.spheres, []any{id, sp})
	}
}

// childKinds names each child table, the company fields it derives from
// and how it is written.
var childKinds = []struct {
	table, insert string
	fields        []string
	rows          func(*childRows) [][]any
}{
	{"company_terms", `INSERT INTO company_terms (term, live, name_norm, company_id, branch_id, responsible_id)`, []string{"name", "legal_name"},
		func(c *childRows) [][]any { return c.terms }},
	{"company_phones", `INSERT INTO company_phones (company_id, position, value, kind, comment, e164, ext, e164_suffix)`, []string{"phones"},
		func(c *childRows) [][]any { return c.phones }},
	{"company_emails", `INSERT INTO company_emails (company_id, position, value, value_norm, kind, comment)`, []string{"emails"},
		func(c *childRows) [][]any { return c.emails }},
	{"company_spheres", `INSERT INTO company_spheres (company_id, sphere_id)`, []string{"spheres"},
		func(c *childRows) [][]any { return c.spheres }},
}

// Delete moves a visible company to the trash (deleted_at, deleted_by);
// an admin can restore it.
func (s *Store) Delete(ctx context.Context, scope access.Scope, id int64) error {
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		cur, err := s.get(ctx, tx, scope, id, false)
		if err != nil {
			return err
		}
		if err := scope.CanDeleteCompany(cur.Ref()); err != nil {
			return err
		}
		now := database.Now()
		res, err := tx.ExecContext(ctx, `UPDATE companies SET deleted_at = $1, deleted_by = $2, updated_at = $1, version = version + 1
			WHERE id = $3 AND deleted_at IS NULL`, now, database.NullInt64(scope.UserID), id)
		if err != nil {
			return fmt.Errorf("delete company: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return apperr.ErrConflict
		}
		return audit.Record(ctx, tx, scope, audit.Entry{Action: "company.delete", ObjectType: "company", ObjectID: audit.ID(id),
			Detail: map[string]any{"name": cur.Name, "inn": cur.INN, "responsible": cur.ResponsibleName}})
	})
}

// Restore takes a company out of the trash. Only admins may.
func (s *Store) Restore(ctx context.Context, scope access.Scope, id int64) (Company, error) {
	if err := scope.CanManage(); err != nil {
		return Company{}, err
	}
	var out Company
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		cur, into, err := s.companyState(ctx, tx, scope, id)
		if err != nil {
			return err
		}
		switch {
		case into != 0:
			return apperr.Invalid{apperr.NonField: "Компания «" + cur.Name + "» объединена с другой; чтобы вернуть её, отмените объединение на карточке той компании"}
		case cur.DeletedAt == nil:
			return apperr.ErrNotFound
		}
		if _, err := tx.ExecContext(ctx, `UPDATE companies SET deleted_at = NULL, deleted_by = NULL, updated_at = $1, version = version + 1
			WHERE id = $2`, database.Now(), id); err != nil {
			return fmt.Errorf("restore company: %w", err)
		}
		if err := audit.Record(ctx, tx, scope, audit.Entry{Action: "company.restore", ObjectType: "company", ObjectID: audit.ID(id),
			Detail: map[string]any{"name": cur.Name}}); err != nil {
			return err
		}
		out, err = s.get(ctx, tx, scope, id, false)
		return err
	})
	return out, err
}

// ListDeleted is the trash: deleted companies, newest deletion first.
// Only admins may see it.
func (s *Store) ListDeleted(ctx context.Context, scope access.Scope, page, size int) (Result, error) {
	return s.Search(ctx, scope, Query{Deleted: true, Page: page, PageSize: size})
}

// ByINN returns the visible companies with the ИНН, for the duplicate
// check that comes with deduplication (a second company with the same ИНН
// is allowed in this version).
func (s *Store) ByINN(ctx context.Context, scope access.Scope, inn string) ([]Company, error) {
	res, err := s.Search(ctx, scope, Query{INN: inn, PageSize: 50})
	return res.Companies, err
}

// InsertBatch writes already normalised companies (see NewCompany.Normalize)
// with multi-row INSERTs, including their search terms, phones, e-mails and
// spheres and their new names' trigrams (writeNames), and returns their ids
// in order. It neither checks references
// nor writes audit entries: it is the bulk path of Create, of the demo
// loader and of the importer, which do those themselves.
//
// A batch of database.BulkMin companies or more keeps the tallies and the
// duplicate marks itself, one statement per chunk, with the INSERT
// triggers switched off for it (migration 00023): row by row they made a
// load slow down as the base grew.
func (s *Store) InsertBatch(ctx context.Context, tx *sql.Tx, list []NewCompany) ([]int64, error) {
	ids := make([]int64, 0, len(list))
	err := s.db.Bulk(ctx, tx, len(list), func(bulk bool) error {
		per := database.BatchSize(17)
		for start := 0; start < len(list); start += per {
			chunk := list[start:min(start+per, len(list))]
			rows := make([][]any, len(chunk))
			nms := make([]norms, len(chunk))
			created := make([]time.Time, len(chunk))
			for i := range chunk {
				n := &chunk[i]
				nm := n.norms()
				nms[i] = nm
				at := n.CreatedAt
				if at.IsZero() {
					at = database.Now()
				}
				at = at.UTC().Truncate(time.Microsecond)
				created[i] = at
				rows[i] = []any{n.Name, nm.name, n.LegalName, nm.legalName, n.INN, n.KPP, n.OGRN, n.Address, nm.address,
					n.Website, nm.domain, database.NullInt64(n.StatusID), database.NullInt64(n.BranchID), database.NullInt64(n.ResponsibleID),
					database.NullInt64(n.CreatedBy), at, at}
			}
			chunkIDs, err := s.db.InsertReturningIDs(ctx, tx, `INSERT INTO companies (name, name_norm, legal_name, legal_name_norm, inn, kpp, ogrn, address, address_norm,
			website, website_domain, status_id, branch_id, responsible_id, created_by, created_at, updated_at)`, rows)
			if err != nil {
				return fmt.Errorf("insert companies: %w", err)
			}
			var children childRows
			names := make([]string, len(chunk))
			for i := range chunk {
				children.add(chunkIDs[i], &chunk[i], nms[i])
				names[i] = nms[i].name
			}
			if err := s.writeNames(ctx, tx, names); err != nil {
				return err
			}
			// In the search key's order (term, live, name_norm, company_id):
			// SQLite's table (migration 00065) and PostgreSQL's search index;
			// PostgreSQL's primary key (company_id, term), migration 00064,
			// takes new companies' words at its end anyway.
			database.SortRows(children.terms, 4)
			for _, k := range childKinds {
				if err := s.db.InsertRows(ctx, tx, k.insert, k.rows(&children)); err != nil {
					return err
				}
			}
			if bulk {
				if err := s.keepDerived(ctx, tx, chunkIDs, chunk, created); err != nil {
					return err
				}
			}
			ids = append(ids, chunkIDs...)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// keepDerived does for live companies ids, just written with their phones
// and e-mails (list) at created, what the INSERT triggers of migrations
// 00002, 00019 and 00043 do row by row: a company counts once in its
// (branch, responsible, status) tally and once in its (UTC month,
// branch, responsible) one, and its duplicate mark goes up once for the
// company and once for each phone and e-mail written.
func (s *Store) keepDerived(ctx context.Context, tx *sql.Tx, ids []int64, list []NewCompany, created []time.Time) error {
	type owner struct{ branch, responsible, status int64 }
	type month struct{ month, branch, responsible int64 }
	counts := map[owner]int{}
	months := map[month]int{}
	var order []owner
	var monthOrder []month
	dirty := make([][]any, len(list))
	for i, n := range list {
		k := owner{n.BranchID, n.ResponsibleID, n.StatusID}
		if counts[k] == 0 {
			order = append(order, k)
		}
		counts[k]++
		y, m, _ := created[i].UTC().Date()
		mk := month{int64(y)*12 + int64(m) - 1, n.BranchID, n.ResponsibleID}
		if months[mk] == 0 {
			monthOrder = append(monthOrder, mk)
		}
		months[mk]++
		dirty[i] = []any{ids[i], 1 + len(n.Phones) + len(n.Emails)}
	}
	byMonth := make([][]any, len(monthOrder))
	for i, k := range monthOrder {
		byMonth[i] = []any{k.month, k.branch, k.responsible, months[k]}
	}
	values, args := s.db.Values(byMonth)
	q := `INSERT INTO company_months (month, branch_id, responsible_id, n) VALUES ` + values + //nolint:gosec // values are placeholders
		` ON CONFLICT (month, branch_id, responsible_id) DO UPDATE SET n = company_months.n + excluded.n`
	if _, err := tx.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("company months: %w", err)
	}
	tallies := make([][]any, len(order))
	for i, k := range order {
		tallies[i] = []any{k.branch, k.responsible, k.status, counts[k]}
	}
	values, args = s.db.Values(tallies)
	q = `INSERT INTO company_tallies (branch_id, responsible_id, status_id, n) VALUES ` + values + //nolint:gosec // values are placeholders
		` ON CONFLICT (branch_id, responsible_id, status_id) DO UPDATE SET n = company_tallies.n + excluded.n`
	if _, err := tx.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("company tallies: %w", err)
	}
	values, args = s.db.Values(dirty)
	q = `INSERT INTO duplicate_dirty (company_id, gen) VALUES ` + values + //nolint:gosec // values are placeholders
		` ON CONFLICT (company_id) DO UPDATE SET gen = duplicate_dirty.gen + excluded.gen, taken = FALSE`
	if _, err := tx.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("duplicate marks: %w", err)
	}
	return nil
}

// VisibleRef reads what the access rules need of a live company sc may
// see — for contacts and notes, whose rights follow their company's —
// without loading the company itself. ErrNotFound when there is none; q
// may be the caller's transaction.
func VisibleRef(ctx context.Context, q database.Querier, sc access.Scope, id int64) (access.CompanyRef, error) {
	var w database.Where
	w.Add("c.id = ?", id)
	w.Add("c.deleted_at IS NULL")
	sc.Restrict(&w, "c")
	var resp, by, branch, respBranch sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT c.responsible_id, c.created_by, c.branch_id, ru.branch_id
		FROM companies c LEFT JOIN users ru ON ru.id = c.responsible_id`+w.SQL(), w.Args()...).
		Scan(&resp, &by, &branch, &respBranch)
	if errors.Is(err, sql.ErrNoRows) {
		return access.CompanyRef{}, apperr.ErrNotFound
	}
	if err != nil {
		return access.CompanyRef{}, fmt.Errorf("company %d: %w", id, err)
	}
	return access.CompanyRef{ResponsibleID: resp.Int64, CreatedBy: by.Int64, BranchID: branch.Int64, ResponsibleBranchID: respBranch.Int64}, nil
}
