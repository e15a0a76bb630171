package amoimport

import (
	"fmt"
	"testing"
)

func TestMatcher(t *testing.T) {
	users := []User{
		{ID: 1, Username: "a.smirnov", FirstName: "Алексей", LastName: "Смирнов", Email: "a.smirnov@salesteam.ru"},
		{ID: 2, Username: "a.novikov", FirstName: "Алексей", LastName: "Новиков", Email: "a.novikov@salesteam.ru"},
		{ID: 3, Username: "t.fedorova", FirstName: "Татьяна", LastName: "Фёдорова", Email: "t.fedorova@salesteam.ru"},
		{ID: 4, Username: "e.kuznetsova", FirstName: "Елена", LastName: "Кузнецова", Email: "e.kuznetsova@salesteam.ru"},
		{ID: 5, Username: "i.ivanov", FirstName: "Иван", LastName: "Иванов"},
		{ID: 6, Username: "i.ivanov2", FirstName: "Иван", LastName: "Иванов"},
	}
	m := NewMatcher(users)
	tests := []struct {
		name, in string
		want     int64
	}{
		{"a login matches", "a.smirnov", 1},
		{"a login matches in any case", "A.Smirnov", 1},
		{"an e-mail matches", "a.novikov@salesteam.ru", 2},
		{"an e-mail with spaces around matches", " e.kuznetsova@salesteam.ru ", 4},
		{"«Имя Фамилия» matches", "Алексей Смирнов", 1},
		{"«Фамилия Имя» matches", "Смирнов Алексей", 1},
		{"«Фамилия Имя Отчество» matches on its first two words", "Смирнов Алексей Петрович", 1},
		{"upper case matches", "ЛЕБЕДЕВ ИГОРЬ", 0},
		{"case does not matter", "КУЗНЕЦОВА ЕЛЕНА", 4},
		{"е matches ё", "Федорова Татьяна", 3},
		{"ё matches ё", "Татьяна Фёдорова", 3},
		{"doubled spaces do not matter", "Смирнов  Алексей", 1},
		{"a branch prefix is ignored", "(МСК) Смирнов Алексей", 1},
		{"a longer branch prefix is ignored", "(Казань) Кузнецова Елена", 4},
		{"a bare first name shared by two users is unknown", "Алексей", 0},
		{"a bare surname is unknown", "Смирнов", 0},
		{"initials are unknown", "Смирнов А.", 0},
		{"a dismissed user's mark makes the name unknown", "Кузнецова Елена (уволена)", 0},
		{"a name two users share is unknown", "Иван Иванов", 0},
		{"a role is unknown", "Администратор", 0},
		{"an empty name is unknown", "", 0},
		{"spaces alone are unknown", "   ", 0},
		{"a stranger is unknown", "Сидоренко Ольга", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := m.Match(tt.in); got != tt.want {
				t.Errorf("Match(%q) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
}

// TestPlannerMatchIsMatchMemoised: the planner's memo answers as the
// Matcher does, for known, unknown and ambiguous names, and stops growing
// at matchCacheMax distinct names.
func TestPlannerMatchIsMatchMemoised(t *testing.T) {
	m := NewMatcher([]User{
		{ID: 1, Username: "d.popov", FirstName: "Дмитрий", LastName: "Попов"},
		{ID: 2, Username: "e.kuz", FirstName: "Елена", LastName: "Кузнецова", Email: "e.kuz@example.ru"},
		{ID: 3, Username: "e.kuz2", FirstName: "Елена", LastName: "Кузнецова"},
	})
	p := &planner{users: m}
	names := []string{"Попов Дмитрий", "(МСК) Дмитрий Попов", "d.popov", "e.kuz@example.ru", "Кузнецова Елена", "Неизвестный Человек", ""}
	for range 2 { // the second time from the memo
		for _, n := range names {
			if got, want := p.match(n), m.Match(n); got != want {
				t.Errorf("match(%q) = %d, Match says %d", n, got, want)
			}
		}
	}
	for i := range matchCacheMax + 100 {
		p.match(fmt.Sprintf("Сотрудник %d", i))
	}
	if len(p.matched) > matchCacheMax {
		t.Errorf("the memo holds %d names, at most %d", len(p.matched), matchCacheMax)
	}
	if got := p.match("Попов Дмитрий"); got != 1 {
		t.Errorf("a memoised name after the memo filled: %d, want 1", got)
	}
}
