package amoimport

import (
	"testing"

	"github.com/crmprofi/crm/internal/dedup"
)

func TestRepairINN(t *testing.T) {
	for _, c := range []struct {
		name      string
		cell      string
		inn, kpp  string
		code      string
		wantFixed bool
	}{
		{"an empty cell is no ИНН and no issue", "", "", "", "", false},
		{"a valid ten-digit ИНН is kept as it is", "7707083893", "7707083893", "", "", false},
		{"a valid twelve-digit ИНН is kept as it is", "500100732259", "500100732259", "", "", false},
		{"surrounding spaces are no issue", "  7707083893 ", "7707083893", "", "", false},
		{"an ИНН prefix is dropped", "ИНН 7707083893", "7707083893", "", CodeINNFormatted, true},
		{"spaces inside are dropped", "7707 083 893", "7707083893", "", CodeINNFormatted, true},
		{"dashes inside are dropped", "7707-083-893", "7707083893", "", CodeINNFormatted, true},
		{"pandas' .0 is stripped", "7707083893.0", "7707083893", "", CodeINNFloatSuffix, true},
		{"a comma zero is stripped too", "7707083893,0", "7707083893", "", CodeINNFloatSuffix, true},
		{"a lost leading zero of a ten-digit ИНН is put back", "274062111", "0274062111", "", CodeINNLeadingZeroLost, true},
		{"a lost leading zero with a float suffix is put back", "274062111.0", "0274062111", "", CodeINNLeadingZeroLost, true},
		{"an ИНН/КПП pair gives both", "7707083893/773601001", "7707083893", "773601001", CodeINNKPPCombined, true},
		{"an ИНН/КПП pair with spaces gives both", "7707083893 / 773601001", "7707083893", "773601001", CodeINNKPPCombined, true},
		{"an ИНН/КПП pair with a lost zero in the КПП repairs the КПП", "0274062111/27401001", "0274062111", "027401001", CodeINNKPPCombined, true},
		{"scientific notation with digits lost is never guessed", "7,72031E+09", "", "", CodeINNScientific, false},
		{"scientific notation of a twelve-digit ИНН is never guessed", "5,00101E+11", "", "", CodeINNScientific, false},
		{"scientific notation with every digit is read", "7.707083893E+09", "7707083893", "", CodeINNFormatted, true},
		{"scientific notation with every digit but a lost zero is read", "2.74062111E+08", "0274062111", "", CodeINNLeadingZeroLost, true},
		{"a wrong check digit drops the ИНН", "7707083894", "", "", CodeINNInvalidChecksum, false},
		{"all zeros are no ИНН", "0000000000", "", "", CodeINNInvalidChecksum, false},
		{"nine digits that fail the check when padded are of bad length", "123456789", "", "", CodeINNBadLength, false},
		{"eleven digits are of bad length unless padding passes", "12345678901", "", "", CodeINNBadLength, false},
		{"words are no ИНН", "нет", "", "", CodeINNBadLength, false},
		{"an Excel error is no ИНН", "#ЗНАЧ!", "", "", CodeINNBadLength, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			inn, kpp, issue := RepairINN(c.cell)
			if inn != c.inn || kpp != c.kpp {
				t.Errorf("RepairINN(%q) = %q, %q; want %q, %q", c.cell, inn, kpp, c.inn, c.kpp)
			}
			switch {
			case c.code == "" && issue != nil:
				t.Errorf("unexpected issue %+v", issue)
			case c.code != "" && (issue == nil || issue.Code != c.code):
				t.Errorf("issue %+v, want code %s", issue, c.code)
			case issue != nil && issue.Value != c.cell:
				t.Errorf("issue value %q, want the cell %q", issue.Value, c.cell)
			case issue != nil && c.wantFixed && issue.Fixed != c.inn:
				t.Errorf("issue fixed %q, want %q", issue.Fixed, c.inn)
			case issue != nil && !c.wantFixed && issue.Fixed != "":
				t.Errorf("issue fixed %q, want none", issue.Fixed)
			}
		})
	}
}

func TestRepairKPP(t *testing.T) {
	for _, c := range []struct {
		name, cell, kpp, code string
	}{
		{"an empty cell is no КПП", "", "", ""},
		{"a valid КПП is kept", "773601001", "773601001", ""},
		{"a КПП with a letter reason code is kept", "7736AB001", "7736AB001", ""},
		{"a lowercase letter reason code is upper-cased", "7736ab001", "7736AB001", ""},
		{"a lost leading zero is put back", "27401001", "027401001", CodeKPPLeadingZeroLost},
		{"pandas' .0 is stripped", "773601001.0", "773601001", ""},
		{"spaces are dropped", "7736 01 001", "773601001", ""},
		{"a КПП of the wrong length is dropped", "7736010", "", CodeKPPInvalid},
		{"letters in the tax office part are invalid", "77A601001", "", CodeKPPInvalid},
		{"too many digits are invalid", "7736010011", "", CodeKPPInvalid},
	} {
		t.Run(c.name, func(t *testing.T) {
			kpp, issue := RepairKPP(c.cell)
			if kpp != c.kpp {
				t.Errorf("RepairKPP(%q) = %q, want %q", c.cell, kpp, c.kpp)
			}
			got := ""
			if issue != nil {
				got = issue.Code
			}
			if got != c.code {
				t.Errorf("issue %+v, want code %q", issue, c.code)
			}
		})
	}
}

func TestRepairOGRN(t *testing.T) {
	for _, c := range []struct {
		name, cell, ogrn string
		issue            bool
	}{
		{"a valid ОГРН is kept", "1027700132195", "1027700132195", false},
		{"a valid ОГРНИП is kept", "304500116000157", "304500116000157", false},
		{"pandas' .0 is stripped", "1027700132195.0", "1027700132195", false},
		{"scientific notation with digits lost is dropped", "1,0277E+12", "", true},
		{"a wrong check digit is dropped", "1027700132196", "", true},
		{"an empty cell is nothing", "", "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			ogrn, issue := RepairOGRN(c.cell)
			if ogrn != c.ogrn || (issue != nil) != c.issue {
				t.Errorf("RepairOGRN(%q) = %q, %+v; want %q, issue %v", c.cell, ogrn, issue, c.ogrn, c.issue)
			}
		})
	}
}

func FuzzRepairINN(f *testing.F) {
	for _, s := range []string{
		"7707083893", "500100732259", "274062111", "7707083893.0", "7707083893/773601001",
		"ИНН 7707 083 893", "7,72031E+09", "7.707083893E+09", "0000000000", "", "E9", "1e99",
		"1,E+1", "0/0", "\xff", "72537304026",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cell string) {
		inn, kpp, issue := RepairINN(cell)
		if inn != "" && (dedup.ValidateINN(inn) != "" || !innValid(inn)) {
			t.Fatalf("RepairINN(%q) = %q, which fails the check digits", cell, inn)
		}
		if kpp != "" && dedup.ValidateKPP(kpp) != "" {
			t.Fatalf("RepairINN(%q) gave КПП %q, which is malformed", cell, kpp)
		}
		if issue != nil && issue.Fixed != inn {
			t.Fatalf("RepairINN(%q): issue says fixed %q, returned %q", cell, issue.Fixed, inn)
		}
		if k, _ := RepairKPP(cell); k != "" && dedup.ValidateKPP(k) != "" {
			t.Fatalf("RepairKPP(%q) = %q, which is malformed", cell, k)
		}
	})
}
