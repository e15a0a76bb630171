package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/crmprofi/crm/internal/company"
	"github.com/crmprofi/crm/internal/database/dbtest"
	"github.com/crmprofi/crm/internal/notify"
)

func TestMergeAPIRoundTripAndOldLinks(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		set := newCompanySet(t, e)
		c := e.cast
		dup := insertCompanies(t, e, company.NewCompany{Name: "Альфа-Дубль", INN: "500100732259", ResponsibleID: c.Alisa.ID, CreatedBy: c.Alisa.ID,
			BranchID: c.BranchA, Phones: []company.Phone{{Value: "+7 916 111-22-33", Kind: "mobile"}}})[0]
		var preview struct {
			Survivor, Duplicate company.Company
			Moves               company.MergeCounts
		}
		if code := e.api(&c.Alisa, "GET", fmt.Sprintf("/api/companies/%d/merge/?with=%d", set.A1, dup), nil, &preview); code != http.StatusOK ||
			preview.Survivor.ID != set.A1 || preview.Duplicate.ID != dup {
			t.Errorf("preview: %d %+v", code, preview)
		}
		if code := e.api(&c.Alisa, "GET", fmt.Sprintf("/api/companies/%d/merge/", set.A1), nil, nil); code != http.StatusBadRequest {
			t.Errorf("preview without ?with: %d", code)
		}
		var got company.Company
		code := e.api(&c.Alisa, "POST", fmt.Sprintf("/api/companies/%d/merge/", set.A1),
			map[string]any{"duplicate": dup, "fields": map[string]string{"name": "duplicate"}}, &got)
		if code != http.StatusOK || got.ID != set.A1 || got.Name != "Альфа-Дубль" || got.INN != "7707083893" || len(got.Phones) != 2 {
			t.Fatalf("merge: %d %+v", code, got)
		}

		// The API's old URL moves permanently; the page's goes to the survivor's card with a toast.
		rec := e.do(&c.Alisa, "GET", fmt.Sprintf("/api/companies/%d/", dup), nil)
		if rec.Code != http.StatusMovedPermanently || rec.Header().Get("Location") != fmt.Sprintf("/api/companies/%d/", set.A1) {
			t.Errorf("API old link: %d %q", rec.Code, rec.Header().Get("Location"))
		}
		rec = e.do(&c.Alisa, "GET", fmt.Sprintf("/companies/%d/", dup), nil)
		if rec.Code != http.StatusFound || rec.Header().Get("Location") != fmt.Sprintf("/companies/%d/", set.A1) ||
			!strings.Contains(rec.Header().Get("Set-Cookie"), "flash") {
			t.Errorf("page old link: %d %q %q", rec.Code, rec.Header().Get("Location"), rec.Header().Get("Set-Cookie"))
		}
		// The trash does not list it, and restoring it points to the undo.
		var trash struct{ Count int }
		if code := e.api(&c.Admin, "GET", "/api/companies/?deleted=true", nil, &trash); code != http.StatusOK || trash.Count != 0 {
			t.Errorf("the trash: %d, %d companies", code, trash.Count)
		}
		var refused map[string][]string
		if code := e.api(&c.Admin, "POST", fmt.Sprintf("/api/companies/%d/restore/", dup), nil, &refused); code != http.StatusBadRequest ||
			len(refused["non_field_errors"]) == 0 || !strings.Contains(refused["non_field_errors"][0], "отмените объединение") {
			t.Errorf("restore of a merged company: %d %v", code, refused)
		}
		// Someone who may not see the survivor gets 404, as for any hidden company.
		if rec := e.do(&c.Vera, "GET", fmt.Sprintf("/api/companies/%d/", dup), nil); rec.Code != http.StatusNotFound {
			t.Errorf("a hidden merged company: %d", rec.Code)
		}

		// The survivor's card says what was merged and offers the undo.
		doc := e.page(&c.Alisa, fmt.Sprintf("/companies/%d/", set.A1))
		if n := doc.Find(`[data-testid="merge-notice"]`).Length(); n != 1 {
			t.Errorf("merge notices on the card: %d", n)
		}
		if got := doc.Find(`[data-testid="merge-notice-name"]`).Text(); got != "Альфа-Дубль" {
			t.Errorf("notice names %q", got)
		}
		if doc.Find(`[data-testid="merge-undo"]`).Length() != 1 || doc.Find(`[data-testid="merge-entry"]`).Length() != 1 {
			t.Error("the card lacks the undo or the merge entry")
		}
		// Глеб sees the card but may not edit it: no merge entry, no undo.
		doc = e.page(&c.Gleb, fmt.Sprintf("/companies/%d/", set.A1))
		if doc.Find(`[data-testid="merge-undo"]`).Length() != 0 || doc.Find(`[data-testid="merge-entry"]`).Length() != 0 {
			t.Error("a user who may not edit is offered merge or undo")
		}

		var back company.Company
		code = e.api(&c.Alisa, "POST", fmt.Sprintf("/api/companies/%d/unmerge/", set.A1), map[string]any{"duplicate": dup}, &back)
		if code != http.StatusOK || back.Name != "Альфа" || len(back.Phones) != 1 {
			t.Fatalf("unmerge: %d %+v", code, back)
		}
		if code := e.api(&c.Alisa, "GET", fmt.Sprintf("/api/companies/%d/", dup), nil, nil); code != http.StatusOK {
			t.Errorf("the absorbed company after undo: %d", code)
		}
		var errs map[string][]string
		if code := e.api(&c.Alisa, "POST", fmt.Sprintf("/api/companies/%d/unmerge/", set.A1), map[string]any{"duplicate": dup}, &errs); code != http.StatusBadRequest || len(errs["duplicate"]) == 0 {
			t.Errorf("a second undo: %d %v", code, errs)
		}
		var n int
		if err := e.db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM audit_log WHERE action IN ('company.merge', 'company.unmerge') AND outcome = 'ok'`).Scan(&n); err != nil || n != 2 {
			t.Errorf("audit entries %d %v", n, err)
		}
	})
}

func TestMergeAPIRefusals(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		set := newCompanySet(t, e)
		c := e.cast
		path := fmt.Sprintf("/api/companies/%d/merge/", set.A1)
		cases := []struct {
			name  string
			body  any
			want  int
			field string
		}{
			{"with itself", map[string]any{"duplicate": set.A1}, 400, "duplicate"},
			{"without a duplicate", map[string]any{}, 400, "duplicate"},
			{"with a duplicate that is not an id", map[string]any{"duplicate": "x"}, 400, "duplicate"},
			{"with an unknown field", map[string]any{"duplicate": set.X, "fields": map[string]string{"x": "survivor"}}, 400, "fields"},
			{"with an unknown union", map[string]any{"duplicate": set.X, "union": []string{"name"}}, 400, "union"},
			{"with a broken body", "{", 400, "non_field_errors"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				var errs map[string][]string
				var code int
				if s, ok := tc.body.(string); ok {
					rec := e.doJSONRaw(&c.Admin, "POST", path, s)
					code = rec.Code
					if err := json.Unmarshal(rec.Body.Bytes(), &errs); err != nil {
						t.Fatal(err)
					}
				} else {
					code = e.api(&c.Admin, "POST", path, tc.body, &errs)
				}
				if code != tc.want || len(errs[tc.field]) == 0 {
					t.Errorf("%d %v, want %d with %s", code, errs, tc.want, tc.field)
				}
			})
		}
	})
}

// TestMergeAuthorizationMatrix: merging Альфа (Алиса, branch A) with Икс
// (Вера, branch A, created by the admin) over the cast.
func TestMergeAuthorizationMatrix(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		set := newCompanySet(t, e)
		c := e.cast
		want := map[string]int{
			c.Admin.Username: 200, // everything
			c.Alisa.Username: 404, // sees only her own: Икс is hidden
			c.Boris.Username: 200, // branch A, both
			c.Vera.Username:  404, // Альфа is hidden
			c.Gleb.Username:  403, // sees all, edits only his own
			c.Darya.Username: 200, // group manager
		}
		for _, m := range c.All() {
			t.Run(m.Username, func(t *testing.T) {
				code := e.api(&m, "POST", fmt.Sprintf("/api/companies/%d/merge/", set.A1), map[string]any{"duplicate": set.X}, nil)
				if code != want[m.Username] {
					t.Fatalf("merge: %d, want %d", code, want[m.Username])
				}
				if code == http.StatusOK {
					if code := e.api(&m, "POST", fmt.Sprintf("/api/companies/%d/unmerge/", set.A1), map[string]any{"duplicate": set.X}, nil); code != 200 {
						t.Fatalf("unmerge: %d", code)
					}
				}
			})
		}
		var denied int
		if err := e.db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM audit_log WHERE action = 'company.merge' AND outcome = 'denied'`).Scan(&denied); err != nil || denied != 1 {
			t.Errorf("refused merges audited: %d %v", denied, err)
		}
	})
}

func TestMergePageAndForm(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		set := newCompanySet(t, e)
		c := e.cast
		dup := insertCompanies(t, e, company.NewCompany{Name: "Альфа Плюс", Address: "Москва", ResponsibleID: c.Alisa.ID, CreatedBy: c.Alisa.ID,
			BranchID: c.BranchA, Phones: []company.Phone{{Value: "+7 916 111-22-33", Kind: "mobile"}}, Emails: []company.Email{{Value: "a@plus.ru"}}})[0]
		doc := e.page(&c.Alisa, fmt.Sprintf("/companies/%d/merge/?with=%d", set.A1, dup))
		if n := doc.Find(`[data-testid^="merge-row-"]`).Length(); n != len(company.MergeFields) {
			t.Errorf("rows %d, want %d", n, len(company.MergeFields))
		}
		// The survivor has no address: the duplicate's is chosen to begin with.
		if _, ok := doc.Find(`[data-testid="merge-address-duplicate"]`).Attr("checked"); !ok {
			t.Error("the duplicate's address is not preselected")
		}
		if _, ok := doc.Find(`[data-testid="merge-name-survivor"]`).Attr("checked"); !ok {
			t.Error("the survivor's name is not preselected")
		}
		if href, _ := doc.Find(`[data-testid="merge-swap"]`).Attr("href"); href != fmt.Sprintf("/companies/%d/merge/?with=%d", dup, set.A1) {
			t.Errorf("swap link %q", href)
		}
		if got := doc.Find(`[data-testid="merge-moves"]`).Text(); !strings.Contains(got, "0 контактов") {
			t.Errorf("moves %q", got)
		}

		// The form: the duplicate's name, phones united, e-mails not.
		form := url.Values{"duplicate": {fmt.Sprint(dup)}, "f_name": {"duplicate"}, "f_address": {"duplicate"}, "union": {"phones"}}
		rec := e.do(&c.Alisa, "POST", fmt.Sprintf("/companies/%d/merge/", set.A1), form.Encode())
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != fmt.Sprintf("/companies/%d/", set.A1) {
			t.Fatalf("form merge: %d %q %s", rec.Code, rec.Header().Get("Location"), rec.Body.String())
		}
		var got company.Company
		e.api(&c.Alisa, "GET", fmt.Sprintf("/api/companies/%d/", set.A1), nil, &got)
		if got.Name != "Альфа Плюс" || got.Address != "Москва" || len(got.Phones) != 2 || len(got.Emails) != 0 {
			t.Errorf("merged by the form: %+v", got)
		}

		// The card's undo button.
		rec = e.do(&c.Alisa, "POST", fmt.Sprintf("/companies/%d/unmerge/", set.A1), url.Values{"duplicate": {fmt.Sprint(dup)}}.Encode())
		if rec.Code != http.StatusSeeOther {
			t.Fatalf("form undo: %d %s", rec.Code, rec.Body.String())
		}
		e.api(&c.Alisa, "GET", fmt.Sprintf("/api/companies/%d/", set.A1), nil, &got)
		if got.Name != "Альфа" {
			t.Errorf("after undo: %+v", got)
		}

		// A merge page that cannot be: back to the card with the reason.
		rec = e.do(&c.Alisa, "GET", fmt.Sprintf("/companies/%d/merge/?with=%d", set.A1, set.A1), nil)
		if rec.Code != http.StatusSeeOther || !strings.Contains(rec.Header().Get("Set-Cookie"), "flash") {
			t.Errorf("merge page with itself: %d", rec.Code)
		}
		// The picker: a name that finds one company opens its merge page.
		rec = e.do(&c.Alisa, "GET", fmt.Sprintf("/companies/%d/merge/?with=%s", set.A1, url.QueryEscape("плюс")), nil)
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != fmt.Sprintf("/companies/%d/merge/?with=%d", set.A1, dup) {
			t.Errorf("picker: %d %q", rec.Code, rec.Header().Get("Location"))
		}
		doc = e.page(&c.Alisa, fmt.Sprintf("/companies/%d/merge/?with=%s", set.A1, url.QueryEscape("нет такой")))
		if doc.Find(`[data-testid="merge-found"]`).Length() != 0 {
			t.Error("the picker found something for nothing")
		}
	})
}

// page gets an HTML page as m and parses it; anything but 200 fails.
func (e *testEnv) page(m *dbtest.Member, path string) *goquery.Document {
	e.t.Helper()
	rec := e.do(m, "GET", path, nil)
	if rec.Code != http.StatusOK {
		e.t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body.String())
	}
	doc, err := goquery.NewDocumentFromReader(rec.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return doc
}

func TestMergeAndUndoNotifyTheResponsibleUsers(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *testEnv) {
		srv := httptest.NewServer(e.srv)
		defer srv.Close()
		defer e.srv.Close() // first: ends the open stream, which srv.Close waits for
		c := e.cast
		set := newCompanySet(t, e)
		vera := openEvents(t, srv, sessionHeader(e, c.Vera))
		waitFor(t, "Вера's stream", func() bool { return e.srv.Live().Subscribers(c.Vera.ID) == 1 })
		notices := func(m dbtest.Member) []notify.Notification {
			t.Helper()
			var page noticePage
			if code := e.api(&m, "GET", "/api/notifications/", nil, &page); code != http.StatusOK {
				t.Fatalf("%s's notifications: %d", m.Username, code)
			}
			return page.Results
		}
		card := fmt.Sprintf("/companies/%d/", set.A1)

		t.Run("a merge tells both responsible users, live, and not the actor", func(t *testing.T) {
			// The admin folds Вера's «Вега» into Алиса's «Альфа».
			code := e.api(&c.Admin, "POST", fmt.Sprintf("/api/companies/%d/merge/", set.A1), map[string]any{"duplicate": set.B1}, nil)
			if code != http.StatusOK {
				t.Fatalf("merge: %d", code)
			}
			for _, m := range []dbtest.Member{c.Alisa, c.Vera} {
				got := notices(m)
				if len(got) != 1 || got[0].Kind != notify.KindCompanyMerged || got[0].Title != "Компания «Вега» объединена с «Альфа»" ||
					got[0].URL != card || !strings.Contains(got[0].Body, "Объединил(а): ") {
					t.Errorf("%s: %+v", m.Username, got)
				}
			}
			if got := notices(c.Admin); len(got) != 0 {
				t.Errorf("the actor was told of their own merge: %+v", got)
			}
			first, second := vera.next(t, false), vera.next(t, false)
			if first.Event != "notification" || !strings.Contains(first.Data, "объединена с «Альфа»") ||
				second.Event != "unread" || second.Data != `{"count":1}` {
				t.Errorf("Вера's live events %+v, %+v", first, second)
			}
		})

		t.Run("the undo tells them again", func(t *testing.T) {
			code := e.api(&c.Admin, "POST", fmt.Sprintf("/api/companies/%d/unmerge/", set.A1), map[string]any{"duplicate": set.B1}, nil)
			if code != http.StatusOK {
				t.Fatalf("unmerge: %d", code)
			}
			for _, m := range []dbtest.Member{c.Alisa, c.Vera} {
				got := notices(m)
				if len(got) != 2 || got[0].Kind != notify.KindCompanyUnmerged || got[0].URL != card ||
					got[0].Title != "Объединение отменено: «Вега» и «Альфа» снова отдельно" {
					t.Errorf("%s: %+v", m.Username, got)
				}
			}
			if first := vera.next(t, false); first.Event != "notification" || !strings.Contains(first.Data, "Объединение отменено") {
				t.Errorf("Вера's live event %+v", first)
			}
		})

		t.Run("merging one's own companies tells nobody", func(t *testing.T) {
			own := insertCompanies(t, e, company.NewCompany{Name: "Альфа-2", ResponsibleID: c.Alisa.ID, CreatedBy: c.Alisa.ID, BranchID: c.BranchA})[0]
			code := e.api(&c.Alisa, "POST", fmt.Sprintf("/api/companies/%d/merge/", set.A1), map[string]any{"duplicate": own}, nil)
			if code != http.StatusOK {
				t.Fatalf("merge: %d", code)
			}
			if got := notices(c.Alisa); len(got) != 2 {
				t.Errorf("Алиса was told of her own merge: %+v", got)
			}
		})
	})
}
