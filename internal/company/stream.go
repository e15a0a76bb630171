package company

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

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
	sel selection
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
	return Selection{sel: sel}, nil
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
func (s Selection) IDs(ctx context.Context, q database.Querier, fn func(id int64) error) error {
	sel := &s.sel
	rows, err := q.QueryContext(ctx, sel.with+"SELECT c.id FROM "+sel.from+sel.w.SQL()+" ORDER BY "+sel.orderBy(), sel.w.Args()...)
	if err != nil {
		return fmt.Errorf("stream company ids: %w", err)
	}
	defer rows.Close()
	var id int64
	for rows.Next() {
		if err := rows.Scan(&id); err != nil {
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

// Each calls fn with each selected company in the selection's order,
// with what an export writes of it: its own fields, the names of its
// status, branch and responsible, its phones, e-mails and spheres (as
// Search gives them). It runs three statements whatever the number of
// companies: the names of the statuses, branches and users, read once
// (a few hundred rows, where joining them cost three look-ups a
// company), then on each querier one of two streams: the companies, and
// their children in the same order (see Rows), merged as they come. On
// PostgreSQL the two must be two connections that read one snapshot (a
// connection reads one result at a time); on SQLite one read transaction
// may serve both. fn's company is reused for the next one; fn must not
// keep it.
func (s Selection) Each(ctx context.Context, companies, children database.Querier, fn func(*Company) error) error {
	sel := &s.sel
	names, err := readNames(ctx, companies)
	if err != nil {
		return err
	}
	rows, err := companies.QueryContext(ctx, sel.with+"SELECT c.id, c.name, c.legal_name, c.inn, c.kpp, c.ogrn, c.address, c.website, "+
		"COALESCE(c.status_id, 0), COALESCE(c.branch_id, 0), COALESCE(c.responsible_id, 0), c.created_at, c.updated_at FROM "+
		sel.from+sel.w.SQL()+" ORDER BY "+sel.orderBy(), sel.w.Args()...)
	if err != nil {
		return fmt.Errorf("stream companies: %w", err)
	}
	defer rows.Close()
	query, args := s.Rows("x.company_id, x.kind, x.child_id, x.value, x.child_kind, x.comment, x.norm, x.ext", "x.kind, x.pos, x.sort, x.child_id",
		Arm{"p.company_id AS company_id, 1 AS kind, p.position AS pos, '' AS sort, p.id AS child_id, p.value AS value, p.kind AS child_kind, " +
			"p.comment AS comment, p.e164 AS norm, p.ext AS ext", " JOIN company_phones p ON p.company_id = c.id"},
		Arm{"m.company_id, 2, m.position, '', m.id, m.value, m.kind, m.comment, m.value_norm, ''", " JOIN company_emails m ON m.company_id = c.id"},
		Arm{"cs.company_id, 3, 0, sp.name, sp.id, sp.name, '', '', '', ''", " JOIN company_spheres cs ON cs.company_id = c.id JOIN spheres sp ON sp.id = cs.sphere_id"})
	kids, err := children.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("stream company children: %w", err)
	}
	defer kids.Close()
	var (
		child   childRow
		pending = kids.Next()
	)
	if pending {
		if err := child.scan(kids); err != nil {
			return err
		}
	}
	var (
		c                    Company
		status, branch, resp int64
	)
	for rows.Next() {
		if err := rows.Scan(&c.ID, &c.Name, &c.LegalName, &c.INN, &c.KPP, &c.OGRN, &c.Address, &c.Website,
			&status, &branch, &resp, &c.CreatedAt, &c.UpdatedAt); err != nil {
			return fmt.Errorf("stream companies: %w", err)
		}
		c.StatusID, c.BranchID, c.ResponsibleID = ptr(status), ptr(branch), ptr(resp)
		c.StatusName, c.BranchName, c.ResponsibleName = names.statuses[status], names.branches[branch], names.users[resp]
		c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
		c.Phones, c.Emails, c.Spheres, c.SphereNames = c.Phones[:0], c.Emails[:0], c.Spheres[:0], c.SphereNames[:0]
		for pending && child.companyID == c.ID {
			child.addTo(&c)
			if pending = kids.Next(); pending {
				if err := child.scan(kids); err != nil {
					return err
				}
			}
		}
		if err := fn(&c); err != nil {
			return err
		}
	}
	if err := errors.Join(rows.Err(), kids.Err()); err != nil {
		return fmt.Errorf("stream companies: %w", err)
	}
	if pending {
		return fmt.Errorf("stream companies: %w", ErrOutOfStep)
	}
	return nil
}

// names are the names of what companies refer to, by id, as a company
// row shows them.
type names struct {
	statuses, branches, users map[int64]string
}

// readNames reads the names of the statuses, branches and users (the
// responsible's «Имя Фамилия», or the login) in one statement.
func readNames(ctx context.Context, q database.Querier) (names, error) {
	n := names{statuses: map[int64]string{}, branches: map[int64]string{}, users: map[int64]string{}}
	rows, err := q.QueryContext(ctx, `SELECT 1, id, name, '', '' FROM company_statuses
		UNION ALL SELECT 2, id, name, '', '' FROM branches
		UNION ALL SELECT 3, id, username, first_name, last_name FROM users`)
	if err != nil {
		return n, fmt.Errorf("stream names: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			kind, id       int64
			a, first, last string
		)
		if err := rows.Scan(&kind, &id, &a, &first, &last); err != nil {
			return n, fmt.Errorf("stream names: %w", err)
		}
		switch kind {
		case 1:
			n.statuses[id] = a
		case 2:
			n.branches[id] = a
		default:
			n.users[id] = fullName(a, first, last)
		}
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("stream names: %w", err)
	}
	return n, nil
}

// ErrOutOfStep is a stream of child rows left with rows of companies its
// company stream did not have: the two did not read one snapshot in one
// order.
var ErrOutOfStep = errors.New("the child rows do not follow the companies")

// childRow is a row of the company children's stream.
type childRow struct {
	companyID, kind, id int64
	value               string
	p                   Phone
}

func (r *childRow) scan(rows *sql.Rows) error {
	if err := rows.Scan(&r.companyID, &r.kind, &r.id, &r.value, &r.p.Kind, &r.p.Comment, &r.p.E164, &r.p.Ext); err != nil {
		return fmt.Errorf("stream company children: %w", err)
	}
	return nil
}

// addTo adds the row to its company as fillChildren does.
func (r *childRow) addTo(c *Company) {
	switch r.kind {
	case 1:
		p := r.p
		p.Value = r.value
		c.Phones = append(c.Phones, p)
	case 2:
		c.Emails = append(c.Emails, Email{Value: r.value, Kind: r.p.Kind, Comment: r.p.Comment, Norm: r.p.E164})
	default:
		c.Spheres = append(c.Spheres, r.id)
		c.SphereNames = append(c.SphereNames, r.value)
	}
}
