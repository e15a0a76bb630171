package amogen

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// ring keeps the last companies written, for duplicates to repeat: a
// fixed size, so memory does not grow with the file.
type ring struct {
	list [1024]*company
	n    int
	next int
}

func (r *ring) push(c *company) {
	r.list[r.next] = c
	r.next = (r.next + 1) % len(r.list)
	r.n = min(r.n+1, len(r.list))
}

func (r *ring) pick(rnd *rand.Rand) *company { return r.list[rnd.IntN(r.n)] }

// refKind is what a contact's company reference resolves to.
type refKind int

const (
	refNone refKind = iota
	refLinked
	refOrphan
	refAmbiguous
)

// companyBlock writes a company and its contacts around it (created
// before and after it, so sorted by ID they surround it).
func (g *gen) companyBlock() error {
	c := g.newCompany(g.rates.innLeadingZero.fire())
	m := weighted(g.rnd, []int{15, 20, 22, 18, 13, 8, 4})
	if c.form == "ИП" {
		m = 0 // ИП names repeat (people's names): no references to them
	}
	m = min(m, g.budget-1)
	before := g.rnd.IntN(m + 1)
	for range before {
		if err := g.contactRow(c, g.refSpelling(c), refLinked); err != nil {
			return err
		}
	}
	if err := g.companyRow(c, m == 0); err != nil {
		return err
	}
	for range m - before {
		if err := g.contactRow(c, g.refSpelling(c), refLinked); err != nil {
			return err
		}
	}
	return nil
}

// weighted picks an index with the given weights.
func weighted(rnd *rand.Rand, w []int) int {
	total := 0
	for _, x := range w {
		total += x
	}
	n := rnd.IntN(total)
	for i, x := range w {
		if n < x {
			return i
		}
		n -= x
	}
	return len(w) - 1
}

// typeCell writes «Тип», now and then with stray spaces or capitals.
func (g *gen) typeCell(t string) string {
	if g.chance(0.005) {
		return g.pick([]string{" " + t + " ", strings.ToUpper(t[:2]) + t[2:], t + " "})
	}
	return t
}

// spell writes a company's name the way its first row does.
func (g *gen) spell(c *company) string {
	if c.form == "ИП" {
		switch g.rnd.IntN(10) {
		case 0:
			return "Индивидуальный предприниматель " + c.core
		case 1:
			return strings.ToUpper("ИП " + c.core)
		}
		return c.name()
	}
	switch g.rnd.IntN(20) {
	case 0:
		return c.core + ", " + c.form
	case 1:
		return longForms[c.form] + " «" + c.core + "»"
	case 2:
		return strings.ToUpper(c.name())
	case 3, 4, 5, 6:
		return c.form + ` "` + c.core + `"`
	}
	return c.name()
}

var longForms = map[string]string{
	"ООО": "Общество с ограниченной ответственностью", "АО": "Акционерное общество",
	"ПАО": "Публичное акционерное общество", "ИП": "Индивидуальный предприниматель",
}

// refSpelling writes a company's name as a contact row refers to it:
// a spelling that folds to the same name.
func (g *gen) refSpelling(c *company) string {
	switch g.rnd.IntN(20) {
	case 0:
		return c.form + ` &quot;` + c.core + `&quot;`
	case 1:
		return c.core + ", " + c.form
	case 2, 3, 4:
		return c.form + ` "` + c.core + `"`
	case 5, 6:
		return c.spelling
	}
	return c.name()
}

// variant respells a name the ways a second row of the same company does
// and the name key folds away: spacing, case, quotes, the form moved.
func (g *gen) variant(c *company) string {
	n := c.name()
	switch g.rnd.IntN(7) {
	case 0:
		return strings.Replace(n, " ", "\u00a0", 1)
	case 1:
		return "  " + n + "  "
	case 2:
		return strings.Replace(n, " ", "  ", 1)
	case 3:
		return strings.ToUpper(n)
	case 4:
		if c.form != "ИП" {
			return c.core + ", " + c.form
		}
		return strings.ToLower(n)
	case 5:
		if c.form != "ИП" {
			return c.form + ` "` + c.core + `"`
		}
	}
	return n
}

// addressVariant respells an address the way another row of the same
// company does: case, spacing, commas without spaces, a final dot.
func (g *gen) addressVariant(a string) string {
	switch g.rnd.IntN(4) {
	case 0:
		return strings.ToUpper(a)
	case 1:
		return strings.ReplaceAll(strings.ReplaceAll(a, ", ", ","), ". ", ".  ")
	case 2:
		return a + "."
	}
	return a
}

// companyRow writes a company's first row, with the dirt its cells
// happen to carry, and remembers the company for later duplicates.
func (g *gen) companyRow(c *company, lonely bool) error {
	g.clear()
	g.set(fID, strconv.FormatInt(g.id(), 10))
	g.set(fType, g.typeCell("компания"))
	name := g.spell(c)
	keep := true
	switch {
	case g.rates.htmlEntities.fire() && c.form != "ИП":
		name = c.form + ` &quot;` + c.core + `&quot;`
		g.warn("html_entities")
	case lonely && g.rates.longName.fire():
		// No contact refers to it and no duplicate repeats it: its name is
		// its own.
		name += " (" + strings.Repeat("официальный дилер производителя в регионе, ", 6) + "склад и доставка)"
		g.warn("value_too_long")
		keep = false
	}
	c.spelling = name
	g.set(fCompanyName, name)
	g.stamp(g.created(), true)
	address := c.address
	if lonely && keep && g.rates.longAddress.fire() {
		address += "; " + strings.Repeat("вход со двора, второй подъезд, домофон 12, спросить охрану, ", 20) + "склад за шлагбаумом"
		g.warn("value_too_long")
		keep = false
	}
	g.companyCells(c, address)
	g.requisites(c)
	g.extraColumns()
	g.sum.CompanyRecords++
	if keep {
		g.recent.push(c)
	}
	g.offer(true)
	return g.emit(g.row)
}

// companyCells fills a company row's contact details, notes and labels.
func (g *gen) companyCells(c *company, address string) {
	g.set(fAddress, address)
	g.set(fWeb, c.web)
	if g.chance(0.5) {
		g.set(fCity, c.city)
	}
	switch {
	case g.rates.phoneExcel.fire():
		g.set(fPhoneWork, g.pick([]string{"#ЗНАЧ!", "#ИМЯ?"}))
		g.warn("phone_excel_error")
	default:
		var list []string
		for _, p := range c.phones {
			list = append(list, g.phone(p))
		}
		g.set(fPhoneWork, g.joinValues(list, ", ", ", ", "; ", "\n", " / ", ","))
	}
	if g.chance(0.05) {
		g.set(fFax, g.phone(c.phones[0][:len(c.phones[0])-2]+fmt.Sprintf("%02d", g.rnd.IntN(100))))
	}
	if g.rates.phoneNoArea.fire() {
		g.set(fPhoneOther, fmt.Sprintf("%03d-%02d-%02d", 200+g.rnd.IntN(800), g.rnd.IntN(100), g.rnd.IntN(100)))
		g.warn("phone_without_area_code")
	}
	emails := append([]string(nil), c.emails...)
	if g.rates.emailInvalid.fire() {
		emails[0] = strings.TrimSuffix(emails[0], ".ru")
		emails[0] = strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(emails[0], ".net"), ".su"), ".pro")
		if !strings.Contains(emails[0], ".") {
			emails[0] = strings.Replace(emails[0], "@", "@@", 1) + ".ru"
		}
		g.warn("email_invalid")
	}
	g.set(fEmailWork, g.joinValues(emails, ", "))
	g.notes(g.rnd.Float64() < 0.5, true)
	g.labels(0.4)
	if g.chance(0.5) {
		n := 1 + g.rnd.IntN(3)
		list := make([]string, 0, n)
		for range n {
			list = append(list, g.pick(spheres))
		}
		g.set(fSphere, strings.Join(list, ", "))
	}
}

// labels fills tags, deals and sources.
func (g *gen) labels(tagged float64) {
	if g.chance(tagged) {
		list := []string{g.pick(tags)}
		if g.chance(0.3) {
			list = append(list, g.pick(tags))
		}
		g.set(fTags, g.joinValues(list, ", "))
	}
	if g.chance(0.3) {
		list := []string{g.pick(deals)}
		for g.chance(0.4) && len(list) < 3 {
			list = append(list, g.pick(deals))
		}
		g.set(fDeals, g.joinValues(list, ", "))
	}
	if g.chance(0.6) {
		g.set(fSource, g.pick(sources))
	}
	if g.chance(0.05) {
		g.set(fSource2, g.pick(sources))
	}
	if g.chance(0.1) {
		g.set(fNextTask, g.date(exportTime.Add(time.Duration(1+g.rnd.IntN(30*24))*time.Hour)))
	}
}

// notes fills up to five notes; a company row past the next mark gets a
// huge one (a pasted mail thread).
func (g *gen) notes(some, company bool) {
	cols := []field{fNote1, fNote2, fNote3, fNote4, fNote5}
	if company && g.written >= g.hugeNext {
		g.hugeNext += 100_000
		limit := 131_072 + 2048
		if m := g.out.maxCell(); m > 0 {
			limit = m
		}
		g.set(fNote1, truncate(g.hugeNote(limit), limit))
		g.sum.HugeNotes++
		g.warn("note_very_long")
		if g.out.maxCell() == 0 {
			g.warn("field_exceeds_python_csv_default_limit")
		}
		cols = cols[1:]
	}
	if !some {
		return
	}
	for _, f := range cols[:1+g.rnd.IntN(len(cols))] {
		g.set(f, g.noteText())
	}
}

// requisites fills ИНН, КПП and ОГРН, as typed and as Excel damaged
// them; c.usable says whether the importer gets a valid ИНН from them.
func (g *gen) requisites(c *company) {
	c.usable = false
	if c.inn == "" {
		return
	}
	r := &g.rates
	inn, kpp := c.inn, c.kpp
	c.usable = true
	switch {
	case c.zero && (g.excel || g.chance(0.4)):
		inn = strings.TrimPrefix(inn, "0")
		g.warn("inn_leading_zero_lost")
		if strings.HasPrefix(kpp, "0") {
			kpp = kpp[1:]
			g.warn("kpp_leading_zero_lost")
		}
	case len(inn) == 12 && g.excel, r.innScientific.fire():
		if s, lost := scientific(inn); lost {
			inn = s
			g.warn("inn_excel_scientific_unrecoverable")
			c.usable = false
		}
	case r.innFloat.fire():
		inn += ".0"
		g.warn("inn_float_suffix")
	case r.innFormatted.fire():
		if g.chance(0.5) {
			inn = "ИНН " + inn
		} else {
			inn = inn[:4] + " " + inn[4:7] + " " + inn[7:]
		}
		g.warn("inn_formatted")
	case kpp != "" && r.innCombined.fire():
		inn += "/" + kpp
		if g.chance(0.5) {
			kpp = ""
		}
		g.warn("inn_kpp_combined")
	case r.innChecksum.fire():
		inn = inn[:len(inn)-1] + strconv.Itoa((int(inn[len(inn)-1]-'0')+1)%10)
		g.warn("inn_invalid_checksum")
		c.usable = false
	case r.innLength.fire():
		// Never 9 or 11 digits: those read as a lost leading zero.
		if len(inn) == 12 {
			inn += strconv.Itoa(g.rnd.IntN(10))
		} else {
			inn = inn[:8]
		}
		g.warn("inn_bad_length")
		c.usable = false
	}
	if kpp != "" && r.kppInvalid.fire() {
		kpp = g.pick([]string{"нет", kpp[:2] + "O" + kpp[3:]})
		g.warn("kpp_invalid")
	}
	g.set(fINN, inn)
	g.set(fKPP, kpp)
	g.ogrn(c)
}

func (g *gen) ogrn(c *company) {
	if c.ogrn == "" || !g.chance(0.7) {
		return
	}
	if s, lost := scientific(c.ogrn); g.excel && lost {
		g.set(fOGRN, s)
		return
	}
	g.set(fOGRN, c.ogrn)
}

// extraColumns now and then adds a cell beyond the header.
func (g *gen) extraColumns() {
	if g.rates.extraColumns.fire() {
		g.row = append(g.row, g.pick([]string{"дубль?", "см. выше", "проверить"}))
		g.warn("extra_columns")
	}
}

// contactRow writes a contact; ref is its company as written, kind what
// that reference resolves to.
func (g *gen) contactRow(c *company, ref string, kind refKind) error {
	p := g.demo.Contact()
	g.clear()
	g.set(fID, strconv.FormatInt(g.id(), 10))
	g.set(fType, g.typeCell("контакт"))
	var full string
	switch g.rnd.IntN(6) {
	case 0:
		full = p.LastName + " " + p.FirstName + " " + p.MiddleName
	case 1:
		full = p.LastName + " " + p.FirstName
	case 2:
		full = p.FirstName + " " + p.MiddleName
	case 3:
		full = p.FirstName
	default:
		full = p.FirstName + " " + p.LastName
	}
	g.set(fContactName, full)
	switch g.rnd.IntN(8) {
	case 0:
	case 1:
		g.set(fFirst, p.FirstName)
	default:
		g.set(fFirst, p.FirstName)
		g.set(fLast, p.LastName)
	}
	g.set(fContactCompany, ref)
	if g.chance(0.7) {
		g.set(fPosition, p.Position)
	}
	g.stamp(g.created(), true)
	mobiles := []string{g.phone(national(p.Phones[0].Value))}
	if g.chance(0.08) {
		mobiles = append(mobiles, g.phone("9"+fmt.Sprintf("%09d", g.rnd.IntN(1_000_000_000))))
	}
	if g.chance(0.01) {
		mobiles = append(mobiles, g.phone("70"+fmt.Sprintf("%d%07d", 1+g.rnd.IntN(8), g.rnd.IntN(10_000_000)))) // Kazakhstan, +7 70x
	}
	g.set(fPhoneMobile, g.joinValues(mobiles, ", ", "; ", "\n"))
	if c != nil && g.chance(0.35) {
		work := g.phone(c.phones[0])
		if g.chance(0.7) {
			work = g.extension(work)
		}
		g.set(fPhoneWork, work)
	}
	if g.rates.phoneNoArea.fire() {
		g.set(fPhoneOther, fmt.Sprintf("%03d-%02d-%02d", 200+g.rnd.IntN(800), g.rnd.IntN(100), g.rnd.IntN(100)))
		g.warn("phone_without_area_code")
	}
	if len(p.Emails) > 0 {
		local, _, _ := strings.Cut(p.Emails[0], "@")
		if c != nil && g.chance(0.5) {
			g.set(fEmailWork, local+"@"+c.domain)
		}
		personal := p.Emails[0]
		if g.rates.emailInvalid.fire() {
			personal = g.pick([]string{local + "@@mail.ru", local + "@mail", local + " mail.ru"})
			g.warn("email_invalid")
		}
		g.set(fEmailPersonal, personal)
	}
	g.notes(g.chance(0.3), false)
	g.labels(0.2)
	g.extraColumns()
	g.sum.ContactRecords++
	switch kind {
	case refNone:
		g.sum.ContactsWithoutCompany++
		g.offer(false)
	case refLinked:
		g.sum.ContactsLinked++
		g.offer(false)
	case refOrphan:
		g.sum.ContactsOrphanRef++
		g.warn("contact_company_orphan")
	case refAmbiguous:
		g.sum.ContactsAmbiguousRef++
		g.warn("contact_company_ambiguous")
	}
	return g.emit(g.row)
}

// stamp fills the dates and the people of a row; counted says whether the
// row is imported (its «Ответственный» counts in the totals).
func (g *gen) stamp(created time.Time, counted bool) {
	g.set(fCreated, g.date(created))
	modified := created
	if g.chance(0.6) {
		modified = created.Add(time.Duration(g.rnd.Int64N(int64(exportTime.Sub(created))/2 + 1)))
	}
	g.set(fModified, g.date(modified))
	if counted {
		g.responsible()
	} else {
		g.set(fResponsible, g.userName(Users()[g.rnd.IntN(12)], false))
	}
	if g.chance(0.85) {
		g.set(fCreatedBy, g.userName(Users()[g.rnd.IntN(12)], true))
	}
	if g.chance(0.8) {
		g.set(fModifiedBy, g.userName(Users()[g.rnd.IntN(12)], true))
	}
}

// duplicate writes another row of a recent company: the same ИНН under
// another spelling or with a repairable defect, a branch (same ИНН,
// another КПП), or the same name and address without an ИНН.
func (g *gen) duplicate() error {
	c := g.recent.pick(g.rnd)
	kind := []string{"dup_same_inn_respelled", "dup_inn_damaged", "dup_no_inn_same_name_addr", "dup_branch"}[weighted(g.rnd, []int{25, 20, 40, 15})]
	if !c.usable || (kind == "dup_branch" && (c.form == "ИП" || c.kpp == "")) {
		kind = "dup_no_inn_same_name_addr"
	}
	g.clear()
	g.set(fID, strconv.FormatInt(g.id(), 10))
	g.set(fType, g.typeCell("компания"))
	g.stamp(g.created(), true)
	address := c.address
	match := "company:inn"
	inn, kpp := c.inn, c.kpp
	name := g.variant(c)
	switch kind {
	case "dup_same_inn_respelled":
		if c.form == "ИП" {
			last, rest, _ := strings.Cut(c.core, " ")
			first, middle, _ := strings.Cut(rest, " ")
			name = "ИП " + last + " " + string([]rune(first)[:1]) + "." + string([]rune(middle)[:1]) + "."
		} else {
			name = c.form + " «ТД " + c.core + "»"
		}
		if g.chance(0.5) {
			address = g.addressVariant(address)
		}
	case "dup_inn_damaged":
		switch {
		case c.zero:
			inn = strings.TrimPrefix(inn, "0")
			kind = "dup_inn_lost_zero"
			g.warn("inn_leading_zero_lost")
			if strings.HasPrefix(kpp, "0") {
				kpp = kpp[1:]
				g.warn("kpp_leading_zero_lost")
			}
		case kpp != "" && g.chance(0.35):
			inn += "/" + kpp
			kind = "dup_inn_kpp_combined"
			g.warn("inn_kpp_combined")
		case g.chance(0.5):
			inn += ".0"
			kind = "dup_inn_float_suffix"
			g.warn("inn_float_suffix")
		default:
			inn = "ИНН " + inn
			kind = "dup_inn_formatted"
			g.warn("inn_formatted")
		}
	case "dup_no_inn_same_name_addr":
		inn, kpp = "", ""
		match = "company:name_address"
		address = g.addressVariant(address)
	case "dup_branch":
		city := g.pick(branchCities)
		if g.chance(0.5) {
			name = c.name() + " (филиал в г. " + city + ")"
		} else {
			name = "Филиал " + c.form + ` "` + c.core + `" в г. ` + city
		}
		kpp = c.inn[:4] + "43" + fmt.Sprintf("%03d", 1+g.rnd.IntN(99))
		address = fmt.Sprintf("г. %s, ул. %s, д. %d", city, g.pick([]string{"Ленина", "Мира", "Набережная", "Заводская"}), 1+g.rnd.IntN(200))
	}
	g.set(fCompanyName, name)
	g.companyCells(c, address)
	g.set(fINN, inn)
	g.set(fKPP, kpp)
	if inn != "" {
		g.ogrn(c)
	}
	g.sum.CompanyRecords++
	g.sum.DuplicateCompanyRecords++
	g.sum.DuplicatesByMatch[match]++
	g.sum.DuplicatesByKind[kind]++
	return g.emit(g.row)
}

// namesakes writes two different companies of the same name (another
// city, another ИНН) and a contact or two that name it: the importer
// cannot tell which one they work for.
func (g *gen) namesakes() error {
	a := g.newCompany(false)
	for a.form == "ИП" {
		a = g.newCompany(false)
	}
	b := g.newCompany(false)
	for b.form == "ИП" {
		b = g.newCompany(false)
	}
	b.form, b.core = a.form, a.core
	if err := g.cleanCompanyRow(a); err != nil {
		return err
	}
	for range 1 + min(g.rnd.IntN(2), g.budget-2) {
		if err := g.contactRow(nil, g.refSpelling(a), refAmbiguous); err != nil {
			return err
		}
	}
	return g.cleanCompanyRow(b)
}

// cleanCompanyRow writes a company row without dirt.
func (g *gen) cleanCompanyRow(c *company) error {
	g.clear()
	g.set(fID, strconv.FormatInt(g.id(), 10))
	g.set(fType, "компания")
	c.spelling = c.name()
	g.set(fCompanyName, c.spelling)
	g.stamp(g.created(), true)
	g.companyCells(c, c.address)
	g.set(fINN, c.inn)
	g.set(fKPP, c.kpp)
	c.usable = c.inn != ""
	g.sum.CompanyRecords++
	g.recent.push(c)
	return g.emit(g.row)
}

// orphanContacts writes a contact or two naming a company the export
// does not hold (deleted, or outside the export's filter).
func (g *gen) orphanContacts() error {
	k := g.nextK
	g.nextK++
	name := g.pick([]string{"ООО", "АО"}) + " «" + coined(k-g.opt.FirstCompany) + "»"
	g.sum.OrphanCompanyNames++
	n := 1
	if g.chance(0.2) && g.budget > 1 {
		n = 2
	}
	for range n {
		if err := g.contactRow(nil, name, refOrphan); err != nil {
			return err
		}
	}
	return nil
}

// deal writes a row of another «Тип» (a deal pasted from another export).
func (g *gen) deal() error {
	g.skip("unknown_type")
	g.clear()
	g.set(fID, strconv.FormatInt(g.id(), 10))
	g.set(fType, "сделка")
	g.set(fContactName, "Поставка "+g.pick(goods))
	g.stamp(g.created(), false)
	return g.emit(g.row)
}

// companyWithoutName writes a company row whose name was erased.
func (g *gen) companyWithoutName() error {
	g.skip("company_without_name")
	g.clear()
	g.set(fID, strconv.FormatInt(g.id(), 10))
	g.set(fType, "компания")
	g.stamp(g.created(), false)
	g.set(fPhoneWork, g.phone("495"+fmt.Sprintf("%07d", g.rnd.IntN(10_000_000))))
	g.set(fNote1, g.noteText())
	return g.emit(g.row)
}

// emptyContact writes a contact with no name, phone or e-mail.
func (g *gen) emptyContact() error {
	g.skip("contact_empty")
	g.clear()
	g.set(fID, strconv.FormatInt(g.id(), 10))
	g.set(fType, "контакт")
	g.stamp(g.created(), false)
	g.set(fSource, g.pick(sources))
	return g.emit(g.row)
}
