package dedup

// LegalForm returns the abbreviation of the first legal form in a company
// name, folded as NormalizeName folds ("ооо", "ао", "ип", …; a spelled-out
// form gives its abbreviation: "Общество с ограниченной ответственностью
// «Ромашка»" → "ооо"), or "" when the name has none.
//
// NormalizeName drops the legal form, which is right for a duplicate hint
// ("ООО Ромашка" and "АО Ромашка" deserve a look) but too loose for an
// import, which joins companies without asking: there «ООО Ромашка» and «АО
// Ромашка» are two companies. The importer keys a name as
// LegalForm(name) + "|" + NormalizeName(name), so both keys come from this
// one package.
func LegalForm(name string) string {
	words := textWords(name)
	for end := 1; end <= len(words); end++ {
		for _, ph := range legalForms.byLast[words[end-1]] {
			if n := end - len(ph); n >= 0 && equalWords(words[n:end], ph) {
				return legalFormAbbr(ph)
			}
		}
	}
	return ""
}

// legalFormAbbr is the abbreviation of a legal form phrase (folded words).
func legalFormAbbr(ph []string) string {
	key := ph[0]
	for _, w := range ph[1:] {
		key += " " + w
	}
	if a, ok := legalFormAbbrs[key]; ok {
		return a
	}
	return key
}

// legalFormAbbrs maps the spelled-out and Latin-typed legal forms of
// legalForms to one abbreviation each.
var legalFormAbbrs = map[string]string{
	"ooo": "ооо", "oao": "оао", "zao": "зао", "pao": "пао",
	"общество с ограниченной ответственностью":          "ооо",
	"общество с дополнительной ответственностью":        "одо",
	"товарищество с ограниченной ответственностью":      "тоо",
	"акционерное общество":                              "ао",
	"публичное акционерное общество":                    "пао",
	"непубличное акционерное общество":                  "нао",
	"закрытое акционерное общество":                     "зао",
	"открытое акционерное общество":                     "оао",
	"индивидуальный предприниматель":                    "ип",
	"некоммерческая организация":                        "нко",
	"автономная некоммерческая организация":             "ано",
	"некоммерческое партнерство":                        "нп",
	"государственное унитарное предприятие":             "гуп",
	"муниципальное унитарное предприятие":               "муп",
	"федеральное государственное унитарное предприятие": "фгуп",
	"частное унитарное предприятие":                     "чуп",
	"частное предприятие":                               "чп",
	"крестьянское фермерское хозяйство":                 "кфх",
	"l l c": "llc", "limited liability company": "llc", "incorporated": "inc",
}
