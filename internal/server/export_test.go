package server

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/crmprofi/crm/internal/export"
)

// exportFixture creates companies through the API: a spread of
// branches, responsibles and names, one whose cells try to be formulas,
// and contacts for two of them. It returns the ids by name.
func exportFixture(t *testing.T, e *testEnv) map[string]int64 {
	t.Helper()
	c := e.cast
	ids := map[string]int64{}
	add := func(body map[string]any) {
		t.Helper()
		var out struct {
			ID int64 `json:"id"`
		}
		if code := e.api(&c.Admin, http.MethodPost, "/api/companies/", body, &out); code != http.StatusCreated {
			t.Fatalf("create %v: %d", body["name"], code)
		}
		ids[body["name"].(string)] = out.ID
	}
	add(map[string]any{"name": "Альфа Строй", "inn": "7707083893", "kpp": "770701001", "responsible": c.Alisa.ID,
		"address": "Москва, ул. Ленина, 1", "phones": []string{"+7 495 111-22-33"}, "emails": []string{"info@alfa.ru"}})
	add(map[string]any{"name": "Бета Торг", "responsible": c.Vera.ID, "phones": []string{"8 812 222-33-44"}})
	add(map[string]any{"name": "Гамма Сервис", "responsible": c.Boris.ID})
	add(map[string]any{"name": "Дельта Альфа", "responsible": c.Gleb.ID})
	add(map[string]any{"name": "=HYPERLINK(\"http://evil\";\"ok\")", "legal_name": "@SUM(A1:A9)", "address": "-2+3", "responsible": c.Alisa.ID})
	for _, ct := range []map[string]any{
		{"company": ids["Альфа Строй"], "last_name": "Иванов", "first_name": "Иван", "position": "директор",
			"phones": []string{"+7 916 000-00-01"}, "emails": []string{"ivan@alfa.ru"}},
		{"company": ids["Альфа Строй"], "last_name": "Петрова", "first_name": "Анна"},
		{"company": ids["Бета Торг"], "last_name": "Сидоров", "first_name": "Пётр", "position": "закупки"},
	} {
		if code := e.api(&c.Admin, http.MethodPost, "/api/contacts/", ct, nil); code != http.StatusCreated {
			t.Fatalf("create contact %v: %d", ct["last_name"], code)
		}
	}
	return ids
}

// readCSV checks the file's envelope (BOM, CRLF) and returns its rows.
func readCSV(t *testing.T, body []byte) [][]string {
	t.Helper()
	if !bytes.HasPrefix(body, []byte("\uFEFF")) {
		t.Fatalf("the CSV does not start with a BOM: %q", body[:min(len(body), 20)])
	}
	if !bytes.Contains(body, []byte("\r\n")) || bytes.Count(body, []byte("\n")) < bytes.Count(body, []byte("\r\n")) {
		t.Fatal("the CSV lines do not end in CRLF")
	}
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(body, []byte("\uFEFF"))))
	r.Comma = ';'
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatalf("the CSV does not read with «;»: %v", err)
	}
	if len(rows) == 0 || !slices.Equal(rows[0], export.Columns) {
		t.Fatalf("header %v, want %v", rows, export.Columns)
	}
	return rows
}

func exportAudit(t *testing.T, e *testEnv) []map[string]any {
	t.Helper()
	rows, err := e.db.QueryContext(context.Background(), `SELECT COALESCE(actor_id, 0), outcome, ip, detail FROM audit_log
		WHERE action = 'export.companies' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []map[string]any
	for rows.Next() {
		var (
			actor            int64
			outcome, ip, raw string
		)
		if err := rows.Scan(&actor, &outcome, &ip, &raw); err != nil {
			t.Fatal(err)
		}
		d := map[string]any{}
		if err := json.Unmarshal([]byte(raw), &d); err != nil {
			t.Fatal(err)
		}
		d["_actor"], d["_outcome"], d["_ip"] = float64(actor), outcome, ip
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestExportAccessMatrix(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		exportFixture(t, e)
		paths := []string{"/api/export/companies/?format=csv&search=альфа", "/export/companies/?format=xlsx&branch=" + fmt.Sprint(e.cast.BranchA)}
		want := 0
		for _, m := range e.cast.All() {
			for _, path := range paths {
				t.Run(m.Username+" "+path, func(t *testing.T) {
					req := httptest.NewRequest(http.MethodGet, path, nil)
					req.Header.Set("User-Agent", "export-test/1")
					req.AddCookie(&http.Cookie{Name: sessionCookie, Value: e.session(m)})
					rec := httptestServe(e, req)
					want++
					audits := exportAudit(t, e)
					if len(audits) != want {
						t.Fatalf("%d audit entries after %d attempts", len(audits), want)
					}
					last := audits[len(audits)-1]
					if last["_actor"] != float64(m.ID) || last["user_agent"] != "export-test/1" || last["_ip"] == "" {
						t.Errorf("audit entry %v", last)
					}
					if m.ID == e.cast.Admin.ID {
						if rec.Code != http.StatusOK || last["_outcome"] != "ok" || last["rows"] == float64(0) {
							t.Fatalf("admin: %d, audit %v", rec.Code, last)
						}
						return
					}
					if rec.Code != http.StatusForbidden {
						t.Fatalf("%s got %d, want 403", m.Username, rec.Code)
					}
					if strings.Contains(rec.Header().Get("Content-Disposition"), "attachment") || bytes.HasPrefix(rec.Body.Bytes(), []byte("\uFEFF")) ||
						bytes.HasPrefix(rec.Body.Bytes(), []byte("PK")) {
						t.Fatal("a refused export sent a file")
					}
					if strings.HasPrefix(path, "/api/") {
						var body struct{ Detail string }
						if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || !strings.Contains(body.Detail, "только администраторам") {
							t.Errorf("403 body %q", rec.Body.String())
						}
					} else if !strings.Contains(rec.Body.String(), "только администраторам") {
						t.Error("the 403 page does not say why")
					}
					filters, _ := last["filters"].(map[string]any)
					if last["_outcome"] != "denied" || last["format"] == "" || len(filters) == 0 {
						t.Errorf("refusal audit %v", last)
					}
				})
			}
		}
	})
}

func httptestServe(e *testEnv, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	return rec
}

// listIDs is the ids the list API shows for the query, all pages.
func listIDs(t *testing.T, e *testEnv, query string) []string {
	t.Helper()
	var ids []string
	for page := 1; ; page++ {
		var out struct {
			Results []struct {
				ID int64 `json:"id"`
			} `json:"results"`
			Next *string `json:"next"`
		}
		if code := e.api(&e.cast.Admin, http.MethodGet, fmt.Sprintf("/api/companies/?%s&page=%d&page_size=2", query, page), nil, &out); code != http.StatusOK {
			t.Fatalf("list %s: %d", query, code)
		}
		for _, r := range out.Results {
			ids = append(ids, fmt.Sprint(r.ID))
		}
		if out.Next == nil {
			return ids
		}
	}
}

func TestExportEqualsTheList(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		exportFixture(t, e)
		c := e.cast
		for _, query := range []string{
			"",
			"ordering=-name",
			"ordering=-created_at",
			"search=альфа",
			"search=альфа&ordering=-name",
			"responsible=" + fmt.Sprint(c.Alisa.ID),
			"branch=" + fmt.Sprint(c.BranchB) + "&ordering=inn",
			"inn=7707083893",
			"search=" + url.QueryEscape("+7 495 111 22 33"),
		} {
			t.Run(query, func(t *testing.T) {
				want := listIDs(t, e, query)
				rec := e.do(&c.Admin, http.MethodGet, "/api/export/companies/?format=csv&"+query, nil)
				if rec.Code != http.StatusOK {
					t.Fatalf("export: %d %s", rec.Code, rec.Body.String())
				}
				var got []string
				for _, row := range readCSV(t, rec.Body.Bytes())[1:] {
					got = append(got, row[0])
				}
				if !slices.Equal(got, want) {
					t.Errorf("export %v, list %v", got, want)
				}
			})
		}
	})
}

func TestExportCSVContent(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		ids := exportFixture(t, e)
		rec := e.do(&e.cast.Admin, http.MethodGet, "/api/export/companies/", nil) // no format: CSV
		if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/csv") ||
			!strings.Contains(rec.Header().Get("Content-Disposition"), "attachment; filename=companies-") {
			t.Fatalf("%d %v", rec.Code, rec.Header())
		}
		rows := readCSV(t, rec.Body.Bytes())
		byID := map[string][]string{}
		for _, r := range rows[1:] {
			byID[r[0]] = r
		}
		col := func(name string) int { return slices.Index(export.Columns, name) }
		evil := byID[fmt.Sprint(ids["=HYPERLINK(\"http://evil\";\"ok\")"])]
		for name, want := range map[string]string{
			"Название": "'=HYPERLINK(\"http://evil\";\"ok\")", "Юридическое название": "'@SUM(A1:A9)",
			"Адрес": "'-2+3",
		} {
			if got := evil[col(name)]; got != want {
				t.Errorf("%s: %q, want %q (neutralised)", name, got, want)
			}
		}
		alfa := byID[fmt.Sprint(ids["Альфа Строй"])]
		for name, want := range map[string]string{
			"ИНН": "7707083893", "КПП": "770701001", "E-mail": "info@alfa.ru", "Адрес": "Москва, ул. Ленина, 1",
		} {
			if got := alfa[col(name)]; got != want {
				t.Errorf("%s: %q, want %q", name, got, want)
			}
		}
		if got := alfa[col("Телефоны")]; !strings.HasPrefix(got, "'+7") {
			t.Errorf("a phone starting with + is neutralised too: %q", got)
		}
		if got := alfa[col("Ответственный")]; got != e.cast.Alisa.FullName() {
			t.Errorf("responsible %q, want «Имя Фамилия» %q", got, e.cast.Alisa.FullName())
		}
		contacts := alfa[col("Контакты")]
		if !strings.Contains(contacts, "Иванов Иван (директор): +7 916 000-00-01, ivan@alfa.ru") || !strings.Contains(contacts, "Петрова Анна") {
			t.Errorf("contacts cell %q", contacts)
		}
		if alfa[col("Создана")] == "" || alfa[col("Изменена")] == "" {
			t.Error("dates are missing")
		}
	})
}

func TestExportXLSX(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		ids := exportFixture(t, e)
		rec := e.do(&e.cast.Admin, http.MethodGet, "/api/export/companies/?format=xlsx&ordering=-name", nil)
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != export.XLSX.ContentType() {
			t.Fatalf("%d %v", rec.Code, rec.Header())
		}
		f, err := excelize.OpenReader(bytes.NewReader(rec.Body.Bytes()))
		if err != nil {
			t.Fatalf("excelize cannot open the file: %v", err)
		}
		defer func() { _ = f.Close() }()
		rows, err := f.GetRows(export.CompanySheet)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range rows[1:] {
			got = append(got, r[0])
		}
		if want := listIDs(t, e, "ordering=-name"); !slices.Equal(got, want) || !slices.Equal(rows[0], export.Columns) {
			t.Errorf("xlsx ids %v, list %v (header %v)", got, want, rows[0])
		}
		people, err := f.GetRows(export.ContactSheet)
		if err != nil {
			t.Fatal(err)
		}
		if len(people) != 4 {
			t.Fatalf("contacts sheet has %d rows, want header + 3: %v", len(people), people)
		}
		found := false
		for _, p := range people[1:] {
			if p[0] == fmt.Sprint(ids["Альфа Строй"]) && p[3] == "Иванов Иван" && p[4] == "директор" {
				found = true
			}
		}
		if !found {
			t.Errorf("Иванов is not on the contacts sheet: %v", people)
		}
	})
}

func TestExportBadParametersAre400AndAudited(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		// A filter that does not read (a «;», a broken %-escape) is
		// refused, not dropped: dropped, it exported the whole base.
		queries := []string{"format=pdf", "format=csv&branch=abc", "format=csv&ordering=evil",
			"format=csv&status=1;2", "format=xlsx&search=%zz"}
		for _, q := range queries {
			rec := e.do(&e.cast.Admin, http.MethodGet, "/api/export/companies/?"+q, nil)
			if rec.Code != http.StatusBadRequest || bytes.HasPrefix(rec.Body.Bytes(), []byte("\uFEFF")) || bytes.HasPrefix(rec.Body.Bytes(), []byte("PK")) {
				t.Errorf("%s: %d %s", q, rec.Code, rec.Body.String())
			}
		}
		audits := exportAudit(t, e)
		if len(audits) != len(queries) || audits[0]["_outcome"] != "error" {
			t.Errorf("audit %v", audits)
		}
	})
}
