package company

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/audit"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/notify"
)

// UndoPeriod is how long a merge can be undone.
const UndoPeriod = 30 * 24 * time.Hour

// Sides of a merge: which company's value of a field stays.
const (
	Survivor  = "survivor"
	Duplicate = "duplicate"
)

// MergeFields are the fields a merge chooses between, in the order the
// merge page shows them.
var MergeFields = []string{"name", "legal_name", "inn", "kpp", "ogrn", "address", "website",
	"status", "branch", "responsible", "spheres", "phones", "emails"}

// UnionFields are the list fields a merge can unite instead of choosing
// one side: the survivor's values, then the duplicate's that it lacks.
var UnionFields = []string{"phones", "emails", "spheres"}

// MergeInput is the body of a merge: the company absorbed into the one
// named in the path, which value stays for each field (absent: the
// survivor's) and which list fields are united (absent: all of
// UnionFields; [] unites none).
type MergeInput struct {
	Duplicate int64             `json:"duplicate"`
	Fields    map[string]string `json:"fields"`
	Union     *[]string         `json:"union"`
}

// validate checks the shape of in and returns the list fields to unite.
func (in *MergeInput) validate(survivorID int64) ([]string, error) {
	inv := apperr.Invalid{}
	switch {
	case in.Duplicate <= 0:
		inv.Add("duplicate", "Укажите компанию, которую нужно присоединить")
	case in.Duplicate == survivorID:
		inv.Add("duplicate", "Нельзя объединить компанию с самой собой")
	}
	for f, side := range in.Fields {
		if !slices.Contains(MergeFields, f) {
			inv.Add("fields", "Неизвестное поле «"+f+"»; допустимы: name, legal_name, inn, kpp, ogrn, address, website, status, branch, responsible, spheres, phones, emails")
		} else if side != Survivor && side != Duplicate {
			inv.Add("fields", "Для поля «"+f+"» укажите survivor или duplicate")
		}
	}
	union := UnionFields
	if in.Union != nil {
		union = *in.Union
		for _, f := range union {
			if !slices.Contains(UnionFields, f) {
				inv.Add("union", "Объединять можно только phones, emails и spheres")
			}
		}
	}
	return union, inv.Err()
}

// MergeInfo is an active merge as the cards show it: «Объединена с …».
type MergeInfo struct {
	ID           int64     `json:"id"`
	SurvivorID   int64     `json:"survivor"`
	SurvivorName string    `json:"survivor_name"`
	AbsorbedID   int64     `json:"duplicate"`
	AbsorbedName string    `json:"duplicate_name"`
	MergedAt     time.Time `json:"merged_at"`
	UndoUntil    time.Time `json:"undo_until"`
	// CanUndo: the period has not passed and this is the survivor's latest
	// merge (a later one must be undone first).
	CanUndo bool `json:"can_undo"`
}

// MergeCounts is what a merge moves from the absorbed company.
type MergeCounts struct {
	Contacts int `json:"contacts"`
	Notes    int `json:"notes"`
	Tasks    int `json:"tasks"`
}

// snapshot is the survivor as it was before a merge: its fields and its
// phones, e-mails and spheres with their row ids, so undo writes back the
// very rows. The absorbed company needs none: a merge changes nothing of
// it but the merge marks.
type snapshot struct {
	Fields  NewCompany `json:"fields"`
	Phones  []phoneRow `json:"phones"`
	Emails  []emailRow `json:"emails"`
	Spheres []int64    `json:"spheres"`
}

// mergeState is what company_merges.survivor keeps: the survivor before
// the merge and right after it (After; merges recorded before it was kept
// lack it), so that undo puts back what the merge changed and keeps what
// users changed on the survivor since.
type mergeState struct {
	snapshot
	After *snapshot `json:"after,omitempty"`
}

// keepChangesSince is the survivor undo writes: as it was before the
// merge, except what was changed on it after the merge (after → cur),
// which stays as it is now — a field edited since keeps its new value; a
// phone, e-mail or sphere added since stays, one removed since stays
// removed. It returns that state and the fields kept.
func keepChangesSince(before, after, cur snapshot) (snapshot, []string) {
	out := before
	kept := []string{}
	for _, f := range changedFields(after.Fields, cur.Fields) {
		setField(&out.Fields, cur.Fields, f)
		kept = append(kept, f)
	}
	phoneKey := func(p phoneRow) string { return p.Value + "\x00" + p.Kind + "\x00" + p.Comment }
	emailKey := func(e emailRow) string { return e.Value + "\x00" + e.Kind + "\x00" + e.Comment }
	sphereKey := func(id int64) int64 { return id }
	var changed bool
	if out.Phones, changed = threeWay(before.Phones, after.Phones, cur.Phones, phoneKey); changed {
		kept = append(kept, "phones")
	}
	if out.Emails, changed = threeWay(before.Emails, after.Emails, cur.Emails, emailKey); changed {
		kept = append(kept, "emails")
	}
	if out.Spheres, changed = threeWay(before.Spheres, after.Spheres, cur.Spheres, sphereKey); changed {
		kept = append(kept, "spheres")
	}
	for i := range out.Phones {
		out.Phones[i].Position = i
	}
	for i := range out.Emails {
		out.Emails[i].Position = i
	}
	return out, kept
}

// threeWay applies the change from after to cur onto before: before's
// items less those removed since, then those added since. changed says
// whether there was any change since.
func threeWay[T any, K comparable](before, after, cur []T, key func(T) K) ([]T, bool) {
	inAfter, inCur := map[K]bool{}, map[K]bool{}
	for _, x := range after {
		inAfter[key(x)] = true
	}
	for _, x := range cur {
		inCur[key(x)] = true
	}
	out := make([]T, 0, len(before))
	changed := false
	for _, x := range before {
		if inAfter[key(x)] && !inCur[key(x)] {
			changed = true // removed since the merge
			continue
		}
		out = append(out, x)
	}
	for _, x := range cur {
		if !inAfter[key(x)] {
			changed = true // added since the merge
			if !slices.ContainsFunc(out, func(y T) bool { return key(y) == key(x) }) {
				out = append(out, x)
			}
		}
	}
	return out, changed
}

// setField copies the field named f (as changedFields names it) from src.
func setField(dst *NewCompany, src NewCompany, f string) {
	switch f {
	case "name":
		dst.Name = src.Name
	case "legal_name":
		dst.LegalName = src.LegalName
	case "inn":
		dst.INN = src.INN
	case "kpp":
		dst.KPP = src.KPP
	case "ogrn":
		dst.OGRN = src.OGRN
	case "address":
		dst.Address = src.Address
	case "website":
		dst.Website = src.Website
	case "status":
		dst.StatusID = src.StatusID
	case "branch":
		dst.BranchID = src.BranchID
	case "responsible":
		dst.ResponsibleID = src.ResponsibleID
	}
}

type phoneRow struct {
	ID       int64  `json:"id"`
	Position int    `json:"position"`
	Value    string `json:"value"`
	Kind     string `json:"kind"`
	Comment  string `json:"comment"`
	E164     string `json:"e164"`
	Ext      string `json:"ext"`
	Suffix   string `json:"suffix"`
}

type emailRow struct {
	ID       int64  `json:"id"`
	Position int    `json:"position"`
	Value    string `json:"value"`
	Norm     string `json:"norm"`
	Kind     string `json:"kind"`
	Comment  string `json:"comment"`
}

// movedTables are the rows that follow their company in a merge, each
// recorded by its key in its company_merges column. Tasks of a recurring
// series move one by one: series_id groups tasks, it does not name a
// company. The absorbed company's amoCRM ids move too, so that a
// re-import finds the survivor (migration 00023).
var movedTables = []struct{ table, column, key string }{
	{"contacts", "contact_ids", "id"},
	{"company_notes", "note_ids", "id"},
	{"tasks", "task_ids", "id"},
	{"company_amo_ids", "amo_ids", "amo_id"},
}

// companyState reads a company sc may see whether live, deleted or
// merged, with the company it was merged into (0: none).
func (s *Store) companyState(ctx context.Context, q database.Querier, sc access.Scope, id int64) (Company, int64, error) {
	c, err := s.get(ctx, q, sc, id, false)
	if errors.Is(err, apperr.ErrNotFound) {
		c, err = s.get(ctx, q, sc, id, true)
	}
	if err != nil {
		return c, 0, err
	}
	var into sql.NullInt64
	if err := q.QueryRowContext(ctx, `SELECT merged_into FROM companies WHERE id = $1`, id).Scan(&into); err != nil {
		return c, 0, fmt.Errorf("company %d merge state: %w", id, err)
	}
	return c, into.Int64, nil
}

// mergeable refuses a company that is deleted or already merged, with a
// reason a person can act on.
func mergeable(field string, c Company, into int64) error {
	switch {
	case into != 0:
		return apperr.Invalid{field: "Компания «" + c.Name + "» уже объединена с другой компанией"}
	case c.DeletedAt != nil:
		return apperr.Invalid{field: "Компания «" + c.Name + "» удалена"}
	}
	return nil
}

// MergePreview reads the two companies of a merge page and what the merge
// would move, with the same checks as Merge (404 hidden, 403 not
// editable, 400 self, deleted or merged).
func (s *Store) MergePreview(ctx context.Context, sc access.Scope, survivorID, duplicateID int64) (Company, Company, MergeCounts, error) {
	var surv, dup Company
	var counts MergeCounts
	in := MergeInput{Duplicate: duplicateID}
	if _, err := in.validate(survivorID); err != nil {
		return surv, dup, counts, err
	}
	surv, dup, err := s.mergePair(ctx, s.db, sc, survivorID, duplicateID)
	if err != nil {
		return surv, dup, counts, err
	}
	err = s.db.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM contacts WHERE company_id = $1 AND deleted_at IS NULL),
		(SELECT COUNT(*) FROM company_notes WHERE company_id = $1),
		(SELECT COUNT(*) FROM tasks WHERE company_id = $1)`, duplicateID).Scan(&counts.Contacts, &counts.Notes, &counts.Tasks)
	if err != nil {
		return surv, dup, counts, fmt.Errorf("merge counts: %w", err)
	}
	return surv, dup, counts, nil
}

// mergePair reads both companies of a merge and applies the rules: both
// visible (404), both editable (403), both live and not merged (400).
func (s *Store) mergePair(ctx context.Context, q database.Querier, sc access.Scope, survivorID, duplicateID int64) (Company, Company, error) {
	surv, survInto, err := s.companyState(ctx, q, sc, survivorID)
	if err != nil {
		return surv, Company{}, err
	}
	dup, dupInto, err := s.companyState(ctx, q, sc, duplicateID)
	if err != nil {
		return surv, dup, err
	}
	if err := mergeable(apperr.NonField, surv, survInto); err != nil {
		return surv, dup, err
	}
	if err := mergeable("duplicate", dup, dupInto); err != nil {
		return surv, dup, err
	}
	if err := sc.CanEditCompany(surv.Ref()); err != nil {
		return surv, dup, err
	}
	if err := sc.CanEditCompany(dup.Ref()); err != nil {
		return surv, dup, err
	}
	return surv, dup, nil
}

// merged is the survivor's fields after the merge: each field from the
// side chosen, the united lists as the survivor's values followed by the
// duplicate's it lacks.
func merged(surv, dup Company, fields map[string]string, union []string) NewCompany {
	n, d := surv.draft(), dup.draft()
	from := func(f string) bool { return fields[f] == Duplicate }
	pick := func(f string, dst *string, v string) {
		if from(f) {
			*dst = v
		}
	}
	pick("name", &n.Name, d.Name)
	pick("legal_name", &n.LegalName, d.LegalName)
	pick("inn", &n.INN, d.INN)
	pick("kpp", &n.KPP, d.KPP)
	pick("ogrn", &n.OGRN, d.OGRN)
	pick("address", &n.Address, d.Address)
	pick("website", &n.Website, d.Website)
	if from("status") {
		n.StatusID = d.StatusID
	}
	if from("branch") {
		n.BranchID = d.BranchID
	}
	if from("responsible") {
		n.ResponsibleID = d.ResponsibleID
	}
	switch {
	case slices.Contains(union, "spheres"):
		for _, id := range d.Spheres {
			if !slices.Contains(n.Spheres, id) {
				n.Spheres = append(n.Spheres, id)
			}
		}
	case from("spheres"):
		n.Spheres = d.Spheres
	}
	switch {
	case slices.Contains(union, "phones"):
		for _, p := range d.Phones {
			if !slices.ContainsFunc(n.Phones, func(q Phone) bool { return samePhone(p, q) }) {
				n.Phones = append(n.Phones, p)
			}
		}
	case from("phones"):
		n.Phones = d.Phones
	}
	switch {
	case slices.Contains(union, "emails"):
		for _, e := range d.Emails {
			if !slices.ContainsFunc(n.Emails, func(q Email) bool { return sameEmail(e, q) }) {
				n.Emails = append(n.Emails, e)
			}
		}
	case from("emails"):
		n.Emails = d.Emails
	}
	return n
}

func samePhone(a, b Phone) bool {
	if a.E164 != "" || b.E164 != "" {
		return a.E164 == b.E164 && a.Ext == b.Ext
	}
	return a.Value == b.Value
}

func sameEmail(a, b Email) bool {
	if a.Norm != "" || b.Norm != "" {
		return a.Norm == b.Norm
	}
	return a.Value == b.Value
}

// Merge absorbs the company in.Duplicate into survivorID in one
// transaction: the survivor takes the chosen fields, the absorbed
// company's contacts, notes and tasks move to it, and the absorbed
// company is kept, marked merged (and deleted, so no list shows it).
// company_merges keeps what Unmerge needs. Both companies must be visible
// (ErrNotFound), editable (403), live and not merged (400). Of two
// concurrent merges of the same companies exactly one commits; the other
// finds them changed (409) or merged (400).
func (s *Store) Merge(ctx context.Context, sc access.Scope, survivorID int64, in MergeInput) (Company, error) {
	union, err := in.validate(survivorID)
	if err != nil {
		return Company{}, err
	}
	var out Company
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		surv, dup, err := s.mergePair(ctx, tx, sc, survivorID, in.Duplicate)
		if err != nil {
			return err
		}
		n := merged(surv, dup, in.Fields, union)
		inv := n.Normalize()
		resp, err := s.checkRefs(ctx, tx, &n, inv, false, nil, access.UserRef{}, nil)
		if err != nil {
			return err
		}
		from := surv.owner()
		if err := sc.CanSetOwner(&from, n.owner(resp)); err != nil {
			return err
		}
		if err := inv.Err(); err != nil {
			return err
		}
		before, err := s.snapshot(ctx, tx, surv)
		if err != nil {
			return err
		}
		now := s.now()
		// The two rows are written in id order, so that two merges of the
		// same pair in opposite directions wait for each other instead of
		// deadlocking.
		writeSurvivor := func() error {
			return s.writeFields(ctx, tx, surv.ID, surv.Version, &n, n.norms(), changedFields(surv.draft(), n), s.now())
		}
		absorb := func() error {
			res, err := tx.ExecContext(ctx, `UPDATE companies SET merged_into = $1, merged_at = $2, deleted_at = $2, deleted_by = $3,
				updated_at = $2, version = version + 1
				WHERE id = $4 AND version = $5 AND deleted_at IS NULL AND merged_into IS NULL`,
				surv.ID, now, database.NullInt64(sc.UserID), dup.ID, dup.Version)
			if err != nil {
				return fmt.Errorf("absorb company: %w", err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return apperr.ErrConflict
			}
			return nil
		}
		steps := []func() error{writeSurvivor, absorb}
		if dup.ID < surv.ID {
			steps = []func() error{absorb, writeSurvivor}
		}
		for _, step := range steps {
			if err := step(); err != nil {
				return err
			}
		}
		moved := make(map[string][]int64, len(movedTables))
		for _, m := range movedTables {
			ids, err := s.moveRows(ctx, tx, m.table, m.key, dup.ID, surv.ID)
			if err != nil {
				return err
			}
			moved[m.column] = ids
		}
		fieldsJSON, err := json.Marshal(mergeChoices(in.Fields, union))
		if err != nil {
			return fmt.Errorf("merge fields: %w", err)
		}
		afterC, err := s.get(ctx, tx, reread, surv.ID, false)
		if err != nil {
			return err
		}
		after, err := s.snapshot(ctx, tx, afterC)
		if err != nil {
			return err
		}
		beforeJSON, err := json.Marshal(mergeState{snapshot: before, After: &after})
		if err != nil {
			return fmt.Errorf("merge snapshot: %w", err)
		}
		args := []any{surv.ID, dup.ID, database.NullInt64(sc.UserID), now, string(fieldsJSON), string(beforeJSON)}
		for _, m := range movedTables {
			b, err := json.Marshal(moved[m.column])
			if err != nil {
				return fmt.Errorf("merge rows: %w", err)
			}
			args = append(args, string(b))
		}
		var mergeID int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO company_merges (survivor_id, absorbed_id, actor_id, merged_at, fields, survivor,
			contact_ids, note_ids, task_ids, amo_ids) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`, args...).Scan(&mergeID); err != nil {
			return fmt.Errorf("record merge: %w", err)
		}
		if err := audit.Record(ctx, tx, sc, audit.Entry{Action: "company.merge", ObjectType: "company", ObjectID: audit.ID(surv.ID),
			Detail: map[string]any{
				"merge": mergeID, "survivor": surv.ID, "survivor_name": surv.Name, "duplicate": dup.ID, "duplicate_name": dup.Name,
				"duplicate_inn": dup.INN, "fields": mergeChoices(in.Fields, union),
				"moved": map[string]int{"contacts": len(moved["contact_ids"]), "notes": len(moved["note_ids"]), "tasks": len(moved["task_ids"])},
			}}); err != nil {
			return err
		}
		skip := int64(0)
		if n.ResponsibleID != deref(surv.ResponsibleID) {
			if err := notifyResponsible(ctx, tx, sc, surv.ID, n.Name, n.ResponsibleID); err != nil {
				return err
			}
			skip = n.ResponsibleID
		}
		if err := notifyMerge(ctx, tx, sc, notify.KindCompanyMerged, "Компания «"+dup.Name+"» объединена с «"+n.Name+"»",
			surv.ID, []int64{deref(dup.ResponsibleID), deref(surv.ResponsibleID)}, skip); err != nil {
			return err
		}
		out, err = s.get(ctx, tx, reread, surv.ID, false)
		return err
	})
	return out, err
}

// mergeChoices is every field's chosen side, "union" for united lists, as
// the audit entry and company_merges keep them.
func mergeChoices(fields map[string]string, union []string) map[string]string {
	out := make(map[string]string, len(MergeFields))
	for _, f := range MergeFields {
		out[f] = Survivor
		if fields[f] == Duplicate {
			out[f] = Duplicate
		}
		if slices.Contains(union, f) {
			out[f] = "union"
		}
	}
	return out
}

// snapshot reads the survivor's fields and child rows as they are.
func (s *Store) snapshot(ctx context.Context, tx *sql.Tx, c Company) (snapshot, error) {
	sn := snapshot{Fields: c.draft(), Spheres: slices.Clone(c.Spheres)}
	sn.Fields.Phones, sn.Fields.Emails, sn.Fields.Spheres = nil, nil, nil
	rows, err := tx.QueryContext(ctx, `SELECT id, position, value, kind, comment, e164, ext, e164_suffix FROM company_phones
		WHERE company_id = $1 ORDER BY position, id`, c.ID)
	if err != nil {
		return sn, fmt.Errorf("snapshot phones: %w", err)
	}
	err = eachRow(rows, func() error {
		var p phoneRow
		if err := rows.Scan(&p.ID, &p.Position, &p.Value, &p.Kind, &p.Comment, &p.E164, &p.Ext, &p.Suffix); err != nil {
			return err
		}
		sn.Phones = append(sn.Phones, p)
		return nil
	})
	if err != nil {
		return sn, fmt.Errorf("snapshot phones: %w", err)
	}
	rows, err = tx.QueryContext(ctx, `SELECT id, position, value, value_norm, kind, comment FROM company_emails
		WHERE company_id = $1 ORDER BY position, id`, c.ID)
	if err != nil {
		return sn, fmt.Errorf("snapshot emails: %w", err)
	}
	err = eachRow(rows, func() error {
		var e emailRow
		if err := rows.Scan(&e.ID, &e.Position, &e.Value, &e.Norm, &e.Kind, &e.Comment); err != nil {
			return err
		}
		sn.Emails = append(sn.Emails, e)
		return nil
	})
	if err != nil {
		return sn, fmt.Errorf("snapshot emails: %w", err)
	}
	return sn, nil
}

// moveRows moves the rows of table from one company to another and
// returns their ids. Each UPDATE names a condition an index answers:
// contacts are moved live and trashed apart, since their company index
// holds only live ones (migration 00018 indexes the trashed ones).
func (s *Store) moveRows(ctx context.Context, tx *sql.Tx, table, key string, from, to int64) ([]int64, error) {
	conds := []string{""}
	if table == "contacts" {
		conds = []string{" AND deleted_at IS NULL", " AND deleted_at IS NOT NULL"}
	}
	ids := []int64{}
	for _, cond := range conds {
		rows, err := tx.QueryContext(ctx, `UPDATE `+table+` SET company_id = $1 WHERE company_id = $2`+cond+` RETURNING `+key, to, from) //nolint:gosec // table names and conditions are constants
		if err != nil {
			return nil, fmt.Errorf("move %s: %w", table, err)
		}
		defer func() { _ = rows.Close() }()
		err = eachRow(rows, func() error {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("move %s: %w", table, err)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// mergeRow is a company_merges row.
type mergeRow struct {
	id, survivorID, absorbedID int64
	mergedAt                   time.Time
	survivor                   string
	moved                      map[string]string
}

// activeMerge reads the merge of absorbedID into survivorID that is not
// undone; ErrNotFound when there is none.
func activeMerge(ctx context.Context, q database.Querier, survivorID, absorbedID int64) (mergeRow, error) {
	m := mergeRow{moved: map[string]string{}}
	var contacts, notes, tasks, amoIDs string
	err := q.QueryRowContext(ctx, `SELECT id, survivor_id, absorbed_id, merged_at, survivor, contact_ids, note_ids, task_ids, amo_ids
		FROM company_merges WHERE survivor_id = $1 AND absorbed_id = $2 AND undone_at IS NULL ORDER BY id DESC LIMIT 1`,
		survivorID, absorbedID).Scan(&m.id, &m.survivorID, &m.absorbedID, &m.mergedAt, &m.survivor, &contacts, &notes, &tasks, &amoIDs)
	if errors.Is(err, sql.ErrNoRows) {
		return m, apperr.ErrNotFound
	}
	if err != nil {
		return m, fmt.Errorf("read merge: %w", err)
	}
	m.mergedAt = m.mergedAt.UTC()
	m.moved["contact_ids"], m.moved["note_ids"], m.moved["task_ids"], m.moved["amo_ids"] = contacts, notes, tasks, amoIDs
	return m, nil
}

// Unmerge undoes the merge of duplicateID into survivorID in one
// transaction: the survivor gets back its fields, phones, e-mails and
// spheres (the very rows), the moved contacts, notes and tasks go back
// (rows added to the survivor since stay), and the absorbed company is
// live again. Both must be visible (404) and editable (403); the merge
// must be the survivor's latest, within UndoPeriod, with the survivor
// live (400 with the reason otherwise).
func (s *Store) Unmerge(ctx context.Context, sc access.Scope, survivorID, duplicateID int64) (Company, error) {
	var out Company
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		surv, survInto, err := s.companyState(ctx, tx, sc, survivorID)
		if err != nil {
			return err
		}
		dup, dupInto, err := s.companyState(ctx, tx, sc, duplicateID)
		if err != nil {
			return err
		}
		if err := sc.CanEditCompany(surv.Ref()); err != nil {
			return err
		}
		if err := sc.CanEditCompany(dup.Ref()); err != nil {
			return err
		}
		if dupInto != survivorID {
			return apperr.Invalid{"duplicate": "Компания «" + dup.Name + "» не объединена с «" + surv.Name + "»"}
		}
		m, err := activeMerge(ctx, tx, survivorID, duplicateID)
		if errors.Is(err, apperr.ErrNotFound) {
			return apperr.Invalid{"duplicate": "Компания «" + dup.Name + "» не объединена с «" + surv.Name + "»"}
		}
		if err != nil {
			return err
		}
		if err := s.undoable(ctx, tx, m, surv, survInto); err != nil {
			return err
		}
		var st mergeState
		if err := json.Unmarshal([]byte(m.survivor), &st); err != nil {
			return fmt.Errorf("merge snapshot: %w", err)
		}
		before, kept := st.snapshot, []string{}
		if st.After != nil {
			cur, err := s.snapshot(ctx, tx, surv)
			if err != nil {
				return err
			}
			before, kept = keepChangesSince(st.snapshot, *st.After, cur)
		}
		if err := s.restoreSurvivor(ctx, tx, surv, before); err != nil {
			return err
		}
		now := s.now()
		res, err := tx.ExecContext(ctx, `UPDATE companies SET merged_into = NULL, merged_at = NULL, deleted_at = NULL, deleted_by = NULL,
			updated_at = $1, version = version + 1 WHERE id = $2 AND merged_into = $3`, now, duplicateID, survivorID)
		if err != nil {
			return fmt.Errorf("unmerge company: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return apperr.ErrConflict
		}
		back := map[string]int{}
		for _, t := range movedTables {
			var ids []int64
			if err := json.Unmarshal([]byte(m.moved[t.column]), &ids); err != nil {
				return fmt.Errorf("merge rows: %w", err)
			}
			n, err := moveBack(ctx, tx, t.table, t.key, ids, survivorID, duplicateID)
			if err != nil {
				return err
			}
			back[t.table] = n
		}
		if _, err := tx.ExecContext(ctx, `UPDATE company_merges SET undone_at = $1, undone_by = $2 WHERE id = $3`,
			now, database.NullInt64(sc.UserID), m.id); err != nil {
			return fmt.Errorf("record unmerge: %w", err)
		}
		if err := audit.Record(ctx, tx, sc, audit.Entry{Action: "company.unmerge", ObjectType: "company", ObjectID: audit.ID(survivorID),
			Detail: map[string]any{"merge": m.id, "survivor": survivorID, "survivor_name": before.Fields.Name, "kept_since_merge": kept,
				"duplicate": duplicateID, "duplicate_name": dup.Name,
				"moved_back": map[string]int{"contacts": back["contacts"], "notes": back["company_notes"], "tasks": back["tasks"]}}}); err != nil {
			return err
		}
		out, err = s.get(ctx, tx, reread, survivorID, false)
		if err != nil {
			return err
		}
		return notifyMerge(ctx, tx, sc, notify.KindCompanyUnmerged, "Объединение отменено: «"+dup.Name+"» и «"+out.Name+"» снова отдельно",
			survivorID, []int64{deref(dup.ResponsibleID), deref(out.ResponsibleID)}, 0)
	})
	return out, err
}

// undoable refuses an undo that would not put things back as they were:
// after UndoPeriod, with the survivor deleted or merged itself, or with a
// later merge into the survivor still in place.
func (s *Store) undoable(ctx context.Context, q database.Querier, m mergeRow, surv Company, survInto int64) error {
	if s.now().Sub(m.mergedAt) > UndoPeriod {
		return apperr.Invalid{apperr.NonField: "Срок отмены истёк: объединение можно отменить в течение 30 дней"}
	}
	if survInto != 0 {
		return apperr.Invalid{apperr.NonField: "Компания «" + surv.Name + "» сама объединена с другой; сначала отмените то объединение"}
	}
	if surv.DeletedAt != nil {
		return apperr.Invalid{apperr.NonField: "Компания «" + surv.Name + "» удалена; восстановите её из корзины, затем отмените объединение"}
	}
	var later string
	err := q.QueryRowContext(ctx, `SELECT c.name FROM company_merges m JOIN companies c ON c.id = m.absorbed_id
		WHERE m.survivor_id = $1 AND m.id > $2 AND m.undone_at IS NULL ORDER BY m.id DESC LIMIT 1`, m.survivorID, m.id).Scan(&later)
	switch {
	case err == nil:
		return apperr.Invalid{apperr.NonField: "Сначала отмените более позднее объединение — с «" + later + "»"}
	case !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("later merges: %w", err)
	}
	return nil
}

// restoreSurvivor writes back the survivor's fields and its phone, e-mail
// and sphere rows with their ids.
func (s *Store) restoreSurvivor(ctx context.Context, tx *sql.Tx, cur Company, before snapshot) error {
	n := before.Fields
	nm := n.norms()
	// Rows derived from the fields (the name's search terms) are written
	// as Update writes them; phones, e-mails and spheres are written here
	// with their original rows.
	changed := slices.DeleteFunc(changedFields(cur.draft(), n), func(f string) bool {
		return f == "phones" || f == "emails" || f == "spheres"
	})
	if err := s.writeFields(ctx, tx, cur.ID, cur.Version, &n, nm, changed, s.now()); err != nil {
		return err
	}
	for _, table := range []string{"company_phones", "company_emails", "company_spheres"} {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE company_id = $1`, cur.ID); err != nil { //nolint:gosec // table names are constants
			return fmt.Errorf("restore %s: %w", table, err)
		}
	}
	var phones, emails, spheres [][]any
	for _, p := range before.Phones {
		phones = append(phones, []any{p.ID, cur.ID, p.Position, p.Value, p.Kind, p.Comment, p.E164, p.Ext, p.Suffix})
	}
	for _, e := range before.Emails {
		emails = append(emails, []any{e.ID, cur.ID, e.Position, e.Value, e.Norm, e.Kind, e.Comment})
	}
	for _, id := range before.Spheres {
		spheres = append(spheres, []any{cur.ID, id})
	}
	if err := s.db.InsertRows(ctx, tx, `INSERT INTO company_phones (id, company_id, position, value, kind, comment, e164, ext, e164_suffix)`, phones); err != nil {
		return fmt.Errorf("restore phones: %w", err)
	}
	if err := s.db.InsertRows(ctx, tx, `INSERT INTO company_emails (id, company_id, position, value, value_norm, kind, comment)`, emails); err != nil {
		return fmt.Errorf("restore emails: %w", err)
	}
	if err := s.db.InsertRows(ctx, tx, `INSERT INTO company_spheres (company_id, sphere_id)`, spheres); err != nil {
		return fmt.Errorf("restore spheres: %w", err)
	}
	return nil
}

// moveBack returns the rows ids of table that are still on the survivor
// to the absorbed company, in chunks that fit any database's limit of
// parameters, and returns how many moved.
func moveBack(ctx context.Context, tx *sql.Tx, table, key string, ids []int64, from, to int64) (int, error) {
	total := 0
	per := database.BatchSize(1) - 2
	for start := 0; start < len(ids); start += per {
		chunk := ids[start:min(start+per, len(ids))]
		var w database.Where
		set := `UPDATE ` + table + ` SET company_id = ` + w.Arg(to)
		w.Add("company_id = ?", from)
		w.Add(key + " IN " + w.In(database.IDs(chunk)...))
		res, err := tx.ExecContext(ctx, set+w.SQL(), w.Args()...)
		if err != nil {
			return 0, fmt.Errorf("move back %s: %w", table, err)
		}
		n, _ := res.RowsAffected()
		total += int(n)
	}
	return total, nil
}

// MergedInto reads where a merged company went, for the redirect of its
// old links: the live company it ended in (following later merges of the
// survivor), with the merge as the survivor's card shows it. Both the
// merged company and the survivor must be visible to sc; ErrNotFound when
// they are not or id is not merged.
func (s *Store) MergedInto(ctx context.Context, sc access.Scope, id int64) (MergeInfo, error) {
	a, into, err := s.companyState(ctx, s.db, sc, id)
	if err != nil {
		return MergeInfo{}, err
	}
	info := MergeInfo{AbsorbedID: id, AbsorbedName: a.Name}
	for range 10 {
		if into == 0 {
			break
		}
		var surv Company
		surv, next, err := s.companyState(ctx, s.db, sc, into)
		if err != nil {
			return MergeInfo{}, err
		}
		info.SurvivorID, info.SurvivorName = surv.ID, surv.Name
		into = next
	}
	if info.SurvivorID == 0 {
		return MergeInfo{}, apperr.ErrNotFound
	}
	list, err := s.Merges(ctx, sc, info.SurvivorID)
	if err != nil {
		return MergeInfo{}, err
	}
	for _, m := range list {
		if m.AbsorbedID == id {
			return m, nil
		}
	}
	return info, nil
}

// Merges lists the merges into the live company id that are not undone
// and still within UndoPeriod, newest first: what the card shows as
// «Объединена с … · Отменить». Only the newest merge can be undone (an
// earlier one waits until the later ones are). One query; empty when sc
// may not see id.
func (s *Store) Merges(ctx context.Context, sc access.Scope, id int64) ([]MergeInfo, error) {
	var w database.Where
	w.Add("m.survivor_id = ?", id)
	w.Add("m.undone_at IS NULL")
	w.Add("sc.deleted_at IS NULL")
	sc.Restrict(&w, "sc")
	rows, err := s.db.QueryContext(ctx, `SELECT m.id, m.survivor_id, sc.name, m.absorbed_id, a.name, m.merged_at
		FROM company_merges m JOIN companies sc ON sc.id = m.survivor_id JOIN companies a ON a.id = m.absorbed_id`+w.SQL()+` ORDER BY m.id DESC`, w.Args()...)
	if err != nil {
		return nil, fmt.Errorf("merges: %w", err)
	}
	var list []MergeInfo
	err = eachRow(rows, func() error {
		var m MergeInfo
		if err := rows.Scan(&m.ID, &m.SurvivorID, &m.SurvivorName, &m.AbsorbedID, &m.AbsorbedName, &m.MergedAt); err != nil {
			return err
		}
		m.MergedAt = m.MergedAt.UTC()
		list = append(list, m)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("merges: %w", err)
	}
	return s.withinUndo(list), nil
}

// withinUndo keeps of a survivor's merges not undone, newest first, those
// still within UndoPeriod, and marks the newest as the one to undo.
func (s *Store) withinUndo(list []MergeInfo) []MergeInfo {
	since := s.now().Add(-UndoPeriod)
	var out []MergeInfo
	for i, m := range list {
		m.UndoUntil = m.MergedAt.Add(UndoPeriod)
		m.CanUndo = i == 0
		if !m.MergedAt.Before(since) {
			out = append(out, m)
		}
	}
	return out
}
