package dedup

import (
	"strings"
	"unicode"
)

// NormalizeAddress folds an address into a key under which two spellings of
// one address compare equal, so that duplicates can be found by address:
//
//	"123456, г.Москва, ул.Ленина, д.5, оф.3"
//	"г. Москва, улица Ленина, дом 5, офис 3"
//
// both become "г москва ул ленина д 5 оф 3".
//
// It folds case, ё→е and look-alike letters as NormalizeText does; unifies
// the common abbreviations (г./город→г, ул./улица→ул, д./дом→д,
// пр-т/пр-кт/пр./проспект→пр, пер./переулок→пер, ш./шоссе→ш,
// обл./область→обл, р-н/район→р, к./корп./корпус→к, стр./строение→стр,
// оф./офис→оф, кв./квартира→кв, наб./набережная→наб, пл./площадь→пл,
// бул./бульвар/б-р→б-р, and a few more such as мкр, пом, эт); splits
// numbers from letters ("д.5а", "к1" → "д 5 а", "к 1"); removes the postal
// index (a 6-digit number) and the country ("Россия", "РФ", "Российская
// Федерация"). Word order is kept: "Москва город" and "город Москва" stay
// different keys.
func NormalizeAddress(s string) string {
	var toks []string
	for _, w := range foldWords(s, true) {
		if abbr, ok := addressHyphenated[w]; ok {
			toks = append(toks, abbr)
			continue
		}
		for part := range strings.SplitSeq(w, "-") {
			for _, t := range splitDigits(part) {
				t = foldHomoglyphs(t)
				if abbr, ok := addressAbbr[t]; ok {
					t = abbr
				}
				if isPostalIndex(t) {
					continue
				}
				toks = append(toks, t)
			}
		}
	}
	return strings.Join(addressNoise.remove(toks), " ")
}

// addressHyphenated holds abbreviations written with a hyphen; they are
// looked up before a word is split at its hyphens.
var addressHyphenated = map[string]string{
	"пр-т": "пр", "пр-кт": "пр", "р-н": "р", "б-р": "б-р",
	"мкр-н": "мкр", "пр-д": "проезд",
}

// addressAbbr maps every spelling of an address word to its one short
// form. Each short form maps to itself, so normalising twice is harmless.
var addressAbbr = func() map[string]string {
	groups := map[string][]string{
		"г":      {"г", "гор", "город"},
		"ул":     {"ул", "улица"},
		"д":      {"д", "дом"},
		"пр":     {"пр", "просп", "проспект"},
		"пер":    {"пер", "переулок"},
		"ш":      {"ш", "шоссе"},
		"обл":    {"обл", "область"},
		"р":      {"р", "район"},
		"к":      {"к", "корп", "корпус"},
		"стр":    {"стр", "строение"},
		"оф":     {"оф", "офис"},
		"кв":     {"кв", "квартира"},
		"наб":    {"наб", "набережная"},
		"пл":     {"пл", "площадь"},
		"б-р":    {"бул", "бульв", "бульвар"},
		"мкр":    {"мкр", "мкрн", "микрорайон"},
		"проезд": {"проезд"},
		"пом":    {"пом", "помещение"},
		"эт":     {"эт", "этаж"},
		"лит":    {"лит", "литер", "литера"},
		"вл":     {"вл", "владение"},
		"зд":     {"зд", "здание"},
		"респ":   {"респ", "республика"},
		"край":   {"край", "кр"},
		"округ":  {"округ", "окр"},
		"пос":    {"пос", "поселок", "пгт"},
		"дер":    {"дер", "деревня"},
		"с":      {"с", "село"},
		"тер":    {"тер", "территория"},
	}
	m := make(map[string]string)
	for short, spellings := range groups {
		for _, sp := range spellings {
			m[sp] = short
		}
	}
	return m
}()

// addressNoise is what an address carries that never tells two addresses
// apart in a Russian CRM: the country.
var addressNoise = newPhraseSet(
	"россия", "рф", "российская федерация",
	"russia", "russian federation",
)

// splitDigits cuts a word where digits meet letters: "5а" → "5", "а";
// "к1" → "к", "1". People write house and building numbers both ways.
func splitDigits(w string) []string {
	var parts []string
	start, prevDigit := 0, false
	for i, r := range w {
		d := unicode.IsDigit(r)
		if i > 0 && d != prevDigit {
			parts = append(parts, w[start:i])
			start = i
		}
		prevDigit = d
	}
	if start < len(w) {
		parts = append(parts, w[start:])
	}
	return parts
}

// isPostalIndex reports whether t is a Russian postal index: six ASCII digits.
func isPostalIndex(t string) bool {
	return len(t) == 6 && allDigits(t)
}
