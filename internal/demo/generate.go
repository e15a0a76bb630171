// Package demo makes plausible Russian B2B data — companies with valid
// ИНН/КПП/ОГРН, contacts, notes — for the demo base and the benchmark.
// Generation is deterministic for a seed, so figures are comparable.
package demo

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// Phone is a phone number as a person typed it.
type Phone struct {
	Value, Kind, Comment string
}

// Company is one generated company.
type Company struct {
	Name, LegalName, INN, KPP, OGRN, Address, Website string
	Phones                                            []Phone
	Emails                                            []string
}

// Contact is one generated person.
type Contact struct {
	LastName, FirstName, MiddleName, Position string
	Phones                                    []Phone
	Emails                                    []string
}

// Generator produces data from a seeded random source.
type Generator struct {
	rnd *rand.Rand
}

// New returns a Generator; the same seed gives the same data.
func New(seed uint64) *Generator {
	return &Generator{rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))} //nolint:gosec // demo data, not secrets
}

func (g *Generator) pick(list []string) string { return list[g.rnd.IntN(len(list))] }

// Company returns the i-th company. Its ИНН is unique for i below nine
// million; names repeat across companies the way real names do.
func (g *Generator) Company(i int) Company {
	c := cities[g.rnd.IntN(len(cities))]
	form := legalForms[g.rnd.IntN(len(legalForms))]
	brand := g.pick(companyFirst) + " " + g.pick(companySecond)
	if g.rnd.IntN(4) == 0 {
		brand = g.pick(companySecond) + "-" + strconv.Itoa(g.rnd.IntN(90)+10)
	}
	var co Company
	office := 10 + (i/100000)%90
	serial := i % 100000
	if form.short == "ИП" {
		last, first, middle := g.person()
		co.Name = "ИП " + last + " " + string([]rune(first)[0]) + "." + string([]rune(middle)[0]) + "."
		co.LegalName = form.long + " " + last + " " + first + " " + middle
		co.INN = personINN(c.region, office, serial)
		co.OGRN = ogrnip(c.region, i)
	} else {
		co.Name = form.short + " «" + brand + "»"
		co.LegalName = form.long + " «" + brand + "»"
		co.INN = orgINN(c.region, office, serial)
		co.KPP = fmt.Sprintf("%s%02d01001", c.region, office)
		co.OGRN = ogrn(c.region, i)
	}
	co.Address = fmt.Sprintf("%d, г. %s, ул. %s, д. %d", 100000+g.rnd.IntN(900000), c.name, g.pick(c.streets), 1+g.rnd.IntN(150))
	if g.rnd.IntN(3) == 0 {
		co.Address += fmt.Sprintf(", оф. %d", 1+g.rnd.IntN(400))
	}
	domain := translit(brand) + ".ru"
	if g.rnd.IntN(2) == 0 {
		co.Website = "https://" + domain
	}
	co.Phones = append(co.Phones, Phone{Value: g.phone(c.area), Kind: "work", Comment: "приёмная"})
	if g.rnd.IntN(2) == 0 {
		co.Phones = append(co.Phones, Phone{Value: g.phone(c.area), Kind: "work_direct", Comment: "отдел снабжения"})
	}
	co.Emails = append(co.Emails, "info@"+domain)
	return co
}

// Contact returns a person with a position, a mobile phone and an e-mail.
func (g *Generator) Contact() Contact {
	last, first, middle := g.person()
	p := Contact{LastName: last, FirstName: first, MiddleName: middle, Position: g.pick(positions)}
	p.Phones = []Phone{{Value: g.phone("9" + strconv.Itoa(10+g.rnd.IntN(90))), Kind: "mobile"}}
	if g.rnd.IntN(3) > 0 {
		p.Emails = []string{translit(first)[:1] + "." + translit(last) + strconv.Itoa(g.rnd.IntN(100)) + "@mail.ru"}
	}
	return p
}

// NoteText returns a short note of the kind sales staff write.
func (g *Generator) NoteText() string { return strings.ReplaceAll(g.pick(noteTexts), "%%", "%") }

// Intn returns a number in [0, n), for callers that spread data over users.
func (g *Generator) Intn(n int) int { return g.rnd.IntN(n) }

func (g *Generator) person() (last, first, middle string) {
	last = g.pick(lastNames)
	root := g.pick(patronymicRoots)
	if g.rnd.IntN(2) == 0 {
		return last, g.pick(maleFirst), root + "ич"
	}
	if strings.HasSuffix(last, "ий") {
		last = strings.TrimSuffix(last, "ий") + "ая"
	} else {
		last += "а"
	}
	return last, g.pick(femaleFirst), root + "на"
}

// phone formats a number the many ways people type them, so the data
// exercises the normaliser.
func (g *Generator) phone(area string) string {
	for len(area) < 3 {
		area += "0"
	}
	n := fmt.Sprintf("%03d%02d%02d", g.rnd.IntN(900)+100, g.rnd.IntN(100), g.rnd.IntN(100))
	switch g.rnd.IntN(4) {
	case 0:
		return "8 (" + area + ") " + n[:3] + "-" + n[3:5] + "-" + n[5:]
	case 1:
		return "+7 " + area + " " + n
	case 2:
		return "8" + area + n
	default:
		return "+7 (" + area + ") " + n[:3] + "-" + n[3:5] + "-" + n[5:]
	}
}

// orgINN builds a valid 10-digit ИНН of an organisation.
func orgINN(region string, office, serial int) string {
	base := fmt.Sprintf("%s%02d%05d", region, office, serial)
	return base + strconv.Itoa(checkDigit(base, []int{2, 4, 10, 3, 5, 9, 4, 6, 8}))
}

// personINN builds a valid 12-digit ИНН of an individual entrepreneur.
func personINN(region string, office, serial int) string {
	base := fmt.Sprintf("%s%02d%06d", region, office, serial)
	base += strconv.Itoa(checkDigit(base, []int{7, 2, 4, 10, 3, 5, 9, 4, 6, 8}))
	return base + strconv.Itoa(checkDigit(base, []int{3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8}))
}

func checkDigit(digits string, weights []int) int {
	sum := 0
	for i, w := range weights {
		sum += int(digits[i]-'0') * w
	}
	return sum % 11 % 10
}

// ogrn builds a valid 13-digit ОГРН: sign 1, year, region, serial, check.
func ogrn(region string, i int) string {
	base := fmt.Sprintf("1%02d%s%07d", 2+i%22, region, i%10000000)
	n, _ := strconv.ParseInt(base, 10, 64)
	return base + strconv.FormatInt(n%11%10, 10)
}

// ogrnip builds a valid 15-digit ОГРНИП: sign 3, year, region, serial, check.
func ogrnip(region string, i int) string {
	base := fmt.Sprintf("3%02d%s%09d", 4+i%20, region, i%1000000000)
	n, _ := strconv.ParseInt(base, 10, 64)
	return base + strconv.FormatInt(n%13%10, 10)
}

var translitTable = map[rune]string{
	'а': "a", 'б': "b", 'в': "v", 'г': "g", 'д': "d", 'е': "e", 'ё': "e", 'ж': "zh", 'з': "z", 'и': "i",
	'й': "y", 'к': "k", 'л': "l", 'м': "m", 'н': "n", 'о': "o", 'п': "p", 'р': "r", 'с': "s", 'т': "t",
	'у': "u", 'ф': "f", 'х': "kh", 'ц': "ts", 'ч': "ch", 'ш': "sh", 'щ': "sch", 'ъ': "", 'ы': "y", 'ь': "",
	'э': "e", 'ю': "yu", 'я': "ya",
}

// translit writes a Russian phrase in Latin letters for domains and e-mails.
func translit(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case translitTable[r] != "":
			b.WriteString(translitTable[r])
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-':
			b.WriteRune('-')
		}
	}
	return strings.Trim(b.String(), "-")
}
