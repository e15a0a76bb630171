package dedup

import (
	"testing"
	"unicode/utf8"
)

func TestAddressKeyOfTwoSpellingsIsOne(t *testing.T) {
	pairs := []struct {
		name, a, b string
	}{
		{"the issue's two spellings", "г. Москва, ул. Ленина, д. 5", "Москва, Ленина ул, дом 5"},
		{"a postcode, the country and full words", "Россия, 101000, город Москва, улица Ленина, дом 5", "г Москва ул Ленина д5"},
		{"the region first or last", "Московская обл., г. Химки, ул. Мира, д. 1", "г. Химки, ул. Мира, д. 1, Московская область"},
		{"республика and респ.", "Республика Татарстан, г. Казань, ул. Баумана, д. 10", "респ. Татарстан, Казань, Баумана, 10"},
		{"край and кр.", "Краснодарский край, г. Сочи, ул. Навагинская, д. 3", "Краснодарский кр., Сочи, Навагинская ул., д. 3"},
		{"район and р-н", "Ленинский р-н, пос. Дубровка, ул. Садовая, д. 2", "Ленинский район, поселок Дубровка, Садовая ул., 2"},
		{"корпус and строение glued or apart", "ул. Льва Толстого, д.16к2стр1", "улица Льва Толстого, дом 16, корпус 2, строение 1"},
		{"a letter of the house glued or apart", "ул. Мира, д. 5а", "Мира ул., дом 5 а"},
		{"ё and е", "ул. Семёновская, д. 1", "Семеновская улица, 1"},
		{"an office", "Невский пр-т, д. 28, оф. 3", "Невский проспект 28, офис 3"},
	}
	for _, p := range pairs {
		t.Run(p.name, func(t *testing.T) {
			if a, b := AddressKey(p.a), AddressKey(p.b); a != b || a == "" {
				t.Errorf("AddressKey(%q) = %q\nAddressKey(%q) = %q", p.a, a, p.b, b)
			}
		})
	}
}

func TestAddressKeyKeepsDifferentAddressesApart(t *testing.T) {
	pairs := []struct {
		name, a, b string
	}{
		{"another house", "г. Москва, ул. Ленина, д. 5", "г. Москва, ул. Ленина, д. 7"},
		{"another city", "г. Москва, ул. Ленина, д. 5", "г. Тверь, ул. Ленина, д. 5"},
		{"another building of one house", "ул. Мира, д. 5, корп. 2", "ул. Мира, д. 5, корп. 3"},
		{"house 5 building 2 is not house 2 building 5", "ул. Мира, д. 5, корп. 2", "ул. Мира, д. 2, корп. 5"},
		{"another office", "ул. Мира, д. 5, оф. 1", "ул. Мира, д. 5, оф. 2"},
	}
	for _, p := range pairs {
		t.Run(p.name, func(t *testing.T) {
			if a, b := AddressKey(p.a), AddressKey(p.b); a == b {
				t.Errorf("AddressKey(%q) = AddressKey(%q) = %q", p.a, p.b, a)
			}
		})
	}
}

func FuzzAddressKey(f *testing.F) {
	for _, s := range []string{
		"г. Москва, ул. Ленина, д. 5", "Москва, Ленина ул, дом 5", "д.16к2стр1", "д д д 5 5", "5 а б", "к", "оф 3 а",
		"Краснодарский кр., Сочи", "\xff", "д 5ǅ",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		once := AddressKey(s)
		if !utf8.ValidString(once) {
			t.Fatalf("AddressKey(%q) = %q is not UTF-8", s, once)
		}
		if twice := AddressKey(once); twice != once {
			t.Errorf("AddressKey is not idempotent on %q: %q then %q", s, once, twice)
		}
	})
}

func BenchmarkAddressKey(b *testing.B) {
	for b.Loop() {
		AddressKey("123456, г. Москва, ул. Льва Толстого, д.16к2стр1, оф. 3")
	}
}
