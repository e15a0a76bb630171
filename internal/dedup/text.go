package dedup

import (
	"strings"
	"unicode"
)

// NormalizeName folds a company name into the key used to find duplicates
// and to search: two spellings of one company ("ООО «Ромашка»",
// "Ромашка, ооо", `ромашка`) must give the same key.
//
// It applies NormalizeText (lower case, ё→е, quotes and punctuation to
// spaces, Latin look-alikes inside Cyrillic words to Cyrillic) and then
// removes legal forms wherever they stand as whole words: abbreviations
// (ООО, ОАО, ЗАО, ПАО, АО, ИП, НКО, АНО, ТОО, ГУП, МУП, ФГУП, ОДО, ЧУП, …,
// LLC, Ltd, Inc, GmbH, …) and spelled-out forms ("общество с ограниченной
// ответственностью", "акционерное общество", "индивидуальный
// предприниматель", …). When the name consists of nothing but legal forms
// (a company literally called "АО"), they are kept, so that such a name
// never collapses into the empty key shared with every other empty name.
//
//	NormalizeName("ООО «Ромашка»") == "ромашка"
//	NormalizeName(`ЗАО "Ёлка-Плюс"`) == "елка плюс"
func NormalizeName(s string) string {
	words := textWords(s)
	kept := legalForms.remove(words)
	if len(kept) == 0 {
		kept = words
	}
	return strings.Join(kept, " ")
}

// NormalizeText folds free text for search and comparison — contact names,
// positions, search queries — the same way NormalizeName does, but keeps
// legal forms, because in free text "ао" or "ип" may be a word that matters.
//
// Letters are lower-cased (all of Unicode), ё becomes е, combining accents
// on Latin, Cyrillic and Greek letters are dropped (stress marks, a
// decomposed й is recomposed), invisible format characters (soft hyphen,
// zero-width space, BOM) vanish, and everything that is not a letter or a
// digit — quotes of every kind, punctuation, symbols — separates words.
// Inside a word that has Cyrillic letters, Latin letters that look like
// Cyrillic ones (a, c, e, o, p, x, …) become Cyrillic, so "Pомашка" typed
// with a Latin P still matches "Ромашка". Words are joined by single spaces.
func NormalizeText(s string) string {
	return strings.Join(textWords(s), " ")
}

// Tokens splits a normalised string into its distinct words, in order of
// first appearance, for a word-prefix search index: each token is stored
// once per record, and a query matches when each of its tokens is a prefix
// of some token of the record. Tokens does not normalise; pass the output
// of NormalizeName, NormalizeText or NormalizeAddress.
func Tokens(norm string) []string {
	fields := strings.Fields(norm)
	if len(fields) == 0 {
		return nil
	}
	seen := make(map[string]struct{}, len(fields))
	out := fields[:0]
	for _, f := range fields {
		if _, dup := seen[f]; dup {
			continue
		}
		seen[f] = struct{}{}
		out = append(out, f)
	}
	return out
}

// legalForms lists the legal forms NormalizeName removes, written as they
// read after folding (so "ООО" is "ооо"). Latin-typed "OOO" and friends are
// listed too: a word without Cyrillic letters is not folded to Cyrillic.
var legalForms = newPhraseSet(
	// Russian and CIS abbreviations.
	"ооо", "оао", "зао", "пао", "ао", "нао", "ип", "нко", "ано", "тоо",
	"гуп", "муп", "фгуп", "одо", "чуп", "чп", "кфх", "гбу", "мбу", "фгбу",
	"гау", "мау", "гку", "мку", "нп",
	// The same typed on a Latin keyboard.
	"ooo", "oao", "zao", "pao",
	// Spelled out.
	"общество с ограниченной ответственностью",
	"общество с дополнительной ответственностью",
	"товарищество с ограниченной ответственностью",
	"акционерное общество",
	"публичное акционерное общество",
	"непубличное акционерное общество",
	"закрытое акционерное общество",
	"открытое акционерное общество",
	"индивидуальный предприниматель",
	"некоммерческая организация",
	"автономная некоммерческая организация",
	"некоммерческое партнерство",
	"государственное унитарное предприятие",
	"муниципальное унитарное предприятие",
	"федеральное государственное унитарное предприятие",
	"частное унитарное предприятие",
	"частное предприятие",
	"крестьянское фермерское хозяйство",
	// Foreign forms common in Russian B2B data.
	"llc", "l l c", "ltd", "inc", "incorporated", "corp", "plc", "llp",
	"gmbh", "limited liability company",
)

// textWords is the common core of NormalizeText and NormalizeName: the
// folded words of s, Latin look-alikes already turned Cyrillic.
func textWords(s string) []string {
	words := foldWords(s, false)
	for i, w := range words {
		words[i] = foldHomoglyphs(w)
	}
	return words
}

// foldWords lower-cases s, folds ё→е, drops accents and invisible
// characters, and splits it into words of letters and digits. With hyphens
// set, a hyphen stays inside a word ("пр-т"), for callers that must see
// hyphenated abbreviations whole.
func foldWords(s string, hyphens bool) []string {
	var (
		words []string
		w     []rune
	)
	flush := func() {
		if len(w) > 0 {
			words = append(words, string(w))
			w = w[:0]
		}
	}
	for _, r := range s {
		// Below U+0300 and in the Cyrillic letters there are no marks and
		// only one format character: skip the table look-ups there.
		plain := r < 0x300 && r != '\u00ad' || r >= 0x400 && r < 0x483
		if !plain && unicode.Is(unicode.Cf, r) {
			continue // soft hyphen, zero-width space, BOM: not even a separator
		}
		if !plain && unicode.Is(unicode.M, r) {
			if len(w) == 0 {
				continue
			}
			prev := w[len(w)-1]
			switch {
			case r == '\u0306' && prev == 'и':
				w[len(w)-1] = 'й' // decomposed й
			case unicode.IsLetter(prev) && !unicode.In(prev, unicode.Latin, unicode.Cyrillic, unicode.Greek):
				// Scripts without precomposed letters need their marks.
				w = append(w, r)
			}
			// Accents on Latin, Cyrillic and Greek letters (stress marks,
			// the dots of a decomposed ё) and marks after digits, hyphens
			// or other marks are dropped.
			continue
		}
		r = toLower(r)
		switch {
		case r == 'ё' || r == 'ѐ':
			w = append(w, 'е')
		case r >= 'а' && r <= 'я' || unicode.IsLetter(r) || unicode.IsDigit(r):
			w = append(w, r)
		case hyphens && (r == '-' || r == '\u2010' || r == '\u2011'):
			w = append(w, '-')
		default:
			flush()
		}
	}
	flush()
	return words
}

// toLower is unicode.ToLower with a fast path for the Russian alphabet.
func toLower(r rune) rune {
	switch {
	case r >= 'А' && r <= 'Я':
		return r + ('а' - 'А')
	case r >= 'а' && r <= 'я':
		return r
	}
	return unicode.ToLower(r)
}

// cyrillicLookalike maps lower-case Latin letters to the Cyrillic letters
// they are mistaken for (mostly in upper case, which is folded already):
// A B C E H K M O P T X Y and a c e o p x y.
var cyrillicLookalike = map[rune]rune{
	'a': 'а', 'b': 'в', 'c': 'с', 'e': 'е', 'h': 'н', 'k': 'к',
	'm': 'м', 'o': 'о', 'p': 'р', 't': 'т', 'x': 'х', 'y': 'у',
}

// foldHomoglyphs turns Latin look-alikes in a mostly Cyrillic word into
// Cyrillic. It acts only when the word has a Cyrillic letter and every Latin
// letter in it has a look-alike; a genuinely mixed word ("crmпрофи") and a
// Latin word ("ooo") are left alone.
func foldHomoglyphs(w string) string {
	hasCyrillic, hasLatin := false, false
	for _, r := range w {
		switch {
		case r >= 'а' && r <= 'я':
			hasCyrillic = true
		case r < 0x80 && !(r >= 'a' && r <= 'z'):
			// ASCII digits and hyphens belong to no script.
		case unicode.Is(unicode.Cyrillic, r):
			hasCyrillic = true
		case unicode.Is(unicode.Latin, r):
			if _, ok := cyrillicLookalike[r]; !ok {
				return w
			}
			hasLatin = true
		}
	}
	if !hasCyrillic || !hasLatin {
		return w
	}
	return strings.Map(func(r rune) rune {
		if c, ok := cyrillicLookalike[r]; ok {
			return c
		}
		return r
	}, w)
}

// phraseSet is a set of word sequences to be removed from a word list.
type phraseSet struct {
	byLast map[string][][]string // last word → phrases ending in it, longest first
}

// newPhraseSet builds a phraseSet from phrases, folding each one the way
// the input will be folded so the two always compare equal.
func newPhraseSet(phrases ...string) phraseSet {
	p := phraseSet{byLast: make(map[string][][]string)}
	for _, ph := range phrases {
		words := textWords(ph)
		last := words[len(words)-1]
		list := append(p.byLast[last], words)
		for i := len(list) - 1; i > 0 && len(list[i]) > len(list[i-1]); i-- {
			list[i], list[i-1] = list[i-1], list[i]
		}
		p.byLast[last] = list
	}
	return p
}

// remove returns a new slice with every occurrence of a phrase taken out of
// words. It works like a stack: after each word is pushed, a phrase ending
// at the top is popped, longest first. Removing a phrase can bring two
// pieces of another together ("акционерное ооо общество"); the stack
// catches that too, so the result contains no phrase at all and removing
// again changes nothing — which keeps the normalisers idempotent.
func (p phraseSet) remove(words []string) []string {
	out := make([]string, 0, len(words))
	for _, w := range words {
		out = append(out, w)
		for _, ph := range p.byLast[w] {
			if n := len(out) - len(ph); n >= 0 && equalWords(out[n:], ph) {
				out = out[:n]
				break
			}
		}
	}
	return out
}

func equalWords(a, b []string) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}
