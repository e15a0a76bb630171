package server

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/crmprofi/crm/internal/contact"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
	"github.com/crmprofi/crm/internal/dedup"
)

// seedCompany writes a company row (and its name terms) directly, so these
// tests do not depend on the company handlers.
func (e *testEnv) seedCompany(name string, branch, responsible int64) int64 {
	e.t.Helper()
	ctx := context.Background()
	now := database.Now()
	var id int64
	err := e.db.QueryRowContext(ctx, `INSERT INTO companies (name, name_norm, branch_id, responsible_id, created_by, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $4, $5, $5) RETURNING id`, name, dedup.NormalizeName(name), branch, responsible, now).Scan(&id)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, term := range dedup.Tokens(dedup.NormalizeName(name)) {
		if _, err := e.db.ExecContext(ctx, `INSERT INTO company_terms (term, company_id) VALUES ($1, $2)`, term, id); err != nil {
			e.t.Fatal(err)
		}
	}
	return id
}

// seedContact creates a contact through the store as m.
func (e *testEnv) seedContact(m dbtest.Member, company int64, last string) contact.Contact {
	e.t.Helper()
	in := contact.Input{LastName: last, FirstName: "Иван", Phones: []contact.Phone{{Value: "+7 495 111-22-33"}}}
	if company != 0 {
		in.Company = &company
	}
	c, err := e.srv.contacts.Create(context.Background(), m.Scope, in)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func page(t *testing.T, rec *httptest.ResponseRecorder) *goquery.Document {
	t.Helper()
	doc, err := goquery.NewDocumentFromReader(bytes.NewReader(rec.Body.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func contactPath(id int64, suffix string) string {
	return "/api/contacts/" + strconv.FormatInt(id, 10) + "/" + suffix
}

func TestContactsAPIAccessMatrix(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		c := e.cast
		compA := e.seedCompany("Ромашка", c.BranchA, c.Alisa.ID)
		compB := e.seedCompany("Кедр", c.BranchB, c.Vera.ID)
		// Per member (admin, alisa, boris, vera, gleb, darya): GET, PATCH, DELETE status.
		cases := []struct {
			name    string
			company int64
			owner   dbtest.Member
			get     [6]int
			change  [6]int
		}{
			{"a contact of Алиса's company in branch A", compA, c.Alisa,
				[6]int{200, 200, 200, 404, 200, 200}, [6]int{200, 200, 200, 404, 403, 200}},
			{"a contact of Вера's company in branch B", compB, c.Vera,
				[6]int{200, 404, 404, 200, 200, 200}, [6]int{200, 404, 404, 200, 403, 200}},
			{"Алиса's contact without a company", 0, c.Alisa,
				[6]int{200, 200, 404, 404, 200, 200}, [6]int{200, 200, 404, 404, 403, 200}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				for i, m := range c.All() {
					t.Run(m.Username, func(t *testing.T) {
						ct := e.seedContact(tc.owner, tc.company, "Матрицын")
						var got contact.Contact
						if code := e.api(&m, "GET", contactPath(ct.ID, ""), nil, &got); code != tc.get[i] {
							t.Fatalf("GET %d, want %d", code, tc.get[i])
						}
						var list listPage[contact.Contact]
						e.api(&m, "GET", "/api/contacts/?search=Матрицын", nil, &list)
						listed := false
						for _, x := range list.Results {
							listed = listed || x.ID == ct.ID
						}
						if listed != (tc.get[i] == 200) {
							t.Fatalf("listed %v, want %v", listed, tc.get[i] == 200)
						}
						if code := e.api(&m, "PATCH", contactPath(ct.ID, ""), map[string]any{"position": "Снабженец"}, nil); code != tc.change[i] {
							t.Fatalf("PATCH %d, want %d", code, tc.change[i])
						}
						want := tc.change[i]
						if want == 200 {
							want = 204
						}
						if code := e.api(&m, "DELETE", contactPath(ct.ID, ""), nil, nil); code != want {
							t.Fatalf("DELETE %d, want %d", code, want)
						}
						if want == http.StatusForbidden {
							var outcome string
							err := e.db.QueryRowContext(context.Background(), `SELECT outcome FROM audit_log WHERE action = 'contact.delete'
								AND object_id = $1 AND actor_id = $2`, strconv.FormatInt(ct.ID, 10), m.ID).Scan(&outcome)
							if err != nil || outcome != "denied" {
								t.Fatalf("refused delete not audited: %v %q", err, outcome)
							}
						}
					})
				}
			})
		}
	})
}

func TestContactsAPI(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		c := e.cast
		compA := e.seedCompany("ООО «Ромашка»", c.BranchA, c.Alisa.ID)
		var created contact.Contact
		code := e.api(&c.Alisa, "POST", "/api/contacts/", map[string]any{
			"company": compA, "last_name": "Петрова", "first_name": "Мария", "position": "Закупщица",
			"phones": []any{"8 (916) 555-44-33", map[string]any{"value": "+7 495 000-11-22 доб. 7", "kind": "work_direct", "comment": "офис"}},
			"emails": []any{"Maria@Romashka.ru"},
		}, &created)
		if code != http.StatusCreated || created.FullName != "Петрова Мария" || created.CompanyName != "ООО «Ромашка»" ||
			len(created.Phones) != 2 || created.Phones[0].Kind != "work" || created.Phones[1].Ext != "7" || created.Version != 1 {
			t.Fatalf("POST %d %+v", code, created)
		}

		t.Run("bad input answers 400 with Russian messages per field", func(t *testing.T) {
			var errs map[string][]string
			code := e.api(&c.Alisa, "POST", "/api/contacts/", map[string]any{"company": 999999, "phones": []string{"абв"}}, &errs)
			if code != http.StatusBadRequest || len(errs["last_name"]) != 1 || len(errs["phones"]) != 1 {
				t.Fatalf("%d %v", code, errs)
			}
			code = e.api(&c.Alisa, "POST", "/api/contacts/", map[string]any{"company": 999999, "last_name": "Иванов"}, &errs)
			if code != http.StatusBadRequest || errs["company"][0] != "Компания не найдена" {
				t.Fatalf("%d %v", code, errs)
			}
			code = e.api(&c.Alisa, "POST", "/api/contacts/", map[string]any{"last_name": 5}, &errs)
			if code != http.StatusBadRequest {
				t.Fatalf("wrong type: %d", code)
			}
		})

		t.Run("a phone typed any common way finds the contact", func(t *testing.T) {
			for _, q := range []string{"89165554433", "+7 (916) 555-44-33", "7 916 555 44 33", "9165554433", "8-495-000-11-22"} {
				var list listPage[contact.Contact]
				if code := e.api(&c.Alisa, "GET", "/api/contacts/?search="+url.QueryEscape(q), nil, &list); code != 200 || list.Count != 1 {
					t.Errorf("%q: %d, count %d", q, code, list.Count)
				}
			}
		})

		t.Run("the company filter and the company name search agree", func(t *testing.T) {
			var list listPage[contact.Contact]
			e.api(&c.Alisa, "GET", fmt.Sprintf("/api/contacts/?company=%d", compA), nil, &list)
			if list.Count != 1 {
				t.Fatalf("company filter: %d", list.Count)
			}
			e.api(&c.Alisa, "GET", "/api/contacts/?search=ромаш", nil, &list)
			if list.Count != 1 {
				t.Fatalf("company name: %d", list.Count)
			}
			if code := e.api(&c.Alisa, "GET", "/api/contacts/?company=x", nil, nil); code != http.StatusBadRequest {
				t.Fatalf("bad company filter: %d", code)
			}
		})

		t.Run("PATCH keeps what it does not mention and a stale version is 409", func(t *testing.T) {
			var got contact.Contact
			code := e.api(&c.Alisa, "PATCH", contactPath(created.ID, ""), map[string]any{"position": "Директор", "version": 1}, &got)
			if code != 200 || got.Position != "Директор" || len(got.Phones) != 2 || got.FirstName != "Мария" || got.Version != 2 {
				t.Fatalf("PATCH %d %+v", code, got)
			}
			if code := e.api(&c.Alisa, "PATCH", contactPath(created.ID, ""), map[string]any{"position": "x", "version": 1}, nil); code != http.StatusConflict {
				t.Fatalf("stale PATCH %d", code)
			}
			code = e.api(&c.Alisa, "PUT", contactPath(created.ID, ""), map[string]any{"last_name": "Петрова"}, &got)
			if code != 200 || got.Position != "" || len(got.Phones) != 0 || got.CompanyID != nil {
				t.Fatalf("PUT %d %+v", code, got)
			}
		})
	})
}

func TestContactPages(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		c := e.cast
		compA := e.seedCompany("Ромашка", c.BranchA, c.Alisa.ID)
		e.seedContact(c.Alisa, compA, "Сидоров")

		t.Run("the list shows the table with phone links and the company", func(t *testing.T) {
			rec := e.do(&c.Alisa, "GET", "/contacts/", nil)
			if rec.Code != 200 {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
			doc := page(t, rec)
			rows := doc.Find(`[data-testid="contacts-table"] [data-testid="contact-row"]`)
			if rows.Length() != 1 || !strings.Contains(rows.Text(), "Сидоров Иван") {
				t.Fatalf("rows %d: %s", rows.Length(), rows.Text())
			}
			if href, _ := rows.Find(`[data-testid="contact-phone"]`).Attr("href"); href != "tel:+74951112233" {
				t.Fatalf("tel link %q", href)
			}
			if href, _ := rows.Find(`[data-testid="contact-company"]`).Attr("href"); href != fmt.Sprintf("/companies/%d/", compA) {
				t.Fatalf("company link %q", href)
			}
			rec = e.do(&c.Vera, "GET", "/contacts/?search=сидор", nil)
			if page(t, rec).Find(`[data-testid="empty"]`).Length() != 1 {
				t.Fatal("Вера sees someone else's contact")
			}
		})

		t.Run("the new form shows the company from the card read-only", func(t *testing.T) {
			rec := e.do(&c.Alisa, "GET", fmt.Sprintf("/contacts/new?company=%d", compA), nil)
			doc := page(t, rec)
			if rec.Code != 200 || doc.Find(`[data-testid="contact-form-company"]`).Text() != "Ромашка" {
				t.Fatalf("%d %s", rec.Code, doc.Find(`[data-testid="field-company"]`).Text())
			}
			if rec := e.do(&c.Vera, "GET", fmt.Sprintf("/contacts/new?company=%d", compA), nil); rec.Code != http.StatusNotFound {
				t.Fatalf("hidden company: %d", rec.Code)
			}
		})

		t.Run("a form without a name comes back with the message beside the field", func(t *testing.T) {
			form := url.Values{"company": {strconv.FormatInt(compA, 10)}, "phone_value": {"не номер", ""}, "phone_kind": {"mobile", "mobile"}}
			rec := e.do(&c.Alisa, "POST", "/contacts/", form.Encode())
			doc := page(t, rec)
			if rec.Code != http.StatusBadRequest || doc.Find(`[data-testid="error-last_name"]`).Length() != 1 ||
				doc.Find(`[data-testid="error-phones"]`).Length() != 1 {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
			if v, _ := doc.Find(`#f-last_name`).Attr("aria-invalid"); v != "true" {
				t.Fatal("no aria-invalid on the name")
			}
			if v, _ := doc.Find(`#f-phone-0`).Attr("value"); v != "не номер" {
				t.Fatalf("typed phone lost: %q", v)
			}
		})

		var id int64
		t.Run("a good form creates the contact and opens its card", func(t *testing.T) {
			form := url.Values{"company": {strconv.FormatInt(compA, 10)}, "last_name": {"Кузнецова"}, "first_name": {"Ольга"},
				"phone_value": {"8 912 000 00 01", ""}, "phone_kind": {"mobile", "mobile"}, "phone_comment": {"личный", ""},
				"email_value": {"olga@romashka.ru"}, "email_kind": {"work"}}
			rec := e.do(&c.Alisa, "POST", "/contacts/", form.Encode())
			if rec.Code != http.StatusSeeOther {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
			if _, err := fmt.Sscanf(rec.Header().Get("Location"), "/contacts/%d/", &id); err != nil {
				t.Fatal(rec.Header().Get("Location"))
			}
			rec = e.do(&c.Alisa, "GET", contactPath(id, "")[4:], nil)
			doc := page(t, rec)
			if rec.Code != 200 || !strings.Contains(doc.Find(`[data-testid="contact-phones"]`).Text(), "+7 (912) 000-00-01") {
				t.Fatalf("%d %s", rec.Code, doc.Find(`[data-testid="contact-card"]`).Text())
			}
			if doc.Find(`[data-testid="delete-form"]`).Length() != 1 {
				t.Fatal("no delete button for the owner")
			}
			// Глеб sees Алиса's company but may not change it: no buttons.
			rec = e.do(&c.Gleb, "GET", contactPath(id, "")[4:], nil)
			if page(t, rec).Find(`[data-testid="delete-form"]`).Length() != 0 {
				t.Fatal("delete offered to Глеб")
			}
		})

		t.Run("the edit form saves and a stale version is refused", func(t *testing.T) {
			path := contactPath(id, "edit")[4:]
			rec := e.do(&c.Alisa, "GET", path, nil)
			doc := page(t, rec)
			ver, _ := doc.Find(`input[name="version"]`).Attr("value")
			if rec.Code != 200 || ver != "1" {
				t.Fatalf("%d version %q", rec.Code, ver)
			}
			form := url.Values{"company": {strconv.FormatInt(compA, 10)}, "last_name": {"Кузнецова"}, "position": {"Юрист"}, "version": {"1"}}
			if rec := e.do(&c.Alisa, "POST", path, form.Encode()); rec.Code != http.StatusSeeOther {
				t.Fatalf("save %d %s", rec.Code, rec.Body)
			}
			if rec := e.do(&c.Alisa, "POST", path, form.Encode()); rec.Code != http.StatusConflict {
				t.Fatalf("stale save %d", rec.Code)
			}
			if rec := e.do(&c.Gleb, "GET", path, nil); rec.Code != http.StatusForbidden {
				t.Fatalf("Глеб's edit page %d", rec.Code)
			}
		})

		t.Run("delete goes to the trash, and only an admin restores", func(t *testing.T) {
			if rec := e.do(&c.Gleb, "POST", contactPath(id, "delete")[4:], ""); rec.Code != http.StatusForbidden {
				t.Fatalf("Глеб deletes: %d", rec.Code)
			}
			rec := e.do(&c.Alisa, "POST", contactPath(id, "delete")[4:], "")
			if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != fmt.Sprintf("/companies/%d/#contacts", compA) {
				t.Fatalf("delete %d %s", rec.Code, rec.Header().Get("Location"))
			}
			if rec := e.do(&c.Alisa, "GET", "/admin/trash/contacts/", nil); rec.Code != http.StatusForbidden {
				t.Fatalf("trash for Алиса: %d", rec.Code)
			}
			rec = e.do(&c.Admin, "GET", "/admin/trash/contacts/", nil)
			if rec.Code != 200 || page(t, rec).Find(`[data-testid="trash-row"]`).Length() != 1 {
				t.Fatalf("trash %d %s", rec.Code, rec.Body)
			}
			restore := fmt.Sprintf("/admin/trash/contacts/%d/restore", id)
			if rec := e.do(&c.Darya, "POST", restore, ""); rec.Code != http.StatusForbidden {
				t.Fatalf("Дарья restores: %d", rec.Code)
			}
			if rec := e.do(&c.Admin, "POST", restore, ""); rec.Code != http.StatusSeeOther {
				t.Fatalf("restore %d", rec.Code)
			}
			if rec := e.do(&c.Alisa, "GET", contactPath(id, ""), nil); rec.Code != 200 {
				t.Fatalf("restored contact: %d", rec.Code)
			}
		})

		t.Run("the company card lists the company's contacts", func(t *testing.T) {
			for _, tc := range []struct {
				m    dbtest.Member
				rows int
			}{{c.Alisa, 2}, {c.Gleb, 2}} {
				html := e.section(tc.m, func(r *http.Request) (string, error) {
					comp, err := e.srv.companyContactsSection(r, compA, false)
					if err != nil {
						return "", err
					}
					var b strings.Builder
					err = comp.Render(r.Context(), &b)
					return b.String(), err
				})
				doc, _ := goquery.NewDocumentFromReader(strings.NewReader(html))
				if n := doc.Find(`[data-testid="company-contacts"] [data-testid="contact-row"]`).Length(); n != tc.rows {
					t.Fatalf("%s: %d rows", tc.m.Username, n)
				}
				if href, _ := doc.Find(`[data-testid="company-contact-new"]`).Attr("href"); href != fmt.Sprintf("/contacts/new?company=%d", compA) {
					t.Fatalf("«+ Контакт» links to %q", href)
				}
			}
			empty := e.seedCompany("Пустая", c.BranchA, c.Alisa.ID)
			html := e.section(c.Alisa, func(r *http.Request) (string, error) {
				comp, err := e.srv.companyContactsSection(r, empty, false)
				if err != nil {
					return "", err
				}
				var b strings.Builder
				err = comp.Render(r.Context(), &b)
				return b.String(), err
			})
			if !strings.Contains(html, `data-testid="empty"`) {
				t.Fatal("no empty state")
			}
		})
	})
}

// section runs fn with a request signed in as m, the way a company card
// handler would call the section builders.
func (e *testEnv) section(m dbtest.Member, fn func(r *http.Request) (string, error)) string {
	e.t.Helper()
	u, err := e.srv.users.Get(context.Background(), m.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/companies/1/", nil)
	r = r.WithContext(context.WithValue(r.Context(), userKey, u))
	out, err := fn(r)
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}
