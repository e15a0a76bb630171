package dedup

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// AddressKey is the key two spellings of one address share, for the
// duplicate check: «г. Москва, ул. Ленина, д. 5» and «Москва, Ленина ул,
// дом 5» give the same key. It starts from NormalizeAddress (abbreviations,
// postcode, country, ё/е, punctuation), then drops the words that only
// name a kind of place (г, ул, обл, р, край, респ, пр, пер, …) — people
// put them before or after the name, or leave them out — keeps each
// number with what it numbers (a house number stands alone, "к2",
// "стр1", "оф3", a house letter joins its number: "5а"), drops a lone
// letter, and sorts the parts, because the order of city, street
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
				if i+1 < len(toks) && isHouseLetter(toks[i+1]) {
					n += toks[i+1]
					i++
				}
				parts = append(parts, n)
			}
			continue
		}
		if isDigits(t) && i+1 < len(toks) && isHouseLetter(toks[i+1]) {
			// «5 а» after splitting «5а»: one house number.
			parts = append(parts, t+toks[i+1])
			i++
			continue
		}
		if isHouseLetter(t) {
			// A letter that follows no number says nothing (and, kept,
			// could end up after a number in the sorted key and join it).
			continue
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

// isHouseLetter reports a one-letter house suffix («5а», «16б») — any one
// letter that is not itself an abbreviation (к, д, с, …).
func isHouseLetter(s string) bool {
	r, size := utf8.DecodeRuneInString(s)
	if size != len(s) || !unicode.IsLetter(r) {
		return false
	}
	_, numbered := addressNumbered[s]
	_, kind := addressPlaceKinds[s]
	return !numbered && !kind
}
