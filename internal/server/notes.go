package server

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/a-h/templ"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/note"
	"github.com/crmprofi/crm/web/view"
)

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

// createNote is POST /company-notes/ and the company card's quick-add
// (POST /companies/{id}/notes/, the company in the path). Bad input on the
// form shows the note on a page of its own with the message beside the
// field (the card belongs to the companies handler).
func (s *Server) createNote(w http.ResponseWriter, r *http.Request) error {
	var in note.Input
	if r.PathValue("id") != "" {
		companyID, err := pathID(r)
		if err != nil {
			return err
		}
		in.Company = companyID
	}
	var n note.Note
	err := decode(w, r, &noteInput{&in})
	if err == nil {
		n, err = s.notes.Create(r.Context(), scopeFrom(r), in)
	}
	if inv, ok := apperr.AsInvalid(err); ok && inv["company"] != "" && !wantsJSON(r) {
		return apperr.ErrNotFound // the card's company is gone or hidden
	}
	return saved(w, r, done{status: http.StatusCreated, body: n, flash: "Заметка добавлена", to: companyNotesURL(in.Company)},
		err, func(status int, errs apperr.Invalid) error {
			f := view.NoteForm{CompanyID: in.Company, Text: in.Text, Type: in.Type, Errors: errs}
			return respond(w, r, status, nil, view.NoteFormPage(s.shell(r, "Новая заметка", "companies"), f))
		})
}

// updateNote is PATCH (what is sent, over the stored note), PUT and the
// edit form's POST.
func (s *Server) updateNote(w http.ResponseWriter, r *http.Request) error {
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
	if r.Method == http.MethodPatch {
		in = note.Input{Text: cur.Text, Type: cur.Type}
	}
	var n note.Note
	if err = decode(w, r, &noteInput{&in}); err == nil {
		n, err = s.notes.Update(r.Context(), sc, id, in)
	}
	return saved(w, r, done{status: http.StatusOK, body: n, flash: "Заметка сохранена", to: companyNotesURL(cur.CompanyID)},
		err, func(status int, errs apperr.Invalid) error {
			f := view.NoteForm{ID: id, CompanyID: cur.CompanyID, Text: in.Text, Type: in.Type, Version: in.Version, Errors: errs}
			return respond(w, r, status, nil, view.NoteFormPage(s.shell(r, "Изменить заметку", "companies"), f))
		})
}

func (s *Server) deleteNote(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	n, err := s.notes.Delete(r.Context(), scopeFrom(r), id)
	return saved(w, r, done{status: http.StatusNoContent, flash: "Заметка удалена", to: companyNotesURL(n.CompanyID)}, err, nil)
}

// pinNote is POST …/pin/ and …/unpin/ in the API, and the timeline's pin
// form, which says which in its "pinned" field.
func (s *Server) pinNote(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var pinned bool
	switch {
	case strings.HasSuffix(r.URL.Path, "/unpin/"):
	case strings.HasSuffix(r.URL.Path, "/pin/"):
		pinned = true
	default:
		if err := r.ParseForm(); err != nil {
			return apperr.Invalid{apperr.NonField: "Неверные данные формы"}
		}
		pinned = r.PostForm.Get("pinned") == "1"
	}
	n, err := s.notes.SetPinned(r.Context(), scopeFrom(r), id, pinned)
	return saved(w, r, done{status: http.StatusOK, body: n, to: companyNotesURL(n.CompanyID)}, err, nil)
}

func companyNotesURL(companyID int64) string {
	return "/companies/" + strconv.FormatInt(companyID, 10) + "/#notes"
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

// companyNotesSection renders the company card's activity timeline: the
// quick-add form, then the notes (pinned on top, newest first) in the
// viewer's time zone. ?notes_page= pages through a long history.
func (s *Server) companyNotesSection(r *http.Request, companyID int64) (templ.Component, error) {
	return s.notesSection(r, companyID, s.notes.CanPinAll(r.Context(), scopeFrom(r), companyID))
}

// notesSection is companyNotesSection when the caller already knows
// whether the viewer may pin every note.
func (s *Server) notesSection(r *http.Request, companyID int64, canPinAll bool) (templ.Component, error) {
	set := s.db.NewReadSet()
	section := s.queueNotesSection(set, r, companyID)
	if err := set.Run(r.Context()); err != nil {
		return nil, err
	}
	return section(canPinAll)
}

// queueNotesSection queues notesSection's read on set; the function
// returned renders the section once set has run, when the caller knows
// whether the viewer may pin every note (the card has read the company).
func (s *Server) queueNotesSection(set *database.ReadSet, r *http.Request, companyID int64) func(canPinAll bool) (templ.Component, error) {
	const size = 50
	page := 1
	if v, err := strconv.Atoi(r.URL.Query().Get("notes_page")); err == nil && v > 1 {
		page = v
	}
	sc := scopeFrom(r)
	read := s.notes.QueueList(set, sc, note.Filter{CompanyID: companyID, Page: page, Size: size})
	return func(canPinAll bool) (templ.Component, error) {
		list, count, err := read()
		if err != nil {
			return nil, err
		}
		return s.notesView(r, companyID, list, count, canPinAll, page, size), nil
	}
}

// notesView is the timeline of a page of notes.
func (s *Server) notesView(r *http.Request, companyID int64, list []note.Note, count int, canPinAll bool, page, size int) templ.Component {
	sc := scopeFrom(r)
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
	return view.CompanyNotes(d)
}
