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

// Each calls fn with each selected company in the list's order, with its
// phones, e-mails and spheres as Search gives them (and no Match). It
// runs two statements whatever the number of companies, one on each
// querier: the companies, and their children in the same order (see
// Rows), merged as they come. On PostgreSQL the two must be two
// connections that read one snapshot (a connection reads one result at
// a time); on SQLite one read transaction may serve both. fn's company
// is reused for the next one; fn must not keep it.
func (s Selection) Each(ctx context.Context, companies, children database.Querier, fn func(*Company) error) error {
	sel := &s.sel
	rows, err := companies.QueryContext(ctx, sel.with+"SELECT "+companyColumns+" FROM "+sel.from+companyJoins+sel.w.SQL()+
		" ORDER BY "+sel.orderBy(), sel.w.Args()...)
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
	var c Company
	for rows.Next() {
		if c, err = scanCompany(rows); err != nil {
			return err
		}
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
