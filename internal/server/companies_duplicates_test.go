package server

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/crmprofi/crm/internal/company"
)

// countCompanies is how many live companies there are.
func countCompanies(t *testing.T, e *testEnv) int {
	t.Helper()
	var n int
	if err := e.db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM companies WHERE deleted_at IS NULL`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestCompanyFormAsksBeforeSavingALikelyDuplicate posts the company form
// (create and edit) the way a browser does: a likely duplicate comes back
// with the matches and «Всё равно создать» and writes nothing; confirmed,
// it is saved and the audit entry names the duplicate; an unrelated
// company is saved at once; a match the user may not see says only whose
// it is.
func TestCompanyFormAsksBeforeSavingALikelyDuplicate(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		c := e.cast
		ids := insertCompanies(t, e,
			company.NewCompany{Name: "ООО «Ромашка»", INN: "7707083893", Address: "г. Москва, ул. Ленина, д. 1",
				ResponsibleID: c.Alisa.ID, CreatedBy: c.Alisa.ID, BranchID: c.BranchA},
			company.NewCompany{Name: "Вектор-Плюс", ResponsibleID: c.Vera.ID, CreatedBy: c.Vera.ID, BranchID: c.BranchB},
		)
		romashka, vector := ids[0], ids[1]
		alisa := c.Alisa

		t.Run("a similar name in the form is stopped and nothing is written", func(t *testing.T) {
			form := url.Values{"name": {"Ромашка"}, "phone": {""}, "email": {""}}
			rec := e.do(&alisa, "POST", "/companies/", form.Encode())
			if rec.Code != http.StatusConflict {
				t.Fatalf("status %d, want 409", rec.Code)
			}
			doc := parseHTML(t, rec.Body.String())
			box := doc.Find(`[data-testid="dup-confirm"]`)
			if !strings.Contains(box.Text(), "Похоже, такая компания уже есть") {
				t.Errorf("no confirmation block: %q", box.Text())
			}
			item := box.Find(`[data-testid="dup-item"]`)
			if item.Length() != 1 || !strings.Contains(item.Find(`[data-testid="dup-name"]`).Text(), "Ромашка") {
				t.Fatalf("matches: %q", box.Text())
			}
			if href, _ := item.Find(`a[data-testid="dup-name"]`).Attr("href"); href != "/companies/"+idString(romashka)+"/" {
				t.Errorf("the match links to %q", href)
			}
			if item.Find(`[data-testid="dup-reason"][data-field="name"]`).Length() != 1 {
				t.Errorf("no «Название» reason: %q", item.Text())
			}
			if !strings.Contains(item.Find(`[data-testid="dup-score"]`).Text(), "%") {
				t.Errorf("score %q", item.Find(`[data-testid="dup-score"]`).Text())
			}
			btn := doc.Find(`[data-testid="dup-confirm-save"]`)
			if name, _ := btn.Attr("name"); name != "confirm_duplicate" || strings.TrimSpace(btn.Text()) != "Всё равно создать" {
				t.Errorf("confirm button %q %q", name, btn.Text())
			}
			if v, _ := doc.Find(`#f-name`).Attr("value"); v != "Ромашка" {
				t.Errorf("the typed name is not kept: %q", v)
			}
			if doc.Find(`[data-testid="form-errors"]`).Length() != 0 {
				t.Error("the one-line message repeats the block")
			}
			if n := countCompanies(t, e); n != 2 {
				t.Errorf("%d companies after a refused save, want 2", n)
			}
		})

		t.Run("the same ИНН is stopped with its reason", func(t *testing.T) {
			form := url.Values{"name": {"Совсем другое имя"}, "inn": {"7707083893"}}
			rec := e.do(&alisa, "POST", "/companies/", form.Encode())
			doc := parseHTML(t, rec.Body.String())
			if rec.Code != http.StatusConflict || doc.Find(`[data-testid="dup-reason"][data-field="inn"]`).Length() == 0 {
				t.Fatalf("status %d: %q", rec.Code, doc.Find(`[data-testid="dup-confirm"]`).Text())
			}
		})

		var confirmed int64
		t.Run("«Всё равно создать» saves it and the audit log says so", func(t *testing.T) {
			form := url.Values{"name": {"Ромашка"}, "confirm_duplicate": {"1"}}
			rec := e.do(&alisa, "POST", "/companies/", form.Encode())
			if rec.Code != http.StatusSeeOther {
				t.Fatalf("status %d, want 303: %s", rec.Code, rec.Body.String())
			}
			if n := countCompanies(t, e); n != 3 {
				t.Fatalf("%d companies, want 3", n)
			}
			if err := e.db.QueryRowContext(context.Background(),
				`SELECT MAX(id) FROM companies`).Scan(&confirmed); err != nil {
				t.Fatal(err)
			}
			var detail string
			err := e.db.QueryRowContext(context.Background(),
				`SELECT detail FROM audit_log WHERE action = 'company.create' AND object_id = $1`, idString(confirmed)).Scan(&detail)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(detail, "confirmed_duplicate") || !strings.Contains(detail, idString(romashka)) {
				t.Errorf("audit detail %s does not name the confirmed duplicate %d", detail, romashka)
			}
		})

		t.Run("an unrelated company is saved without asking", func(t *testing.T) {
			form := url.Values{"name": {"Северное сияние"}}
			rec := e.do(&alisa, "POST", "/companies/", form.Encode())
			if rec.Code != http.StatusSeeOther {
				t.Fatalf("status %d, want 303: %s", rec.Code, parseHTML(t, rec.Body.String()).Find(`[data-testid="dup-confirm"]`).Text())
			}
		})

		t.Run("a match the user may not see says only whose it is", func(t *testing.T) {
			form := url.Values{"name": {"Вектор Плюс"}}
			rec := e.do(&alisa, "POST", "/companies/", form.Encode())
			doc := parseHTML(t, rec.Body.String())
			item := doc.Find(`[data-testid="dup-item"][data-id="` + idString(vector) + `"]`)
			if rec.Code != http.StatusConflict || item.Length() != 1 {
				t.Fatalf("status %d: %q", rec.Code, doc.Find(`[data-testid="dup-confirm"]`).Text())
			}
			if got := item.Find(`[data-testid="dup-owner"]`).Text(); got != "уже есть у Веры Волковой" {
				t.Errorf("owner line %q", got)
			}
			if item.Find(`a`).Length() != 0 {
				t.Error("an inaccessible match has a link")
			}
		})

		t.Run("the edit form asks «Всё равно сохранить» and offers to merge", func(t *testing.T) {
			form := url.Values{"name": {"Ромашка"}, "version": {"1"}}
			rec := e.do(&alisa, "POST", "/companies/"+idString(confirmed)+"/", url.Values{"name": {"Другая"}, "version": {"1"}}.Encode())
			if rec.Code != http.StatusSeeOther {
				t.Fatalf("renaming to an unrelated name: status %d", rec.Code)
			}
			form.Set("version", "2")
			rec = e.do(&alisa, "POST", "/companies/"+idString(confirmed)+"/", form.Encode())
			doc := parseHTML(t, rec.Body.String())
			if rec.Code != http.StatusConflict {
				t.Fatalf("status %d, want 409", rec.Code)
			}
			if got := strings.TrimSpace(doc.Find(`[data-testid="dup-confirm-save"]`).Text()); got != "Всё равно сохранить" {
				t.Errorf("confirm button %q", got)
			}
			want := "/companies/" + idString(confirmed) + "/merge/?with=" + idString(romashka)
			if href, _ := doc.Find(`[data-testid="dup-item"][data-id="` + idString(romashka) + `"] [data-testid="dup-merge"]`).Attr("href"); href != want {
				t.Errorf("merge link %q, want %q", href, want)
			}
			form.Set("confirm_duplicate", "1")
			if rec := e.do(&alisa, "POST", "/companies/"+idString(confirmed)+"/", form.Encode()); rec.Code != http.StatusSeeOther {
				t.Fatalf("confirmed edit: status %d", rec.Code)
			}
		})

		t.Run("the JSON API is not strict: a similar name alone is saved", func(t *testing.T) {
			var out map[string]any
			if code := e.api(&alisa, "POST", "/api/companies/", map[string]any{"name": "Ромашка"}, &out); code != http.StatusCreated {
				t.Fatalf("status %d: %v", code, out)
			}
		})
	})
}
