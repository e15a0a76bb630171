package server

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// listPaths are every list the product serves, API and pages; a list
// added to the routes belongs here too.
func listPaths(company int64) []string {
	id := strconv.FormatInt(company, 10)
	card := "/companies/" + id + "/"
	return []string{
		// One company's contacts and notes page apart (the card's query).
		"/api/contacts/?company=" + id, "/api/company-notes/?company=" + id,
		"/api/users/", "/api/branches/", "/api/company-statuses/", "/api/spheres/", "/api/task-types/",
		"/api/companies/", "/api/contacts/", "/api/company-notes/", "/api/audit/",
		"/users/", "/companies/", "/contacts/", "/company-notes/", card,
		"/admin/users/", "/admin/audit/", "/admin/trash/companies/", "/admin/trash/contacts/",
		"/admin/dictionaries/branches/", "/admin/dictionaries/company-statuses/",
	}
}

func TestListsAnswerExtremePagesWithoutServerErrors(t *testing.T) {
	queries := []string{
		"page=0", "page=-1", "page=1e9", "page=1000000000", "page=abc", "page=",
		"page=9223372036854775807", "page=9223372036854775808", "page=-9223372036854775808",
		"page_size=0", "page_size=-1", "page_size=100000", "page_size=abc", "page_size=9223372036854775807",
		"page=9223372036854775807&page_size=500", "page=4611686018427387904&page_size=2",
		"page=2&page_size=9223372036854775807", "notes_page=9223372036854775807",
	}
	eachEnv(t, func(t *testing.T, e *testEnv) {
		company := e.seedCompany("ООО «Ромашка»", e.cast.BranchA, e.cast.Admin.ID)
		e.seedContact(e.cast.Admin, company, "Иванов")
		e.seedNote(e.cast.Admin, company, "Первый звонок")
		admin := map[string]string{"Cookie": sessionCookie + "=" + e.session(e.cast.Admin)}
		for _, path := range listPaths(company) {
			for _, q := range queries {
				sep := "?"
				if strings.Contains(path, "?") {
					sep = "&"
				}
				t.Run(path+sep+q, func(t *testing.T) {
					rec := e.get(nil, path+sep+q, admin)
					if rec.Code >= 500 {
						t.Fatalf("status %d: %s", rec.Code, rec.Body.String())
					}
					if !strings.HasPrefix(path, "/api/") {
						return
					}
					switch rec.Code {
					case http.StatusBadRequest:
						var errs map[string][]string
						if err := json.Unmarshal(rec.Body.Bytes(), &errs); err != nil || (errs["page"] == nil && errs["page_size"] == nil) {
							t.Fatalf("400 without a page field error: %s", rec.Body.String())
						}
					case http.StatusOK:
						var lp struct {
							Count    int               `json:"count"`
							Next     *string           `json:"next"`
							Previous *string           `json:"previous"`
							Results  []json.RawMessage `json:"results"`
						}
						if err := json.Unmarshal(rec.Body.Bytes(), &lp); err != nil {
							t.Fatalf("not a list page: %v: %s", err, rec.Body.String())
						}
						if len(lp.Results) > 500 {
							t.Fatalf("%d results, more than the largest page", len(lp.Results))
						}
						for _, link := range []*string{lp.Next, lp.Previous} {
							if link != nil && strings.Contains(*link, "page=-") {
								t.Fatalf("link to a negative page: %s", *link)
							}
						}
					default:
						t.Fatalf("status %d: %s", rec.Code, rec.Body.String())
					}
				})
			}
		}
		t.Run("a page beyond the list is empty and points back to the last page", func(t *testing.T) {
			for _, path := range []string{"/api/users/", "/api/branches/"} {
				var lp struct {
					Count    int               `json:"count"`
					Next     *string           `json:"next"`
					Previous *string           `json:"previous"`
					Results  []json.RawMessage `json:"results"`
				}
				rec := e.get(nil, path+"?page=9223372036854775807&page_size=1", admin)
				if err := json.Unmarshal(rec.Body.Bytes(), &lp); err != nil || rec.Code != http.StatusOK {
					t.Fatalf("%s: status %d, %v", path, rec.Code, err)
				}
				if len(lp.Results) != 0 || lp.Next != nil || lp.Count == 0 {
					t.Fatalf("%s: count %d, %d results, next %v; want an empty page after a non-empty list", path, lp.Count, len(lp.Results), lp.Next)
				}
				if lp.Previous == nil || !strings.Contains(*lp.Previous, "page="+strconv.Itoa(lp.Count)+"&") {
					t.Fatalf("%s: previous %v, want the last page %d", path, lp.Previous, lp.Count)
				}
			}
		})
	})
}
