package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/a-h/templ"

	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/contact"
	"github.com/crmprofi/crm/internal/contactinfo"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/web/view"
)

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
		Pager:    view.Pager{Page: f.Page, Pages: (count + f.Size - 1) / f.Size, Count: count, URL: pageURL(r)},
		SortURL:  func(key string) string { return withParam(r, "ordering", key) },
		OwnOnly:  sc.OwnOnly(),
		CallFrom: s.canCall(r),
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
	calls, err := s.cardCalls(r, s.phones.ContactCalls, id)
	if err != nil {
		return err
	}
	return respond(w, r, http.StatusOK, c, view.ContactPage(s.shell(r, c.FullName, "contacts"), c, canEdit, calls))
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

func (s *Server) createContact(w http.ResponseWriter, r *http.Request) error {
	var in contact.Input
	var c contact.Contact
	err := decode(w, r, &contactInput{&in})
	if err == nil {
		c, err = s.contacts.Create(r.Context(), scopeFrom(r), in)
	}
	return saved(w, r, done{status: http.StatusCreated, body: c, flash: "Контакт создан", to: contactURL(c.ID)},
		err, s.contactFormPage(w, r, 0, &in))
}

func contactURL(id int64) string { return "/contacts/" + strconv.FormatInt(id, 10) + "/" }

// updateContact is PATCH (what is sent, over the stored contact), PUT and
// the edit form's POST (every field).
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
	var c contact.Contact
	if err = decode(w, r, &contactInput{&in}); err == nil {
		c, err = s.contacts.Update(r.Context(), sc, id, in)
	}
	return saved(w, r, done{status: http.StatusOK, body: c, flash: "Контакт сохранён", to: contactURL(id)},
		err, s.contactFormPage(w, r, id, &in))
}

// deleteContact is DELETE and the card's delete form, which returns to
// the contact's company.
func (s *Server) deleteContact(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	gone, err := s.contacts.Delete(r.Context(), scopeFrom(r), id)
	to := "/contacts/"
	if gone.CompanyID != 0 {
		to = "/companies/" + strconv.FormatInt(gone.CompanyID, 10) + "/#contacts"
	}
	return saved(w, r, done{status: http.StatusNoContent, flash: "Контакт «" + gone.Name + "» удалён", to: to}, err, nil)
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

// contactFormPage shows the create (id 0) or edit form again with what
// was typed (in, read when shown) and the messages beside the fields.
func (s *Server) contactFormPage(w http.ResponseWriter, r *http.Request, id int64, in *contact.Input) formPage {
	return func(status int, errs apperr.Invalid) error {
		return s.contactForm(w, r, status, id, *in, errs)
	}
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

// companyContactsSection renders the contacts block of a company card:
// the company's visible contacts, «+ Контакт», an empty state; callFrom
// shows the call buttons beside their phones.
func (s *Server) companyContactsSection(r *http.Request, companyID int64, callFrom bool) (templ.Component, error) {
	set := s.db.NewReadSet()
	section := s.queueCompanyContacts(set, r, companyID)
	if err := set.Run(r.Context()); err != nil {
		return nil, err
	}
	return section(callFrom)
}

// queueCompanyContacts queues companyContactsSection's read on set; the
// function returned renders the section once set has run.
func (s *Server) queueCompanyContacts(set *database.ReadSet, r *http.Request, companyID int64) func(callFrom bool) (templ.Component, error) {
	const shown = 100
	read := s.contacts.QueueOfCompany(set, scopeFrom(r), companyID, shown)
	return func(callFrom bool) (templ.Component, error) {
		list, count, err := read()
		if err != nil {
			return nil, err
		}
		return view.CompanyContacts(companyID, list, count, callFrom), nil
	}
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
	var c contact.Contact
	if err = s.contacts.Restore(r.Context(), scopeFrom(r), id); err == nil {
		c, err = s.contacts.Get(r.Context(), scopeFrom(r), id)
	}
	return saved(w, r, done{status: http.StatusOK, body: c, flash: "Контакт восстановлен", to: "/admin/trash/contacts/"}, err, nil)
}
