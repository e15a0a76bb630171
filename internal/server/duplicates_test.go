package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/crmprofi/crm/internal/company"
	"github.com/crmprofi/crm/internal/duplicate"
)

// duplicateAnswer is a 409 of the duplicate check, or a saved company
// with the duplicates it carries.
type duplicateAnswer struct {
	ID         int64             `json:"id"`
	Code       string            `json:"code"`
	Detail     string            `json:"detail"`
	Matches    []duplicate.Match `json:"matches"`
	Duplicates []duplicate.Match `json:"duplicates"`
}

func matchIDs(list []duplicate.Match) []int64 {
	var ids []int64
	for _, m := range list {
		ids = append(ids, m.ID)
	}
	return ids
}

// auditDetail is the detail of the newest audit entry of action on the
// company id.
func auditDetail(t *testing.T, e *testEnv, action string, id int64) string {
	t.Helper()
	var detail string
	err := e.db.QueryRowContext(context.Background(), `SELECT detail FROM audit_log WHERE action = $1 AND object_id = $2 ORDER BY id DESC LIMIT 1`,
		action, fmt.Sprint(id)).Scan(&detail)
	if err != nil {
		t.Fatalf("audit %s %d: %v", action, id, err)
	}
	return detail
}

func TestTheDuplicateCheckOnSave(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		set := newCompanySet(t, e) // A1 «Альфа» has ИНН 7707083893 and no КПП
		admin := e.cast.Admin
		t.Run("a second company with the same ИНН, neither with a КПП, is refused with the match", func(t *testing.T) {
			var got duplicateAnswer
			code := e.api(&admin, "POST", "/api/companies/", map[string]any{"name": "Другая", "inn": "7707 083 893"}, &got)
			if code != http.StatusConflict || got.Code != "duplicate" || got.Detail == "" || !slices.Contains(matchIDs(got.Matches), set.A1) {
				t.Fatalf("%d %+v", code, got)
			}
			var n int
			if err := e.db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM companies WHERE name = 'Другая'`).Scan(&n); err != nil || n != 0 {
				t.Fatalf("written anyway: %d %v", n, err)
			}
		})
		t.Run("confirmed, it is saved and the audit entry names the duplicate", func(t *testing.T) {
			var got duplicateAnswer
			code := e.api(&admin, "POST", "/api/companies/", map[string]any{"name": "Другая", "inn": "7707083893", "confirm_duplicate": true}, &got)
			if code != http.StatusCreated || !slices.Contains(matchIDs(got.Duplicates), set.A1) {
				t.Fatalf("%d %+v", code, got)
			}
			if d := auditDetail(t, e, "company.create", got.ID); !strings.Contains(d, "confirmed_duplicate") || !strings.Contains(d, fmt.Sprint(set.A1)) {
				t.Errorf("audit detail %s", d)
			}
		})
		var head int64
		t.Run("the same ИНН with a КПП on one side only is saved and answered with the match", func(t *testing.T) {
			var got duplicateAnswer
			code := e.api(&admin, "POST", "/api/companies/", map[string]any{"name": "Альфа Центр", "inn": "7707083893", "kpp": "770701001"}, &got)
			if code != http.StatusCreated || !slices.Contains(matchIDs(got.Duplicates), set.A1) {
				t.Fatalf("%d %+v", code, got)
			}
			head = got.ID
		})
		t.Run("the same ИНН with another КПП is a branch: saved, the match says so", func(t *testing.T) {
			var got duplicateAnswer
			code := e.api(&admin, "POST", "/api/companies/", map[string]any{"name": "Альфа Филиал", "inn": "7707083893", "kpp": "770702001"}, &got)
			if code != http.StatusCreated {
				t.Fatalf("%d %+v", code, got)
			}
			i := slices.IndexFunc(got.Duplicates, func(m duplicate.Match) bool { return m.ID == head })
			if i < 0 || !slices.ContainsFunc(got.Duplicates[i].Reasons, func(r duplicate.Reason) bool {
				return r.Field == "kpp" && strings.Contains(r.Detail, "филиал")
			}) {
				t.Fatalf("%+v", got.Duplicates)
			}
		})
		t.Run("the same ИНН and КПП again is refused", func(t *testing.T) {
			var got duplicateAnswer
			code := e.api(&admin, "POST", "/api/companies/", map[string]any{"name": "Альфа Три", "inn": "7707083893", "kpp": "770701001"}, &got)
			if code != http.StatusConflict || got.Matches[0].ID != head || !got.Matches[0].Blocking && got.Matches[0].Score < duplicate.Likely {
				t.Fatalf("%d %+v", code, got)
			}
		})
		t.Run("an edit that gives a company another's ИНН is refused, confirmed it is saved and audited", func(t *testing.T) {
			var got duplicateAnswer
			path := fmt.Sprintf("/api/companies/%d/", set.A2)
			if code := e.api(&admin, "PATCH", path, map[string]any{"inn": "7707083893"}, &got); code != http.StatusConflict || got.Code != "duplicate" {
				t.Fatalf("%d %+v", code, got)
			}
			if code := e.api(&admin, "PATCH", path, map[string]any{"inn": "7707083893", "confirm_duplicate": true}, &got); code != http.StatusOK {
				t.Fatalf("%d %+v", code, got)
			}
			if d := auditDetail(t, e, "company.update", set.A2); !strings.Contains(d, "confirmed_duplicate") {
				t.Errorf("audit detail %s", d)
			}
		})
		t.Run("an edit of other fields of a company that has a double is not refused", func(t *testing.T) {
			var got duplicateAnswer
			if code := e.api(&admin, "PATCH", fmt.Sprintf("/api/companies/%d/", set.A1), map[string]any{"address": "г. Москва"}, &got); code != http.StatusOK {
				t.Fatalf("%d %+v", code, got)
			}
		})
		t.Run("strict mode refuses a likely duplicate by name until confirmed", func(t *testing.T) {
			in := company.Input{Name: company.OptString{Set: true, Value: "ООО «Бета»"}, StrictDuplicates: true}
			_, err := e.srv.companies.Create(context.Background(), admin.Scope, in)
			var found *duplicate.Found
			if !errors.As(err, &found) || !slices.Contains(matchIDs(found.Matches), set.A2) {
				t.Fatalf("%v", err)
			}
			in.ConfirmDuplicate = true
			c, err := e.srv.companies.Create(context.Background(), admin.Scope, in)
			if err != nil || !slices.Contains(matchIDs(c.Duplicates), set.A2) {
				t.Fatalf("%+v %v", c.Duplicates, err)
			}
			if d := auditDetail(t, e, "company.create", c.ID); !strings.Contains(d, "confirmed_duplicate") {
				t.Errorf("audit detail %s", d)
			}
		})
		t.Run("without strict mode the same name alone is saved and reported", func(t *testing.T) {
			var got duplicateAnswer
			if code := e.api(&admin, "POST", "/api/companies/", map[string]any{"name": "Вега"}, &got); code != http.StatusCreated ||
				!slices.Contains(matchIDs(got.Duplicates), set.B1) {
				t.Fatalf("%d %+v", code, got)
			}
		})
		t.Run("the form shows the refusal on the form, not an error page", func(t *testing.T) {
			form := url.Values{"name": {"Гамма-2"}, "inn": {"7707083893"}}
			rec := e.do(&admin, "POST", "/companies/", form.Encode())
			if rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), `data-testid="company-form"`) {
				t.Fatalf("%d", rec.Code)
			}
		})
	})
}

func TestTheDuplicatesEndpoint(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		set := newCompanySet(t, e)
		admin := e.cast.Admin
		type answer struct {
			Results []duplicate.Match `json:"results"`
		}
		t.Run("it finds by ИНН, phone in another format and a name with a legal form, best first", func(t *testing.T) {
			var got answer
			q := url.Values{"inn": {"7707083893"}, "phone": {"8 495 1234567"}, "name": {"ООО «Альфа»"}}
			if code := e.api(&admin, "GET", "/api/companies/duplicates/?"+q.Encode(), nil, &got); code != http.StatusOK || len(got.Results) == 0 {
				t.Fatalf("%d %+v", code, got)
			}
			m := got.Results[0]
			if m.ID != set.A1 || !m.Accessible || m.INN != "7707083893" || m.Score < duplicate.Likely || len(m.Reasons) < 3 {
				t.Fatalf("%+v", m)
			}
		})
		t.Run("the company being edited is excluded", func(t *testing.T) {
			var got answer
			path := fmt.Sprintf("/api/companies/duplicates/?inn=7707083893&exclude=%d", set.A1)
			if code := e.api(&admin, "GET", path, nil, &got); code != http.StatusOK || len(got.Results) != 0 {
				t.Fatalf("%d %+v", code, got)
			}
		})
		t.Run("nothing typed finds nothing, as an empty list", func(t *testing.T) {
			rec := e.do(&admin, "GET", "/api/companies/duplicates/", nil)
			if rec.Code != http.StatusOK || strings.TrimSpace(rec.Body.String()) != `{"results":[]}` {
				t.Fatalf("%d %s", rec.Code, rec.Body.String())
			}
		})
		hostile := []struct {
			name, query, field, says string
		}{
			{"a huge name", "name=" + strings.Repeat("я", 5000), "name", "не длиннее 255"},
			{"an exclude that is not an id", "exclude=abc", "exclude", "идентификатор"},
			{"a negative exclude", "exclude=-1", "exclude", "идентификатор"},
			{"500 phones", strings.Repeat("phone=1&", 500), "phone", "Не больше"},
			{"500 e-mails", strings.Repeat("email=a@b.ru&", 500), "email", "Не больше"},
			{"two ИНН", "inn=1&inn=2", "inn", "одно значение"},
			{"invalid UTF-8", "address=%ff%fe", "address", "недопустимые символы"},
			{"an ИНН of invalid UTF-8", "inn=%ff", "inn", "недопустимые символы"},
		}
		for _, h := range hostile {
			t.Run(h.name+" is a 400 naming the field", func(t *testing.T) {
				var got map[string][]string
				if code := e.api(&admin, "GET", "/api/companies/duplicates/?"+h.query, nil, &got); code != http.StatusBadRequest ||
					len(got[h.field]) == 0 || !strings.Contains(got[h.field][0], h.says) {
					t.Fatalf("%d %v, want %q on %s", code, got, h.says, h.field)
				}
			})
		}
		t.Run("anonymous callers are refused", func(t *testing.T) {
			if code := e.api(nil, "GET", "/api/companies/duplicates/?inn=7707083893", nil, nil); code != http.StatusUnauthorized {
				t.Fatalf("%d", code)
			}
		})
	})
}

// TestDuplicatesAreScopeSafe runs every cast member against every company
// of the set: a company the member may not see is still reported (so
// nobody creates a double of a colleague's client), but only with its
// name, responsible and reasons — no ИНН, КПП, address or phone, not
// even inside a reason's text.
func TestDuplicatesAreScopeSafe(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		set := newCompanySet(t, e)
		c := e.cast
		// A1 has an address and a КПП-less ИНН; give it more to leak.
		if _, err := e.db.ExecContext(context.Background(), `UPDATE companies SET address = 'г. Москва, ул. Тайная, д. 7', kpp = '' WHERE id = $1`, set.A1); err != nil {
			t.Fatal(err)
		}
		all := set.all()
		names := map[int64]string{set.A1: "Альфа", set.A2: "Бета", set.B1: "Вега", set.B2: "Гамма", set.X: "Икс", set.N: "Ноль"}
		sees := map[string][]int64{
			c.Admin.Username: all,
			c.Alisa.Username: {set.A1},
			c.Boris.Username: {set.A1, set.A2, set.X},
			c.Vera.Username:  {set.B1, set.X},
			c.Gleb.Username:  all,
			c.Darya.Username: all,
		}
		for _, m := range c.All() {
			t.Run(m.Username, func(t *testing.T) {
				for _, id := range all {
					q := url.Values{"name": {names[id]}}
					if id == set.A1 {
						q.Set("inn", "7707083893")
						q.Add("phone", "+74951234567")
						q.Set("address", "Москва, Тайная ул, дом 7")
					}
					rec := e.do(&m, "GET", "/api/companies/duplicates/?"+q.Encode(), nil)
					var got struct {
						Results []map[string]any `json:"results"`
					}
					if rec.Code != http.StatusOK {
						t.Fatalf("%d %s", rec.Code, rec.Body.String())
					}
					if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
						t.Fatal(err)
					}
					i := slices.IndexFunc(got.Results, func(r map[string]any) bool { return r["id"] == float64(id) })
					if i < 0 {
						t.Fatalf("company %d (%s) not reported to %s: %s", id, names[id], m.Username, rec.Body.String())
					}
					r := got.Results[i]
					visible := slices.Contains(sees[m.Username], id)
					if r["accessible"] != visible {
						t.Errorf("%s, company %s: accessible %v, want %v", m.Username, names[id], r["accessible"], visible)
					}
					if r["name"] != names[id] || r["responsible_name"] == "" || r["reasons"] == nil {
						t.Errorf("%s, company %s: %v", m.Username, names[id], r)
					}
					if visible {
						continue
					}
					for _, key := range []string{"inn", "kpp", "address"} {
						if _, ok := r[key]; ok {
							t.Errorf("%s sees %s of hidden company %s: %v", m.Username, key, names[id], r)
						}
					}
					body := rec.Body.String()
					for _, secret := range []string{"7707083893", "Тайная", "123-45-67", "4951234567", "секретарь"} {
						if id == set.A1 && strings.Contains(body, secret) {
							t.Errorf("%s: the answer leaks %q of a hidden company: %s", m.Username, secret, body)
						}
					}
				}
			})
		}
	})
}
