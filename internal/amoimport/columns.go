package amoimport

import (
	"strings"
)

// Field is the logical field a column of the export feeds, whatever the
// column is called in this export's layout.
type Field string

// The logical fields. FieldName («Наименование», «Название») is the
// company's name on a company row and the contact's full name on a contact
// row; FieldCompanyName («Название компании») is the company's name on a
// company row and the contact's company on a contact row; FieldContactName
// («Полное имя контакта», «ФИО») is a contact's full name (and, last, a
// company's name). Which of them a row reads is decided per row, the
// first non-empty winning, as amo-format.md §1.2 recommends.
const (
	FieldAmoID       Field = "amo_id"
	FieldType        Field = "type"
	FieldName        Field = "name"
	FieldCompanyName Field = "company_name"
	FieldContactName Field = "contact_name"
	FieldCompany     Field = "company"
	FieldFirstName   Field = "first_name"
	FieldLastName    Field = "last_name"
	FieldMiddleName  Field = "middle_name"
	FieldPosition    Field = "position"
	FieldResponsible Field = "responsible"
	FieldCreatedAt   Field = "created_at"
	FieldCreatedBy   Field = "created_by"
	FieldUpdatedAt   Field = "updated_at"
	FieldUpdatedBy   Field = "updated_by"
	FieldTags        Field = "tags"
	FieldSpheres     Field = "spheres"
	FieldPhone       Field = "phone"
	FieldEmail       Field = "email"
	FieldAddress     Field = "address"
	FieldWebsite     Field = "website"
	FieldNote        Field = "note"
	FieldINN         Field = "inn"
	FieldKPP         Field = "kpp"
	FieldOGRN        Field = "ogrn"
)

// alias is what a header name means: its field and, for phones and
// e-mails, the contactinfo kind the column gives its values.
type alias struct {
	field Field
	kind  string
}

// aliases maps header names, folded by headerKey, to their meaning. Both
// known layouts are here (the documented «Наименование / Компания / …»
// and the 2022 «Полное имя контакта / Название компании / …»), with the
// variants importers in the wild read; the «(компания)» and «(контакт)»
// suffixes are folded away by headerKey.
var aliases = map[string]alias{
	"id":                  {field: FieldAmoID},
	"тип":                 {field: FieldType},
	"наименование":        {field: FieldName},
	"название":            {field: FieldName},
	"название компании":   {field: FieldCompanyName},
	"полное имя контакта": {field: FieldContactName},
	"фио":                 {field: FieldContactName},
	"компания":            {field: FieldCompany},
	"компания контакта":   {field: FieldCompany},
	"имя":                 {field: FieldFirstName},
	"фамилия":             {field: FieldLastName},
	"отчество":            {field: FieldMiddleName},
	"должность":           {field: FieldPosition},
	"ответственный":       {field: FieldResponsible},
	"ответственный за контакт":  {field: FieldResponsible},
	"ответственный за компанию": {field: FieldResponsible},
	"дата создания":             {field: FieldCreatedAt},
	"дата создания контакта":    {field: FieldCreatedAt},
	"дата создания компании":    {field: FieldCreatedAt},
	"дата изменения":            {field: FieldUpdatedAt},
	"дата редактирования":       {field: FieldUpdatedAt},
	"кем создан":                {field: FieldCreatedBy},
	"кем создан контакт":        {field: FieldCreatedBy},
	"кем создана компания":      {field: FieldCreatedBy},
	"создатель":                 {field: FieldCreatedBy},
	"кем изменен":               {field: FieldUpdatedBy},
	"кем редактирован":          {field: FieldUpdatedBy},
	"автор изменения":           {field: FieldUpdatedBy},
	"теги":                      {field: FieldTags},
	"сфера деятельности":        {field: FieldSpheres},
	"сферы деятельности":        {field: FieldSpheres},
	"рабочий телефон":           {field: FieldPhone, kind: "work"},
	"рабочий прямой телефон":    {field: FieldPhone, kind: "work_direct"},
	"мобильный телефон":         {field: FieldPhone, kind: "mobile"},
	"факс":                      {field: FieldPhone, kind: "fax"},
	"домашний телефон":          {field: FieldPhone, kind: "home"},
	"другой телефон":            {field: FieldPhone, kind: "other"},
	"телефон":                   {field: FieldPhone, kind: "work"},
	"рабочий email":             {field: FieldEmail, kind: "work"},
	"личный email":              {field: FieldEmail, kind: "personal"},
	"другой email":              {field: FieldEmail, kind: "other"},
	"e-mail":                    {field: FieldEmail, kind: "work"},
	"email":                     {field: FieldEmail, kind: "work"},
	"адрес":                     {field: FieldAddress},
	"web":                       {field: FieldWebsite},
	"сайт":                      {field: FieldWebsite},
	"корпоративный сайт":        {field: FieldWebsite},
	"примечание":                {field: FieldNote},
	"примечание 1":              {field: FieldNote},
	"примечание 2":              {field: FieldNote},
	"примечание 3":              {field: FieldNote},
	"примечание 4":              {field: FieldNote},
	"примечание 5":              {field: FieldNote},
	"инн":                       {field: FieldINN},
	"кпп":                       {field: FieldKPP},
	"огрн":                      {field: FieldOGRN},
	"огрнип":                    {field: FieldOGRN},
}

// headerKey folds a header name for the alias table: trimmed (headers
// like «Бюджет » carry trailing spaces), a BOM dropped, lower case, ё as
// е, inner spaces collapsed and the entity suffix «(компания)» or
// «(контакт)» some export routes add taken off.
func headerKey(h string) string {
	h = strings.ToLower(strings.Join(strings.Fields(strings.ReplaceAll(cleanHeader(h), "ё", "е")), " "))
	for _, suffix := range []string{"(компания)", "(компании)", "(контакт)", "(контакта)"} {
		h = strings.TrimSpace(strings.TrimSuffix(h, suffix))
	}
	return h
}

// cleanHeader is a header name as the report shows it: no BOM, no
// no-break spaces, no NUL, trimmed.
func cleanHeader(h string) string {
	return strings.TrimSpace(strings.NewReplacer("\ufeff", "", "\u00a0", " ", "\x00", "").Replace(h))
}

// Columns is the header of an export as the importer understood it. The
// report shows it, so that an admin sees which columns were read into
// what, which were not understood and which names repeated.
type Columns struct {
	// Header is the header row, each name trimmed.
	Header []string `json:"header"`
	// Fields is, per column of Header, the logical field it feeds, or ""
	// for a column that is not read (unknown, or a repeated name).
	Fields []Field `json:"fields"`
	// Unknown are the names of the columns no alias matched, in file order.
	Unknown []string `json:"unknown,omitempty"`
	// Duplicated are the names that appear more than once; only their
	// first column is read.
	Duplicated []string `json:"duplicated,omitempty"`
}

// column is one column the parser reads: its index in the row, its
// header (the report's Field of an issue) and its contactinfo kind.
type column struct {
	index  int
	header string
	kind   string
}

// layout is Columns turned into what reading a row needs: the columns of
// each field in file order.
type layout struct {
	byField map[Field][]column
	// typeHeader is the «Тип» header folded, to recognise a repeated
	// header row; nameHeaders are the name columns' folded headers, for
	// the same purpose when there is no «Тип».
	typeHeader string
	// defaultKind is the kind of every row when the export has no «Тип»
	// column (an export of companies only or of contacts only).
	defaultKind Kind
}

// mapColumns reads the header row.
func mapColumns(header []string) (Columns, layout) {
	c := Columns{Header: make([]string, len(header)), Fields: make([]Field, len(header))}
	l := layout{byField: map[Field][]column{}}
	seen := map[string]bool{}
	dupSeen := map[string]bool{}
	for i, h := range header {
		name := cleanHeader(h)
		c.Header[i] = name
		key := headerKey(name)
		if key == "" {
			continue
		}
		if seen[key] {
			if !dupSeen[key] {
				dupSeen[key] = true
				c.Duplicated = append(c.Duplicated, name)
			}
			continue
		}
		seen[key] = true
		a, ok := aliases[key]
		if !ok {
			c.Unknown = append(c.Unknown, name)
			continue
		}
		c.Fields[i] = a.field
		l.byField[a.field] = append(l.byField[a.field], column{index: i, header: name, kind: a.kind})
		if a.field == FieldType {
			l.typeHeader = key
		}
	}
	l.defaultKind = KindCompany
	if l.has(FieldContactName) || l.has(FieldFirstName) || l.has(FieldLastName) || l.has(FieldCompany) {
		l.defaultKind = KindContact
	}
	return c, l
}

func (l layout) has(f Field) bool { return len(l.byField[f]) > 0 }

// isExport reports whether the header is one of an export of contacts
// and companies: it has a «Тип» column or at least a name column.
func (l layout) isExport() bool {
	return l.has(FieldType) || l.has(FieldName) || l.has(FieldCompanyName) ||
		l.has(FieldContactName) || l.has(FieldFirstName) || l.has(FieldLastName)
}
