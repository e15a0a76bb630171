package dedup

import "testing"

func TestNormalizeAddress(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"the index goes and abbreviations are kept short", "123456, г.Москва, ул.Ленина, д.5, оф.3", "г москва ул ленина д 5 оф 3"},
		{"full words become abbreviations", "г. Москва, улица Ленина, дом 5, офис 3", "г москва ул ленина д 5 оф 3"},
		{"город becomes г", "город Казань", "г казань"},
		{"проспект, пр-т, пр-кт and пр. become пр", "проспект Мира; пр-т Мира; пр-кт Мира; пр. Мира", "пр мира пр мира пр мира пр мира"},
		{"переулок and пер. become пер", "переулок Тихий, пер. Тихий", "пер тихий пер тихий"},
		{"шоссе and ш. become ш", "Варшавское шоссе, Варшавское ш.", "варшавское ш варшавское ш"},
		{"область and обл. become обл", "Московская область, Московская обл.", "московская обл московская обл"},
		{"район and р-н become р", "Ленинский район, Ленинский р-н", "ленинский р ленинский р"},
		{"корпус, корп. and к. become к", "корпус 2, корп. 2, к. 2", "к 2 к 2 к 2"},
		{"строение and стр. become стр", "строение 1, стр.1", "стр 1 стр 1"},
		{"квартира and кв. become кв", "квартира 7, кв.7", "кв 7 кв 7"},
		{"набережная and наб. become наб", "Пресненская набережная, Пресненская наб.", "пресненская наб пресненская наб"},
		{"площадь and пл. become пл", "площадь Ленина, пл. Ленина", "пл ленина пл ленина"},
		{"бульвар, бул. and б-р become б-р", "Тверской бульвар, Тверской бул., Тверской б-р", "тверской б-р тверской б-р тверской б-р"},
		{"numbers are split from letters", "д.5а к1", "д 5 а к 1"},
		{"россия is removed", "Россия, г. Москва", "г москва"},
		{"рф is removed", "РФ, г. Москва", "г москва"},
		{"российская федерация is removed", "Российская Федерация, 101000, г. Москва", "г москва"},
		{"ё becomes е", "ул. Семёновская", "ул семеновская"},
		{"a hyphenated street name is split", "ул. Ново-Садовая", "ул ново садовая"},
		{"a house number range is split", "д. 5-7", "д 5 7"},
		{"a 5-digit number is kept", "д. 12345", "д 12345"},
		{"word order is kept", "Москва город", "москва г"},
		{"the empty string stays empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NormalizeAddress(tt.in); got != tt.want {
				t.Errorf("NormalizeAddress(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestNormalizeAddressEqualSpellings(t *testing.T) {
	pairs := []struct {
		name, a, b string
	}{
		{"an office address with and without index and abbreviations is one address",
			"123456, г.Москва, ул.Ленина, д.5, оф.3", "г. Москва, улица Ленина, дом 5, офис 3"},
		{"a country prefix does not make a different address",
			"Россия, 190000, Санкт-Петербург, Невский пр-т, д. 28", "Санкт-Петербург, Невский проспект, дом 28"},
		{"a building written glued and apart is one address",
			"ул. Льва Толстого, д.16к2стр1", "улица Льва Толстого, дом 16, корпус 2, строение 1"},
	}
	for _, p := range pairs {
		t.Run(p.name, func(t *testing.T) {
			if a, b := NormalizeAddress(p.a), NormalizeAddress(p.b); a != b {
				t.Errorf("NormalizeAddress(%q) = %q\nNormalizeAddress(%q) = %q", p.a, a, p.b, b)
			}
		})
	}
}

func FuzzNormalizeAddress(f *testing.F) {
	for _, s := range []string{
		"123456, г.Москва, ул.Ленина, д.5, оф.3", "Российская 123456 Федерация", "Тверской б-р 5а",
		"пр-т-5", "б-р-р-н", "Pоссия", "д.5\u0301", "--", "\xff",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		once := NormalizeAddress(s)
		if twice := NormalizeAddress(once); twice != once {
			t.Errorf("NormalizeAddress is not idempotent on %q: %q then %q", s, once, twice)
		}
	})
}
