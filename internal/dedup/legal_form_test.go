package dedup

import "testing"

func TestLegalForm(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"an abbreviation in front is the form", "ООО «Ромашка»", "ооо"},
		{"an abbreviation behind the name is the form", "Ромашка, ООО", "ооо"},
		{"a spelled-out form gives its abbreviation", `Общество с ограниченной ответственностью "РОМАШКА"`, "ооо"},
		{"the longest spelled-out form wins", "Публичное акционерное общество Сбербанк", "пао"},
		{"a Latin-typed form is folded to Cyrillic", "OOO Ромашка", "ооо"},
		{"ИП is a form", "ИП Волков Василий Маратович", "ип"},
		{"the first of two forms is taken", "АО «ООО Ромашка»", "ао"},
		{"a name without a form has none", "Стройтрест №24", ""},
		{"a form inside a word is no form", "Маоист", ""},
		{"an empty name has none", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := LegalForm(tt.in); got != tt.want {
				t.Errorf("LegalForm(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
