// Package russian declines Russian personal names for the phrases the
// product shows («уже есть у Веры Поповой»). One implementation, used by
// the pages and by the JSON the browser's scripts render.
package russian

import (
	"regexp"
	"strings"
)

var (
	cyrillicWord     = regexp.MustCompile(`^[А-ЯЁа-яё-]+$`)
	femaleSurname    = regexp.MustCompile(`(ова|ева|ёва|ина|ына|ая|яя)$`)
	maleSurname      = regexp.MustCompile(`(ов|ев|ёв|ин|ын|ий|ый|ой)$`)
	femalePossessive = regexp.MustCompile(`(ова|ева|ёва|ина|ына)$`)
	hushingA         = regexp.MustCompile(`[гкхжшщч]а$`)
	hardConsonant    = regexp.MustCompile(`[бвгджзклмнпрстфхцчшщ]$`)
	velarIj          = regexp.MustCompile(`[кгх]ий$`)
)

// maleInA are men's names that end in -а/-я like women's.
var maleInA = map[string]bool{"никита": true, "илья": true, "кузьма": true, "фома": true, "лука": true,
	"савва": true, "данила": true, "гаврила": true, "фока": true}

// femaleInSoft are women's names that end in -ь.
var femaleInSoft = map[string]bool{"любовь": true, "нинель": true, "адель": true}

// Genitive turns «Вера Попова» into «Веры Поповой», for «уже есть у …».
// It knows the common endings of Russian first names and surnames; a
// name it does not know, or anything but «Имя Фамилия» in Cyrillic, stays
// as it is: the nominative reads better than a wrong ending.
func Genitive(full string) string {
	parts := strings.Fields(full)
	if len(parts) != 2 || !cyrillicWord.MatchString(parts[0]+parts[1]) {
		return full
	}
	first, last := parts[0], parts[1]
	female := false
	switch {
	case femaleSurname.MatchString(last):
		female = true
	case maleSurname.MatchString(last):
	default:
		lower := strings.ToLower(first)
		female = femaleInSoft[lower] || (strings.HasSuffix(first, "а") || strings.HasSuffix(first, "я")) && !maleInA[lower]
	}
	return genitiveFirst(first, female) + " " + genitiveLast(last, female)
}

func trimLast(w string, n int) string {
	r := []rune(w)
	return string(r[:len(r)-n])
}

func genitiveA(w string) string {
	if strings.HasSuffix(w, "я") || hushingA.MatchString(w) {
		return trimLast(w, 1) + "и"
	}
	return trimLast(w, 1) + "ы"
}

// fleetingFirst are men's names that lose a vowel: Павел → Павла.
var fleetingFirst = map[string]string{"Пётр": "Петра", "Петр": "Петра", "Павел": "Павла", "Лев": "Льва"}

func genitiveFirst(w string, female bool) string {
	if g, ok := fleetingFirst[w]; ok && !female {
		return g
	}
	switch {
	case strings.HasSuffix(w, "а"), strings.HasSuffix(w, "я"):
		return genitiveA(w)
	case strings.HasSuffix(w, "й"):
		return trimLast(w, 1) + "я"
	case strings.HasSuffix(w, "ь") && female:
		return trimLast(w, 1) + "и"
	case strings.HasSuffix(w, "ь"):
		return trimLast(w, 1) + "я"
	case !female && hardConsonant.MatchString(w):
		return w + "а"
	}
	return w
}

func genitiveLast(w string, female bool) string {
	if female {
		switch {
		case femalePossessive.MatchString(w):
			return trimLast(w, 1) + "ой"
		case strings.HasSuffix(w, "ая"):
			return trimLast(w, 2) + "ой"
		case strings.HasSuffix(w, "яя"):
			return trimLast(w, 2) + "ей"
		}
		return w
	}
	switch {
	case velarIj.MatchString(w):
		return trimLast(w, 2) + "ого"
	case strings.HasSuffix(w, "ий"):
		return trimLast(w, 2) + "его"
	case strings.HasSuffix(w, "ый"), strings.HasSuffix(w, "ой"):
		return trimLast(w, 2) + "ого"
	case strings.HasSuffix(w, "ых"), strings.HasSuffix(w, "их"):
		return w
	case strings.HasSuffix(w, "а"), strings.HasSuffix(w, "я"):
		return genitiveA(w)
	case strings.HasSuffix(w, "й"), strings.HasSuffix(w, "ь"):
		return trimLast(w, 1) + "я"
	case hardConsonant.MatchString(w):
		return w + "а"
	}
	return w
}
