package dedup

import "testing"

// TestNormalizeNameOfRealSpellings: the ways one company's name is typed
// in Russian B2B data give one key (the duplicate engine relies on it).
func TestNormalizeNameOfRealSpellings(t *testing.T) {
	same := []string{
		`ООО "Ромашка"`, "Ромашка ООО", "Общество с ограниченной ответственностью «Ромашка»", "„Ромашка“ НКО",
		`ООО"Ромашка"`, "ПАО «Ромашка»", "Публичное акционерное общество «Ромашка»",
		"ОБЩЕСТВО С ОГРАНИЧЕННОЙ ОТВЕТСТВЕННОСТЬЮ “РОМАШКА”", "АНО «Ромашка»", "НАО Ромашка",
		"Некоммерческая организация Ромашка", "Ромашка, ООО", "Ромашка (ООО)", "ЗАО 'Ромашка'", "Pомашка",
	}
	for _, s := range same {
		t.Run(s, func(t *testing.T) {
			if got := NormalizeName(s); got != "ромашка" {
				t.Errorf("NormalizeName(%q) = %q, want %q", s, got, "ромашка")
			}
		})
	}
	if a, b := NormalizeName("ИП Иванов Иван Иванович"), NormalizeName("Индивидуальный предприниматель Иванов Иван Иванович"); a != b {
		t.Errorf("ИП and its full spelling differ: %q, %q", a, b)
	}
	if got := NormalizeName("ООО «Ёлка-Плюс»"); got != "елка плюс" {
		t.Errorf("ё, the hyphen: %q", got)
	}
}
