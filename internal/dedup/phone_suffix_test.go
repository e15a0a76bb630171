package dedup

import "testing"

func TestPhoneSuffix(t *testing.T) {
	cases := []struct {
		query, want string
	}{
		{"123-45-67", "1234567"},
		{"1234567", "1234567"},
		{" 123 45 67 ", "1234567"},
		{"123.45.67", "1234567"},
		{"(123) 45-67", "1234567"},
		{"12-34-56", ""},         // six digits
		{"8 495 123-45-67", ""},  // a whole number: NormalizePhone's job
		{"7707083893", ""},       // an ИНН
		{"123-45-67 доб. 5", ""}, // an extension belongs to a whole number
		{"ромашка 1234567", ""},  // words
		{"١٢٣٤٥٦٧", ""},          // other scripts' digits are not typed into a CRM
		{"", ""},
	}
	for _, c := range cases {
		if got := PhoneSuffix(c.query); got != c.want {
			t.Errorf("PhoneSuffix(%q) = %q, want %q", c.query, got, c.want)
		}
	}
}

func TestEveryNormalisedPhoneHasTheSuffixItsLastDigitsAreSearchedBy(t *testing.T) {
	for _, raw := range []string{"+7 (495) 123-45-67", "8 916 000 00 01", "+49 30 1234567", "+44 20 7946 0958 доб. 12"} {
		p, ok := NormalizePhone(raw)
		if !ok {
			t.Fatalf("%q is not a phone", raw)
		}
		tail := p.E164[len(p.E164)-PhoneSuffixLen:]
		if p.Suffix() != tail || PhoneSuffix(tail[:3]+"-"+tail[3:5]+"-"+tail[5:]) != p.Suffix() {
			t.Errorf("%q: suffix %q, want %q", raw, p.Suffix(), tail)
		}
	}
	if (Phone{}).Suffix() != "" {
		t.Error("an empty phone has a suffix")
	}
}

func FuzzPhoneSuffix(f *testing.F) {
	for _, s := range []string{"123-45-67", "1234567", "8 495 123-45-67", "12-34-5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		s := PhoneSuffix(q)
		if s == "" {
			return
		}
		if len(s) != PhoneSuffixLen || !allDigits(s) {
			t.Fatalf("PhoneSuffix(%q) = %q", q, s)
		}
		if IsINNLike(q) || PhoneDigits(q) != "" {
			t.Fatalf("%q reads both as seven digits and as an ИНН or a whole number", q)
		}
	})
}
