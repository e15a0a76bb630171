package dictionary

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/text/collate"
	"golang.org/x/text/language"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/audit"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/dedup"
)

// Store keeps the dictionaries. Everyone reads them; only admins change them.
type Store struct {
	db    *database.DB
	zones *database.Hooks[int64] // branch ids
}

// NewStore returns a Store on db.
func NewStore(db *database.DB) *Store { return &Store{db: db, zones: &database.Hooks[int64]{}} }

// WithTx returns the store working in the caller's transaction tx: its
// writes commit or roll back with the caller's (see database.DB.WithTx).
func (s *Store) WithTx(tx *sql.Tx) *Store { return &Store{db: s.db.WithTx(tx), zones: s.zones} }

// BranchZoneHook is told, inside the transaction of the change, that
// branch branchID has a new time zone — the zone of its users without one
// of their own. What it writes with tx commits with the change; an error
// rolls the change back. The task events re-schedule those users' all-day
// due notifications through it without this package knowing of tasks.
type BranchZoneHook func(ctx context.Context, tx *sql.Tx, branchID int64) error

// OnBranchZoneChange registers h for every change of a branch's zone.
func (s *Store) OnBranchZoneChange(h BranchZoneHook) { s.zones.Add(h) }

// branchZoneChanged calls the zone hooks for branchID inside tx.
func (s *Store) branchZoneChanged(ctx context.Context, tx *sql.Tx, branchID int64) error {
	return s.zones.Run(ctx, tx, branchID)
}

// Filter narrows and orders a list. Ordering is a field name, "-" first
// for descending; empty means the kind's natural order.
type Filter struct {
	Search   string
	Ordering string
	Page     int // 1-based; 0 means 1
	PageSize int // 0 means everything
}

// columns reads every kind into the same Item shape.
func columns(k Kind) string {
	switch k {
	case Branches:
		return "id, code, name, time_zone, 0, version, '', ''"
	case CompanyStatuses:
		return "id, '', name, '', position, version, '', ''"
	case TaskTypes:
		return "id, '', name, '', 0, version, icon, color"
	}
	return "id, '', name, '', 0, version, '', ''"
}

// List returns one page of the kind's entries and how many match. A
// dictionary holds tens of rows, so it is read whole and searched,
// ordered and paged in Go: that keeps Cyrillic case folding and the
// Russian alphabetical order the same on both databases.
func (s *Store) List(ctx context.Context, scope access.Scope, k Kind, f Filter) ([]Item, int, error) {
	if !scope.Acts() {
		return nil, 0, apperr.ErrUnauthenticated
	}
	less, err := ordering(k, f.Ordering)
	if err != nil {
		return nil, 0, err
	}
	items, err := all(ctx, s.db, k)
	if err != nil {
		return nil, 0, err
	}
	if q := dedup.NormalizeText(f.Search); q != "" {
		items = slices.DeleteFunc(items, func(it Item) bool {
			return !strings.Contains(dedup.NormalizeText(it.Name+" "+it.Code), q)
		})
	}
	slices.SortStableFunc(items, less)
	count := len(items)
	from, to := database.PageBounds(f.Page, f.PageSize, count)
	return items[from:to], count, nil
}

// All returns every entry of k in its natural order, for select boxes.
func (s *Store) All(ctx context.Context, k Kind) ([]Item, error) {
	items, err := all(ctx, s.db, k)
	if err != nil {
		return nil, err
	}
	less, _ := ordering(k, "")
	slices.SortStableFunc(items, less)
	return items, nil
}

// Get returns one entry.
func (s *Store) Get(ctx context.Context, scope access.Scope, k Kind, id int64) (Item, error) {
	if !scope.Acts() {
		return Item{}, apperr.ErrUnauthenticated
	}
	return get(ctx, s.db, k, id)
}

// Create adds an entry; admins only.
func (s *Store) Create(ctx context.Context, scope access.Scope, k Kind, in Input) (Item, error) {
	if err := scope.CanManage(); err != nil {
		return Item{}, err
	}
	it := Item{Kind: k, Version: 1}
	if err := in.apply(&it, true); err != nil {
		return Item{}, err
	}
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		if err := checkUnique(ctx, tx, it); err != nil {
			return err
		}
		if k.HasPosition() && in.Position == nil {
			if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(position), 0) + 1 FROM company_statuses`).Scan(&it.Position); err != nil {
				return fmt.Errorf("next status position: %w", err)
			}
		}
		var err error
		switch k {
		case Branches:
			err = tx.QueryRowContext(ctx, `INSERT INTO branches (code, name, time_zone) VALUES ($1, $2, $3) RETURNING id`,
				it.Code, it.Name, it.TimeZone).Scan(&it.ID)
		case CompanyStatuses:
			err = tx.QueryRowContext(ctx, `INSERT INTO company_statuses (name, position) VALUES ($1, $2) RETURNING id`,
				it.Name, it.Position).Scan(&it.ID)
		case TaskTypes:
			err = tx.QueryRowContext(ctx, `INSERT INTO task_types (name, icon, color) VALUES ($1, $2, $3) RETURNING id`,
				it.Name, it.Icon, it.Color).Scan(&it.ID)
		default:
			err = tx.QueryRowContext(ctx, `INSERT INTO `+k.table()+` (name) VALUES ($1) RETURNING id`, it.Name).Scan(&it.ID)
		}
		if err != nil {
			return uniqueOr(err, "create "+string(k))
		}
		return audit.Record(ctx, tx, scope, audit.Entry{Action: "dictionary.create", ObjectType: string(k),
			ObjectID: audit.ID(it.ID), Detail: it.detail()})
	})
	if err != nil {
		return Item{}, err
	}
	return it, nil
}

// Update changes an entry; admins only. A stale in.Version is a conflict.
func (s *Store) Update(ctx context.Context, scope access.Scope, k Kind, id int64, in Input) (Item, error) {
	if err := scope.CanManage(); err != nil {
		return Item{}, err
	}
	var it Item
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		old, err := get(ctx, tx, k, id)
		if err != nil {
			return err
		}
		if in.Version != 0 && in.Version != old.Version {
			return apperr.ErrConflict
		}
		it = old
		if err := in.apply(&it, false); err != nil {
			return err
		}
		if err := checkUnique(ctx, tx, it); err != nil {
			return err
		}
		var res sql.Result
		switch k {
		case Branches:
			res, err = tx.ExecContext(ctx, `UPDATE branches SET code = $1, name = $2, time_zone = $3, version = version + 1
				WHERE id = $4 AND version = $5`, it.Code, it.Name, it.TimeZone, id, old.Version)
		case CompanyStatuses:
			res, err = tx.ExecContext(ctx, `UPDATE company_statuses SET name = $1, position = $2, version = version + 1
				WHERE id = $3 AND version = $4`, it.Name, it.Position, id, old.Version)
		case TaskTypes:
			res, err = tx.ExecContext(ctx, `UPDATE task_types SET name = $1, icon = $2, color = $3, version = version + 1
				WHERE id = $4 AND version = $5`, it.Name, it.Icon, it.Color, id, old.Version)
		default:
			//nolint:gosec // k.table() is one of four constants
			res, err = tx.ExecContext(ctx, `UPDATE `+k.table()+` SET name = $1, version = version + 1
				WHERE id = $2 AND version = $3`, it.Name, id, old.Version)
		}
		if err != nil {
			return uniqueOr(err, "update "+string(k))
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("update %s: %w", k, err)
		} else if n == 0 {
			return apperr.ErrConflict
		}
		it.Version = old.Version + 1
		if k == Branches && old.TimeZone != it.TimeZone {
			if err := s.branchZoneChanged(ctx, tx, id); err != nil {
				return err
			}
		}
		return audit.Record(ctx, tx, scope, audit.Entry{Action: "dictionary.update", ObjectType: string(k),
			ObjectID: audit.ID(id), Detail: changes(old, it)})
	})
	if err != nil {
		return Item{}, err
	}
	return it, nil
}

// Delete removes an entry; admins only. An entry still in use is not
// deleted: references are never nulled behind the user's back.
func (s *Store) Delete(ctx context.Context, scope access.Scope, k Kind, id int64, version int) error {
	if err := scope.CanManage(); err != nil {
		return err
	}
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		it, err := get(ctx, tx, k, id)
		if err != nil {
			return err
		}
		if version != 0 && version != it.Version {
			return apperr.ErrConflict
		}
		if msg, err := usage(ctx, tx, k, id); err != nil {
			return err
		} else if msg != "" {
			return &apperr.Conflict{Message: msg}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+k.table()+` WHERE id = $1`, id); err != nil { //nolint:gosec // k.table() is one of four constants
			return fmt.Errorf("delete %s: %w", k, err)
		}
		return audit.Record(ctx, tx, scope, audit.Entry{Action: "dictionary.delete", ObjectType: string(k),
			ObjectID: audit.ID(id), Detail: it.detail()})
	})
}

func all(ctx context.Context, q database.Querier, k Kind) ([]Item, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+columns(k)+` FROM `+k.table())
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", k, err)
	}
	defer rows.Close()
	var items []Item
	for rows.Next() {
		it := Item{Kind: k}
		if err := rows.Scan(&it.ID, &it.Code, &it.Name, &it.TimeZone, &it.Position, &it.Version, &it.Icon, &it.Color); err != nil {
			return nil, fmt.Errorf("list %s: %w", k, err)
		}
		items = append(items, it)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list %s: %w", k, err)
	}
	return items, nil
}

func get(ctx context.Context, q database.Querier, k Kind, id int64) (Item, error) {
	it := Item{Kind: k}
	err := q.QueryRowContext(ctx, `SELECT `+columns(k)+` FROM `+k.table()+` WHERE id = $1`, id).
		Scan(&it.ID, &it.Code, &it.Name, &it.TimeZone, &it.Position, &it.Version, &it.Icon, &it.Color)
	if errors.Is(err, sql.ErrNoRows) {
		return Item{}, apperr.ErrNotFound
	}
	if err != nil {
		return Item{}, fmt.Errorf("get %s %d: %w", k, id, err)
	}
	return it, nil
}

// Messages of a clash with another entry.
const (
	msgNameTaken = "Такое название уже есть"
	msgCodeTaken = "Такой код уже есть"
)

// checkUnique refuses a name (or branch code) another entry already has,
// ignoring case and ё/е: «Клиент» and «клиент» would confuse everyone.
func checkUnique(ctx context.Context, tx *sql.Tx, it Item) error {
	others, err := all(ctx, tx, it.Kind)
	if err != nil {
		return err
	}
	inv := apperr.Invalid{}
	name, code := dedup.NormalizeText(it.Name), strings.ToLower(it.Code)
	for _, o := range others {
		if o.ID == it.ID {
			continue
		}
		if dedup.NormalizeText(o.Name) == name {
			inv.Add("name", msgNameTaken)
		}
		if it.Kind.HasCode() && strings.ToLower(o.Code) == code {
			inv.Add("code", msgCodeTaken)
		}
	}
	return inv.Err()
}

// uniqueOr turns a unique-index violation (a concurrent insert of the
// same name) into the field message, and wraps anything else.
func uniqueOr(err error, what string) error {
	if database.IsUniqueViolation(err) {
		return apperr.Invalid{"name": msgNameTaken}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// usage says in Russian what still refers to the entry, or "" when
// nothing does. Companies in the trash count too: deleting would strip
// them silently.
func usage(ctx context.Context, q database.Querier, k Kind, id int64) (string, error) {
	count := func(query string) (int, error) {
		var n int
		if err := q.QueryRowContext(ctx, query, id).Scan(&n); err != nil {
			return 0, fmt.Errorf("usage of %s %d: %w", k, id, err)
		}
		return n, nil
	}
	var companies, users, tasks int
	var err error
	switch k {
	case Branches:
		if companies, err = count(`SELECT COUNT(*) FROM companies WHERE branch_id = $1`); err != nil {
			return "", err
		}
		if users, err = count(`SELECT COUNT(*) FROM users WHERE branch_id = $1`); err != nil {
			return "", err
		}
	case CompanyStatuses:
		companies, err = count(`SELECT COUNT(*) FROM companies WHERE status_id = $1`)
	case Spheres:
		companies, err = count(`SELECT COUNT(*) FROM company_spheres WHERE sphere_id = $1`)
	case TaskTypes:
		tasks, err = count(`SELECT COUNT(*) FROM tasks WHERE type_id = $1`)
	}
	if err != nil {
		return "", err
	}
	var parts []string
	if companies > 0 {
		parts = append(parts, "в "+strconv.Itoa(companies)+" "+plural(companies, "компании", "компаниях", "компаниях"))
	}
	if users > 0 {
		parts = append(parts, "у "+strconv.Itoa(users)+" "+plural(users, "пользователя", "пользователей", "пользователей"))
	}
	if tasks > 0 {
		parts = append(parts, "в "+strconv.Itoa(tasks)+" "+plural(tasks, "задаче", "задачах", "задачах"))
	}
	if len(parts) == 0 {
		return "", nil
	}
	return "Нельзя удалить: используется " + strings.Join(parts, " и "), nil
}

// plural picks the Russian form for n: one (1, 21…), few (2–4, 22–24…), many.
func plural(n int, one, few, many string) string {
	n %= 100
	switch {
	case n%10 == 1 && n != 11:
		return one
	case n%10 >= 2 && n%10 <= 4 && (n < 12 || n > 14):
		return few
	}
	return many
}

// ordering returns the comparison for ?ordering=; an unknown field is a
// validation error naming the parameter.
func ordering(k Kind, key string) (func(a, b Item) int, error) {
	coll := collate.New(language.Russian, collate.IgnoreCase)
	byName := func(a, b Item) int { return coll.CompareString(a.Name, b.Name) }
	desc := strings.HasPrefix(key, "-")
	var cmp func(a, b Item) int
	switch strings.TrimPrefix(key, "-") {
	case "":
		cmp = byName
		if k.HasPosition() {
			cmp = func(a, b Item) int {
				if c := a.Position - b.Position; c != 0 {
					return c
				}
				return byName(a, b)
			}
		}
	case "id":
		cmp = func(a, b Item) int { return int(a.ID - b.ID) }
	case "name":
		cmp = byName
	case "code":
		if k.HasCode() {
			cmp = func(a, b Item) int { return coll.CompareString(a.Code, b.Code) }
		}
	case "time_zone":
		if k.HasCode() {
			cmp = func(a, b Item) int { return strings.Compare(a.TimeZone, b.TimeZone) }
		}
	case "position":
		if k.HasPosition() {
			cmp = func(a, b Item) int { return a.Position - b.Position }
		}
	}
	if cmp == nil {
		return nil, apperr.Invalid{"ordering": "Нельзя упорядочить по «" + key + "»"}
	}
	if desc {
		return func(a, b Item) int { return cmp(b, a) }, nil
	}
	return cmp, nil
}

// detail is what the audit log keeps of an entry.
func (it Item) detail() map[string]any {
	d := map[string]any{"name": it.Name}
	if it.Kind.HasCode() {
		d["code"], d["time_zone"] = it.Code, it.TimeZone
	}
	if it.Kind.HasPosition() {
		d["position"] = it.Position
	}
	if it.Kind.HasLook() {
		d["icon"], d["color"] = it.Icon, it.Color
	}
	return d
}

// changes lists the fields an update changed as {"field": [old, new]}.
func changes(old, it Item) map[string]any {
	d := map[string]any{}
	od, nd := old.detail(), it.detail()
	for k, v := range nd {
		if od[k] != v {
			d[k] = []any{od[k], v}
		}
	}
	return d
}
