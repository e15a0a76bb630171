package server

import (
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/company"
	"github.com/crmprofi/crm/internal/contactinfo"
	"github.com/crmprofi/crm/internal/duplicate"
	"github.com/crmprofi/crm/internal/export"
	"github.com/crmprofi/crm/internal/note"
	"github.com/crmprofi/crm/web/view"
)

// companyQuery reads the list parameters. A filter that is not an id is
// a 400 naming the parameter, never an empty list that hides the typo.
func companyQuery(r *http.Request) (company.Query, error) {
	q := r.URL.Query()
	page, size, err := pageParams(r)
	inv := apperr.Invalid{}
	if iv, ok := apperr.AsInvalid(err); ok {
		for k, v := range iv {
			inv.Add(k, v)
		}
	}
	cq := company.Query{Text: q.Get("search"), INN: q.Get("inn"), Ordering: q.Get("ordering"), Page: page, PageSize: size}
	id := func(key, msg string) int64 {
		v := q.Get(key)
		if v == "" {
			return 0
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			inv.Add(key, msg)
			return 0
		}
		return n
	}
	cq.Branch = id("branch", "Неверный идентификатор филиала")
	cq.Responsible = id("responsible", "Неверный идентификатор пользователя")
	cq.Status = id("status", "Неверный идентификатор статуса")
	cq.Sphere = id("sphere", "Неверный идентификатор сферы деятельности")
	if !company.ValidOrdering(cq.Ordering) {
		inv.Add("ordering", "Неизвестная сортировка; допустимо: name, -name, created_at, -created_at, updated_at, -updated_at, inn, -inn")
	}
	switch v := q.Get("deleted"); v {
	case "", "false", "0":
	case "true", "1":
		cq.Deleted = true
	default:
		inv.Add("deleted", "Ожидается true или false")
	}
	return cq, inv.Err()
}

func (s *Server) listCompanies(w http.ResponseWriter, r *http.Request) error {
	q, err := companyQuery(r)
	if err != nil {
		return err
	}
	scope := scopeFrom(r)
	if q.Deleted && !scope.IsAdmin() {
		return scope.CanManage() // the trash is the admins'
	}
	// The page shows each company's first phone, read with the page; the
	// API gives them all with the e-mails and spheres.
	q.FirstPhone = !wantsJSON(r)
	res, err := s.companies.Search(r.Context(), scope, q)
	if err != nil {
		return err
	}
	if wantsJSON(r) {
		return respond(w, r, http.StatusOK, newListPage(r, res.Companies, res.Count, q.Page, q.PageSize), nil)
	}
	ch, err := s.companyChoices(r)
	if err != nil {
		return err
	}
	l := view.CompanyList{
		Companies: res.Companies, Search: q.Text, Ordering: q.Ordering,
		Status: idString(q.Status), Branch: idString(q.Branch), Responsible: idString(q.Responsible), Sphere: idString(q.Sphere),
		Statuses: companyOptions(ch.Statuses, q.Status), Branches: companyOptions(ch.Branches, q.Branch),
		Responsibles: companyOptions(ch.Users, q.Responsible), Spheres: companyOptions(ch.Spheres, q.Sphere),
		Pager:    view.Pager{Page: q.Page, Pages: (res.Count + q.PageSize - 1) / q.PageSize, Count: res.Count, URL: pageURL(r)},
		SortURL:  func(key string) string { return withParam(r, "ordering", key) },
		OwnOnly:  scope.OwnOnly(),
		CallFrom: s.canCall(r),
	}
	if scope.IsAdmin() {
		l.ExportCSV, l.ExportXLSX = exportListURL(r.URL, export.CSV), exportListURL(r.URL, export.XLSX)
	}
	return respond(w, r, http.StatusOK, nil, view.CompanyListPage(s.shell(r, "Компании", "companies"), l))
}

// companyChoices are the dictionaries of the company list and forms, from
// the company store's memory while their number (read with the caller's
// credential) has not changed. A request that may have written — any but
// GET and HEAD — reads them afresh: its own change (a new sphere) came
// after the number it read.
func (s *Server) companyChoices(r *http.Request) (company.Choices, error) {
	var version int64
	if u := userFrom(r); u != nil && readOnly(r) {
		version = u.Request.DictionaryVersion
	}
	return s.companies.ChoicesAt(r.Context(), version)
}

// readOnly says r is a GET or HEAD, which change nothing: what the
// statement that found its user read (auth.RequestFacts) still holds for
// it. A request that may have written reads such facts again.
func readOnly(r *http.Request) bool {
	return r.Method == http.MethodGet || r.Method == http.MethodHead
}

func idString(id int64) string {
	if id == 0 {
		return ""
	}
	return strconv.FormatInt(id, 10)
}

func companyOptions(list []company.Choice, selected ...int64) []view.Option {
	opts := make([]view.Option, len(list))
	for i, c := range list {
		opts[i] = view.Option{Value: strconv.FormatInt(c.ID, 10), Label: c.Name}
		for _, id := range selected {
			if id == c.ID {
				opts[i].Selected = true
			}
		}
	}
	return opts
}

func (s *Server) showCompany(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	scope := scopeFrom(r)
	if wantsJSON(r) {
		c, err := s.companies.Get(r.Context(), scope, id)
		if errors.Is(err, apperr.ErrNotFound) && s.mergedRedirect(w, r, id) {
			return nil
		}
		if err != nil {
			return err
		}
		return respond(w, r, http.StatusOK, c, nil)
	}
	// The company and its sections are read together (one round trip on
	// PostgreSQL, database.ReadSet). Each section's store limits it to
	// what the viewer may see, as when it reads alone; none is looked at
	// before the company is known to be visible.
	set := s.db.NewReadSet()
	card := s.companies.QueueCard(set, scope, id)
	calls := s.queueCardCalls(set, r, s.phones.QueueCompanyCalls, id)
	contacts := s.queueCompanyContacts(set, r, id)
	notes := s.queueNotesSection(set, r, id)
	tasks := s.queueCompanyTasks(set, r, id)
	if err := set.Run(r.Context()); err != nil {
		return err
	}
	c, merges, err := card(r.Context())
	if errors.Is(err, apperr.ErrNotFound) && s.mergedRedirect(w, r, id) {
		return nil
	}
	if err != nil {
		return err
	}
	cc := view.CompanyCard{
		Company:   c,
		CanEdit:   scope.CanEditCompany(c.Ref()) == nil,
		CanDelete: scope.CanDeleteCompany(c.Ref()) == nil,
		Location:  userFrom(r).Location(s.cfg.Location),
		Merges:    merges,
	}
	if cc.Calls, err = calls(); err != nil {
		return err
	}
	if cc.Contacts, err = contacts(cc.Calls.On); err != nil {
		return err
	}
	if cc.Notes, err = notes(note.PinsAll(scope, c.Ref())); err != nil {
		return err
	}
	if cc.Tasks, err = tasks(); err != nil {
		return err
	}
	return respond(w, r, http.StatusOK, c, view.CompanyPage(s.shell(r, c.Name, "companies"), cc))
}

// companyInput adapts company.Input to decode: JSON goes straight into the
// input, the HTML form through fromForm.
type companyInput struct{ in *company.Input }

func (f *companyInput) UnmarshalJSON(b []byte) error { return json.Unmarshal(b, f.in) }

// fromForm reads the company form. Every field is on the form, so it is a
// full update; the responsible and branch selects are only there for roles
// that may change them, and absent they stay as they are.
func (f *companyInput) fromForm(v url.Values) error {
	in := f.in
	str := func(key string) company.OptString { return company.OptString{Set: true, Value: v.Get(key)} }
	in.Name, in.LegalName, in.INN, in.KPP, in.OGRN = str("name"), str("legal_name"), str("inn"), str("kpp"), str("ogrn")
	in.Address, in.Website = str("address"), str("website")
	id := func(key string) company.OptID {
		o := company.OptID{Set: true}
		if s := v.Get(key); s != "" {
			n, err := strconv.ParseInt(s, 10, 64)
			o.Value, o.Bad = n, err != nil || n < 0
		}
		return o
	}
	in.Status = id("status")
	if v.Has("responsible") {
		in.Responsible = id("responsible")
	}
	if v.Has("branch") {
		in.Branch = id("branch")
	}
	in.Spheres = company.OptIDs{Set: true}
	for _, s := range v["spheres"] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			in.Spheres.Bad = true
			continue
		}
		in.Spheres.Value = append(in.Spheres.Value, n)
	}
	in.Phones = company.OptPhones{Set: true, Value: contactinfo.PhonesFromForm(v["phone"], v["phone_kind"], v["phone_comment"])}
	in.Emails = company.OptEmails{Set: true, Value: contactinfo.EmailsFromForm(v["email"], v["email_kind"], v["email_comment"])}
	// The form is strict about duplicates: any likely one stops the save
	// until «Всё равно создать» (confirm_duplicate) is pressed.
	in.StrictDuplicates = true
	switch v.Get("confirm_duplicate") {
	case "1", "true", "on":
		in.ConfirmDuplicate = true
	}
	if ver := v.Get("version"); ver != "" {
		n, err := strconv.Atoi(ver)
		if err != nil || n <= 0 {
			return apperr.Invalid{apperr.NonField: "Неверная версия формы, обновите страницу"}
		}
		in.Version = company.OptVersion{Set: true, Value: n}
	}
	return nil
}

func (s *Server) createCompany(w http.ResponseWriter, r *http.Request) error {
	var in company.Input
	var c company.Company
	err := decode(w, r, &companyInput{in: &in})
	if err == nil {
		c, err = s.companies.Create(r.Context(), scopeFrom(r), in)
	}
	return saved(w, r, done{status: http.StatusCreated, body: c, flash: "Компания «" + c.Name + "» создана", to: view.CompanyURL(c.ID, "")},
		err, s.companyForm(w, r, 0, in, err))
}

// updateCompany is PATCH (what is sent), PUT and the edit form's POST
// (every field).
func (s *Server) updateCompany(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in company.Input
	var c company.Company
	if err = decode(w, r, &companyInput{in: &in}); err == nil {
		c, err = s.companies.Update(r.Context(), scopeFrom(r), id, in, r.Method != http.MethodPatch)
	}
	return saved(w, r, done{status: http.StatusOK, body: c, flash: "Изменения сохранены", to: view.CompanyURL(id, "")},
		err, s.companyForm(w, r, id, in, err))
}

func (s *Server) deleteCompany(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	err = s.companies.Delete(r.Context(), scopeFrom(r), id)
	return saved(w, r, done{status: http.StatusNoContent,
		flash: "Компания удалена. Администратор может восстановить её из корзины.", to: "/companies/"}, err, nil)
}

func (s *Server) restoreCompany(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	c, err := s.companies.Restore(r.Context(), scopeFrom(r), id)
	return saved(w, r, done{status: http.StatusOK, body: c, flash: "Компания «" + c.Name + "» восстановлена", to: view.CompanyURL(id, "")}, err, nil)
}

func (s *Server) companyTrash(w http.ResponseWriter, r *http.Request) error {
	page, size, err := pageParams(r)
	if err != nil {
		return err
	}
	res, err := s.companies.ListDeleted(r.Context(), scopeFrom(r), page, size)
	if err != nil {
		return err
	}
	t := view.CompanyTrash{
		Companies: res.Companies,
		Pager:     view.Pager{Page: page, Pages: (res.Count + size - 1) / size, Count: res.Count, URL: pageURL(r)},
		Location:  userFrom(r).Location(s.cfg.Location),
	}
	return respond(w, r, http.StatusOK, newListPage(r, res.Companies, res.Count, page, size),
		view.CompanyTrashPage(s.shell(r, "Удалённые компании", "admin"), t))
}

func (s *Server) newCompany(w http.ResponseWriter, r *http.Request) error {
	f := view.CompanyForm{Title: "Новая компания"}
	return s.renderCompanyForm(w, r, http.StatusOK, f)
}

func (s *Server) editCompany(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	scope := scopeFrom(r)
	c, err := s.companies.Get(r.Context(), scope, id)
	if err != nil {
		return err
	}
	if err := scope.CanEditCompany(c.Ref()); err != nil {
		return err
	}
	return s.renderCompanyForm(w, r, http.StatusOK, companyFormView(c))
}

// companyFormView fills the form from a stored company.
func companyFormView(c company.Company) view.CompanyForm {
	f := view.CompanyForm{
		ID: c.ID, Title: c.Name, Name: c.Name, LegalName: c.LegalName, INN: c.INN, KPP: c.KPP, OGRN: c.OGRN,
		Address: c.Address, Website: c.Website, Version: c.Version, Phones: c.Phones, Emails: c.Emails,
	}
	if c.StatusID != nil {
		f.Status = idString(*c.StatusID)
	}
	if c.BranchID != nil {
		f.Branch = idString(*c.BranchID)
	}
	if c.ResponsibleID != nil {
		f.Responsible = idString(*c.ResponsibleID)
	}
	return f
}

// companyForm shows the company form again with what was typed and the
// messages beside the fields: for a new company (id 0) or an edit. A save
// refused as a likely duplicate (saveErr is a *duplicate.Found) comes back
// with the matches on top, which say it instead of the one-line message.
func (s *Server) companyForm(w http.ResponseWriter, r *http.Request, id int64, in company.Input, saveErr error) formPage {
	return func(status int, errs apperr.Invalid) error {
		var dups []duplicate.Match
		var found *duplicate.Found
		if errors.As(saveErr, &found) && len(found.Matches) > 0 {
			dups = found.Matches
			errs = maps.Clone(errs)
			delete(errs, apperr.NonField)
		}
		f := view.CompanyForm{ID: id, Title: "Новая компания", Errors: errs, Duplicates: dups,
			Name: in.Name.Value, LegalName: in.LegalName.Value, INN: in.INN.Value, KPP: in.KPP.Value, OGRN: in.OGRN.Value,
			Address: in.Address.Value, Website: in.Website.Value, Phones: in.Phones.Value, Emails: in.Emails.Value,
			Status: idString(in.Status.Value), Responsible: idString(in.Responsible.Value), Branch: idString(in.Branch.Value),
			Version: in.Version.Value}
		if id != 0 {
			f.Title = "Изменение компании"
			if c, err := s.companies.Get(r.Context(), scopeFrom(r), id); err == nil {
				f.Title = c.Name
				if !in.Responsible.Set && c.ResponsibleID != nil {
					f.Responsible = idString(*c.ResponsibleID)
				}
				if !in.Branch.Set && c.BranchID != nil {
					f.Branch = idString(*c.BranchID)
				}
			}
		}
		selected := in.Spheres.Value
		return s.renderCompanyForm(w, r, status, f, selected...)
	}
}

// blankRows is how many empty phone and e-mail rows the form offers, so
// it works without the script; the script's «+ ещё телефон» adds more.
const blankRows = 1

// renderCompanyForm adds the select options and blank rows and writes the form.
func (s *Server) renderCompanyForm(w http.ResponseWriter, r *http.Request, status int, f view.CompanyForm, spheres ...int64) error {
	ch, err := s.companyChoices(r)
	if err != nil {
		return err
	}
	scope := scopeFrom(r)
	status64 := func(v string) int64 { n, _ := strconv.ParseInt(v, 10, 64); return n }
	f.Statuses = companyOptions(ch.Statuses, status64(f.Status))
	f.Branches = companyOptions(ch.Branches, status64(f.Branch))
	// Only roles that may reassign get the selects; a branch director is
	// offered the people of their branch.
	f.ShowResponsible = scope.Role != access.RoleManager
	f.ShowBranch = scope.Role == access.RoleAdmin || scope.Role == access.RoleGroupManager
	users := ch.Users
	if scope.Role == access.RoleBranchDirector {
		users = users[:0:0]
		for _, u := range ch.Users {
			if u.BranchID == scope.BranchID {
				users = append(users, u)
			}
		}
	}
	f.Responsibles = companyOptions(users, status64(f.Responsible))
	if spheres == nil && f.ID != 0 && f.Errors == nil {
		if c, err := s.companies.Get(r.Context(), scope, f.ID); err == nil {
			spheres = c.Spheres
		}
	}
	f.Spheres = companyOptions(ch.Spheres, spheres...)
	// Rows left blank are not kept; the form always ends with blank ones.
	f.Phones = slices.DeleteFunc(slices.Clone(f.Phones), func(p contactinfo.Phone) bool { return strings.TrimSpace(p.Value) == "" })
	f.Emails = slices.DeleteFunc(slices.Clone(f.Emails), func(e contactinfo.Email) bool { return strings.TrimSpace(e.Value) == "" })
	for range blankRows {
		f.Phones = append(f.Phones, contactinfo.Phone{Kind: contactinfo.DefaultPhoneKind})
		f.Emails = append(f.Emails, contactinfo.Email{Kind: contactinfo.DefaultEmailKind})
	}
	if f.Errors == nil {
		f.Errors = map[string]string{}
	}
	return respond(w, r, status, nil, view.CompanyFormPage(s.shell(r, f.Title, "companies"), f))
}
