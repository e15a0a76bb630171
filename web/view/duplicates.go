package view

import (
	"math"
	"strconv"
	"strings"

	"github.com/crmprofi/crm/internal/duplicate"
	"github.com/crmprofi/crm/internal/russian"
)

// DuplicateMergeURL is the merge page of the company being edited with one
// of its likely duplicates.
func DuplicateMergeURL(survivor, duplicateID int64) string {
	return CompanyURL(survivor, "merge/") + "?with=" + strconv.FormatInt(duplicateID, 10)
}

// duplicateConfirmLabel is the button that saves despite the duplicates.
func duplicateConfirmLabel(id int64) string {
	if id == 0 {
		return "Всё равно создать"
	}
	return "Всё равно сохранить"
}

// duplicateFacts is the muted line under an accessible match: its ИНН/КПП
// and who is responsible for it.
func duplicateFacts(m duplicate.Match) string {
	var parts []string
	if code := companyJoin(" / ", m.INN, m.KPP); code != "" {
		parts = append(parts, "ИНН "+code)
	}
	if m.ResponsibleName != "" {
		parts = append(parts, m.ResponsibleName)
	}
	return strings.Join(parts, " · ")
}

// duplicateStrength says how sure a duplicate match is in words a busy
// manager reads at a glance, with the percent beside it, and the badge
// tone that goes with it (js/dupcheck.js says the same in the panel).
// «вероятно» starts where the save asks for confirmation (duplicate.Likely).
func duplicateStrength(score float64) (label, tone string) {
	percent := strconv.Itoa(int(math.Round(score*100))) + "\u00a0%"
	switch {
	case score >= 0.9:
		return "почти наверняка, " + percent, "danger"
	case score >= duplicate.Likely:
		return "вероятно, " + percent, "warning"
	}
	return "возможно, " + percent, "neutral"
}

// duplicateFieldLabels name the fields of a match reason in the chips.
var duplicateFieldLabels = map[string]string{
	"inn": "ИНН", "kpp": "КПП", "ogrn": "ОГРН", "name": "Название", "address": "Адрес",
	"phone": "Телефон", "email": "E-mail", "website": "Сайт",
}

func duplicateFieldLabel(field string) string {
	if l, ok := duplicateFieldLabels[field]; ok {
		return l
	}
	return field
}

// duplicateOwner is what a match the caller may not see says about
// itself: «уже есть у Веры Поповой».
func duplicateOwner(responsible string) string {
	if strings.TrimSpace(responsible) == "" {
		return "уже есть у коллеги"
	}
	return "уже есть у " + russian.Genitive(responsible)
}
