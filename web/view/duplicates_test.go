package view

import "testing"

func TestGenitiveDeclinesCommonRussianNames(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"Вера Попова", "Веры Поповой"},
		{"Алиса Смирнова", "Алисы Смирновой"},
		{"Борис Иванов", "Бориса Иванова"},
		{"Глеб Соколов", "Глеба Соколова"},
		{"Дарья Кузнецова", "Дарьи Кузнецовой"},
		{"Ольга Васильева", "Ольги Васильевой"},
		{"Мария Ильина", "Марии Ильиной"},
		{"Андрей Горький", "Андрея Горького"},
		{"Игорь Вишневский", "Игоря Вишневского"},
		{"Никита Толстой", "Никиты Толстого"},
		{"Илья Седых", "Ильи Седых"},
		{"Анна Толстая", "Анны Толстой"},
		{"Любовь Шмидт", "Любови Шмидт"},
		{"Пётр Шмидт", "Петра Шмидта"},
		{"Павел Коваль", "Павла Коваля"},
		{"Admin", "Admin"},
		{"Иван Петрович Сидоров", "Иван Петрович Сидоров"},
		{"", ""},
	} {
		t.Run(c.in, func(t *testing.T) {
			if got := genitive(c.in); got != c.want {
				t.Fatalf("genitive(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
}

func TestDuplicateStrengthIsWordsAndPercent(t *testing.T) {
	for _, c := range []struct {
		score       float64
		label, tone string
	}{
		{0.92, "почти наверняка, 92\u00a0%", "danger"},
		{0.75, "вероятно, 75\u00a0%", "warning"},
		{0.6, "вероятно, 60\u00a0%", "warning"},
		{0.4, "возможно, 40\u00a0%", "neutral"},
	} {
		label, tone := duplicateStrength(c.score)
		if label != c.label || tone != c.tone {
			t.Errorf("duplicateStrength(%v) = %q, %q; want %q, %q", c.score, label, tone, c.label, c.tone)
		}
	}
}
