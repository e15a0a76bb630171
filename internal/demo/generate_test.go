package demo

import (
	"testing"

	"github.com/crmprofi/crm/internal/dedup"
)

func TestGeneratedCompaniesPassValidation(t *testing.T) {
	g := New(1)
	seen := map[string]bool{}
	for i := range 5000 {
		c := g.Company(i)
		if msg := dedup.ValidateINN(c.INN); msg != "" {
			t.Fatalf("company %d ИНН %s: %s", i, c.INN, msg)
		}
		if c.KPP != "" {
			if msg := dedup.ValidateKPP(c.KPP); msg != "" {
				t.Fatalf("company %d КПП %s: %s", i, c.KPP, msg)
			}
		}
		if msg := dedup.ValidateOGRN(c.OGRN); msg != "" {
			t.Fatalf("company %d ОГРН %s: %s", i, c.OGRN, msg)
		}
		if seen[c.INN] {
			t.Fatalf("company %d repeats ИНН %s", i, c.INN)
		}
		seen[c.INN] = true
		for _, p := range c.Phones {
			if _, ok := dedup.NormalizePhone(p.Value); !ok {
				t.Fatalf("company %d phone %q does not normalise", i, p.Value)
			}
		}
		for _, e := range c.Emails {
			if _, ok := dedup.NormalizeEmail(e); !ok {
				t.Fatalf("company %d e-mail %q is invalid", i, e)
			}
		}
	}
}

func TestGeneratedContactsHaveUsablePhones(t *testing.T) {
	g := New(2)
	for range 2000 {
		p := g.Contact()
		if p.LastName == "" || p.FirstName == "" {
			t.Fatalf("contact without a name: %+v", p)
		}
		for _, ph := range p.Phones {
			if _, ok := dedup.NormalizePhone(ph.Value); !ok {
				t.Fatalf("contact phone %q does not normalise", ph.Value)
			}
		}
	}
}

func TestTheSameSeedGivesTheSameData(t *testing.T) {
	a, b := New(7).Company(42), New(7).Company(42)
	if a.Name != b.Name || a.INN != b.INN || a.Phones[0] != b.Phones[0] {
		t.Fatalf("seeded generation differs: %+v vs %+v", a, b)
	}
}
