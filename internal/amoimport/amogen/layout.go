package amogen

// field is a logical column; each layout places it under its own header.
type field int

const (
	fID field = iota
	fType
	fContactName    // a contact row's full name
	fCompanyName    // a company row's name
	fContactCompany // a contact row's company
	fFirst
	fLast
	fResponsible
	fCreated
	fCreatedBy
	fModified
	fModifiedBy
	fTags
	fNextTask
	fDeals
	fPosition
	fPhoneWork
	fPhoneDirect
	fPhoneMobile
	fFax
	fPhoneHome
	fPhoneOther
	fEmailWork
	fEmailPersonal
	fEmailOther
	fAddress
	fWeb
	fNote1
	fNote2
	fNote3
	fNote4
	fNote5
	fINN
	fKPP
	fOGRN
	fSphere
	fCity
	fSource
	fSource2
	fieldCount
)

// columns is a layout: its header and where each field goes (-1: the
// layout has no such column).
type columns struct {
	header []string
	index  [fieldCount]int
}

// layouts are the two headers of the fixtures, column for column: the
// duplicated «Источник» included.
var layouts = map[Layout]columns{
	LayoutModern: makeColumns([]named{
		{"ID", fID}, {"Тип", fType}, {"Наименование", fContactName}, {"Компания", fContactCompany},
		{"Имя", fFirst}, {"Фамилия", fLast}, {"Ответственный", fResponsible}, {"Дата создания", fCreated},
		{"Создатель", fCreatedBy}, {"Дата изменения", fModified}, {"Автор изменения", fModifiedBy},
		{"Теги", fTags}, {"Ближайшая задача", fNextTask}, {"Сделки", fDeals}, {"Должность", fPosition},
		{"Рабочий телефон", fPhoneWork}, {"Рабочий прямой телефон", fPhoneDirect},
		{"Мобильный телефон", fPhoneMobile}, {"Факс", fFax}, {"Домашний телефон", fPhoneHome},
		{"Другой телефон", fPhoneOther}, {"Рабочий email", fEmailWork}, {"Личный email", fEmailPersonal},
		{"Другой email", fEmailOther}, {"Адрес", fAddress}, {"Web", fWeb},
		{"Примечание 1", fNote1}, {"Примечание 2", fNote2}, {"Примечание 3", fNote3},
		{"Примечание 4", fNote4}, {"Примечание 5", fNote5}, {"ИНН", fINN}, {"КПП", fKPP}, {"ОГРН", fOGRN},
		{"Сфера деятельности", fSphere}, {"Город", fCity}, {"Источник", fSource}, {"Источник", fSource2},
	}, map[field]field{fCompanyName: fContactName}),
	LayoutClassic: makeColumns([]named{
		{"ID", fID}, {"Тип", fType}, {"Полное имя контакта", fContactName}, {"Имя", fFirst},
		{"Фамилия", fLast}, {"Название компании", fContactCompany}, {"Ответственный", fResponsible},
		{"Дата создания контакта", fCreated}, {"Кем создан контакт", fCreatedBy}, {"Сделки", fDeals},
		{"Дата редактирования", fModified}, {"Кем редактирован", fModifiedBy}, {"Теги", fTags},
		{"Примечание 1", fNote1}, {"Примечание 2", fNote2}, {"Примечание 3", fNote3},
		{"Примечание 4", fNote4}, {"Примечание 5", fNote5}, {"Рабочий телефон", fPhoneWork},
		{"Рабочий прямой телефон", fPhoneDirect}, {"Мобильный телефон", fPhoneMobile}, {"Факс", fFax},
		{"Домашний телефон", fPhoneHome}, {"Другой телефон", fPhoneOther}, {"Рабочий email", fEmailWork},
		{"Личный email", fEmailPersonal}, {"Другой email", fEmailOther}, {"Web", fWeb}, {"Адрес", fAddress},
		{"Город", fCity}, {"Источник", fSource}, {"Должность", fPosition}, {"ИНН", fINN}, {"КПП", fKPP},
		{"ОГРН", fOGRN}, {"Сфера деятельности", fSphere}, {"Источник", fSource2},
	}, map[field]field{fCompanyName: fContactCompany}),
}

type named struct {
	name string
	f    field
}

// makeColumns builds a layout; shared says which field sits in another
// field's column (a company row's name goes where the layout keeps names).
func makeColumns(list []named, shared map[field]field) columns {
	var c columns
	for i := range c.index {
		c.index[i] = -1
	}
	for i, n := range list {
		c.header = append(c.header, n.name)
		c.index[n.f] = i
	}
	for f, in := range shared {
		c.index[f] = c.index[in]
	}
	return c
}
