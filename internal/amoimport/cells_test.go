package amoimport

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSplitPhones(t *testing.T) {
	for _, c := range []struct {
		name, cell string
		want       []string
	}{
		{"one number is one phone", "+7 (495) 123-45-67", []string{"+7 (495) 123-45-67"}},
		{"numbers split on commas", "84997419756, +79529039471", []string{"84997419756", "+79529039471"}},
		{"numbers split on semicolons", "84997419756; +79529039471", []string{"84997419756", "+79529039471"}},
		{"numbers split on slashes", "84997419756 / 89529039471", []string{"84997419756", "89529039471"}},
		{"numbers split on new lines", "84997419756\n89529039471\r\n", []string{"84997419756", "89529039471"}},
		{"an extension after a comma stays with its number", "+7 (495) 123-45-67, доб. 123", []string{"+7 (495) 123-45-67 доб. 123"}},
		{"an extension in brackets after a comma stays", "+7 (495) 123-45-67, (доб. 12)", []string{"+7 (495) 123-45-67 (доб. 12)"}},
		{"a вн. extension stays", "+7 495 123-45-67; вн. 5", []string{"+7 495 123-45-67 вн. 5"}},
		{"an ext extension stays", "+7 495 123-45-67, ext. 5", []string{"+7 495 123-45-67 ext. 5"}},
		{"a # extension stays", "+7 495 123-45-67, #5", []string{"+7 495 123-45-67 #5"}},
		{"an extension written inside the number is untouched", "+7 (473) 203-39-07 доб. 3956", []string{"+7 (473) 203-39-07 доб. 3956"}},
		{"empty fragments are dropped", " , ;", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := SplitPhones(c.cell); !slices.Equal(got, c.want) {
				t.Errorf("SplitPhones(%q) = %q, want %q", c.cell, got, c.want)
			}
		})
	}
}

func TestReadPhones(t *testing.T) {
	col := column{header: "Рабочий телефон", kind: "work"}
	for _, c := range []struct {
		name   string
		cell   string
		e164   []string
		issues []string
	}{
		{"a Russian number is normalised", "8 (495) 123-45-67", []string{"+74951234567|"}, nil},
		{"a number that lost its plus is normalised", "79161234567", []string{"+79161234567|"}, nil},
		{"a four-digit area code is normalised", "+7 (3812) 12-34-56", []string{"+73812123456|"}, nil},
		{"a Kazakh number is kept as +7", "+7 701 123 45 67", []string{"+77011234567|"}, nil},
		{"an extension is kept apart", "+7 (495) 123-45-67 доб. 123", []string{"+74951234567|123"}, nil},
		{"an extension after a comma is kept apart", "+7 (495) 123-45-67, доб. 123", []string{"+74951234567|123"}, nil},
		{"two numbers are two phones", "84951234567, 89161234567", []string{"+74951234567|", "+79161234567|"}, nil},
		{"a number without area code is kept raw and reported", "123-45-67", []string{"|"}, []string{CodePhoneWithoutAreaCode}},
		{"an Excel error is dropped and reported", "#ИМЯ?", nil, []string{CodePhoneExcelError}},
		{"an Excel error with a slash is one error", "#Н/Д", nil, []string{CodePhoneExcelError}},
		{"words are kept raw and reported", "спросить у секретаря", []string{"|"}, []string{CodePhoneInvalid}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var issues []Issue
			phones := readPhones(c.cell, col, &issues)
			var got []string
			for _, p := range phones {
				got = append(got, p.E164+"|"+p.Ext)
				if p.Kind != "work" {
					t.Errorf("kind %q, want the column's", p.Kind)
				}
			}
			if !slices.Equal(got, c.e164) {
				t.Errorf("phones %q, want %q", got, c.e164)
			}
			var codes []string
			for _, is := range issues {
				codes = append(codes, is.Code)
				if is.Field != col.header {
					t.Errorf("issue field %q, want the header", is.Field)
				}
			}
			if !slices.Equal(codes, c.issues) {
				t.Errorf("issues %v, want %v", codes, c.issues)
			}
		})
	}
}

func TestReadEmails(t *testing.T) {
	col := column{header: "Рабочий email", kind: "work"}
	for _, c := range []struct {
		name, cell string
		want       []string
		invalid    []string
	}{
		{"one address is kept", "Ivan@Example.ru", []string{"Ivan@Example.ru"}, nil},
		{"two addresses split on a comma", "a@b.ru, c@d.ru", []string{"a@b.ru", "c@d.ru"}, nil},
		{"two addresses split on a semicolon", "a@b.ru;c@d.ru", []string{"a@b.ru", "c@d.ru"}, nil},
		{"an address without a domain is reported", "vasileva@farmgruppplyus", nil, []string{"vasileva@farmgruppplyus"}},
		{"a doubled at sign is reported", "zakaz@@spetsservis.ru", nil, []string{"zakaz@@spetsservis.ru"}},
		{"a bad address does not drop the good one", "a@b.ru, нет", []string{"a@b.ru"}, []string{"нет"}},
		{"a space is no separator", "ivan mail.ru", nil, []string{"ivan mail.ru"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var issues []Issue
			var got, bad []string
			for _, e := range readEmails(c.cell, col, &issues) {
				got = append(got, e.Value)
				if e.Norm != strings.ToLower(e.Value) {
					t.Errorf("norm %q of %q", e.Norm, e.Value)
				}
			}
			for _, is := range issues {
				if is.Code != CodeEmailInvalid {
					t.Errorf("code %q", is.Code)
				}
				bad = append(bad, is.Value)
			}
			if !slices.Equal(got, c.want) || !slices.Equal(bad, c.invalid) {
				t.Errorf("got %q and invalid %q, want %q and %q", got, bad, c.want, c.invalid)
			}
		})
	}
}

func TestSplitPersonName(t *testing.T) {
	for _, c := range []struct {
		full, last, first, middle string
	}{
		{"Голубев Геннадий Петрович", "Голубев", "Геннадий", "Петрович"},
		{"Денис Кузьмин", "Кузьмин", "Денис", ""},
		{"Наумов Руслан", "Наумов", "Руслан", ""},
		{"Роман Григорьевич", "", "Роман", "Григорьевич"},
		{"Алина Евгеньевна", "", "Алина", "Евгеньевна"},
		{"Диана", "", "Диана", ""},
		{"Иван Петрович Сидоров", "Сидоров", "Иван", "Петрович"},
		{"Мамедов Эльдар Гусейн оглы", "Мамедов", "Эльдар", "Гусейн оглы"},
		{"", "", "", ""},
	} {
		t.Run("«"+c.full+"» splits into its parts", func(t *testing.T) {
			l, f, m := SplitPersonName(c.full)
			if l != c.last || f != c.first || m != c.middle {
				t.Errorf("got %q %q %q, want %q %q %q", l, f, m, c.last, c.first, c.middle)
			}
		})
	}
}

func TestPersonName(t *testing.T) {
	for _, c := range []struct {
		name                      string
		full, last, first, middle string
		want                      [3]string
	}{
		{"the columns win over the full name", "Денис Кузьмин", "Кузьмин", "Денис", "", [3]string{"Кузьмин", "Денис", ""}},
		{"a missing first name comes from the full name", "Демидов Руслан Петрович", "Демидов", "", "", [3]string{"Демидов", "Руслан", "Петрович"}},
		{"a missing surname comes from the full name", "Жуков Иван Павлович", "", "Иван", "", [3]string{"Жуков", "Иван", "Павлович"}},
		{"the patronymic comes from the full name", "Голубев Геннадий Петрович", "Голубев", "Геннадий", "", [3]string{"Голубев", "Геннадий", "Петрович"}},
		{"no full name: the columns", "", "Кузьмин", "Денис", "", [3]string{"Кузьмин", "Денис", ""}},
	} {
		t.Run(c.name, func(t *testing.T) {
			l, f, m := personName(c.full, c.last, c.first, c.middle)
			if got := [3]string{l, f, m}; got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestParseDate(t *testing.T) {
	msk := time.FixedZone("MSK", 3*3600)
	for _, c := range []struct {
		name, cell string
		want       time.Time
		ok         bool
	}{
		{"amoCRM's format with seconds", "15.03.2022 11:01:13", time.Date(2022, 3, 15, 11, 1, 13, 0, msk), true},
		{"Excel's format without seconds", "15.03.2022 11:01", time.Date(2022, 3, 15, 11, 1, 0, 0, msk), true},
		{"a one-digit hour after Excel", "27.08.2025 9:48", time.Date(2025, 8, 27, 9, 48, 0, 0, msk), true},
		{"a date alone", "15.03.2022", time.Date(2022, 3, 15, 0, 0, 0, 0, msk), true},
		{"an xlsx day number", "44635.5", time.Date(2022, 3, 15, 12, 0, 0, 0, msk), true},
		{"an empty cell is no date and no error", "", time.Time{}, true},
		{"words are no date", "не закрыта", time.Time{}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, ok := ParseDate(c.cell)
			if ok != c.ok || !got.Equal(c.want) {
				t.Errorf("ParseDate(%q) = %v, %v; want %v, %v", c.cell, got, ok, c.want, c.ok)
			}
			if !got.IsZero() && got.Location() != time.UTC {
				t.Errorf("location %v, want UTC", got.Location())
			}
		})
	}
}

func TestCleanCell(t *testing.T) {
	for _, c := range []struct {
		name, cell, want string
		entities         bool
	}{
		{"spaces are trimmed", "  ООО Стальформ  ", "ООО Стальформ", false},
		{"no-break spaces are spaces", "\u00a0ООО\u00a0Ромашка\u00a0", "ООО Ромашка", false},
		{"HTML entities are decoded and reported", "ООО &quot;Фармгрупп Плюс&quot; ", "ООО \"Фармгрупп Плюс\"", true},
		{"an ampersand alone is text", "Иванов & сыновья", "Иванов & сыновья", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, entities := cleanCell(c.cell)
			if got != c.want || entities != c.entities {
				t.Errorf("cleanCell(%q) = %q, %v; want %q, %v", c.cell, got, entities, c.want, c.entities)
			}
		})
	}
}

func TestSplitList(t *testing.T) {
	got := SplitList("Химия, Металлургия,, химия ", []string{"VIP"})
	if want := []string{"VIP", "Химия", "Металлургия"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestLimitRunes(t *testing.T) {
	s := strings.Repeat("я", 300)
	cut, ok := limitRunes(s, 255)
	if !ok || len([]rune(cut)) != 255 {
		t.Errorf("cut to %d runes, %v", len([]rune(cut)), ok)
	}
	if _, ok := limitRunes("коротко", 255); ok {
		t.Error("a short value was cut")
	}
}
