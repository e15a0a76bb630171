package amoimport

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/crmprofi/crm/internal/database"
)

// decidePage is how many rows decide reads at a time.
const decidePage = 1000

// stagedRow is a row of the file as decide reads it back.
type stagedRow struct {
	number, line, entity int32
	kind                 Kind
	inn, companyKey      string
	norm                 string
	rec                  Record
	bad                  error // the record could not be read
}

// rowPlan is what decide writes for a row.
type rowPlan struct {
	number                 int32
	action                 string
	entity                 int32
	companyID, contactID   int64
	linkEntity             int32
	responsible, createdBy int64
	reason                 []string
	issues                 []Issue
}

// decide reads the file's rows entity by entity (sorted by kind, entity
// and number, a page at a time, an entity never split between pages),
// and writes each row's action, reason and the rest.
func (p *planner) decide() error {
	// The entities are final, and decide reads each row's from its row:
	// the union-find is done with.
	p.parent = nil
	for _, kind := range []Kind{KindCompany, KindContact} {
		if err := p.decideKind(kind); err != nil {
			return err
		}
	}
	return nil
}

// decideKind decides the entities of one kind, a page of whole entities
// at a time, read through the (import_id, kind, entity, number) index.
func (p *planner) decideKind(kind Kind) error {
	after, limit := int32(-1), decidePage
	for {
		var page []stagedRow
		err := p.each(`SELECT number, line, kind, entity, inn, company_key, name_norm, record FROM import_rows
			WHERE import_id = $1 AND kind = $2 AND entity > $3 AND line > 0
			ORDER BY entity, number LIMIT $4`, func(rows *sql.Rows) error {
			var (
				r      stagedRow
				kind   string
				record string
			)
			if err := rows.Scan(&r.number, &r.line, &kind, &r.entity, &r.inn, &r.companyKey, &r.norm, &record); err != nil {
				return err
			}
			r.kind = Kind(kind)
			if err := decodeRecord(record, &r.rec); err != nil {
				r.bad = err
			}
			page = append(page, r)
			return nil
		}, string(kind), after, limit)
		if err != nil {
			return err
		}
		if len(page) == 0 {
			return nil
		}
		full := len(page) == limit
		if full {
			// The last entity may go on in the next page: leave it for then.
			cut := len(page)
			for cut > 0 && page[cut-1].entity == page[len(page)-1].entity {
				cut--
			}
			if cut == 0 {
				limit *= 2 // one entity fills the page: read more at once
				continue
			}
			page = page[:cut]
		}
		if err := p.decidePage(page); err != nil {
			return err
		}
		after, limit = page[len(page)-1].entity, decidePage
		if !full {
			return nil
		}
	}
}

// decidePage decides the entities of one page and writes the rows.
func (p *planner) decidePage(page []stagedRow) error {
	ctx, err := p.loadPage(page)
	if err != nil {
		return err
	}
	var plans [][]any
	for start := 0; start < len(page); {
		end := start + 1
		for end < len(page) && page[end].kind == page[start].kind && page[end].entity == page[start].entity {
			end++
		}
		for _, rp := range p.decideEntity(ctx, page[start:end]) {
			issues, err := json.Marshal(nonNil(rp.issues))
			if err != nil {
				return err
			}
			p.tally.add(rp.action, rp.issues)
			plans = append(plans, []any{p.importID, rp.number, rp.action, database.NullInt64(rp.companyID),
				database.NullInt64(rp.contactID), database.NullInt64(int64(rp.linkEntity)), database.NullInt64(rp.responsible),
				database.NullInt64(rp.createdBy), strings.Join(rp.reason, "; "), string(issues)})
		}
		start = end
	}
	// A narrow row of its own per decision (migration 00053), not an
	// UPDATE of the wide staged row: the entity is not written again
	// either, a page's rows were read by it and keep it.
	return p.db.InsertRows(p.ctx, p.tx, planColumns, plans)
}

// planColumns are the columns decide writes, in the order of its rows.
const planColumns = `INSERT INTO import_row_plans (import_id, number, action, company_id, contact_id, link_entity,
	responsible_id, created_by_id, reason, issues)`

// decideEntity plans the rows of one company or contact.
func (p *planner) decideEntity(pc *pageContext, rows []stagedRow) []rowPlan {
	plans := make([]rowPlan, len(rows))
	var recs []Record
	for i, r := range rows {
		rp := &plans[i]
		rp.number, rp.entity = r.number, r.entity
		if r.bad != nil {
			rp.action = ActionError
			rp.reason = []string{"Запись не прочитана: " + r.bad.Error()}
			continue
		}
		rp.issues = append(rp.issues, r.rec.Issues...)
		rp.responsible = p.match(r.rec.Responsible)
		if rp.responsible == 0 {
			rp.responsible = p.opt.Fallback
			if who := strings.TrimSpace(r.rec.Responsible); who != "" {
				rp.issues = append(rp.issues, Issue{Code: "responsible_unknown", Field: "Ответственный", Value: who})
				rp.reason = append(rp.reason, fmt.Sprintf("Ответственный «%s» не найден — назначен %s", who, p.fallbackName()))
			} else {
				rp.reason = append(rp.reason, "Ответственный не указан — назначен "+p.fallbackName())
			}
		}
		rp.createdBy = p.match(r.rec.CreatedBy)
		recs = append(recs, r.rec)
	}
	if len(recs) == 0 {
		return plans
	}
	// The first readable row leads (an unreadable one is an error row).
	off := 0
	for rows[off].bad != nil {
		off++
	}
	all := plans
	rows, plans = rows[off:], plans[off:]
	head := rows[0]
	var amoIDs []int64
	for _, r := range recs {
		if r.AmoID != 0 {
			amoIDs = append(amoIDs, r.AmoID)
		}
	}
	merged := MergeRecords(recs)
	root := head.entity
	baseID, how := p.baseOf(root)

	switch head.kind {
	case KindCompany:
		for i := range plans {
			plans[i].companyID = baseID
		}
		h := &plans[0]
		switch {
		case baseID == 0:
			h.action = ActionCreate
			h.reason = prepend(h.reason, "Новая компания")
			if p.anyFlag(rows, flagNameAmbiguous) {
				h.reason = append(h.reason, "название и адрес совпадают у компаний с разными ИНН — не объединена с ними")
			}
			if p.hasFlag(root, flagBaseAmbiguous) {
				h.reason = append(h.reason, "в базе несколько компаний с таким названием и адресом — создаётся новая")
			}
		case pc.companyUnchanged(baseID, recs):
			h.action = ActionSkip
			h.reason = prepend(h.reason, "Без изменений")
		default:
			h.action = ActionUpdate
			h.reason = prepend(h.reason, fmt.Sprintf("Обновит компанию «%s»: %s", pc.companies[baseID].Name, foundBy(how, true)))
		}
		if baseID != 0 && p.hasFlag(root, flagBaseConflict) {
			h.reason = append(h.reason, "строки указывают на разные компании базы — выбрана найденная "+foundBy(how, false))
		}
		for i := 1; i < len(plans); i++ {
			if rows[i].bad == nil {
				plans[i].action = ActionMerge
				plans[i].reason = prepend(plans[i].reason, p.duplicateReason(head, rows[i], merged))
			}
		}
		unchangedDuplicates(plans)
	case KindContact:
		for i := range plans {
			plans[i].contactID = baseID
			if rows[i].bad == nil {
				p.linkContact(pc, rows[i], &plans[i])
			}
		}
		h := &plans[0]
		switch {
		case baseID == 0:
			h.action = ActionCreate
			h.reason = prepend(h.reason, "Новый контакт")
		case pc.contactUnchanged(baseID, merged, amoIDs, p.linkedBase(h)):
			h.action = ActionSkip
			h.reason = prepend(h.reason, "Без изменений")
		default:
			h.action = ActionUpdate
			h.reason = prepend(h.reason, "Обновит контакт из базы: найден по amoCRM ID")
		}
		for i := 1; i < len(plans); i++ {
			if rows[i].bad == nil {
				plans[i].action = ActionMerge
				plans[i].reason = prepend(plans[i].reason, p.duplicateReason(head, rows[i], merged))
			}
		}
		unchangedDuplicates(plans)
	}
	for i := range all {
		all[i].entity = head.entity
	}
	return all
}

// unchangedDuplicates makes the other rows of an entity that changes
// nothing skips too: Apply writes create, update and merge rows, and the
// duplicates of an unchanged company must not be written on their own.
func unchangedDuplicates(plans []rowPlan) {
	if plans[0].action != ActionSkip {
		return
	}
	for i := 1; i < len(plans); i++ {
		if plans[i].action == ActionMerge {
			plans[i].action = ActionSkip
			plans[i].reason[0] += " — без изменений"
		}
	}
}

// baseOf is the base's company or contact an entity is, and how it was
// found.
func (p *planner) baseOf(root int32) (int64, uint8) {
	if int(root) >= len(p.base) {
		return 0, joinNone
	}
	return p.base[root], p.baseHow[root]
}

func (p *planner) anyFlag(rows []stagedRow, f uint8) bool {
	for _, r := range rows {
		if int(r.number) < len(p.state) && p.hasFlag(r.number, f) {
			return true
		}
	}
	return false
}

func (p *planner) fallbackName() string {
	if p.fallback == "" {
		return "никто"
	}
	return p.fallback
}

// duplicateReason says why a row is another row of its company.
func (p *planner) duplicateReason(head, r stagedRow, merged Record) string {
	var how string
	switch p.joinOf(r.number) {
	case joinAmo:
		how = "тот же amoCRM ID"
	case joinINN:
		how = "тот же ИНН"
	case joinName:
		how = "те же название и адрес"
	case joinBase:
		how = "та же компания базы"
		if r.kind == KindContact {
			how = "тот же контакт базы"
		}
	}
	s := fmt.Sprintf("Дубль строки %d", head.line)
	if how != "" {
		s += ": " + how
	}
	if r.inn != "" && r.inn == merged.INN && r.rec.KPP != "" && merged.KPP != "" && r.rec.KPP != merged.KPP {
		s += fmt.Sprintf("; филиал: КПП %s", r.rec.KPP)
		if a := strings.TrimSpace(r.rec.Address); a != "" {
			s += ", адрес " + a
		}
	}
	return s
}

// linkContact finds the company of a contact's row: the one company of
// the file whose rows have its name key, or — when the file has none —
// the one company of the base with that name, or the company the plan
// creates for the name.
func (p *planner) linkContact(pc *pageContext, r stagedRow, rp *rowPlan) {
	name := strings.TrimSpace(r.rec.Company)
	if r.companyKey == "" {
		return
	}
	cands := pc.links[r.number]
	switch {
	case len(cands) == 1 && cands[0].line == 0:
		rp.linkEntity = cands[0].entity
		rp.issues = append(rp.issues, Issue{Code: "contact_company_orphan", Field: "Компания", Value: name})
		rp.reason = append(rp.reason, fmt.Sprintf("компании «%s» нет в файле — создаётся по контакту", name))
	case len(cands) == 1:
		rp.linkEntity = cands[0].entity
	case len(cands) > 1:
		lines := make([]string, len(cands))
		for i, c := range cands {
			lines[i] = fmt.Sprint(c.line)
		}
		rp.issues = append(rp.issues, Issue{Code: "contact_company_ambiguous", Field: "Компания", Value: name})
		rp.reason = append(rp.reason, fmt.Sprintf("компания «%s» неоднозначна (строки %s) — контакт не привязан", name, strings.Join(lines, ", ")))
	default:
		if id := pc.baseByName[r.norm]; id != 0 {
			rp.companyID = id
			rp.reason = append(rp.reason, fmt.Sprintf("компании «%s» нет в файле — привязан к компании из базы", name))
		}
	}
}

// linkedBase is the base company a contact's row belongs to: the base's
// one by name, or the base company its file company updates; 0 when its
// company is new or it has none; -1 when the file's company is created.
func (p *planner) linkedBase(rp *rowPlan) int64 {
	if rp.companyID != 0 {
		return rp.companyID
	}
	if rp.linkEntity != 0 {
		if id, _ := p.baseOf(rp.linkEntity); id != 0 {
			return id
		}
		return -1
	}
	return 0
}

func prepend(list []string, s string) []string { return append([]string{s}, list...) }

// foundBy names how an entity was found in the base.
func foundBy(how uint8, long bool) string {
	switch how {
	case joinAmo:
		if long {
			return "найдена по amoCRM ID прошлого импорта"
		}
		return "по amoCRM ID"
	case joinINN:
		if long {
			return "найдена по ИНН"
		}
		return "по ИНН"
	}
	if long {
		return "найдена по названию и адресу"
	}
	return "по названию и адресу"
}
