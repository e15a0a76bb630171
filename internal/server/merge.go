package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/company"
	"github.com/crmprofi/crm/web/view"
)

// mergeInput adapts company.MergeInput to decode: JSON as the contract
// has it, the merge page's form through fromForm.
type mergeInput struct {
	in  *company.MergeInput
	bad apperr.Invalid // a JSON value of the wrong shape, reported by field
}

func (f *mergeInput) UnmarshalJSON(b []byte) error {
	var raw struct {
		Duplicate json.RawMessage   `json:"duplicate"`
		Fields    map[string]string `json:"fields"`
		Union     *[]string         `json:"union"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		f.bad = apperr.Invalid{apperr.NonField: "Ожидается {\"duplicate\": id, \"fields\": {\"поле\": \"survivor\"|\"duplicate\"}, \"union\": [\"phones\", \"emails\", \"spheres\"]}"}
		return nil
	}
	if len(raw.Duplicate) > 0 && string(raw.Duplicate) != "null" {
		id, err := strconv.ParseInt(strings.Trim(string(raw.Duplicate), `"`), 10, 64)
		if err != nil || id <= 0 {
			f.bad = apperr.Invalid{"duplicate": "Неверный идентификатор компании"}
			return nil
		}
		f.in.Duplicate = id
	}
	f.in.Fields, f.in.Union = raw.Fields, raw.Union
	return nil
}

// fromForm reads the merge page: a radio per field (f_name=duplicate), a
// checkbox per list that can be united (union=phones); the form always
// says which lists it offered, so none checked means none united.
func (f *mergeInput) fromForm(v url.Values) error {
	id, err := strconv.ParseInt(v.Get("duplicate"), 10, 64)
	if err != nil || id <= 0 {
		return apperr.Invalid{"duplicate": "Неверный идентификатор компании"}
	}
	f.in.Duplicate = id
	f.in.Fields = map[string]string{}
	for _, field := range company.MergeFields {
		if side := v.Get("f_" + field); side != "" {
			f.in.Fields[field] = side
		}
	}
	union := []string{}
	for _, u := range v["union"] {
		if slices.Contains(company.UnionFields, u) {
			union = append(union, u)
		}
	}
	f.in.Union = &union
	return nil
}

// unmergeInput is the body of an undo: {"duplicate": id}.
type unmergeInput struct {
	Duplicate int64 `json:"duplicate"`
}

func (u *unmergeInput) fromForm(v url.Values) error {
	id, err := strconv.ParseInt(v.Get("duplicate"), 10, 64)
	if err != nil || id <= 0 {
		return apperr.Invalid{"duplicate": "Неверный идентификатор компании"}
	}
	u.Duplicate = id
	return nil
}

// showMerge is the merge page /companies/{id}/merge/?with={dupID}, and its
// JSON preview under /api. with may also be a name or an ИНН typed into
// the card's picker: one match opens its merge page, several are offered
// to choose from.
func (s *Server) showMerge(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	with := strings.TrimSpace(r.URL.Query().Get("with"))
	dupID, err := strconv.ParseInt(with, 10, 64)
	if err != nil || dupID <= 0 {
		if wantsJSON(r) || with == "" {
			return apperr.Invalid{"with": "Укажите компанию, которую нужно присоединить: ?with=id"}
		}
		return s.pickMerge(w, r, id, with)
	}
	surv, dup, counts, err := s.companies.MergePreview(r.Context(), scopeFrom(r), id, dupID)
	if err != nil {
		if _, ok := apperr.AsInvalid(err); ok && !wantsJSON(r) {
			setFlash(w, "error", mergeMessage(err))
			redirect(w, r, view.CompanyURL(id, ""))
			return nil
		}
		return err
	}
	if wantsJSON(r) {
		return respond(w, r, http.StatusOK, map[string]any{"survivor": surv, "duplicate": dup, "moves": counts}, nil)
	}
	m := view.NewMergeView(surv, dup, counts)
	return respond(w, r, http.StatusOK, nil, view.MergePage(s.shell(r, "Объединение компаний", "companies"), m))
}

// pickMerge answers the card's picker when what was typed is not an id:
// the visible companies the search finds, the company itself left out.
func (s *Server) pickMerge(w http.ResponseWriter, r *http.Request, id int64, text string) error {
	scope := scopeFrom(r)
	c, err := s.companies.Get(r.Context(), scope, id)
	if err != nil {
		return err
	}
	res, err := s.companies.Search(r.Context(), scope, company.Query{Text: text, PageSize: 20})
	if err != nil {
		return err
	}
	found := slices.DeleteFunc(res.Companies, func(x company.Company) bool { return x.ID == id })
	if len(found) == 1 {
		redirect(w, r, view.MergeURL(id, found[0].ID))
		return nil
	}
	return respond(w, r, http.StatusOK, nil, view.MergePickPage(s.shell(r, "Объединение компаний", "companies"), c, text, found))
}

// mergeCompanies is POST /companies/{id}/merge/: the API's merge and the
// merge page's form.
func (s *Server) mergeCompanies(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in company.MergeInput
	var c company.Company
	body := mergeInput{in: &in}
	if err = decode(w, r, &body); err == nil && body.bad != nil {
		err = body.bad
	}
	if err == nil {
		c, err = s.companies.Merge(r.Context(), scopeFrom(r), id, in)
	}
	return saved(w, r, done{status: http.StatusOK, body: c, flash: "Компании объединены. Отменить можно в течение 30 дней.", to: view.CompanyURL(id, "")},
		err, func(status int, errs apperr.Invalid) error {
			surv, dup, counts, perr := s.companies.MergePreview(r.Context(), scopeFrom(r), id, in.Duplicate)
			if perr != nil {
				setFlash(w, "error", mergeMessage(err))
				redirect(w, r, view.CompanyURL(id, ""))
				return nil //nolint:nilerr // the page shows the merge's own error as the toast
			}
			m := view.NewMergeView(surv, dup, counts)
			m.Choose(in.Fields, in.Union)
			m.Errors = errs
			return respond(w, r, status, nil, view.MergePage(s.shell(r, "Объединение компаний", "companies"), m))
		})
}

// unmergeCompanies is POST /companies/{id}/unmerge/ {"duplicate": id}:
// the undo, from the API and from the card's «Отменить объединение».
func (s *Server) unmergeCompanies(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in unmergeInput
	var c company.Company
	if err = decode(w, r, &in); err == nil {
		c, err = s.companies.Unmerge(r.Context(), scopeFrom(r), id, in.Duplicate)
	}
	if err != nil && !wantsJSON(r) {
		if _, ok := apperr.AsInvalid(err); ok {
			setFlash(w, "error", mergeMessage(err))
			redirect(w, r, view.CompanyURL(id, ""))
			return nil
		}
	}
	return saved(w, r, done{status: http.StatusOK, body: c, flash: "Объединение отменено: обе компании восстановлены", to: view.CompanyURL(id, "")}, err, nil)
}

// mergeMessage is the message of a validation error, for a toast.
func mergeMessage(err error) string {
	if inv, ok := apperr.AsInvalid(err); ok {
		for _, k := range []string{apperr.NonField, "duplicate", "fields", "union"} {
			if msg := inv[k]; msg != "" {
				return msg
			}
		}
		for _, msg := range inv {
			return msg
		}
	}
	return err.Error()
}

// mergedRedirect sends an old link of a merged company to the survivor:
// a page gets 302 to its card with a toast (the card offers the undo
// while it is possible), the API 301 to the survivor's API URL. It
// answers false when id is not a merged company the caller may follow.
func (s *Server) mergedRedirect(w http.ResponseWriter, r *http.Request, id int64) bool {
	info, err := s.companies.MergedInto(r.Context(), scopeFrom(r), id)
	if err != nil {
		if !errors.Is(err, apperr.ErrNotFound) {
			s.log.WarnContext(r.Context(), "merged company redirect", "err", err)
		}
		return false
	}
	if wantsJSON(r) {
		http.Redirect(w, r, "/api"+view.CompanyURL(info.SurvivorID, ""), http.StatusMovedPermanently)
		return true
	}
	setFlash(w, "info", "Компания «"+info.AbsorbedName+"» объединена с «"+info.SurvivorName+"»")
	http.Redirect(w, r, view.CompanyURL(info.SurvivorID, ""), http.StatusFound)
	return true
}
