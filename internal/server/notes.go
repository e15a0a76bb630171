package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/a-h/templ"
	"github.com/go-chi/chi/v5"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/note"
	"github.com/crmprofi/crm/web/view"
)

// noteRoutes serve company notes: the JSON resource /company-notes/, and
// the forms of the company card's timeline.
func (s *Server) noteRoutes(r chi.Router) {
	r.Get("/company-notes/", s.wrap(s.listNotes))
	r.Post("/company-notes/", s.wrap(s.createNote))
	r.Get("/company-notes/{id}/", s.wrap(s.showNote))
	r.Patch("/company-notes/{id}/", s.wrap(s.updateNote))
	r.Put("/company-notes/{id}/", s.wrap(s.updateNote))
	r.Delete("/company-notes/{id}/", s.wrap(s.deleteNote))
	r.Post("/company-notes/{id}/pin/", s.wrap(s.pinNote(true)))
	r.Post("/company-notes/{id}/unpin/", s.wrap(s.pinNote(false)))

	// Page forms: the card's quick-add, the edit page, delete and pin.
	r.Post("/companies/{id}/notes/", s.wrap(s.addNoteForm))
	r.Get("/notes/{id}/edit", s.wrap(s.editNote))
	r.Post("/notes/{id}/edit", s.wrap(s.saveNote))
	r.Post("/notes/{id}/delete", s.wrap(s.deleteNoteForm))
	r.Post("/notes/{id}/pin", s.wrap(s.pinNoteForm))
}

// noteInput adapts note.Input to decode.
type noteInput struct{ in *note.Input }

func (f *noteInput) UnmarshalJSON(b []byte) error { return json.Unmarshal(b, f.in) }

func (f *noteInput) fromForm(v url.Values) error {
	f.in.Text, f.in.Type = v.Get("text"), v.Get("note_type")
	if ver := v.Get("version"); ver != "" {
		n, err := strconv.Atoi(ver)
		if err != nil {
			return apperr.Invalid{apperr.NonField: "Неверная версия формы, обновите страницу"}
		}
		f.in.Version = n
	}
	return nil
}

func (s *Server) listNotes(w http.ResponseWriter, r *http.Request) error {
	page, size, err := pageParams(r)
	inv, _ := apperr.AsInvalid(err)
	if inv == nil {
		inv = apperr.Invalid{}
	}
	f := note.Filter{Page: page, Size: size}
	if v := r.URL.Query().Get("company"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			inv.Add("company", "Неверный идентификатор компании")
		}
		f.CompanyID = id
	}
	if err := inv.Err(); err != nil {
		return err
	}
	list, count, err := s.notes.List(r.Context(), scopeFrom(r), f)
	if err != nil {
		return err
	}
	return respond(w, r, http.StatusOK, newListPage(r, list, count, page, size), nil)
}

func (s *Server) showNote(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	n, err := s.notes.Get(r.Context(), scopeFrom(r), id)
	if err != nil {
		return err
	}
	return respond(w, r, http.StatusOK, n, nil)
}

func (s *Server) createNote(w http.ResponseWriter, r *http.Request) error {
	var in note.Input
	if err := decode(w, r, &noteInput{&in}); err != nil {
		return err
	}
	n, err := s.notes.Create(r.Context(), scopeFrom(r), in)
	if err != nil {
		return err
	}
	return respond(w, r, http.StatusCreated, n, nil)
}

func (s *Server) updateNote(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	sc := scopeFrom(r)
	var in note.Input
	if r.Method == http.MethodPatch {
		cur, err := s.notes.Get(r.Context(), sc, id)
		if err != nil {
			return err
		}
		in = note.Input{Text: cur.Text, Type: cur.Type}
	}
	if err := decode(w, r, &noteInput{&in}); err != nil {
		return err
	}
	n, err := s.notes.Update(r.Context(), sc, id, in)
	if err != nil {
		return err
	}
	return respond(w, r, http.StatusOK, n, nil)
}

func (s *Server) deleteNote(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if _, err := s.notes.Delete(r.Context(), scopeFrom(r), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) pinNote(pinned bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		n, err := s.notes.SetPinned(r.Context(), scopeFrom(r), id, pinned)
		if err != nil {
			return err
		}
		return respond(w, r, http.StatusOK, n, nil)
	}
}

func companyNotesURL(companyID int64) string {
	return "/companies/" + strconv.FormatInt(companyID, 10) + "/#notes"
}

// addNoteForm is the card's quick-add. Bad input re-renders the note on a
// page of its own with the message beside the field (the card belongs to
// the companies handler).
func (s *Server) addNoteForm(w http.ResponseWriter, r *http.Request) error {
	companyID, err := pathID(r)
	if err != nil {
		return err
	}
	in := note.Input{Company: companyID}
	if err := decode(w, r, &noteInput{&in}); err != nil {
		return err
	}
	_, err = s.notes.Create(r.Context(), scopeFrom(r), in)
	if inv, ok := apperr.AsInvalid(err); ok {
		if inv["company"] != "" {
			return apperr.ErrNotFound
		}
		f := view.NoteForm{CompanyID: companyID, Text: in.Text, Type: in.Type, Errors: inv}
		return respond(w, r, http.StatusBadRequest, nil, view.NoteFormPage(s.shell(r, "Новая заметка", "companies"), f))
	}
	if err != nil {
		return err
	}
	setFlash(w, "success", "Заметка добавлена")
	redirect(w, r, companyNotesURL(companyID))
	return nil
}

func (s *Server) editNote(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	n, err := s.notes.Get(r.Context(), scopeFrom(r), id)
	if err != nil {
		return err
	}
	if err := scopeFrom(r).CanChangeNote(n.Author(), access.NoteEdit); err != nil {
		return err
	}
	f := view.NoteForm{ID: n.ID, CompanyID: n.CompanyID, Text: n.Text, Type: n.Type, Version: n.Version}
	return respond(w, r, http.StatusOK, n, view.NoteFormPage(s.shell(r, "Изменить заметку", "companies"), f))
}

func (s *Server) saveNote(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	sc := scopeFrom(r)
	cur, err := s.notes.Get(r.Context(), sc, id)
	if err != nil {
		return err
	}
	var in note.Input
	if err := decode(w, r, &noteInput{&in}); err != nil {
		return err
	}
	_, err = s.notes.Update(r.Context(), sc, id, in)
	rerender := func(status int, errs apperr.Invalid) error {
		f := view.NoteForm{ID: id, CompanyID: cur.CompanyID, Text: in.Text, Type: in.Type, Version: in.Version, Errors: errs}
		return respond(w, r, status, nil, view.NoteFormPage(s.shell(r, "Изменить заметку", "companies"), f))
	}
	if inv, ok := apperr.AsInvalid(err); ok {
		return rerender(http.StatusBadRequest, inv)
	}
	if errors.Is(err, apperr.ErrConflict) {
		return rerender(http.StatusConflict, apperr.Invalid{apperr.NonField: "Заметку изменили в другом окне. Обновите страницу и внесите правки ещё раз."})
	}
	if err != nil {
		return err
	}
	setFlash(w, "success", "Заметка сохранена")
	redirect(w, r, companyNotesURL(cur.CompanyID))
	return nil
}

func (s *Server) deleteNoteForm(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	n, err := s.notes.Delete(r.Context(), scopeFrom(r), id)
	if err != nil {
		return err
	}
	setFlash(w, "success", "Заметка удалена")
	redirect(w, r, companyNotesURL(n.CompanyID))
	return nil
}

func (s *Server) pinNoteForm(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return apperr.Invalid{apperr.NonField: "Неверные данные формы"}
	}
	n, err := s.notes.SetPinned(r.Context(), scopeFrom(r), id, r.PostForm.Get("pinned") == "1")
	if err != nil {
		return err
	}
	redirect(w, r, companyNotesURL(n.CompanyID))
	return nil
}

// companyNotesSection renders the company card's activity timeline: the
// quick-add form, then the notes (pinned on top, newest first) in the
// viewer's time zone. ?notes_page= pages through a long history.
func (s *Server) companyNotesSection(r *http.Request, companyID int64) (templ.Component, error) {
	return s.notesSection(r, companyID, s.notes.CanPinAll(r.Context(), scopeFrom(r), companyID))
}

// notesSection is companyNotesSection when the caller already knows
// whether the viewer may pin every note (the card has read the company).
func (s *Server) notesSection(r *http.Request, companyID int64, canPinAll bool) (templ.Component, error) {
	const size = 50
	page := 1
	if v, err := strconv.Atoi(r.URL.Query().Get("notes_page")); err == nil && v > 1 {
		page = v
	}
	sc := scopeFrom(r)
	list, count, err := s.notes.List(r.Context(), sc, note.Filter{CompanyID: companyID, Page: page, Size: size})
	if err != nil {
		return nil, err
	}
	u := userFrom(r)
	d := view.NotesSection{
		CompanyID: companyID, Notes: list, Viewer: sc.UserID,
		CanPinAll: canPinAll,
		Location:  u.Location(s.cfg.Location),
		Pager: view.Pager{Page: page, Pages: (count + size - 1) / size, Count: count, URL: func(p int) string {
			q := r.URL.Query()
			q.Del("notes_page")
			if p > 1 {
				q.Set("notes_page", strconv.Itoa(p))
			}
			return (&url.URL{Path: r.URL.Path, RawQuery: q.Encode(), Fragment: "notes"}).String()
		}},
	}
	return view.CompanyNotes(d), nil
}
