package contact

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/audit"
	"github.com/crmprofi/crm/internal/company"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/dedup"
)

// Store keeps contacts, their phones, e-mails and word index. Every method
// takes the caller's Scope and puts it in the WHERE clause.
type Store struct {
	db *database.DB
}

// NewStore returns a Store on db.
func NewStore(db *database.DB) *Store { return &Store{db: db} }

// WithTx returns the store working in the caller's transaction tx: its
// writes commit or roll back with the caller's (see database.DB.WithTx).
func (s *Store) WithTx(tx *sql.Tx) *Store { return &Store{db: s.db.WithTx(tx)} }

// Filter selects and orders a page of contacts.
type Filter struct {
	Search    string // names, position, phone (any format), e-mail, company name
	CompanyID int64  // 0: any
	Ordering  string // last_name, created_at, updated_at; "-" for descending
	Page      int    // 1-based
	Size      int
	Deleted   bool // the trash: soft-deleted contacts instead of live ones (admins only)
	// Quick asks for suggestions while typing (the command palette): the
	// first Size hits in the order the word indexes give them, without
	// counting or sorting every hit of a short prefix. The count returned
	// is then the number of contacts returned, plus one when there are more.
	Quick bool
}

// Orderings maps the ?ordering= values to SQL; every one ends in the id so
// pages never overlap.
var orderings = map[string]string{
	"last_name":   "ct.name_norm, ct.id",
	"-last_name":  "ct.name_norm DESC, ct.id DESC",
	"full_name":   "ct.name_norm, ct.id",
	"-full_name":  "ct.name_norm DESC, ct.id DESC",
	"created_at":  "ct.created_at, ct.id",
	"-created_at": "ct.created_at DESC, ct.id DESC",
	"updated_at":  "ct.updated_at, ct.id",
	"-updated_at": "ct.updated_at DESC, ct.id DESC",
	"deleted_at":  "ct.deleted_at, ct.id",
	"-deleted_at": "ct.deleted_at DESC, ct.id DESC",
}

const selectContact = `SELECT ct.id, ct.company_id, COALESCE(c.name, ''), ct.first_name, ct.last_name, ct.middle_name,
	ct.position, ct.status, ct.note, ct.created_by, COALESCE(u.first_name, ''), COALESCE(u.last_name, ''),
	ct.created_at, ct.updated_at, ct.deleted_at, ct.version
	FROM contacts ct
	LEFT JOIN companies c ON c.id = ct.company_id
	LEFT JOIN users u ON u.id = ct.created_by`

// scanContact reads a selectContact row; extra are columns selected after it.
func scanContact(row interface{ Scan(...any) error }, extra ...any) (Contact, error) {
	var c Contact
	var company, createdBy sql.NullInt64
	var first, last string
	var deleted sql.NullTime
	err := row.Scan(append([]any{&c.ID, &company, &c.CompanyName, &c.FirstName, &c.LastName, &c.MiddleName,
		&c.Position, &c.Status, &c.Note, &createdBy, &first, &last,
		&c.CreatedAt, &c.UpdatedAt, &deleted, &c.Version}, extra...)...)
	if err != nil {
		return c, err
	}
	if company.Valid {
		c.CompanyID = &company.Int64
	}
	if createdBy.Valid {
		c.CreatedBy = &createdBy.Int64
	}
	if deleted.Valid {
		t := deleted.Time.UTC()
		c.DeletedAt = &t
	}
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	c.CreatedByName = strings.TrimSpace(first + " " + last)
	c.FullName = FullName(c.LastName, c.FirstName, c.MiddleName)
	c.Phones, c.Emails = []Phone{}, []Email{}
	return c, nil
}

// hits returns a subquery of the ids of contacts that match the ?search=
// text — "" when q is blank, so the list is not narrowed. An e-mail or a
// phone number (or its last seven digits) is looked up exactly by its
// normalised key; anything else
// must match, word by word as prefixes, the contact's names and position
// or its company's name. Every branch is an index look-up, so the planner
// starts from the few hits instead of walking every contact.
func hits(w *database.Where, q string, deleted bool) string {
	q = strings.TrimSpace(q)
	if q == "" {
		return ""
	}
	if dedup.IsEmailLike(q) {
		norm, ok := dedup.NormalizeEmail(q)
		if !ok {
			norm = strings.ToLower(q)
		}
		return "SELECT DISTINCT contact_id AS id FROM contact_emails WHERE value_norm = " + w.Arg(norm) + " AND value_norm <> ''"
	}
	if e164 := dedup.PhoneDigits(q); e164 != "" {
		return "SELECT DISTINCT contact_id AS id FROM contact_phones WHERE e164 = " + w.Arg(e164) + " AND e164 <> ''"
	}
	if suffix := dedup.PhoneSuffix(q); suffix != "" {
		// «123-45-67»: the last seven digits, from their own index.
		return "SELECT DISTINCT contact_id AS id FROM contact_phones WHERE e164_suffix = " + w.Arg(suffix) + " AND e164_suffix <> ''"
	}
	toks := dedup.Tokens(dedup.NormalizeText(q))
	if len(toks) == 0 {
		return "SELECT id FROM contacts WHERE 1 = 0" // only punctuation: nothing to find
	}
	own := make([]string, len(toks))
	comp := make([]string, len(toks))
	for i, t := range toks {
		own[i] = "SELECT contact_id FROM contact_terms WHERE term >= " + w.Arg(t) + " AND term < " + w.Arg(database.PrefixEnd(t))
	}
	for i, t := range toks {
		comp[i] = "SELECT company_id FROM company_terms WHERE term >= " + w.Arg(t) + " AND term < " + w.Arg(database.PrefixEnd(t))
	}
	// The live predicate repeats the partial index's, so both planners use
	// contacts_company_idx for the company branch.
	live := " AND deleted_at IS NULL"
	if deleted {
		live = ""
	}
	return "SELECT contact_id AS id FROM (" + strings.Join(own, " INTERSECT ") + ") nh" +
		" UNION SELECT id FROM contacts WHERE company_id IN (" + strings.Join(comp, " INTERSECT ") + ")" + live
}

// List returns a page of the contacts sc may see and the number found. It
// finds the page's ids first, walking one index, and only then loads those
// rows with their names, phones and e-mails: a fixed number of queries
// whatever the page size.
func (s *Store) List(ctx context.Context, sc access.Scope, f Filter) ([]Contact, int, error) {
	if f.Deleted && !sc.IsAdmin() {
		return nil, 0, apperr.Forbid("Корзина доступна только администратору")
	}
	order := defaultOrder
	if f.Deleted {
		order = orderings["-deleted_at"]
	}
	if f.Ordering != "" {
		o, ok := orderings[f.Ordering]
		if !ok {
			return nil, 0, apperr.Invalid{"ordering": "Сортировка возможна по last_name, created_at или updated_at"}
		}
		order = o
	}
	page, size := max(f.Page, 1), f.Size
	if size <= 0 {
		size = 50
	}
	if f.Quick && !f.Deleted && f.CompanyID == 0 {
		if words, ok := searchWords(f.Search); ok {
			list, n, err := s.quickList(ctx, sc, words, size)
			return explainAll(f.Search, list), n, err
		}
	}
	if word, ok := oneWord(f.Search); ok && sc.SeesAll() && f.CompanyID == 0 && !f.Deleted && strings.Contains(order, "name_norm") {
		list, n, err := s.listByWord(ctx, word, strings.Contains(order, "DESC"), page, size)
		return explainAll(f.Search, list), n, err
	}
	var w database.Where
	from := "contacts ct"
	if h := hits(&w, f.Search, f.Deleted); h != "" {
		// CROSS JOIN makes SQLite start from the hits (PostgreSQL
		// reorders it freely) instead of walking the name index and
		// probing the hits for every contact.
		from = "(" + h + ") h CROSS JOIN contacts ct"
		w.Add("ct.id = h.id")
	}
	if f.Deleted {
		w.Add("ct.deleted_at IS NOT NULL")
	} else {
		w.Add("ct.deleted_at IS NULL")
	}
	if f.CompanyID != 0 && f.Search == "" {
		// One company's contacts: its visibility is asked once, by id.
		sc.RestrictToCompany(&w, "ct.company_id", f.CompanyID)
		return s.listOfCompany(ctx, &w, order, page, size)
	}
	sc.RestrictContacts(&w, "ct")
	if f.CompanyID != 0 {
		w.Add("ct.company_id = ?", f.CompanyID)
	}

	countSQL, countArgs := "SELECT COUNT(*) FROM "+from+w.SQL(), w.Args()
	if sc.SeesAll() && f.Search == "" && f.CompanyID == 0 && !f.Deleted {
		// Kept exact by triggers: no scan of a million rows for page one.
		countSQL, countArgs = "SELECT n FROM contact_tallies WHERE id = 1", nil
	}
	var count int
	if err := s.db.QueryRowContext(ctx, countSQL, countArgs...).Scan(&count); err != nil {
		return nil, 0, fmt.Errorf("count contacts: %w", err)
	}
	if count <= database.PageOffset(page, size) {
		return []Contact{}, count, nil
	}
	if exact := exactName(&w, "ct.name_norm", f.Search); exact != "" {
		order = exact + ", " + order
	}
	q := "SELECT ct.id FROM " + from + w.SQL() + " ORDER BY " + order + " LIMIT " + w.Arg(size) + " OFFSET " + w.Arg(database.PageOffset(page, size))
	ids, err := queryIDs(ctx, s.db, q, w.Args())
	if err != nil {
		return nil, 0, fmt.Errorf("list contacts: %w", err)
	}
	out, err := s.byIDs(ctx, ids)
	if err != nil {
		return nil, 0, err
	}
	return explainAll(f.Search, out), count, nil
}

// explainAll sets the Match of every contact a search found.
func explainAll(search string, list []Contact) []Contact {
	if strings.TrimSpace(search) == "" {
		return list
	}
	for i := range list {
		list[i].Match = explain(search, &list[i])
	}
	return list
}

// listOfCompany is the page of one company's contacts (the card shows
// them): a company has few, so their rows come with the total and with
// their phones and e-mails in one query, each contact's row once per
// phone or e-mail.
func (s *Store) listOfCompany(ctx context.Context, w *database.Where, order string, page, size int) ([]Contact, int, error) {
	where, whereArgs := w.SQL(), slices.Clone(w.Args())
	q, args := ofCompanyQuery(w, order, page, size)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("list contacts: %w", err)
	}
	defer rows.Close()
	out, count, err := ofCompanyRows(rows)
	if err == nil {
		err = rows.Err()
	}
	if err != nil {
		return nil, 0, err
	}
	if len(out) == 0 && page > 1 {
		// Past the last page: the total apart.
		if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM contacts ct"+where, whereArgs...).Scan(&count); err != nil {
			return nil, 0, fmt.Errorf("count contacts: %w", err)
		}
	}
	return out, count, nil
}

// QueueOfCompany queues on set (database.ReadSet) what List answers for
// the company card, Filter{CompanyID: companyID, Size: size}: the first
// page of the company's live contacts by name, if sc sees the company.
// The function returned gives List's answer once set has run.
func (s *Store) QueueOfCompany(set *database.ReadSet, sc access.Scope, companyID int64, size int) func() ([]Contact, int, error) {
	var (
		out   []Contact
		count int
		err   = database.ErrNotRun
	)
	// List's WHERE for this filter: live, and the company's visibility.
	var w database.Where
	w.Add("ct.deleted_at IS NULL")
	sc.RestrictToCompany(&w, "ct.company_id", companyID)
	q, args := ofCompanyQuery(&w, defaultOrder, 1, size)
	set.Query(q, args, func(rows database.Rows) error {
		out, count, err = ofCompanyRows(rows)
		return err
	})
	return func() ([]Contact, int, error) { return out, count, err }
}

// defaultOrder is List's order when the filter names none.
const defaultOrder = "ct.name_norm, ct.id"

// ofCompanyQuery is listOfCompany's query for the WHERE w.
func ofCompanyQuery(w *database.Where, order string, page, size int) (string, []any) {
	where := w.SQL()
	children := `SELECT 1 AS k, contact_id, position AS pos, id AS child_id, value, kind, comment, e164, ext
		FROM contact_phones WHERE contact_id IN (SELECT id FROM pg)
		UNION ALL SELECT 2, contact_id, position, id, value, kind, comment, '', '' FROM contact_emails WHERE contact_id IN (SELECT id FROM pg)`
	q := "WITH pg AS (SELECT ct.id, COUNT(*) OVER () AS total FROM contacts ct" + where +
		" ORDER BY " + order + database.Limit(size, database.PageOffset(page, size)) + ") " +
		strings.Replace(selectContact, "FROM contacts ct", ", pg.total, ch.k, ch.value, ch.kind, ch.comment, ch.e164, ch.ext"+
			" FROM pg JOIN contacts ct ON ct.id = pg.id", 1) +
		" LEFT JOIN (" + children + ") ch ON ch.contact_id = ct.id ORDER BY " + order + ", ch.k, ch.pos, ch.child_id"
	return q, w.Args()
}

// ofCompanyRows reads ofCompanyQuery's rows: the contacts and their total.
func ofCompanyRows(rows database.Rows) ([]Contact, int, error) {
	out := []Contact{}
	count := 0
	for rows.Next() {
		var (
			k                               sql.NullInt64
			value, kind, comment, e164, ext sql.NullString
		)
		c, err := scanContact(rows, &count, &k, &value, &kind, &comment, &e164, &ext)
		if err != nil {
			return nil, 0, fmt.Errorf("scan contact: %w", err)
		}
		if len(out) == 0 || out[len(out)-1].ID != c.ID {
			out = append(out, c)
		}
		last := &out[len(out)-1]
		switch k.Int64 {
		case 1:
			last.Phones = append(last.Phones, Phone{Value: value.String, Kind: kind.String, Comment: comment.String, E164: e164.String, Ext: ext.String})
		case 2:
			last.Emails = append(last.Emails, Email{Value: value.String, Kind: kind.String, Comment: comment.String})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("list contacts: %w", err)
	}
	return out, count, nil
}

// exactName returns an ORDER BY key that puts first the contacts named
// exactly by a search of words: whose name is the query or begins with it
// as whole words (the surname typed in full, or surname and first name),
// 0 for them and 1 for the rest; "" when the search is not by words. col
// is the name_norm column. Without it the contacts of a company called
// «Иванов и партнёры» would come before Иванов himself.
func exactName(w *database.Where, col, search string) string {
	search = strings.TrimSpace(search)
	if search == "" || dedup.IsEmailLike(search) || dedup.PhoneDigits(search) != "" {
		return ""
	}
	q := dedup.NormalizeText(search)
	if q == "" || strings.ContainsAny(q, `%_\`) {
		return ""
	}
	return "CASE WHEN " + col + " = " + w.Arg(q) + " OR " + col + " LIKE " + w.Arg(q+" %") + " THEN 0 ELSE 1 END"
}

// oneWord returns the single name word of a search that is neither an
// e-mail nor a phone number (whole or its last seven digits).
func oneWord(q string) (string, bool) {
	q = strings.TrimSpace(q)
	if q == "" || dedup.IsEmailLike(q) || dedup.PhoneDigits(q) != "" || dedup.PhoneSuffix(q) != "" {
		return "", false
	}
	toks := dedup.Tokens(dedup.NormalizeText(q))
	if len(toks) != 1 {
		return "", false
	}
	return toks[0], true
}

// listByWord is the search by one word (a surname typed so far) for a user
// who sees every contact: the broadest common search. Its hits — the
// contacts with a word starting so, and the contacts of companies named
// so — are counted and ordered from covering indexes (contact_terms
// carries each contact's sort key and liveness; contacts_company_idx its
// name), so thousands of hits are never visited one by one. It matches
// exactly what the general plan matches.
func (s *Store) listByWord(ctx context.Context, word string, desc bool, page, size int) ([]Contact, int, error) {
	var w database.Where
	end := database.PrefixEnd(word)
	hits := "SELECT contact_id AS id, name_norm FROM contact_terms WHERE term >= " + w.Arg(word) + " AND term < " + w.Arg(end) + " AND live" +
		" UNION SELECT id, name_norm FROM contacts WHERE deleted_at IS NULL AND company_id IN (SELECT company_id FROM company_terms WHERE term >= " +
		w.Arg(word) + " AND term < " + w.Arg(end) + ")"
	dir := ""
	if desc {
		dir = " DESC"
	}
	countArgs := w.Args()
	order := "name_norm" + dir + ", id" + dir
	if exact := exactName(&w, "name_norm", word); exact != "" {
		order = exact + ", " + order
	}
	q := "SELECT id, COUNT(*) OVER () FROM (" + hits + ") h ORDER BY " + order +
		" LIMIT " + w.Arg(size) + " OFFSET " + w.Arg(database.PageOffset(page, size))
	rows, err := s.db.QueryContext(ctx, q, w.Args()...)
	if err != nil {
		return nil, 0, fmt.Errorf("search contacts: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var ids []int64
	count := 0
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id, &count); err != nil {
			return nil, 0, err
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	if len(ids) == 0 {
		// Past the last page (or nothing found): the total apart.
		if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM ("+hits+") h", countArgs...).Scan(&count); err != nil {
			return nil, 0, fmt.Errorf("count contacts: %w", err)
		}
		return []Contact{}, count, nil
	}
	out, err := s.byIDs(ctx, ids)
	if err != nil {
		return nil, 0, err
	}
	return out, count, nil
}

func queryIDs(ctx context.Context, q database.Querier, query string, args []any) ([]int64, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// byIDs loads the contacts of ids, in that order, with their children.
func (s *Store) byIDs(ctx context.Context, ids []int64) ([]Contact, error) {
	out := make([]Contact, 0, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var w database.Where
	w.Add("ct.id IN " + w.In(database.IDs(ids)...))
	rows, err := s.db.QueryContext(ctx, selectContact+w.SQL(), w.Args()...)
	if err != nil {
		return nil, fmt.Errorf("load contacts: %w", err)
	}
	defer rows.Close()
	byID := make(map[int64]Contact, len(ids))
	for rows.Next() {
		c, err := scanContact(rows)
		if err != nil {
			return nil, fmt.Errorf("scan contact: %w", err)
		}
		byID[c.ID] = c
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load contacts: %w", err)
	}
	for _, id := range ids {
		if c, ok := byID[id]; ok {
			out = append(out, c)
		}
	}
	if err := s.loadChildren(ctx, s.db, out); err != nil {
		return nil, err
	}
	return out, nil
}

// Get returns one live contact sc may see; ErrNotFound otherwise.
func (s *Store) Get(ctx context.Context, sc access.Scope, id int64) (Contact, error) {
	return s.get(ctx, s.db, sc, id)
}

func (s *Store) get(ctx context.Context, q database.Querier, sc access.Scope, id int64) (Contact, error) {
	var w database.Where
	w.Add("ct.id = ?", id)
	w.Add("ct.deleted_at IS NULL")
	sc.RestrictContacts(&w, "ct")
	c, err := scanContact(q.QueryRowContext(ctx, selectContact+w.SQL(), w.Args()...))
	if errors.Is(err, sql.ErrNoRows) {
		return Contact{}, apperr.ErrNotFound
	}
	if err != nil {
		return Contact{}, fmt.Errorf("get contact %d: %w", id, err)
	}
	list := []Contact{c}
	if err := s.loadChildren(ctx, q, list); err != nil {
		return Contact{}, err
	}
	return list[0], nil
}

// loadChildren fills the phones and e-mails of a page of contacts with
// one query, whatever the page size: both kinds come as one UNION ALL,
// told apart by its first column.
func (s *Store) loadChildren(ctx context.Context, q database.Querier, list []Contact) error {
	if len(list) == 0 {
		return nil
	}
	index := make(map[int64]int, len(list))
	ids := make([]int64, len(list))
	for i, c := range list {
		index[c.ID] = i
		ids[i] = c.ID
	}
	var w database.Where
	rows, err := q.QueryContext(ctx, `SELECT 1, contact_id, position, id, value, kind, comment, e164, ext FROM contact_phones
		WHERE contact_id IN `+w.In(database.IDs(ids)...)+`
		UNION ALL SELECT 2, contact_id, position, id, value, kind, comment, '', '' FROM contact_emails
		WHERE contact_id IN `+w.In(database.IDs(ids)...)+`
		ORDER BY 1, 2, 3, 4`, w.Args()...)
	if err != nil {
		return fmt.Errorf("contact phones and e-mails: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind, id, pos, childID int64
		var p Phone
		if err := rows.Scan(&kind, &id, &pos, &childID, &p.Value, &p.Kind, &p.Comment, &p.E164, &p.Ext); err != nil {
			return fmt.Errorf("contact phones and e-mails: %w", err)
		}
		c := &list[index[id]]
		if kind == 1 {
			c.Phones = append(c.Phones, p)
		} else {
			c.Emails = append(c.Emails, Email{Value: p.Value, Kind: p.Kind, Comment: p.Comment})
		}
	}
	return rows.Err()
}

// CompanyName returns the name of a live company sc may see, for the
// read-only company line of the new-contact form.
func (s *Store) CompanyName(ctx context.Context, sc access.Scope, id int64) (string, error) {
	var w database.Where
	w.Add("c.id = ?", id)
	w.Add("c.deleted_at IS NULL")
	sc.Restrict(&w, "c")
	var name string
	err := s.db.QueryRowContext(ctx, "SELECT c.name FROM companies c"+w.SQL(), w.Args()...).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", apperr.ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("company %d: %w", id, err)
	}
	return name, nil
}

// companyOf checks the company of an input: it must exist and be visible,
// else the field error «Компания не найдена».
func companyOf(ctx context.Context, q database.Querier, sc access.Scope, in Input) error {
	if in.Company == nil {
		return nil
	}
	_, err := company.VisibleRef(ctx, q, sc, *in.Company)
	if errors.Is(err, apperr.ErrNotFound) {
		return apperr.Invalid{"company": "Компания не найдена"}
	}
	return err
}

// Create stores a new contact. The company, if any, must be one sc sees;
// seeing a company is enough to add a person to it.
func (s *Store) Create(ctx context.Context, sc access.Scope, in Input) (Contact, error) {
	if sc.UserID == 0 {
		return Contact{}, apperr.ErrNotFound
	}
	if err := in.clean(); err != nil {
		return Contact{}, err
	}
	var c Contact
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		if err := companyOf(ctx, tx, sc, in); err != nil {
			return err
		}
		now := database.Now()
		var id int64
		err := tx.QueryRowContext(ctx, `INSERT INTO contacts (company_id, last_name, first_name, middle_name, name_norm,
			position, status, note, created_by, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id`,
			companyArg(in.Company), in.LastName, in.FirstName, in.MiddleName, nameNorm(in.LastName, in.FirstName, in.MiddleName),
			in.Position, in.Status, in.Note, sc.UserID, now).Scan(&id)
		if err != nil {
			return fmt.Errorf("insert contact: %w", err)
		}
		if err := writeChildren(ctx, tx, id, in); err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, sc, audit.Entry{Action: "contact.create", ObjectType: "contact", ObjectID: audit.ID(id),
			Detail: map[string]any{"name": FullName(in.LastName, in.FirstName, in.MiddleName), "company": companyArg(in.Company)}}); err != nil {
			return err
		}
		c, err = s.get(ctx, tx, sc, id)
		return err
	})
	return c, err
}

func companyArg(id *int64) any {
	if id == nil {
		return nil
	}
	return *id
}

// writeState is what a write needs to know of the stored contact.
type writeState struct {
	createdBy int64
	companyID int64
	version   int
	name      string
}

// forWrite reads a live contact through sc (ErrNotFound when hidden) and
// applies the change rule (Forbidden when visible but not allowed).
func forWrite(ctx context.Context, tx database.Querier, sc access.Scope, id int64) (writeState, error) {
	var w database.Where
	w.Add("ct.id = ?", id)
	w.Add("ct.deleted_at IS NULL")
	sc.RestrictContacts(&w, "ct")
	var st writeState
	var by, company, resp, cby, branch, respBranch sql.NullInt64
	var last, first, middle string
	err := tx.QueryRowContext(ctx, `SELECT ct.created_by, ct.company_id, ct.version, ct.last_name, ct.first_name, ct.middle_name,
		c.responsible_id, c.created_by, c.branch_id, ru.branch_id
		FROM contacts ct
		LEFT JOIN companies c ON c.id = ct.company_id
		LEFT JOIN users ru ON ru.id = c.responsible_id`+w.SQL(), w.Args()...).
		Scan(&by, &company, &st.version, &last, &first, &middle, &resp, &cby, &branch, &respBranch)
	if errors.Is(err, sql.ErrNoRows) {
		return st, apperr.ErrNotFound
	}
	if err != nil {
		return st, fmt.Errorf("contact %d: %w", id, err)
	}
	st.createdBy, st.companyID = by.Int64, company.Int64
	st.name = FullName(last, first, middle)
	ref := companyRef{found: company.Valid, CompanyRef: access.CompanyRef{
		ResponsibleID: resp.Int64, CreatedBy: cby.Int64, BranchID: branch.Int64, ResponsibleBranchID: respBranch.Int64}}
	return st, canChange(sc, st.createdBy, ref)
}

// CanChange reports whether sc may edit and delete the contact: nil, or
// ErrNotFound when hidden, or Forbidden with the reason. Pages use it to
// offer only the buttons that work.
func (s *Store) CanChange(ctx context.Context, sc access.Scope, id int64) error {
	_, err := forWrite(ctx, s.db, sc, id)
	return err
}

// Update replaces a contact's fields with in. A non-zero in.Version must
// match the stored one (ErrConflict otherwise).
func (s *Store) Update(ctx context.Context, sc access.Scope, id int64, in Input) (Contact, error) {
	if err := in.clean(); err != nil {
		return Contact{}, err
	}
	var c Contact
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		st, err := forWrite(ctx, tx, sc, id)
		if err != nil {
			return err
		}
		if in.Version != 0 && in.Version != st.version {
			return apperr.ErrConflict
		}
		if in.Company != nil && *in.Company != st.companyID {
			if err := companyOf(ctx, tx, sc, in); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, `UPDATE contacts SET company_id = $1, last_name = $2, first_name = $3, middle_name = $4,
			name_norm = $5, position = $6, status = $7, note = $8, updated_at = $9, version = version + 1
			WHERE id = $10 AND version = $11 AND deleted_at IS NULL`,
			companyArg(in.Company), in.LastName, in.FirstName, in.MiddleName, nameNorm(in.LastName, in.FirstName, in.MiddleName),
			in.Position, in.Status, in.Note, database.Now(), id, st.version)
		if err != nil {
			return fmt.Errorf("update contact %d: %w", id, err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return apperr.ErrConflict
		}
		if err := writeChildren(ctx, tx, id, in); err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, sc, audit.Entry{Action: "contact.update", ObjectType: "contact", ObjectID: audit.ID(id),
			Detail: map[string]any{"name": FullName(in.LastName, in.FirstName, in.MiddleName)}}); err != nil {
			return err
		}
		c, err = s.get(ctx, tx, sc, id)
		return err
	})
	return c, err
}

// writeChildren replaces the phones, e-mails and word index of a contact.
func writeChildren(ctx context.Context, tx *sql.Tx, id int64, in Input) error {
	for _, q := range []string{
		"DELETE FROM contact_phones WHERE contact_id = $1",
		"DELETE FROM contact_emails WHERE contact_id = $1",
		"DELETE FROM contact_terms WHERE contact_id = $1",
	} {
		if _, err := tx.ExecContext(ctx, q, id); err != nil {
			return fmt.Errorf("contact %d children: %w", id, err)
		}
	}
	for i, p := range in.Phones {
		suffix := dedup.Phone{E164: p.E164}.Suffix()
		if _, err := tx.ExecContext(ctx, `INSERT INTO contact_phones (contact_id, position, value, kind, comment, e164, ext, e164_suffix)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, id, i, p.Value, p.Kind, p.Comment, p.E164, p.Ext, suffix); err != nil {
			return fmt.Errorf("contact %d phone: %w", id, err)
		}
	}
	for i, e := range in.Emails {
		if _, err := tx.ExecContext(ctx, `INSERT INTO contact_emails (contact_id, position, value, value_norm, kind, comment)
			VALUES ($1, $2, $3, $4, $5, $6)`, id, i, e.Value, e.Norm, e.Kind, e.Comment); err != nil {
			return fmt.Errorf("contact %d e-mail: %w", id, err)
		}
	}
	norm := nameNorm(in.LastName, in.FirstName, in.MiddleName)
	for _, t := range terms(in) {
		if _, err := tx.ExecContext(ctx, `INSERT INTO contact_terms (term, contact_id, name_norm, live) VALUES ($1, $2, $3, TRUE)`, t, id, norm); err != nil {
			return fmt.Errorf("contact %d term: %w", id, err)
		}
	}
	return nil
}

// Delete moves a contact to the trash; an admin can restore it.
func (s *Store) Delete(ctx context.Context, sc access.Scope, id int64) (Removed, error) {
	var gone Removed
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		st, err := forWrite(ctx, tx, sc, id)
		if err != nil {
			return err
		}
		gone = Removed{ID: id, Name: st.name, CompanyID: st.companyID}
		now := database.Now()
		if _, err := tx.ExecContext(ctx, `UPDATE contacts SET deleted_at = $1, deleted_by = $2, updated_at = $1, version = version + 1
			WHERE id = $3 AND deleted_at IS NULL`, now, sc.UserID, id); err != nil {
			return fmt.Errorf("delete contact %d: %w", id, err)
		}
		return audit.Record(ctx, tx, sc, audit.Entry{Action: "contact.delete", ObjectType: "contact", ObjectID: audit.ID(id),
			Detail: map[string]any{"name": st.name}})
	})
	return gone, err
}

// Removed names a contact that was just deleted, for the answer to the
// deletion: where to go and what to say, without reading the row again.
type Removed struct {
	ID        int64
	Name      string
	CompanyID int64 // 0: no company
}

// Restore brings a contact back from the trash. Only admins restore.
func (s *Store) Restore(ctx context.Context, sc access.Scope, id int64) error {
	if err := sc.CanManage(); err != nil {
		return err
	}
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		var last, first, middle string
		err := tx.QueryRowContext(ctx, `SELECT last_name, first_name, middle_name FROM contacts WHERE id = $1 AND deleted_at IS NOT NULL`, id).
			Scan(&last, &first, &middle)
		if errors.Is(err, sql.ErrNoRows) {
			return apperr.ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("contact %d: %w", id, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE contacts SET deleted_at = NULL, deleted_by = NULL, updated_at = $1, version = version + 1
			WHERE id = $2`, database.Now(), id); err != nil {
			return fmt.Errorf("restore contact %d: %w", id, err)
		}
		return audit.Record(ctx, tx, sc, audit.Entry{Action: "contact.restore", ObjectType: "contact", ObjectID: audit.ID(id),
			Detail: map[string]any{"name": FullName(last, first, middle)}})
	})
}
