package dedup

import "testing"

func TestValidateINN(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"Сбербанк's 10-digit ИНН is valid", "7707083893", ""},
		{"Яндекс's 10-digit ИНН is valid", "7736207543", ""},
		{"another real 10-digit ИНН is valid", "7830002293", ""},
		{"a real 12-digit ИНН of an individual is valid", "500100732259", ""},
		{"a check sum of 10 gives the check digit 0", "7707083830", ""},
		{"a first check sum of 10 gives the eleventh digit 0", "500100732403", ""},
		{"a wrong 10th digit is a checksum error", "7707083894", msgINNChecksum},
		{"a wrong 11th digit is a checksum error", "500100732269", msgINNChecksum},
		{"a wrong 12th digit is a checksum error", "500100732258", msgINNChecksum},
		{"swapped digits are a checksum error", "7707038893", msgINNChecksum},
		{"9 digits are the wrong length", "770708389", msgINNLength},
		{"11 digits are the wrong length", "77070838931", msgINNLength},
		{"13 digits are the wrong length", "5001007322590", msgINNLength},
		{"the empty string is the wrong length", "", msgINNLength},
		{"a letter is not allowed", "77070838a3", msgINNChars},
		{"a space is not allowed until cleaned", "77 07 083893", msgINNChars},
		{"a Cyrillic О for a zero is not allowed", "77О7083893", msgINNChars},
		{"full-width digits are not allowed", "７７０７０８３８９３", msgINNChars},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ValidateINN(tt.in); got != tt.want {
				t.Errorf("ValidateINN(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestValidateKPP(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"Яндекс's КПП is valid", "773601001", ""},
		{"capital Latin letters in the reason code are valid", "7736AB001", ""},
		{"a digit and a letter in the reason code are valid", "77360Z001", ""},
		{"8 characters are the wrong length", "77360100", msgKPPLength},
		{"10 characters are the wrong length", "7736010011", msgKPPLength},
		{"the empty string is the wrong length", "", msgKPPLength},
		{"Cyrillic letters count as one character each", "7736АБ001", msgKPPFormat},
		{"lower-case letters are the wrong format", "7736ab001", msgKPPFormat},
		{"a letter in the tax office code is the wrong format", "77A601001", msgKPPFormat},
		{"a letter in the last three is the wrong format", "7736010A1", msgKPPFormat},
		{"a space is the wrong format", "7736 1001", msgKPPFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ValidateKPP(tt.in); got != tt.want {
				t.Errorf("ValidateKPP(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestValidateOGRN(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"Сбербанк's ОГРН is valid", "1027700132195", ""},
		{"a real ОГРНИП is valid", "304500116000157", ""},
		{"a remainder of 10 gives the check digit 0", "1027700132130", ""},
		{"an ОГРНИП remainder of 10 or more is taken modulo 10", "304500116000050", ""},
		{"a wrong ОГРН check digit is a checksum error", "1027700132196", msgOGRNCheck},
		{"a wrong ОГРНИП check digit is a checksum error", "304500116000158", msgOGRNCheck},
		{"an ОГРН with the ОГРНИП modulus (13) is a checksum error", "1027700132193", msgOGRNCheck},
		{"12 digits are the wrong length", "102770013219", msgOGRNLength},
		{"14 digits are the wrong length", "10277001321950", msgOGRNLength},
		{"the empty string is the wrong length", "", msgOGRNLength},
		{"a letter is not allowed", "102770013219Б", msgOGRNChars},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ValidateOGRN(tt.in); got != tt.want {
				t.Errorf("ValidateOGRN(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestCleanDigits(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"inner spaces are removed", "77 07 083893", "7707083893"},
		{"surrounding spaces are removed", "  7707083893\t", "7707083893"},
		{"dashes of every kind are removed", "7707-083–893", "7707083893"},
		{"non-breaking and zero-width spaces are removed", "7707\u00a0083\u200b893", "7707083893"},
		{"letters are kept for the validator to report", "77O7083893", "77O7083893"},
		{"a КПП keeps its letters", "7736 AB 001", "7736AB001"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CleanDigits(tt.in); got != tt.want {
				t.Errorf("CleanDigits(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestIsINNLike(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"10 digits are ИНН-like", "7707083893", true},
		{"12 digits are ИНН-like", "500100732259", true},
		{"spaced digits are ИНН-like", "77 07 083893", true},
		{"a wrong check digit is still ИНН-like", "7707083894", true},
		{"11 digits are not ИНН-like", "77070838931", false},
		{"a phone is not ИНН-like", "+7 916 123 45 67", false},
		{"a name is not ИНН-like", "Ромашка", false},
		{"the empty string is not ИНН-like", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsINNLike(tt.in); got != tt.want {
				t.Errorf("IsINNLike(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzValidateINN(f *testing.F) {
	for _, s := range []string{"7707083893", "500100732259", "77 07 083893", "", "7707083894", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ValidateINN(s) == "" && !((len(s) == 10 || len(s) == 12) && allDigits(s)) {
			t.Errorf("ValidateINN(%q) accepted something that is not 10 or 12 digits", s)
		}
		if ValidateOGRN(s) == "" && !((len(s) == 13 || len(s) == 15) && allDigits(s)) {
			t.Errorf("ValidateOGRN(%q) accepted something that is not 13 or 15 digits", s)
		}
		if ValidateKPP(s) == "" && len(s) != 9 {
			t.Errorf("ValidateKPP(%q) accepted something that is not 9 bytes", s)
		}
	})
}
