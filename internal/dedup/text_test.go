package dedup

import (
	"slices"
	"testing"
)

func TestNormalizeName(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"guillemets and ООО are removed", "ООО «Ромашка»", "ромашка"},
		{"straight quotes, ЗАО, ё and a hyphen are folded", `ЗАО "Ёлка-Плюс"`, "елка плюс"},
		{"a quote glued to the legal form still separates it", "ООО«Ромашка»", "ромашка"},
		{"curly and low quotes are removed", "ПАО „Газ“ “Нефть”", "газ нефть"},
		{"single quotes and backticks are removed", "АО 'Вектор' `Плюс`", "вектор плюс"},
		{"a legal form at the end is removed", "Ромашка, ООО", "ромашка"},
		{"a legal form in the middle is removed", "Ромашка ООО Трейд", "ромашка трейд"},
		{"a spelled-out form is removed", "Общество с ограниченной ответственностью «Ромашка»", "ромашка"},
		{"the longer spelled-out form wins over the shorter one", "Публичное акционерное общество «Сбербанк России»", "сбербанк россии"},
		{"закрытое акционерное общество is removed", "Закрытое акционерное общество Вега", "вега"},
		{"открытое акционерное общество is removed", "открытое акционерное общество Вега", "вега"},
		{"акционерное общество is removed", "Акционерное общество «Вега»", "вега"},
		{"индивидуальный предприниматель is removed", "Индивидуальный предприниматель Иванов И. И.", "иванов и и"},
		{"ИП is removed", "ИП Иванов Иван Иванович", "иванов иван иванович"},
		{"every listed abbreviation is removed", "ОАО НКО АНО ТОО ГУП МУП ФГУП ОДО ЧУП Вега", "вега"},
		{"Latin legal forms are removed", "Acme LLC", "acme"},
		{"Ltd with a dot is removed", "Acme Trading Co., Ltd.", "acme trading co"},
		{"Inc and GmbH are removed", "Acme Inc. Siemens GmbH", "acme siemens"},
		{"OOO typed in Latin letters is removed", "OOO Ромашка", "ромашка"},
		{"OOO mixing Latin and Cyrillic is removed", "OОO Ромашка", "ромашка"},
		{"a Latin look-alike inside a Cyrillic word becomes Cyrillic", "Pомашка", "ромашка"},
		{"a mixed word with a letter that has no look-alike is kept", "CRMпрофи", "crmпрофи"},
		{"removing one form that joins another removes both", "Акционерное ООО общество Вега", "вега"},
		{"a legal form inside a word is kept", "Аокс Ипотека", "аокс ипотека"},
		{"a word of a spelled-out form alone is kept", "Общество охотников", "общество охотников"},
		{"a name of nothing but legal forms is kept", "АО", "ао"},
		{"a name of nothing but spelled-out forms is kept", "ООО Акционерное общество", "ооо акционерное общество"},
		{"spaces are collapsed and trimmed", "  ООО   Ромашка \t\n Плюс ", "ромашка плюс"},
		{"punctuation becomes spaces", "Ромашка+Плюс/Юг (Москва)!", "ромашка плюс юг москва"},
		{"digits are kept", "Завод №1", "завод 1"},
		{"a stress mark is dropped", "Рома́шка", "ромашка"},
		{"a decomposed ё becomes е", "Е\u0308лка", "елка"},
		{"a decomposed й is recomposed", "Чаи\u0306ка", "чайка"},
		{"a soft hyphen does not split a word", "Рома\u00adшка", "ромашка"},
		{"a non-breaking space separates words", "Ромашка\u00a0Плюс", "ромашка плюс"},
		{"the empty string stays empty", "", ""},
		{"only punctuation becomes empty", "«—»", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NormalizeName(tt.in); got != tt.want {
				t.Errorf("NormalizeName(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestNormalizeText(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"legal forms are kept", "ООО «Ромашка»", "ооо ромашка"},
		{"case and ё are folded", "Пётр ЁЖИКОВ", "петр ежиков"},
		{"quotes and punctuation become spaces", `Иванов, "Пётр" (директор)`, "иванов петр директор"},
		{"a hyphenated word is split", "Генеральный директор-распорядитель", "генеральный директор распорядитель"},
		{"Latin text is lower-cased", "Sales Manager", "sales manager"},
		{"an apostrophe separates words", "O'Reilly", "o reilly"},
		{"a Latin look-alike in a Cyrillic word becomes Cyrillic", "Boрис", "ворис"},
		{"an accented Latin letter is kept", "Café", "café"},
		{"a decomposed Latin accent is dropped", "Cafe\u0301", "cafe"},
		{"marks of scripts without precomposed letters are kept", "हिन्दी", "हिन्दी"},
		{"whitespace is collapsed", " a \t b\n\nc ", "a b c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NormalizeText(tt.in); got != tt.want {
				t.Errorf("NormalizeText(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestTokens(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"words are split on spaces", "ромашка плюс юг", []string{"ромашка", "плюс", "юг"}},
		{"repeated words appear once in first order", "плюс ромашка плюс юг ромашка", []string{"плюс", "ромашка", "юг"}},
		{"extra spaces are ignored", "  а   б ", []string{"а", "б"}},
		{"an empty string has no tokens", "", nil},
		{"blank input has no tokens", "   ", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Tokens(tt.in); !slices.Equal(got, tt.want) {
				t.Errorf("Tokens(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestNormalizeNameAndTextAgreeOnWords(t *testing.T) {
	// Search normalises a query with NormalizeText and looks it up among
	// names normalised with NormalizeName; apart from legal forms, the two
	// must produce the same words.
	for _, in := range []string{"Ромашка-Плюс", "«Ёлка» 2000", "Pомашка", "Café «Du Monde»"} {
		t.Run(in+" folds the same way in both", func(t *testing.T) {
			if n, x := NormalizeName(in), NormalizeText(in); n != x {
				t.Errorf("NormalizeName(%q) = %q, NormalizeText = %q", in, n, x)
			}
		})
	}
}

func FuzzNormalizeName(f *testing.F) {
	for _, s := range []string{
		"ООО «Ромашка»", `ЗАО "Ёлка-Плюс"`, "Акционерное ООО общество", "АО", "OОO Pомашка",
		"Е\u0308лка", "Чаи\u0306ка", "हिन्दी", "Cafe\u0301", "Рома\u00adшка", "\xff\xfe",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		once := NormalizeName(s)
		if twice := NormalizeName(once); twice != once {
			t.Errorf("NormalizeName is not idempotent on %q: %q then %q", s, once, twice)
		}
		text := NormalizeText(s)
		if again := NormalizeText(text); again != text {
			t.Errorf("NormalizeText is not idempotent on %q: %q then %q", s, text, again)
		}
	})
}

func BenchmarkNormalizeName(b *testing.B) {
	for b.Loop() {
		NormalizeName(`Общество с ограниченной ответственностью "Ёлка-Плюс Трейд"`)
	}
}
