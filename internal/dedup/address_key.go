package dedup

import (
	"slices"
	"strings"
)

// AddressKey is the key two spellings of one address share, for the
// duplicate check: «г. Москва, ул. Ленина, д. 5» and «Москва, Ленина ул,
// дом 5» give the same key. It starts from NormalizeAddress (abbreviations,
// postcode, country, ё/е, punctuation), then drops the words that only
// name a kind of place (г, ул, обл, р, край, респ, пр, пер, …) — people
// put them before or after the name, or leave them out — keeps each
// number with what it numbers (a house number stands alone, "к2",
// "стр1", "оф3"), and sorts the parts, because the order of city, street
// and region varies from one form to the next.
//
// Unlike NormalizeAddress it is not meant for display or word search:
// the street kind is lost ("ул мира" and "пр мира" give one key), which a
// duplicate signal can afford and a search could not.
func AddressKey(s string) string {
	toks := strings.Fields(NormalizeAddress(s))
	var parts []string
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if _, ok := addressPlaceKinds[t]; ok {
			continue
		}
		if _, ok := addressNumbered[t]; ok {
			if i+1 < len(toks) && isDigits(toks[i+1]) {
				n := toks[i+1]
				i++
				if t != "д" && t != "вл" {
					n = t + n
				}
				if i+1 < len(toks) && isLetterSuffix(toks[i+1]) {
					n += toks[i+1]
					i++
				}
				parts = append(parts, n)
			}
			continue
		}
		if isDigits(t) && i+1 < len(toks) && isLetterSuffix(toks[i+1]) {
			// «5 а» after splitting «5а»: one house number.
			_, numbered := addressNumbered[toks[i+1]]
			if !numbered {
				parts = append(parts, t+toks[i+1])
				i++
				continue
			}
		}
		parts = append(parts, t)
	}
	slices.Sort(parts)
	return strings.Join(slices.Compact(parts), " ")
}

// addressPlaceKinds are the abbreviations (after NormalizeAddress) that
// say what kind of place a name is.
var addressPlaceKinds = setOf("г", "ул", "обл", "р", "пр", "пер", "ш", "наб", "пл", "б-р", "мкр",
	"проезд", "респ", "край", "ао", "округ", "пос", "п", "с", "дер", "тер", "х", "ст")

// addressNumbered are the abbreviations that number a part of a building.
var addressNumbered = setOf("д", "к", "стр", "оф", "кв", "пом", "эт", "лит", "вл", "зд")

func setOf(words ...string) map[string]struct{} {
	m := make(map[string]struct{}, len(words))
	for _, w := range words {
		m[w] = struct{}{}
	}
	return m
}

func isDigits(s string) bool { return s != "" && allDigits(s) }

// isLetterSuffix reports a one-letter house suffix («5а», «16б»).
func isLetterSuffix(s string) bool {
	r := []rune(s)
	return len(r) == 1 && r[0] >= 'а' && r[0] <= 'я'
}
