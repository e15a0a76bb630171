package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/a-h/templ"
	"github.com/go-chi/chi/v5"

	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/contact"
	"github.com/crmprofi/crm/internal/contactinfo"
	"github.com/crmprofi/crm/web/view"
)

// contactRoutes serve contacts under both "/" (pages and their forms) and
// "/api" (JSON) with the same handlers.
func (s *Server) contactRoutes(r chi.Router) {
	r.Get("/contacts/", s.wrap(s.listContacts))
	r.Post("/contacts/", s.wrap(s.createContact))
	r.Get("/contacts/new", s.wrap(s.newContact))
	r.Get("/contacts/{id}/", s.wrap(s.showContact))
	r.Patch("/contacts/{id}/", s.wrap(s.updateContact))
	r.Put("/contacts/{id}/", s.wrap(s.updateContact))
	r.Delete("/contacts/{id}/", s.wrap(s.deleteContact))
	r.Get("/contacts/{id}/edit", s.wrap(s.editContact))
	r.Post("/contacts/{id}/edit", s.wrap(s.saveContact))
	r.Post("/contacts/{id}/delete", s.wrap(s.deleteContactForm))
}

// adminContactTrashRoutes serve the contacts trash under /admin.
func (s *Server) adminContactTrashRoutes(r chi.Router) {
	r.Get("/trash/contacts/", s.wrap(s.contactTrash))
	r.Post("/trash/contacts/{id}/restore", s.wrap(s.restoreContact))
}

// contactFilter reads ?search=, ?company=, ?ordering= and the page.
func contactFilter(r *http.Request) (contact.Filter, error) {
	q := r.URL.Query()
	page, size, err := pageParams(r)
	inv, _ := apperr.AsInvalid(err)
	if inv == nil {
		inv = apperr.Invalid{}
	}
	f := contact.Filter{Search: strings.TrimSpace(q.Get("search")), Ordering: q.Get("ordering"), Page: page, Size: size}
	if v := q.Get("company"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			inv.Add("company", "Неверный идентификатор компании")
		}
		f.CompanyID = id
	}
	return f, inv.Err()
}

func (s *Server) listContacts(w http.ResponseWriter, r *http.Request) error {
	f, err := contactFilter(r)
	if err != nil {
		return err
	}
	sc := scopeFrom(r)
	list, count, err := s.contacts.List(r.Context(), sc, f)
	if err != nil {
		return err
	}
	if wantsJSON(r) {
		return respond(w, r, http.StatusOK, newListPage(r, list, count, f.Page, f.Size), nil)
	}
	d := view.ContactList{
		Contacts: list, Search: f.Search, Ordering: f.Ordering,
		Pager:   view.Pager{Page: f.Page, Pages: (count + f.Size - 1) / f.Size, Count: count, URL: pageURL(r)},
		SortURL: func(key string) string { return withParam(r, "ordering", key) },
	}
	if f.CompanyID != 0 {
		d.CompanyID = f.CompanyID
		d.CompanyName, _ = s.contacts.CompanyName(r.Context(), sc, f.CompanyID)
		d.ClearCompanyURL = withParam(r, "company", "")
	}
	return respond(w, r, http.StatusOK, nil, view.ContactsPage(s.shell(r, "Контакты", "contacts"), d))
}

func (s *Server) showContact(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	sc := scopeFrom(r)
	c, err := s.contacts.Get(r.Context(), sc, id)
	if err != nil {
		return err
	}
	if wantsJSON(r) {
		return respond(w, r, http.StatusOK, c, nil)
	}
	canEdit := s.contacts.CanChange(r.Context(), sc, id) == nil
	return respond(w, r, http.StatusOK, c, view.ContactPage(s.shell(r, c.FullName, "contacts"), c, canEdit))
}

// contactInput adapts contact.Input to decode: JSON goes straight into
// the input, a form through fromForm.
type contactInput struct{ in *contact.Input }

func (f *contactInput) UnmarshalJSON(b []byte) error { return json.Unmarshal(b, f.in) }

func (f *contactInput) fromForm(v url.Values) error {
	in := f.in
	in.LastName, in.FirstName, in.MiddleName = v.Get("last_name"), v.Get("first_name"), v.Get("middle_name")
	in.Position, in.Status, in.Note = v.Get("position"), v.Get("status"), v.Get("note")
	in.Company = nil
	if c := strings.TrimSpace(v.Get("company")); c != "" {
		id, err := strconv.ParseInt(c, 10, 64)
		if err != nil || id <= 0 {
			return apperr.Invalid{"company": "Компания не найдена"}
		}
		in.Company = &id
	}
	in.Phones = contactinfo.PhonesFromForm(v["phone_value"], v["phone_kind"], v["phone_comment"])
	in.Emails = contactinfo.EmailsFromForm(v["email_value"], v["email_kind"], v["email_comment"])
	in.Version = 0
	if ver := v.Get("version"); ver != "" {
		n, err := strconv.Atoi(ver)
		if err != nil {
			return apperr.Invalid{apperr.NonField: "Неверная версия формы, обновите страницу"}
		}
		in.Version = n
	}
	return nil
}

// at is the i-th of the repeated form values, or "".
func at(vs []string, i int) string {
	if i < len(vs) {
		return vs[i]
	}
	return ""
}

func (s *Server) createContact(w http.ResponseWriter, r *http.Request) error {
	var in contact.Input
	if err := decode(w, r, &contactInput{&in}); err != nil {
		if inv, ok := apperr.AsInvalid(err); ok && !wantsJSON(r) {
			return s.contactForm(w, r, http.StatusBadRequest, 0, in, inv)
		}
		return err
	}
	c, err := s.contacts.Create(r.Context(), scopeFrom(r), in)
	if wantsJSON(r) {
		if err != nil {
			return err
		}
		return respond(w, r, http.StatusCreated, c, nil)
	}
	if inv, ok := apperr.AsInvalid(err); ok {
		return s.contactForm(w, r, http.StatusBadRequest, 0, in, inv)
	}
	if err != nil {
		return err
	}
	setFlash(w, "success", "Контакт создан")
	redirect(w, r, contactURL(c.ID))
	return nil
}

func contactURL(id int64) string { return "/contacts/" + strconv.FormatInt(id, 10) + "/" }

func (s *Server) updateContact(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	sc := scopeFrom(r)
	var in contact.Input
	if r.Method == http.MethodPatch {
		cur, err := s.contacts.Get(r.Context(), sc, id)
		if err != nil {
			return err
		}
		in = contact.InputOf(cur)
	}
	if err := decode(w, r, &contactInput{&in}); err != nil {
		return err
	}
	c, err := s.contacts.Update(r.Context(), sc, id, in)
	if err != nil {
		s.recordContactRefusal(r, "contact.update", id, err)
		return err
	}
	return respond(w, r, http.StatusOK, c, nil)
}

func (s *Server) deleteContact(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := s.contacts.Delete(r.Context(), scopeFrom(r), id); err != nil {
		s.recordContactRefusal(r, "contact.delete", id, err)
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) newContact(w http.ResponseWriter, r *http.Request) error {
	if wantsJSON(r) {
		return apperr.ErrNotFound // a page, not a resource
	}
	var in contact.Input
	if v := r.URL.Query().Get("company"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return apperr.ErrNotFound
		}
		in.Company = &id
	}
	return s.contactForm(w, r, http.StatusOK, 0, in, nil)
}

func (s *Server) editContact(w http.ResponseWriter, r *http.Request) error {
	if wantsJSON(r) {
		return apperr.ErrNotFound // a page, not a resource
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	sc := scopeFrom(r)
	c, err := s.contacts.Get(r.Context(), sc, id)
	if err != nil {
		return err
	}
	if err := s.contacts.CanChange(r.Context(), sc, id); err != nil {
		return err
	}
	in := contact.InputOf(c)
	in.Version = c.Version
	return s.contactForm(w, r, http.StatusOK, id, in, nil)
}

func (s *Server) saveContact(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in contact.Input
	if err := decode(w, r, &contactInput{&in}); err != nil {
		if inv, ok := apperr.AsInvalid(err); ok {
			return s.contactForm(w, r, http.StatusBadRequest, id, in, inv)
		}
		return err
	}
	_, err = s.contacts.Update(r.Context(), scopeFrom(r), id, in)
	s.recordContactRefusal(r, "contact.update", id, err)
	if inv, ok := apperr.AsInvalid(err); ok {
		return s.contactForm(w, r, http.StatusBadRequest, id, in, inv)
	}
	if errors.Is(err, apperr.ErrConflict) {
		return s.contactForm(w, r, http.StatusConflict, id, in,
			apperr.Invalid{apperr.NonField: "Контакт изменён в другом окне. Обновите страницу и внесите правки ещё раз."})
	}
	if err != nil {
		return err
	}
	setFlash(w, "success", "Контакт сохранён")
	redirect(w, r, contactURL(id))
	return nil
}

// contactForm renders the create (id 0) or edit form with the values
// typed and the messages beside the fields.
func (s *Server) contactForm(w http.ResponseWriter, r *http.Request, status int, id int64, in contact.Input, errs apperr.Invalid) error {
	if errs == nil {
		errs = apperr.Invalid{}
	}
	f := view.ContactForm{ID: id, Input: in, Errors: errs}
	if in.Company != nil {
		name, err := s.contacts.CompanyName(r.Context(), scopeFrom(r), *in.Company)
		if errors.Is(err, apperr.ErrNotFound) {
			errs.Add("company", "Компания не найдена")
			if status == http.StatusOK {
				return apperr.ErrNotFound
			}
		} else if err != nil {
			return err
		}
		f.CompanyName = name
	}
	title := "Новый контакт"
	if id != 0 {
		title = "Изменить контакт"
	}
	return respond(w, r, status, nil, view.ContactFormPage(s.shell(r, title, "contacts"), f))
}

func (s *Server) deleteContactForm(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	sc := scopeFrom(r)
	c, err := s.contacts.Get(r.Context(), sc, id)
	if err != nil {
		return err
	}
	if err := s.contacts.Delete(r.Context(), sc, id); err != nil {
		s.recordContactRefusal(r, "contact.delete", id, err)
		return err
	}
	setFlash(w, "success", "Контакт «"+c.FullName+"» удалён")
	if c.CompanyID != nil {
		redirect(w, r, "/companies/"+strconv.FormatInt(*c.CompanyID, 10)+"/#contacts")
		return nil
	}
	redirect(w, r, "/contacts/")
	return nil
}

// recordContactRefusal records a refused change of a visible contact (403); other
// errors are not refusals and are left alone.
func (s *Server) recordContactRefusal(r *http.Request, action string, id int64, err error) {
	if errors.Is(err, apperr.ErrForbidden) {
		s.recordDenied(r, action, "contact", strconv.FormatInt(id, 10), err)
	}
}

// companyContactsSection renders the contacts block of a company card:
// the company's visible contacts, «+ Контакт», an empty state.
func (s *Server) companyContactsSection(r *http.Request, companyID int64) (templ.Component, error) {
	const shown = 100
	list, count, err := s.contacts.List(r.Context(), scopeFrom(r), contact.Filter{CompanyID: companyID, Size: shown})
	if err != nil {
		return nil, err
	}
	return view.CompanyContacts(companyID, list, count), nil
}

func (s *Server) contactTrash(w http.ResponseWriter, r *http.Request) error {
	f, err := contactFilter(r)
	if err != nil {
		return err
	}
	f.Deleted = true
	list, count, err := s.contacts.List(r.Context(), scopeFrom(r), f)
	if err != nil {
		return err
	}
	if wantsJSON(r) {
		return respond(w, r, http.StatusOK, newListPage(r, list, count, f.Page, f.Size), nil)
	}
	pager := view.Pager{Page: f.Page, Pages: (count + f.Size - 1) / f.Size, Count: count, URL: pageURL(r)}
	return respond(w, r, http.StatusOK, nil, view.ContactTrashPage(s.shell(r, "Корзина контактов", "admin"), list, f.Search, pager, userFrom(r).Location(s.cfg.Location)))
}

func (s *Server) restoreContact(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := s.contacts.Restore(r.Context(), scopeFrom(r), id); err != nil {
		return err
	}
	if wantsJSON(r) {
		c, err := s.contacts.Get(r.Context(), scopeFrom(r), id)
		if err != nil {
			return err
		}
		return respond(w, r, http.StatusOK, c, nil)
	}
	setFlash(w, "success", "Контакт восстановлен")
	redirect(w, r, "/admin/trash/contacts/")
	return nil
}
