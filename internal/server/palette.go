package server

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/company"
	"github.com/crmprofi/crm/internal/contact"
)

// suggestLimit is how many suggestions each kind gives at most: what fits
// the palette without scrolling; the rest is behind «Все результаты».
const suggestLimit = 8

// maxSuggestQuery bounds the text searched, in runes: longer input is a
// paste accident, and the searches cut it to a few words anyway.
const maxSuggestQuery = 200

// suggestion is one line of the palette: what it is, where it leads and
// why it was found.
type suggestion struct {
	Type     string        `json:"type"`
	ID       int64         `json:"id"`
	Title    string        `json:"title"`
	Subtitle string        `json:"subtitle"`
	URL      string        `json:"url"`
	Match    *suggestMatch `json:"match"`
}

// suggestMatch is the «why found» chip: the field and its Russian label.
type suggestMatch struct {
	Field string `json:"field"`
	Label string `json:"label"`
}

// suggestKind is the summary of one kind's hits: its heading in the
// palette, whether there are more than it shows and the full list that
// shows them all. The palette does not count the hits: counting every
// company starting with «к» is what made a suggestion slow.
type suggestKind struct {
	Type  string `json:"type"`
	Label string `json:"label"`
	More  bool   `json:"more"`
	URL   string `json:"url"`
}

// suggestAnswer is GET /api/search/: the suggestions of every kind, in the
// order of the kinds, and the kinds that found something.
type suggestAnswer struct {
	Results []suggestion  `json:"results"`
	Kinds   []suggestKind `json:"kinds"`
}

// suggester finds one kind of object for the palette through that kind's
// one search function, under the caller's scope. A new kind (tasks) adds
// a suggester to Server.suggesters.
type suggester struct {
	kind, label string
	list        string // the path of the full list, which takes ?search=
	find        func(ctx context.Context, sc access.Scope, q string, limit int) (list []suggestion, more bool, err error)
}

// suggesters are the kinds the palette searches, in the order it shows them.
func (s *Server) suggesters() []suggester {
	return []suggester{
		{kind: "company", label: "Компании", list: "/companies/", find: s.suggestCompanies},
		{kind: "contact", label: "Контакты", list: "/contacts/", find: s.suggestContacts},
	}
}

// suggest answers the palette: up to suggestLimit hits of each kind for
// ?q=, the kinds searched side by side. Blank or unsearchable input finds
// nothing; no input is ever an error.
func (s *Server) suggest(w http.ResponseWriter, r *http.Request) error {
	q := suggestQuery(r.URL.Query().Get("q"))
	ans := suggestAnswer{Results: []suggestion{}, Kinds: []suggestKind{}}
	if q == "" {
		return writeJSON(w, http.StatusOK, ans)
	}
	scope := scopeFrom(r)
	kinds := s.suggesters()
	type found struct {
		list []suggestion
		more bool
		err  error
	}
	out := make([]found, len(kinds))
	var wg sync.WaitGroup
	for i, k := range kinds {
		wg.Go(func() {
			out[i].list, out[i].more, out[i].err = k.find(r.Context(), scope, q, suggestLimit)
		})
	}
	wg.Wait()
	for i, k := range kinds {
		if out[i].err != nil {
			return out[i].err
		}
		if len(out[i].list) == 0 {
			continue
		}
		ans.Results = append(ans.Results, out[i].list...)
		ans.Kinds = append(ans.Kinds, suggestKind{
			Type: k.kind, Label: k.label, More: out[i].more,
			URL: k.list + "?search=" + url.QueryEscape(q),
		})
	}
	return writeJSON(w, http.StatusOK, ans)
}

// suggestQuery cleans the palette's input: valid UTF-8 without control
// characters, trimmed and cut to maxSuggestQuery runes.
func suggestQuery(q string) string {
	q = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(q, " "))
	if r := []rune(q); len(r) > maxSuggestQuery {
		q = string(r[:maxSuggestQuery])
	}
	return strings.TrimSpace(q)
}

func (s *Server) suggestCompanies(ctx context.Context, sc access.Scope, q string, limit int) ([]suggestion, bool, error) {
	res, err := s.companies.Search(ctx, sc, company.Query{Text: q, PageSize: limit, Quick: true})
	if err != nil {
		return nil, false, err
	}
	out := make([]suggestion, 0, len(res.Companies))
	for _, c := range res.Companies {
		var sub []string
		if c.LegalName != "" && c.LegalName != c.Name {
			sub = append(sub, c.LegalName)
		}
		if c.INN != "" {
			sub = append(sub, "ИНН "+c.INN)
		}
		if c.ResponsibleName != "" {
			sub = append(sub, c.ResponsibleName)
		}
		sg := suggestion{
			Type: "company", ID: c.ID, Title: c.Name, Subtitle: strings.Join(sub, " · "),
			URL: "/companies/" + strconv.FormatInt(c.ID, 10) + "/",
		}
		if c.Match != nil {
			sg.Match = &suggestMatch{Field: c.Match.Field, Label: c.Match.Label}
		}
		out = append(out, sg)
	}
	return out, res.More, nil
}

func (s *Server) suggestContacts(ctx context.Context, sc access.Scope, q string, limit int) ([]suggestion, bool, error) {
	list, count, err := s.contacts.List(ctx, sc, contact.Filter{Search: q, Size: limit, Quick: true})
	if err != nil {
		return nil, false, err
	}
	out := make([]suggestion, 0, len(list))
	for _, c := range list {
		var sub []string
		if c.Position != "" {
			sub = append(sub, c.Position)
		}
		if c.CompanyName != "" {
			sub = append(sub, c.CompanyName)
		}
		sg := suggestion{
			Type: "contact", ID: c.ID, Title: c.FullName, Subtitle: strings.Join(sub, " · "),
			URL: contactURL(c.ID),
		}
		if c.Match != nil {
			sg.Match = &suggestMatch{Field: c.Match.Field, Label: c.Match.Label}
		}
		out = append(out, sg)
	}
	return out, count > len(list), nil
}
