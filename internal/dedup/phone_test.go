package dedup

import (
	"regexp"
	"testing"
)

func TestNormalizePhone(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		e164    string
		ext     string
		wantErr bool
	}{
		{name: "8 with brackets becomes +7", in: "8 (495) 123-45-67", e164: "+74951234567"},
		{name: "+7 with brackets stays +7", in: "+7 (495) 123-45-67", e164: "+74951234567"},
		{name: "7 without plus becomes +7", in: "74951234567", e164: "+74951234567"},
		{name: "8 digits only becomes +7", in: "84951234567", e164: "+74951234567"},
		{name: "8-800 with dashes becomes +7 800", in: "8-800-555-35-35", e164: "+78005553535"},
		{name: "ten digits of a mobile get +7", in: "9161234567", e164: "+79161234567"},
		{name: "ten digits of a Moscow number get +7", in: "495 123-45-67", e164: "+74951234567"},
		{name: "ten digits starting with 3 get +7", in: "343 123 45 67", e164: "+73431234567"},
		{name: "ten digits starting with 8 get +7", in: "800 555 35 35", e164: "+78005553535"},
		{name: "an area code in brackets without a prefix gets +7", in: "(495) 123-45-67", e164: "+74951234567"},
		{name: "a number written without any spaces is read", in: "8(495)123-45-67доб.123", e164: "+74951234567", ext: "123"},
		{name: "dots separate digits", in: "8.495.123.45.67", e164: "+74951234567"},
		{name: "spaces separate digits", in: "+7 916 123 45 67", e164: "+79161234567"},
		{name: "non-breaking spaces separate digits", in: "+7\u00a0916\u00a0123\u00a045\u00a067", e164: "+79161234567"},
		{name: "surrounding spaces are trimmed", in: "  8 916 123 45 67  ", e164: "+79161234567"},
		{name: "a trailing dot is ignored", in: "8 916 123 45 67.", e164: "+79161234567"},
		{name: "a Kazakh +7 7xx number is kept", in: "+7 701 123 45 67", e164: "+77011234567"},
		{name: "ten digits of a Kazakh number get +7", in: "(706) 570-59-51", e164: "+77065705951"},
		{name: "a German number keeps its country code", in: "+49 30 1234567", e164: "+49301234567"},
		{name: "a US number keeps its country code", in: "+1 (212) 555-01-23", e164: "+12125550123"},
		{name: "00 is an international prefix", in: "00 44 20 7946 0958", e164: "+442079460958"},
		{name: "810 is an international prefix", in: "8 10 44 20 7946 0958", e164: "+442079460958"},
		{name: "00 before 7 is a Russian number", in: "007 495 123 45 67", e164: "+74951234567"},
		{name: "the shortest international number is 8 digits", in: "+1234 5678", e164: "+12345678"},
		{name: "the longest international number is 15 digits", in: "+123 456 789 012 345", e164: "+123456789012345"},
		{name: "доб. with a dot is an extension", in: "8 (495) 123-45-67 доб. 123", e164: "+74951234567", ext: "123"},
		{name: "доб without a dot is an extension", in: "8 (495) 123-45-67 доб 123", e164: "+74951234567", ext: "123"},
		{name: "ДОБ in capitals is an extension", in: "8 (495) 123-45-67 ДОБ.123", e164: "+74951234567", ext: "123"},
		{name: "д. is an extension", in: "8 (495) 123-45-67 д. 123", e164: "+74951234567", ext: "123"},
		{name: "доп. is an extension", in: "8 (495) 123-45-67 доп. 45", e164: "+74951234567", ext: "45"},
		{name: "вн. is an extension", in: "8 (495) 123-45-67 вн. 45", e164: "+74951234567", ext: "45"},
		{name: "добавочный spelled out is an extension", in: "8 (495) 123-45-67, добавочный 2001", e164: "+74951234567", ext: "2001"},
		{name: "ext. is an extension", in: "+7 495 123 45 67 ext. 123", e164: "+74951234567", ext: "123"},
		{name: "ext glued to digits is an extension", in: "+7 495 123 45 67 ext123", e164: "+74951234567", ext: "123"},
		{name: "x is an extension", in: "+7 495 123 45 67 x123", e164: "+74951234567", ext: "123"},
		{name: "x glued to the number is an extension", in: "+7 495 123 45 67x123", e164: "+74951234567", ext: "123"},
		{name: "# is an extension", in: "+7 495 123 45 67 #123", e164: "+74951234567", ext: "123"},
		{name: "a comma and digits is an extension", in: "8 495 123-45-67, 123", e164: "+74951234567", ext: "123"},
		{name: "an extension in brackets is an extension", in: "8 495 123-45-67 (доб. 123)", e164: "+74951234567", ext: "123"},
		{name: "a trailing comma is ignored", in: "8 495 123-45-67,", e164: "+74951234567"},
		{name: "the empty string is not a phone", in: "", wantErr: true},
		{name: "too few digits are not a phone", in: "123-45-67", wantErr: true},
		{name: "eleven digits starting with 9 are not a phone", in: "91612345678", wantErr: true},
		{name: "ten digits starting with 1 are not a phone", in: "1234567890", wantErr: true},
		{name: "twelve digits with 8 are not a phone", in: "8 8495 123 45 67", wantErr: true},
		{name: "+7 with too many digits is not a phone", in: "+7 8 495 123 45 67", wantErr: true},
		{name: "+7 with an area code starting with 1 is not a phone", in: "+7 123 456 78 90", wantErr: true},
		{name: "a plus with 7 digits is too short", in: "+123 4567", wantErr: true},
		{name: "a plus with 16 digits is too long", in: "+123 456 789 012 3456", wantErr: true},
		{name: "a country code starting with 0 is not a phone", in: "+0 123 456 789", wantErr: true},
		{name: "letters inside are not a phone", in: "8 495 ABC-45-67", wantErr: true},
		{name: "a word before the number is not a phone", in: "тел. 8 495 123-45-67", wantErr: true},
		{name: "two numbers in one field are not a phone", in: "8 495 123-45-67, 8 916 123-45-67", wantErr: true},
		{name: "an extension marker without digits is not a phone", in: "8 495 123-45-67 доб.", wantErr: true},
		{name: "an over-long extension is not a phone", in: "8 495 123-45-67 доб. 123456789", wantErr: true},
		{name: "text after an extension is not a phone", in: "8 495 123-45-67 доб. 12 Иван", wantErr: true},
		{name: "a plus in the middle is not a phone", in: "8 495 +123-45-67", wantErr: true},
		{name: "a huge run of digits is not a phone", in: "1234567890123456789012345", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, ok := NormalizePhone(tt.in)
			if tt.wantErr {
				if ok {
					t.Errorf("NormalizePhone(%q) = %+v, want not ok", tt.in, p)
				}
				return
			}
			if !ok || p.E164 != tt.e164 || p.Ext != tt.ext {
				t.Errorf("NormalizePhone(%q) = %+v, %v; want {%s %s}, true", tt.in, p, ok, tt.e164, tt.ext)
			}
		})
	}
}

func TestPhoneDigits(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"a phone query gives its E.164 form", "8 916 123-45-67", "+79161234567"},
		{"a text query gives nothing", "Ромашка", ""},
		{"a partial number gives nothing", "123-45", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := PhoneDigits(tt.in); got != tt.want {
				t.Errorf("PhoneDigits(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestFormatPhone(t *testing.T) {
	tests := []struct {
		name string
		in   Phone
		want string
	}{
		{"a Moscow number gets brackets and dashes", Phone{E164: "+74951234567"}, "+7 (495) 123-45-67"},
		{"a toll-free number keeps the +7 form", Phone{E164: "+78005553535"}, "+7 (800) 555-35-35"},
		{"an extension follows as доб.", Phone{E164: "+74951234567", Ext: "123"}, "+7 (495) 123-45-67 доб. 123"},
		{"a US number splits after its 1-digit code", Phone{E164: "+12125550123"}, "+1 2125550123"},
		{"a German number splits after its 2-digit code", Phone{E164: "+49301234567"}, "+49 301234567"},
		{"a Belarusian number splits after its 3-digit code", Phone{E164: "+375291234567"}, "+375 291234567"},
		{"an invalid value is shown as it is", Phone{E164: "12345"}, "12345"},
		{"an empty phone is empty", Phone{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FormatPhone(tt.in); got != tt.want {
				t.Errorf("FormatPhone(%+v) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

var e164Pattern = regexp.MustCompile(`^\+[1-9]\d{7,14}$`)

func FuzzNormalizePhone(f *testing.F) {
	for _, s := range []string{
		"8 (495) 123-45-67", "+7 (495) 123-45-67 доб. 123", "9161234567", "+49 30 1234567",
		"00 44 20 7946 0958", "8 10 44 20 7946 0958", "8 495 123-45-67, 123", "x123", "+", "\xff",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, ok := NormalizePhone(s)
		if !ok {
			if p != (Phone{}) {
				t.Errorf("NormalizePhone(%q) = %+v, false; want the zero Phone", s, p)
			}
			return
		}
		if !e164Pattern.MatchString(p.E164) {
			t.Errorf("NormalizePhone(%q).E164 = %q, not E.164", s, p.E164)
		}
		shown := FormatPhone(p)
		again, ok := NormalizePhone(shown)
		if !ok || again != p {
			t.Errorf("NormalizePhone(FormatPhone(%+v) = %q) = %+v, %v; want the same phone", p, shown, again, ok)
		}
	})
}

func BenchmarkNormalizePhone(b *testing.B) {
	for b.Loop() {
		NormalizePhone("+7 (495) 123-45-67 доб. 123")
	}
}
