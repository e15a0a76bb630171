package server

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// TestPhonesLookTheSameForCompaniesAndContacts: one number typed the same
// way on a company and on a contact comes back in one JSON shape, and
// every page writes it in one format.
func TestPhonesLookTheSameForCompaniesAndContacts(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		c := e.cast
		const typed, shown = "8 495 123 45 67", "+7 (495) 123-45-67"
		var co, ct struct {
			ID     int64             `json:"id"`
			Phones []json.RawMessage `json:"phones"`
			Emails []json.RawMessage `json:"emails"`
		}
		if code := e.api(&c.Alisa, "POST", "/api/companies/", map[string]any{
			"name": "ООО «Телефон»", "phones": []any{typed}, "emails": []any{"Info@Phone.ru"},
		}, &co); code != http.StatusCreated {
			t.Fatalf("create company: %d", code)
		}
		if code := e.api(&c.Alisa, "POST", "/api/contacts/", map[string]any{
			"company": co.ID, "last_name": "Звонков", "phones": []any{typed}, "emails": []any{"Info@Phone.ru"},
		}, &ct); code != http.StatusCreated {
			t.Fatalf("create contact: %d", code)
		}

		t.Run("the API gives the same phone and e-mail JSON for both", func(t *testing.T) {
			var cp, pp, ce, pe map[string]any
			for _, x := range []struct {
				raw json.RawMessage
				dst *map[string]any
			}{{co.Phones[0], &cp}, {ct.Phones[0], &pp}, {co.Emails[0], &ce}, {ct.Emails[0], &pe}} {
				if err := json.Unmarshal(x.raw, x.dst); err != nil {
					t.Fatal(err)
				}
			}
			want := map[string]any{"value": typed, "kind": "work", "comment": "", "e164": "+74951234567"}
			if !reflect.DeepEqual(cp, want) || !reflect.DeepEqual(pp, want) {
				t.Errorf("company phone %v, contact phone %v, want both %v", cp, pp, want)
			}
			if !reflect.DeepEqual(ce, pe) || ce["kind"] != "work" || ce["value"] != "Info@Phone.ru" {
				t.Errorf("company e-mail %v, contact e-mail %v", ce, pe)
			}
		})

		for _, path := range []string{
			"/companies/", "/companies/" + strconv.FormatInt(co.ID, 10) + "/",
			"/contacts/", "/contacts/" + strconv.FormatInt(ct.ID, 10) + "/",
		} {
			t.Run("the page "+path+" shows the number formatted", func(t *testing.T) {
				rec := e.do(&c.Alisa, "GET", path, nil)
				body := rec.Body.String()
				if rec.Code != http.StatusOK || !strings.Contains(body, shown) || strings.Contains(body, ">"+typed+"<") {
					t.Errorf("%d: want %q and not the typed %q", rec.Code, shown, typed)
				}
			})
		}
	})
}
