package company

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/database"
)

// Selection is what a search selects — the companies of a Query under a
// scope, in the order of the list's pages — as SQL that other statements
// are built on. It serves reads of the whole result, such as an export:
// instead of a page at a time with the children of each page looked up
// by id (thousands of index probes a page), the companies come as one
// ordered statement and the rows of each kind of child as another,
// joined to the same selection and sorted by the same order, so that
// the reader merges them as they come (a merge-join on the list's
// order). A read of any size is then a constant handful of statements,
// and holds one company at a time.
//
// The selection is the search's own (the conditions and the order the
// list's pages are built from), so what it reads is exactly what the
// list shows.
type Selection struct {
	sel     selection
	dialect database.Dialect
}

// Select returns the selection of q under scope; q's paging is ignored.
// Errors are the search's (a bad ordering, the trash for a non-manager).
func (s *Store) Select(scope access.Scope, q Query) (Selection, error) {
	q.Keyset, q.After, q.Quick = true, 0, false
	sel, err := selectCompanies(scope, q)
	if err != nil {
		return Selection{}, err
	}
	if sel.empty {
		sel.w.Add("1 = 0")
	}
	return Selection{sel: sel, dialect: s.db.Dialect}, nil
}

// ByID is the same selection read in the order of the companies' ids
// rather than the list's: the order in which the base keeps the
// companies and their children (their company_id indexes), so that
// statements built on it read each table front to back instead of
// seeking a company's rows at random pages. A reader that needs the
// list's order puts the rows back into it with IDs.
func (s Selection) ByID() Selection {
	s.sel.order, s.sel.ranked = "c.id", false
	return s
}

// IDs calls fn with the id of each selected company, in the list's
// order: one statement, which on both databases walks the index of the
// list's order without reading the companies' rows.
func (s Selection) IDs(ctx context.Context, q database.Streamer, fn func(id int64) error) error {
	sel := &s.sel
	rows, err := q.Stream(ctx, sel.with+"SELECT c.id FROM "+sel.from+sel.w.SQL()+" ORDER BY "+sel.orderBy(), sel.w.Args()...)
	if err != nil {
		return fmt.Errorf("stream company ids: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var id int64
	dest := []any{&id} // made once: Scan's variadic slice escapes
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("stream company ids: %w", err)
		}
		if err := fn(id); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("stream company ids: %w", err)
	}
	return nil
}

// IDBounds gives the least and the greatest id of the companies table
// (0 when it is empty), deleted companies included: the ids of every
// selection are between them. Two look-ups at the ends of the primary
// key, on both databases.
func IDBounds(ctx context.Context, q database.Streamer) (least, most int64, err error) {
	rows, err := q.Stream(ctx, `SELECT COALESCE((SELECT MIN(id) FROM companies), 0), COALESCE((SELECT MAX(id) FROM companies), 0)`)
	if err != nil {
		return 0, 0, fmt.Errorf("bounds of companies: %w", err)
	}
	defer func() { _ = rows.Close() }()
	if rows.Next() {
		err = rows.Scan(&least, &most)
	}
	if err == nil {
		err = rows.Err()
	}
	if err != nil {
		return 0, 0, fmt.Errorf("bounds of companies: %w", err)
	}
	return least, most, nil
}

// Arm is one branch of a Selection.Rows statement: the columns it reads
// and the tables it joins to the selected companies (c).
type Arm struct {
	Cols, Joins string
}

// Rows is a statement reading rows joined to the selected companies, in
// the list's order of the companies: each arm is «SELECT <the order's
// keys>, arm.Cols FROM <the companies c> arm.Joins WHERE <the
// selection>», the arms are one UNION ALL, and its rows come ordered by
// the keys, then by then (columns of the union, named by the first arm's
// aliases, as x.name). out lists what the statement returns, as x.name
// too. The rows of one company are thus consecutive and come in the
// order of the companies that Each reads.
//
// The ORDER BY belongs to the UNION ALL itself, not to a query around
// it: SQLite then merges the arms, each read in the order of an index
// (the companies by the list's order, their children by company) where
// one serves, instead of sorting all the rows in a temporary B-tree.
// The query around it only picks the columns out, which keeps the order
// on both databases (TestExportEqualsTheList holds them to it).
func (s Selection) Rows(out, then string, arms ...Arm) (string, []any) {
	sel := &s.sel
	keys, order := sortKeys(sel.orderBy())
	parts := make([]string, len(arms))
	for i, a := range arms {
		// The arms share the placeholders: each $N is the same value.
		parts[i] = "SELECT " + keys + ", " + a.Cols + " FROM " + sel.from + a.Joins + sel.w.SQL()
	}
	if then != "" {
		order += ", " + then
	}
	// A UNION's ORDER BY names its columns bare (k0, kind), not x.k0.
	terms := strings.Split(order, ", ")
	for i, t := range terms {
		terms[i] = strings.TrimPrefix(t, "x.")
	}
	order = strings.Join(terms, ", ")
	return sel.with + "SELECT " + out + " FROM (" + strings.Join(parts, " UNION ALL ") + " ORDER BY " + order + ") x",
		slices.Clone(sel.w.Args())
}

// sortKeys names the expressions of an ORDER BY as columns k0, k1, …
// («c.name_norm AS k0, c.id AS k1») and orders by them («x.k0, x.k1»),
// keeping their directions.
func sortKeys(orderBy string) (keys, order string) {
	var k, o []string
	for i, part := range strings.Split(orderBy, ", ") {
		name := "k" + strconv.Itoa(i)
		expr, desc := strings.CutSuffix(part, " DESC")
		k = append(k, expr+" AS "+name)
		if desc {
			name += " DESC"
		}
		o = append(o, "x."+name)
	}
	return strings.Join(k, ", "), strings.Join(o, ", ")
}

// Queriers hands out the queriers of a read that runs several statements
// at once over one snapshot of the base: on PostgreSQL each statement
// needs a connection of its own (a connection reads one result at a
// time), on SQLite one read transaction steps them all.
type Queriers func() (database.Streamer, error)

// Whole reports whether the selection is every live company — no text,
// no filter, a scope that sees the whole base. Streams of the companies'
// children then read their tables whole, each front to back by its
// company_id index, where joined to the selection each cost a join and
// a sort of all its rows (three times the server's CPU on PostgreSQL,
// five on SQLite): a child of a company outside the selection (a deleted
// one) is skipped as the streams are merged.
func (s Selection) Whole() bool {
	sel := &s.sel
	return !sel.ranked && !sel.empty && sel.with == "" && sel.from == "companies c" && len(sel.w.Args()) == 0 &&
		sel.w.SQL() == " WHERE c.deleted_at IS NULL"
}

// Each calls fn with each selected company in the selection's order,
// with what an export writes of it: its own fields, the names of its
// status, branch and responsible, its phones and e-mails (value and
// comment, by position) and the names of its spheres (by name). It runs
// a constant handful of statements whatever the number of companies:
// the names of the statuses, branches, users and spheres, read once (a
// few hundred rows, where joining them cost look-ups a company), and
// the companies with their children in the same order, merged as they
// come. The children of a Whole selection are a stream a table, read
// without the selection (see Whole); those of any other are one stream,
// joined to the selection (see Rows). next hands out a querier for each
// stream. fn's company is reused for the next one; fn must not keep it.
//
// With children (not nil) the whole tables of a Whole selection's
// children are stepped in a goroutine of their own (see childFeed), on
// the queriers children hands out — on SQLite a connection other than
// next's, which one goroutine at a time steps.
func (s Selection) Each(ctx context.Context, next, children Queriers, fn func(*Company) error) error {
	sel := &s.sel
	q, err := next()
	if err != nil {
		return err
	}
	var c Company
	names, err := readNames(ctx, q)
	if err != nil {
		return err
	}
	var created, updated any = &c.CreatedAt, &c.UpdatedAt
	times := "c.created_at, c.updated_at"
	if s.dialect == database.SQLite {
		created, updated = (*sqliteTime)(&c.CreatedAt), (*sqliteTime)(&c.UpdatedAt)
		times = "+c.created_at, +c.updated_at" // see sqliteTime
	}
	rows, err := q.Stream(ctx, sel.with+"SELECT c.id, c.name, c.legal_name, c.inn, c.kpp, c.ogrn, c.address, c.website, "+
		"COALESCE(c.status_id, 0), COALESCE(c.branch_id, 0), COALESCE(c.responsible_id, 0), "+times+" FROM "+
		sel.from+sel.w.SQL()+" ORDER BY "+sel.orderBy(), sel.w.Args()...)
	if err != nil {
		return fmt.Errorf("stream companies: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var kids []*childStream
	defer func() {
		for _, k := range kids {
			_ = k.rows.Close()
		}
	}()
	// The whole tables come in the order of the ids, merged only with
	// companies in that order.
	whole := s.Whole() && sel.order == "c.id"
	kidsNext := next
	if whole && children != nil {
		kidsNext = children
	}
	open := func(kind int64, query string, args []any) error {
		q, err := kidsNext()
		if err != nil {
			return err
		}
		r, err := q.Stream(ctx, query, args...) //nolint:rowserrcheck,sqlclosecheck // closed by the defer above, Err checked by end
		if err != nil {
			return fmt.Errorf("stream company children: %w", err)
		}
		k := &childStream{rows: r, only: kind, texts: database.NewTexts(2)}
		switch kind {
		case 0:
			k.dest = []any{&k.companyID, &k.kind, &k.num, k.texts.Dest(0), k.texts.Dest(1)}
		case 3:
			k.dest = []any{&k.companyID, &k.num}
		default:
			k.dest = []any{&k.companyID, k.texts.Dest(0), k.texts.Dest(1)}
		}
		kids = append(kids, k)
		return k.next()
	}
	if whole {
		err = open(1, "SELECT company_id, value, comment FROM company_phones ORDER BY company_id, position, id", nil)
		if err == nil {
			err = open(2, "SELECT company_id, value, comment FROM company_emails ORDER BY company_id, position, id", nil)
		}
		if err == nil {
			err = open(3, "SELECT company_id, sphere_id FROM company_spheres ORDER BY company_id", nil)
		}
	} else {
		query, args := s.Rows("x.company_id, x.kind, x.num, x.value, x.comment", "x.kind, x.pos, x.child_id",
			Arm{"p.company_id AS company_id, 1 AS kind, p.position AS pos, p.id AS child_id, 0 AS num, p.value AS value, p.comment AS comment",
				" JOIN company_phones p ON p.company_id = c.id"},
			Arm{"m.company_id, 2, m.position, m.id, 0, m.value, m.comment", " JOIN company_emails m ON m.company_id = c.id"},
			Arm{"cs.company_id, 3, 0, cs.sphere_id, cs.sphere_id, '', ''", " JOIN company_spheres cs ON cs.company_id = c.id"})
		err = open(0, query, args)
	}
	if err != nil {
		return err
	}
	var feed childFeed
	if whole && children != nil {
		feed = startChildFeed(ctx, kids) // its goroutine alone steps kids now
		defer func() { _ = feed.Stop() }()
	}
	var status, branch, resp int64
	// The destinations are made once: see database.Texts.
	texts := database.NewTexts(7)
	dest := []any{&c.ID, texts.Dest(0), texts.Dest(1), texts.Dest(2), texts.Dest(3), texts.Dest(4), texts.Dest(5), texts.Dest(6),
		&status, &branch, &resp, created, updated}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("stream companies: %w", err)
		}
		texts.Strings(&c.Name, &c.LegalName, &c.INN, &c.KPP, &c.OGRN, &c.Address, &c.Website)
		c.StatusID, c.BranchID, c.ResponsibleID = ptr(status), ptr(branch), ptr(resp)
		c.StatusName, c.BranchName, c.ResponsibleName = names.statuses.get(status), names.branches.get(branch), names.users.get(resp)
		c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
		c.Phones, c.Emails, c.Spheres, c.SphereNames = c.Phones[:0], c.Emails[:0], c.Spheres[:0], c.SphereNames[:0]
		if feed.Feed != nil {
			if err := feed.addTo(&c); err != nil {
				return fmt.Errorf("stream company children: %w", err)
			}
		} else {
			for _, k := range kids {
				if err := k.addTo(&c, whole); err != nil {
					return err
				}
			}
		}
		names.sortSpheres(&c)
		if err := fn(&c); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("stream companies: %w", err)
	}
	if feed.Feed != nil {
		if err := feed.Finish(); err != nil {
			return fmt.Errorf("stream company children: %w", err)
		}
		return nil
	}
	for _, k := range kids {
		if err := k.rows.Err(); err != nil {
			return fmt.Errorf("stream company children: %w", err)
		}
		if k.pending && !whole {
			return fmt.Errorf("stream companies: %w", ErrOutOfStep)
		}
	}
	return nil
}

// names are the names of what companies refer to, by id, as a company
// row shows them, and the place of each sphere in the order of their
// names (the base's collation decides it, not Go's byte order).
type names struct {
	statuses, branches, users, spheres byID[string]
	sphereRank                         byID[int64]
}

// byID maps ids to values: a slice indexed by the id while ids are small
// (those of statuses, branches, users and spheres are), a map beyond.
// A streamed company looks up four or five of them: as map look-ups,
// 3 % of the CPU of a whole export. A missing id gives the zero value,
// as a map does.
type byID[T any] struct {
	dense  []T
	sparse map[int64]T
}

// denseIDs bounds the ids a byID keeps in its slice.
const denseIDs = 1 << 16

func (m *byID[T]) set(id int64, v T) {
	if id >= 0 && id < denseIDs {
		if int(id) >= len(m.dense) {
			m.dense = append(m.dense, make([]T, int(id)+1-len(m.dense))...)
		}
		m.dense[id] = v
		return
	}
	if m.sparse == nil {
		m.sparse = map[int64]T{}
	}
	m.sparse[id] = v
}

func (m *byID[T]) get(id int64) T {
	if id >= 0 && id < int64(len(m.dense)) {
		return m.dense[id]
	}
	return m.sparse[id]
}

// readNames reads the names of the statuses, branches, users (the
// responsible's «Имя Фамилия», or the login) and spheres in one statement.
func readNames(ctx context.Context, q database.Streamer) (names, error) {
	var n names
	rows, err := q.Stream(ctx, `SELECT 1, id, name, '', '', 0 FROM company_statuses
		UNION ALL SELECT 2, id, name, '', '', 0 FROM branches
		UNION ALL SELECT 3, id, username, first_name, last_name, 0 FROM users
		UNION ALL SELECT 4, id, name, '', '', ROW_NUMBER() OVER (ORDER BY name, id) FROM spheres`)
	if err != nil {
		return n, fmt.Errorf("stream names: %w", err)
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var (
			kind, id, rank int64
			a, first, last string
		)
		if err := rows.Scan(&kind, &id, &a, &first, &last, &rank); err != nil {
			return n, fmt.Errorf("stream names: %w", err)
		}
		switch kind {
		case 1:
			n.statuses.set(id, a)
		case 2:
			n.branches.set(id, a)
		case 3:
			n.users.set(id, fullName(a, first, last))
		default:
			n.spheres.set(id, a)
			n.sphereRank.set(id, rank)
		}
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("stream names: %w", err)
	}
	return n, nil
}

// sortSpheres puts the company's spheres in the order of their names,
// as Search gives them, and names them.
func (n *names) sortSpheres(c *Company) {
	ids := c.Spheres
	for i := 1; i < len(ids); i++ { // a company has a handful
		for j := i; j > 0 && n.sphereRank.get(ids[j]) < n.sphereRank.get(ids[j-1]); j-- {
			ids[j], ids[j-1] = ids[j-1], ids[j]
		}
	}
	for _, id := range ids {
		c.SphereNames = append(c.SphereNames, n.spheres.get(id))
	}
}

// ErrOutOfStep is a stream of child rows left with rows of companies its
// company stream did not have: the two did not read one snapshot in one
// order.
var ErrOutOfStep = errors.New("the child rows do not follow the companies")

// childStream is a stream of the companies' children: rows of
// (company_id, kind, number, value, comment), a phone (kind 1) or an
// e-mail (2) with its value and comment, or a sphere (3) by its id, in
// the companies' order and by position within a company.
type childStream struct {
	rows      database.Rows
	pending   bool
	companyID int64
	kind, num int64
	value     string
	comment   string
	// only is the kind of every row of a stream that reads one table
	// whole, whose rows are then (company_id, value, comment) or, for
	// spheres, (company_id, sphere_id): two columns fewer a row to fetch
	// (on SQLite each fetch of a column takes the connection's mutex).
	// 0 is a stream of all kinds, its rows as above.
	only int64
	// dest is what a row is scanned into, texts its value and comment.
	dest  []any
	texts *database.Texts
}

func (k *childStream) next() error {
	if k.pending = k.rows.Next(); !k.pending {
		return nil
	}
	if err := k.rows.Scan(k.dest...); err != nil {
		return fmt.Errorf("stream company children: %w", err)
	}
	switch k.only {
	case 0:
		k.texts.Strings(&k.value, &k.comment)
	case 3:
		k.kind = 3
	default:
		k.kind = k.only
		k.texts.Strings(&k.value, &k.comment)
	}
	return nil
}

// add appends the stream's row to the list of its kind.
func (k *childStream) add(phones *[]Phone, emails *[]Email, spheres *[]int64) {
	switch k.kind {
	case 1:
		*phones = append(*phones, Phone{Value: k.value, Comment: k.comment})
	case 2:
		*emails = append(*emails, Email{Value: k.value, Comment: k.comment})
	default:
		*spheres = append(*spheres, k.num)
	}
}

// addTo adds the stream's rows of the company c to it. A stream that
// reads its table whole (in the order of the ids) also has rows of
// companies the selection does not hold, before c's: they are skipped.
func (k *childStream) addTo(c *Company, whole bool) error {
	for k.pending && (k.companyID == c.ID || whole && k.companyID < c.ID) {
		if k.companyID == c.ID {
			k.add(&c.Phones, &c.Emails, &c.Spheres)
		}
		if err := k.next(); err != nil {
			return err
		}
	}
	return nil
}

// sqliteTime scans a timestamp SQLite keeps as text, as the driver
// writes it («2006-01-02 15:04:05.999999999-07:00»). Read from the
// column itself, the driver parses the text by trying time.Parse with a
// list of layouts: a tenth of the CPU of a whole-base export. Read as
// +column (SQLite's unary plus returns its operand unchanged, but as an
// expression it has no declared type), the driver hands over the text,
// and this parses the layout it wrote by hand, with the driver's other
// layouts left to time.Parse.
type sqliteTime time.Time

// Scan reads a text timestamp (or a time, when the driver parsed one).
func (t *sqliteTime) Scan(src any) error {
	switch v := src.(type) {
	case time.Time:
		*t = sqliteTime(v)
		return nil
	case string:
		p, err := parseSQLiteTime(v)
		*t = sqliteTime(p)
		return err
	case []byte:
		p, err := parseSQLiteTime(string(v))
		*t = sqliteTime(p)
		return err
	}
	return fmt.Errorf("timestamp: unexpected %T", src)
}

// sqliteTimeLayouts are the layouts the SQLite driver reads timestamps in.
var sqliteTimeLayouts = []string{
	"2006-01-02 15:04:05.999999999-07:00",
	"2006-01-02T15:04:05.999999999-07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04",
	"2006-01-02T15:04",
	"2006-01-02",
}

// parseSQLiteTime parses «2006-01-02 15:04:05[.fraction]-07:00» (or
// with no zone: UTC) directly, and anything else by the
// driver's layouts.
func parseSQLiteTime(s string) (time.Time, error) {
	if t, ok := parseTimeFast(s); ok {
		return t, nil
	}
	for _, layout := range sqliteTimeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("timestamp: cannot parse %q", s)
}

func parseTimeFast(s string) (time.Time, bool) {
	if len(s) < 19 || s[4] != '-' || s[7] != '-' || s[10] != ' ' && s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	ok := true
	num := func(from, to int) int {
		n := 0
		for i := from; i < to; i++ {
			d := s[i] - '0'
			if d > 9 {
				ok = false
			}
			n = n*10 + int(d)
		}
		return n
	}
	year, month, day := num(0, 4), num(5, 7), num(8, 10)
	hour, minute, sec := num(11, 13), num(14, 16), num(17, 19)
	rest := s[19:]
	nsec := 0
	if len(rest) > 0 && rest[0] == '.' {
		digits := 0
		for digits+1 < len(rest) && rest[digits+1] >= '0' && rest[digits+1] <= '9' {
			digits++
		}
		if digits == 0 || digits > 9 {
			return time.Time{}, false
		}
		nsec = num(20, 20+digits)
		for range 9 - digits {
			nsec *= 10
		}
		rest = rest[1+digits:]
	}
	offset := 0
	switch {
	case rest == "":
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		at := len(s) - 6
		offset = (num(at+1, at+3)*60 + num(at+4, at+6)) * 60
		if rest[0] == '-' {
			offset = -offset
		}
	default:
		return time.Time{}, false
	}
	if !ok || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	if t.Day() != day { // the 31st of a shorter month: time.Parse's error
		return time.Time{}, false
	}
	return t.Add(-time.Duration(offset) * time.Second), true
}
