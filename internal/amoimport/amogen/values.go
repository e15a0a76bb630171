package amogen

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/crmprofi/crm/internal/dedup"
)

// company is one real-world company of the export, as the generator
// knows it; its rows write it in their own spellings.
type company struct {
	form    string // ООО, АО, ПАО or ИП
	core    string // the name inside the quotes; an ИП's full name
	inn     string // valid, or "" (the company has none in amoCRM)
	kpp     string
	ogrn    string
	address string
	city    string
	web     string
	domain  string
	phones  []string // national numbers, ten digits
	emails  []string
	zero    bool // the ИНН starts with 0 (regions 01–09)
	// usable: the company's first row gave the importer a valid ИНН, so
	// rows matching it by ИНН join it.
	usable bool
	// spelling is the name as its first row wrote it.
	spelling string
}

// name is the company's plain name: «ООО «Ламиро»», «ИП Иванов Иван Иванович».
func (c *company) name() string {
	if c.form == "ИП" {
		return "ИП " + c.core
	}
	return c.form + " «" + c.core + "»"
}

// newCompany takes the next company from the demo generator and makes
// its name unique (a coined word), so that the generator knows which
// references are ambiguous without remembering every name.
func (g *gen) newCompany(zeroRegion bool) *company {
	k := g.nextK
	g.nextK++
	dc := g.demo.Company(k)
	c := &company{inn: dc.INN, kpp: dc.KPP, ogrn: dc.OGRN, address: dc.Address}
	c.form, _, _ = strings.Cut(dc.Name, " ")
	if c.form == "ИП" {
		c.core = strings.TrimPrefix(dc.LegalName, "Индивидуальный предприниматель ")
	} else {
		word := coined(k - g.opt.FirstCompany)
		c.core = word
		if _, brand, ok := strings.Cut(dc.Name, "«"); ok && g.chance(0.5) {
			c.core = strings.TrimSuffix(brand, "»") + " " + word
		}
	}
	if _, rest, ok := strings.Cut(c.address, "г. "); ok {
		c.city, _, _ = strings.Cut(rest, ",")
	}
	for _, e := range dc.Emails {
		_, c.domain, _ = strings.Cut(e, "@")
	}
	c.domain = translitWord(coined(k-g.opt.FirstCompany)) + "-" + c.domain
	if g.chance(0.6) {
		c.web = g.pick([]string{"https://", "http://www.", "www.", ""}) + c.domain
	}
	for _, p := range dc.Phones {
		c.phones = append(c.phones, national(p.Value))
	}
	if g.chance(0.2) {
		area := g.pick(longAreas)
		c.phones[0] = area + fmt.Sprintf("%06d", g.rnd.IntN(1_000_000))
	}
	c.emails = []string{g.pick([]string{"info", "office", "sales", "zakaz", "snab", "buh"}) + "@" + c.domain}
	if g.chance(0.3) {
		c.emails = append(c.emails, g.pick([]string{"zakupki", "mail", "secretary"})+"@"+c.domain)
	}
	if zeroRegion {
		c.toZeroRegion(g.pick([]string{"02", "03", "05", "07", "09"}))
	}
	if !g.chance(0.65) {
		c.inn, c.kpp = "", ""
	}
	if c.form == "ИП" {
		c.kpp = ""
	}
	return c
}

// toZeroRegion moves the company to a region whose code starts with 0:
// its ИНН, КПП and ОГРН then start with (or hold) a zero that Excel drops.
func (c *company) toZeroRegion(region string) {
	c.zero = true
	n := len(c.inn)
	c.inn = withCheck(region+c.inn[2:n-checks(n)], n, dedup.ValidateINN)
	if c.kpp != "" {
		c.kpp = c.inn[:4] + c.kpp[4:]
	}
	c.ogrn = withCheck(c.ogrn[:3]+region+c.ogrn[5:len(c.ogrn)-1], len(c.ogrn), dedup.ValidateOGRN)
}

func checks(n int) int {
	if n == 12 {
		return 2
	}
	return 1
}

// withCheck completes prefix to n digits with the check digits that make
// valid accept it (found by trying them: the algorithms live in dedup).
func withCheck(prefix string, n int, valid func(string) string) string {
	if len(prefix) == n-1 {
		for d := range 10 {
			if s := prefix + strconv.Itoa(d); valid(s) == "" {
				return s
			}
		}
	}
	for d := range 100 {
		if s := prefix + fmt.Sprintf("%02d", d); valid(s) == "" {
			return s
		}
	}
	panic("amogen: no check digits for " + prefix)
}

// coined makes a unique company word of two-letter syllables from i:
// «Ламиро», «Бетуфа». Distinct i give distinct words (three syllables,
// then four, …); a bijective shuffle spreads neighbours apart.
func coined(i int) string {
	const consonants = "бвгдзклмнпрстфх"
	const vowels = "аеиоуя"
	cs, vs := []rune(consonants), []rune(vowels)
	base := len(cs) * len(vs) // 90: coprime with 7919
	n := 3
	lim := base * base * base
	for ; i >= lim; lim *= base {
		i -= lim
		n++
	}
	i = (i*7919 + 4099) % lim
	var b strings.Builder
	syll := make([]int, n)
	for j := n - 1; j >= 0; j-- {
		syll[j] = i % base
		i /= base
	}
	for j, s := range syll {
		c := cs[s/len(vs)]
		if j == 0 {
			c = unicode.ToUpper(c)
		}
		b.WriteRune(c)
		b.WriteRune(vs[s%len(vs)])
	}
	return b.String()
}

var latin = map[rune]string{
	'а': "a", 'б': "b", 'в': "v", 'г': "g", 'д': "d", 'е': "e", 'з': "z", 'и': "i", 'к': "k", 'л': "l",
	'м': "m", 'н': "n", 'о': "o", 'п': "p", 'р': "r", 'с': "s", 'т': "t", 'у': "u", 'ф': "f", 'х': "h", 'я': "ya",
}

// translitWord writes a coined word in Latin letters for its domain.
func translitWord(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		b.WriteString(latin[r])
	}
	return b.String()
}

// national is the ten-digit national number of a phone as demo typed it.
func national(s string) string {
	var d []byte
	for i := range len(s) {
		if s[i] >= '0' && s[i] <= '9' {
			d = append(d, s[i])
		}
	}
	if len(d) > 10 {
		d = d[len(d)-10:]
	}
	return string(d)
}

// phone types a national number one of the ways of amo-format §3.
func (g *gen) phone(n string) string {
	var a, r1, r2, r3 string
	if slices.Contains(longAreas, n[:4]) {
		a, r1, r2, r3 = n[:4], n[4:6], n[6:8], n[8:]
	} else {
		a, r1, r2, r3 = n[:3], n[3:6], n[6:8], n[8:]
	}
	plus := "+7"
	if g.excel {
		plus = "7" // Excel took the number for a number
	}
	switch g.rnd.IntN(11) {
	case 0:
		return "8 (" + a + ") " + r1 + "-" + r2 + "-" + r3
	case 1:
		return "+7 " + a + " " + r1 + "-" + r2 + "-" + r3
	case 2:
		return "8 " + a + " " + r1 + " " + r2 + " " + r3
	case 3:
		return "8" + n
	case 4:
		return plus + n
	case 5:
		return "7" + n
	case 6:
		return "(" + a + ") " + r1 + "-" + r2 + "-" + r3
	case 7:
		return "8-" + a + "-" + r1 + "-" + r2 + "-" + r3
	case 8:
		return "+7(" + a + ")" + r1 + r2 + r3
	case 9:
		return "+7-" + a + "-" + r1 + "-" + r2 + "-" + r3
	default:
		return "+7 (" + a + ") " + r1 + "-" + r2 + "-" + r3
	}
}

// extension adds an extension the ways people write one.
func (g *gen) extension(p string) string {
	g.sum.PhonesWithExtension++
	n := 10 + g.rnd.IntN(9990)
	return p + fmt.Sprintf(g.pick([]string{" доб. %d", " доб.%d", ", доб. %d", " (доб. %d)", " вн. %d", " ext. %d", " #%d"}), n)
}

// joinValues joins several values into one cell with a separator amoCRM
// or a person used.
func (g *gen) joinValues(list []string, seps ...string) string {
	if len(list) < 2 {
		return strings.Join(list, "")
	}
	g.sum.MultiValueCells++
	sep := g.pick(seps)
	if strings.Contains(sep, "\n") {
		g.sum.MultiLineCells++
	}
	return strings.Join(list, sep)
}

// scientific writes digits as Excel's General format shows a long
// number: six significant digits, a decimal comma, «7,72031E+09». ok is
// false when that keeps every digit (the number would be recoverable).
func scientific(digits string) (string, bool) {
	v, err := strconv.ParseFloat(digits, 64)
	if err != nil {
		return digits, false
	}
	s := strconv.FormatFloat(v, 'E', 5, 64)
	mant, exp, _ := strings.Cut(s, "E")
	mant = strings.TrimRight(strings.TrimRight(mant, "0"), ".")
	kept := len(strings.ReplaceAll(mant, ".", ""))
	significant := len(strings.TrimRight(digits, "0"))
	return strings.Replace(mant, ".", ",", 1) + "E" + exp, kept < significant
}

// noteText is a note as sales staff write them, sometimes over several
// lines (a pasted letter).
func (g *gen) noteText() string {
	switch g.rnd.IntN(4) {
	case 0:
		g.sum.MultiLineCells++
		return "Письмо от клиента:\n> Добрый день! Просим выставить счёт на " + g.pick(goods) +
			".\n> С уважением, отдел снабжения"
	case 1:
		g.sum.MultiLineCells++
		return fmt.Sprintf("Встреча на объекте %s.\nОбсудили объём: %d т, сроки — %d недели.\nСледующий шаг: КП.",
			exportTime.AddDate(0, 0, -g.rnd.IntN(2000)).Format("02.01.2006"), 10+g.rnd.IntN(490), 2+g.rnd.IntN(6))
	case 2:
		return fmt.Sprintf("Клиент работает с конкурентом (\"%s\"), цена выше на %d%%.",
			g.pick([]string{"ПромРесурс", "МеталлСнаб", "ТД Интерпром", "Стальной двор"}), 2+g.rnd.IntN(12))
	default:
		return g.demo.NoteText()
	}
}

// hugeNote is a pasted e-mail thread longer than limit characters.
func (g *gen) hugeNote(limit int) string {
	var b strings.Builder
	b.WriteString("Переписка (вставлено из почты):\n")
	for n := 0; n <= limit; {
		line := fmt.Sprintf("> %d. %s\n>> %s\n", n, g.demo.NoteText(), g.noteText())
		n += utf8.RuneCountInString(line)
		b.WriteString(line)
	}
	return b.String()
}

// longAreas are four-digit area codes (their numbers have six digits).
var longAreas = []string{"3812", "8722", "3012", "4012", "3452", "8662", "4967", "8636"}

var goods = []string{"арматуру", "трубы ВГП", "кабель ВВГнг-LS 3x2,5", "фасадные панели", "насосное оборудование",
	"запорную арматуру", "металлопрокат", "спецодежду", "ПО для автоматизации склада"}

var tags = []string{"VIP", "Постоянный клиент", "Конкурент", "Партнер", "Входящий", "Сайт", "Тендер", "44-ФЗ", "223-ФЗ",
	"Холодный звонок", "Новая CRM", "Дилер"}

var spheres = []string{"Строительство", "Энергетика", "Машиностроение", "Металлургия", "Логистика", "IT", "Медицина",
	"Сельское хозяйство", "Образование", "ЖКХ", "Ритейл", "HoReCa", "Нефтегаз", "Химия", "Финансы", "Госсектор"}

var sources = []string{"Сайт", "Яндекс.Директ", "Холодный звонок", "Партнер", "Рекомендация", "Выставка",
	"Входящий звонок", "Тендерная площадка", "Email-рассылка"}

var deals = []string{"Поставка арматура…", "Допродажа", "Заявка с сайта", "Сервисный договор…", "Тендер 44-ФЗ труб…",
	"Тендер 223-ФЗ ПО …", "Поставка трубы ВГП", "Поставка кабель В…"}

var branchCities = []string{"Санкт-Петербург", "Казань", "Екатеринбург", "Новосибирск", "Самара", "Ростов-на-Дону",
	"Краснодар", "Воронеж", "Пермь", "Омск"}
