package amoimport

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/export"
)

// Actions lists the actions of the report in the order the page's filters
// show them.
var Actions = []string{ActionCreate, ActionUpdate, ActionMerge, ActionSkip, ActionError}

// ValidAction reports whether a is one of Actions.
func ValidAction(a string) bool {
	for _, x := range Actions {
		if a == x {
			return true
		}
	}
	return false
}

// ReportRow is one row of an import's report: a record of the file (or a
// skipped row, or a company created from a contact's company name) and
// what the run decided for it.
type ReportRow struct {
	Number int    `json:"number"`
	Line   int    `json:"line"`
	Kind   Kind   `json:"kind,omitempty"`
	AmoID  int64  `json:"amo_id,omitempty"`
	Action string `json:"action"`
	// Name is the company's name or the contact's full name.
	Name   string `json:"name"`
	Reason string `json:"reason"`
	// Issues are the row's warnings; Warnings says them in Russian.
	Issues   []Issue  `json:"issues"`
	Warnings []string `json:"warnings"`
	// CompanyID and ContactID are what the row created or updated in the
	// base (0: none, or a dry run that creates).
	CompanyID int64 `json:"company_id,omitempty"`
	ContactID int64 `json:"contact_id,omitempty"`
}

// RowFilter selects a page of a report's rows.
type RowFilter struct {
	// Action is one of Actions, or "" for every row.
	Action string
	Page   int
	Size   int
}

// RowList is a page of a report's rows and the count of all that match.
type RowList struct {
	Count int
	Rows  []ReportRow
}

// Rows returns a page of the report of import id, in file order.
func (s *Store) Rows(ctx context.Context, id int64, f RowFilter) (RowList, error) {
	if f.Action != "" && !ValidAction(f.Action) {
		return RowList{}, apperr.Invalid{"action": "Неизвестное действие: допустимы create, update, merge, skip, error"}
	}
	var w database.Where
	w.Add("r.import_id = ?", id)
	if f.Action != "" {
		w.Add(rowAction+" = ?", f.Action)
	}
	var list RowList
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*)`+rowsPlanned+w.SQL(), w.Args()...).Scan(&list.Count); err != nil {
		return RowList{}, fmt.Errorf("import %d rows: %w", id, err)
	}
	size := max(f.Size, 1)
	query := `SELECT ` + rowColumns + rowsFrom + w.SQL() + ` ORDER BY r.number LIMIT ` + w.Arg(size) +
		` OFFSET ` + w.Arg(database.PageOffset(f.Page, size))
	rows, err := s.db.QueryContext(ctx, query, w.Args()...)
	if err != nil {
		return RowList{}, fmt.Errorf("import %d rows: %w", id, err)
	}
	err = eachRow(rows, func(r ReportRow) error {
		list.Rows = append(list.Rows, r)
		return nil
	})
	if err != nil {
		return RowList{}, fmt.Errorf("import %d rows: %w", id, err)
	}
	return list, nil
}

// ActionCounts returns how many rows of the report of import id have each
// action (the filters' counts); an action no row has is left out.
func (s *Store) ActionCounts(ctx context.Context, id int64) (map[string]int, error) {
	return countActions(ctx, s.db, id)
}

// countActions counts the rows of import id by action in one pass with
// one sum per action: a GROUP BY on the action (taken from the row's plan
// or the row) made SQLite sort every row of the import — its sorter took
// as much memory as the page cache, 30 MB more at a million rows.
func countActions(ctx context.Context, q database.Querier, id int64) (map[string]int, error) {
	var b strings.Builder
	b.WriteString("SELECT ")
	for i, a := range Actions {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("COALESCE(SUM(CASE WHEN " + rowAction + " = '" + a + "' THEN 1 ELSE 0 END), 0)")
	}
	b.WriteString(rowsPlanned + " WHERE r.import_id = $1")
	counts := make([]int, len(Actions))
	dest := make([]any, len(Actions))
	for i := range counts {
		dest[i] = &counts[i]
	}
	if err := q.QueryRowContext(ctx, b.String(), id).Scan(dest...); err != nil {
		return nil, fmt.Errorf("import %d counts: %w", id, err)
	}
	out := map[string]int{}
	for i, a := range Actions {
		if counts[i] > 0 {
			out[a] = counts[i]
		}
	}
	return out, nil
}

// rowColumns are the columns of a report row; rowsFrom joins each row of
// import_rows r to what the plan decided for it, d (migration 00053), and
// to what Apply wrote for it, x (migration 00045). Stage's own decisions
// (a skipped line), the companies the plan adds for contacts, and imports
// planned before 00053 are in import_rows itself.
const (
	rowColumns = `r.number, r.line, r.kind, COALESCE(r.amo_id, 0), ` + rowAction + `, r.record, COALESCE(d.reason, r.reason),
	COALESCE(d.issues, r.issues), COALESCE(x.company_id, d.company_id, r.company_id, 0),
	COALESCE(x.contact_id, d.contact_id, r.contact_id, 0)`
	rowsFrom = rowsPlanned + ` LEFT JOIN import_row_ids x ON x.import_id = r.import_id AND x.number = r.number`
	// rowsPlanned joins each row of import_rows r to its plan d.
	rowsPlanned = ` FROM import_rows r LEFT JOIN import_row_plans d ON d.import_id = r.import_id AND d.number = r.number`
	// rowAction is a row's action in a query from rowsPlanned.
	rowAction = `COALESCE(d.action, r.action)`
)

// eachRow scans rows of rowColumns and hands each to fn; it closes rows.
func eachRow(rows *sql.Rows, fn func(ReportRow) error) error {
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var r ReportRow
		var kind, record, issues string
		if err := rows.Scan(&r.Number, &r.Line, &kind, &r.AmoID, &r.Action, &record, &r.Reason, &issues,
			&r.CompanyID, &r.ContactID); err != nil {
			return err
		}
		r.Kind = Kind(kind)
		var rec Record
		if record != "" {
			if err := decodeRecord(record, &rec); err != nil {
				return fmt.Errorf("row %d record: %w", r.Number, err)
			}
		}
		r.Name = rec.Name
		if issues != "" {
			if err := json.Unmarshal([]byte(issues), &r.Issues); err != nil {
				return fmt.Errorf("row %d issues: %w", r.Number, err)
			}
		}
		if r.Issues == nil {
			r.Issues = []Issue{}
		}
		r.Warnings = warnings(r.Issues)
		if err := fn(r); err != nil {
			return err
		}
	}
	return rows.Err()
}

// warnings says a row's issues in Russian, leaving out a skipped row's
// reason (Stage keeps it as an issue; the report shows it as the reason).
func warnings(issues []Issue) []string {
	out := []string{}
	for _, is := range issues {
		if !isSkipIssue(is) {
			out = append(out, IssueText(is))
		}
	}
	return out
}

// isSkipIssue reports whether is only repeats why a row was skipped.
func isSkipIssue(is Issue) bool {
	_, ok := skipReasons[is.Code]
	return ok && is.Field == "" && is.Value == ""
}

// ActionLabelFor is an action as the report of a real run (dry false) or
// of a dry run says it: «Создано», or «Будет создано».
func ActionLabelFor(a string, dry bool) string {
	if !dry {
		return ActionLabel(a)
	}
	switch a {
	case ActionCreate:
		return "Будет создано"
	case ActionUpdate:
		return "Будет обновлено"
	case ActionMerge:
		return "Будет объединено"
	case ActionSkip:
		return "Будет пропущено"
	}
	return ActionLabel(a)
}

// ActionLabel is an action as the report says it in Russian.
func ActionLabel(a string) string {
	switch a {
	case ActionCreate:
		return "Создано"
	case ActionUpdate:
		return "Обновлено"
	case ActionMerge:
		return "Объединено"
	case ActionSkip:
		return "Пропущено"
	case ActionError:
		return "Ошибка"
	}
	return a
}

// issueTexts says each warning code in Russian.
var issueTexts = map[string]string{
	"inn_leading_zero_lost":                  "ИНН без ведущего нуля — ноль восстановлен",
	"inn_float_suffix":                       "ИНН с «.0» на конце — исправлен",
	"inn_kpp_combined":                       "ИНН и КПП в одной ячейке — разделены",
	"inn_formatted":                          "ИНН с подписью, пробелами или знаками — очищен",
	"inn_bad_length":                         "В ИНН не 10 и не 12 цифр — не импортирован",
	"inn_excel_scientific_unrecoverable":     "ИНН испорчен Excel (экспоненциальная запись), цифры потеряны — не импортирован",
	"inn_invalid_checksum":                   "Неверная контрольная сумма ИНН — не импортирован",
	"inn_invalid":                            "ИНН не распознан — не импортирован",
	"kpp_leading_zero_lost":                  "КПП без ведущего нуля — ноль восстановлен",
	"kpp_invalid":                            "КПП не распознан — не импортирован",
	"ogrn_invalid":                           "ОГРН не распознан — не импортирован",
	"email_invalid":                          "Неверный e-mail — не импортирован",
	"phone_without_area_code":                "Телефон без кода города",
	"phone_excel_error":                      "Телефон испорчен Excel (ошибка формулы) — не импортирован",
	"phone_invalid":                          "Телефон не распознан",
	"html_entities":                          "HTML-сущности в тексте (&quot; и т. п.) — заменены символами",
	"value_too_long":                         "Слишком длинное значение — обрезано",
	"extra_columns":                          "В строке больше ячеек, чем в заголовке — лишние не прочитаны",
	"responsible_unknown":                    "Ответственный не найден среди пользователей — назначен выбранный при импорте",
	"contact_company_orphan":                 "Компании контакта нет в файле — компания создана по названию",
	"contact_company_ambiguous":              "Название компании контакта подходит к нескольким компаниям — контакт не привязан",
	"branch":                                 "Филиал (тот же ИНН, другой КПП) — присоединён к головной компании",
	"date_invalid":                           "Дата не распознана",
	"note_very_long":                         "Очень длинное примечание",
	"field_exceeds_python_csv_default_limit": "Очень длинная ячейка (больше 131 072 символов) — прочитана целиком",
	"amo_id_invalid":                         "ID amoCRM не распознан",
}

// IssueText says a warning in Russian, with the column and the value as
// they were in the file.
func IssueText(is Issue) string {
	text, ok := issueTexts[is.Code]
	if !ok {
		text = "Предупреждение: " + is.Code
	}
	var parts []string
	if is.Field != "" {
		parts = append(parts, "«"+is.Field+"»")
	}
	if is.Value != "" {
		v := is.Value
		if r := []rune(v); len(r) > 60 {
			v = string(r[:60]) + "…"
		}
		parts = append(parts, "было «"+v+"»")
	}
	if is.Fixed != "" && is.Fixed != is.Value {
		parts = append(parts, "стало «"+is.Fixed+"»")
	}
	if len(parts) > 0 {
		text += " (" + strings.Join(parts, ", ") + ")"
	}
	return text
}

// WriteReport writes the report of import id as CSV that Excel opens
// right on a Russian Windows: UTF-8 with a BOM, «;» between values, one
// line per row — record number, file line, action, reason, warnings —
// then the kind and the name. It streams: the report is never in memory.
func (s *Store) WriteReport(ctx context.Context, id int64, w io.Writer) error {
	im, err := s.Get(ctx, id)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	if _, err := bw.WriteString("\uFEFF"); err != nil {
		return err
	}
	cw := csv.NewWriter(bw)
	cw.Comma = ';'
	cw.UseCRLF = true
	if err := cw.Write([]string{"Номер записи", "Строка файла", "Действие", "Причина", "Предупреждения", "Тип", "Название"}); err != nil {
		return err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+rowColumns+rowsFrom+` WHERE r.import_id = $1 ORDER BY r.number`, id)
	if err != nil {
		return fmt.Errorf("import %d report: %w", id, err)
	}
	err = eachRow(rows, func(r ReportRow) error {
		return cw.Write([]string{strconv.Itoa(r.Number), strconv.Itoa(r.Line), ActionLabelFor(r.Action, im.DryRun), r.Reason,
			strings.Join(r.Warnings, "; "), kindLabel(r.Kind), export.Neutralize(r.Name)})
	})
	if err != nil {
		return fmt.Errorf("import %d report: %w", id, err)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}

func kindLabel(k Kind) string {
	switch k {
	case KindCompany:
		return "компания"
	case KindContact:
		return "контакт"
	}
	return ""
}
