package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/audit"
	"github.com/crmprofi/crm/internal/dictionary"
	"github.com/crmprofi/crm/web/view"
)

// dictionaryRoutes would serve the dictionaries under both "/" and "/api";
// they have no page of their own outside the admin section, so their JSON
// is mounted by apiRoutes (dictionaryAPIRoutes) and their pages by
// adminRoutes (adminDictionaryRoutes).
func (s *Server) dictionaryRoutes(chi.Router) {}

// dictionaryAPIRoutes: everyone reads /api/{kind}/; only admins write.
func (s *Server) dictionaryAPIRoutes(r chi.Router) {
	for _, k := range dictionary.Kinds {
		base := "/" + string(k) + "/"
		r.Get(base, s.wrap(s.listDictionary(k)))
		r.Post(base, s.wrap(s.createDictionary(k)))
		r.Get(base+"{id}/", s.wrap(s.showDictionary(k)))
		r.Patch(base+"{id}/", s.wrap(s.updateDictionary(k, false)))
		r.Put(base+"{id}/", s.wrap(s.updateDictionary(k, true)))
		r.Delete(base+"{id}/", s.wrap(s.deleteDictionary(k)))
	}
}

func (s *Server) listDictionary(k dictionary.Kind) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		page, size, err := pageParams(r)
		if err != nil {
			return err
		}
		q := r.URL.Query()
		items, count, err := s.dicts.List(r.Context(), scopeFrom(r), k, dictionary.Filter{
			Search: q.Get("search"), Ordering: q.Get("ordering"), Page: page, PageSize: size,
		})
		if err != nil {
			return err
		}
		return respond(w, r, http.StatusOK, newListPage(r, items, count, page, size), nil)
	}
}

func (s *Server) showDictionary(k dictionary.Kind) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		it, err := s.dicts.Get(r.Context(), scopeFrom(r), k, id)
		if err != nil {
			return err
		}
		return respond(w, r, http.StatusOK, it, nil)
	}
}

// mayManage lets admins through; anyone else gets 403, and the attempt is
// audited before the body is even read.
func (s *Server) mayManage(r *http.Request, action, objectType, objectID string) error {
	if err := scopeFrom(r).CanManage(); err != nil {
		s.recordDenied(r, action, objectType, objectID, err)
		return err
	}
	return nil
}

func (s *Server) createDictionary(k dictionary.Kind) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := s.mayManage(r, "dictionary.create", string(k), ""); err != nil {
			return err
		}
		var in dictionaryInput
		if err := decode(w, r, &in); err != nil {
			return err
		}
		it, err := s.dicts.Create(r.Context(), scopeFrom(r), k, in.Input)
		if err != nil {
			return err
		}
		return respond(w, r, http.StatusCreated, it, nil)
	}
}

func (s *Server) updateDictionary(k dictionary.Kind, replace bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		if err := s.mayManage(r, "dictionary.update", string(k), audit.ID(id)); err != nil {
			return err
		}
		var in dictionaryInput
		if err := decode(w, r, &in); err != nil {
			return err
		}
		in.Replace = replace
		it, err := s.dicts.Update(r.Context(), scopeFrom(r), k, id, in.Input)
		if err != nil {
			return err
		}
		return respond(w, r, http.StatusOK, it, nil)
	}
}

func (s *Server) deleteDictionary(k dictionary.Kind) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		if err := s.mayManage(r, "dictionary.delete", string(k), audit.ID(id)); err != nil {
			return err
		}
		version, err := versionParam(r.URL.Query().Get("version"))
		if err != nil {
			return err
		}
		if err := s.dicts.Delete(r.Context(), scopeFrom(r), k, id, version); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

// versionParam reads an optional version number.
func versionParam(v string) (int, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, apperr.Invalid{"version": "Версия должна быть целым числом"}
	}
	return n, nil
}

// dictionaryInput reads dictionary.Input from JSON or from the admin form.
type dictionaryInput struct {
	dictionary.Input
}

// UnmarshalJSON reads the bare input, so that type errors name the field
// ("position"), not the embedding ("Input.position").
func (in *dictionaryInput) UnmarshalJSON(b []byte) error { return json.Unmarshal(b, &in.Input) }

func (in *dictionaryInput) fromForm(v url.Values) error {
	str := func(key string) *string {
		if _, ok := v[key]; !ok {
			return nil
		}
		s := v.Get(key)
		return &s
	}
	in.Name, in.Code, in.TimeZone = str("name"), str("code"), str("time_zone")
	inv := apperr.Invalid{}
	if p := strings.TrimSpace(v.Get("position")); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil {
			inv.Add("position", "Порядок должен быть целым числом")
		}
		in.Position = &n
	}
	var err error
	if in.Version, err = versionParam(v.Get("version")); err != nil {
		inv.Add("version", "Версия должна быть целым числом")
	}
	return inv.Err()
}

// adminDictionaryRoutes are the admin pages of the dictionaries, under
// /admin with requireAdmin already applied.
func (s *Server) adminDictionaryRoutes(r chi.Router) {
	for _, k := range dictionary.Kinds {
		base := "/dictionaries/" + string(k) + "/"
		r.Get(base, s.wrap(s.adminDictionaryList(k)))
		r.Post(base, s.wrap(s.adminDictionaryCreate(k)))
		r.Get(base+"{id}/", s.wrap(s.adminDictionaryEdit(k)))
		r.Post(base+"{id}/", s.wrap(s.adminDictionarySave(k)))
		r.Post(base+"{id}/delete", s.wrap(s.adminDictionaryDelete(k)))
	}
	r.Get("/dictionaries/", func(w http.ResponseWriter, r *http.Request) { redirect(w, r, "/admin/") })
}

// renderDictionaryList shows the list with the add form, holding what
// was typed and the errors beside the fields when form.Errors is set.
func (s *Server) renderDictionaryList(w http.ResponseWriter, r *http.Request, status int, k dictionary.Kind, form view.DictionaryForm) error {
	items, err := s.dicts.All(r.Context(), k)
	if err != nil {
		return err
	}
	page := view.DictionaryList{Kind: k, Items: items, Form: form}
	return respond(w, r, status, nil, view.DictionaryListPage(s.shell(r, k.Label(), "admin"), page))
}

func (s *Server) adminDictionaryList(k dictionary.Kind) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		return s.renderDictionaryList(w, r, http.StatusOK, k, view.DictionaryForm{Kind: k, TimeZone: dictionary.DefaultTimeZone})
	}
}

func (s *Server) adminDictionaryCreate(k dictionary.Kind) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var in dictionaryInput
		err := decode(w, r, &in)
		if err == nil {
			_, err = s.dicts.Create(r.Context(), scopeFrom(r), k, in.Input)
		}
		if inv, ok := apperr.AsInvalid(err); ok {
			return s.renderDictionaryList(w, r, http.StatusBadRequest, k, formFromValues(k, 0, r.PostForm, inv))
		}
		if err != nil {
			return err
		}
		setFlash(w, "success", "Запись «"+strings.TrimSpace(r.PostForm.Get("name"))+"» добавлена")
		redirect(w, r, dictionaryURL(k, 0))
		return nil
	}
}

func (s *Server) adminDictionaryEdit(k dictionary.Kind) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		it, err := s.dicts.Get(r.Context(), scopeFrom(r), k, id)
		if err != nil {
			return err
		}
		return s.renderDictionaryEdit(w, r, http.StatusOK, view.DictionaryForm{
			Kind: k, ID: it.ID, Code: it.Code, Name: it.Name, TimeZone: it.TimeZone,
			Position: strconv.Itoa(it.Position), Version: it.Version, Title: it.Name,
		})
	}
}

func (s *Server) renderDictionaryEdit(w http.ResponseWriter, r *http.Request, status int, f view.DictionaryForm) error {
	return respond(w, r, status, nil, view.DictionaryEditPage(s.shell(r, f.Title+" · "+f.Kind.Label(), "admin"), f))
}

func (s *Server) adminDictionarySave(k dictionary.Kind) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		old, err := s.dicts.Get(r.Context(), scopeFrom(r), k, id)
		if err != nil {
			return err
		}
		var in dictionaryInput
		err = decode(w, r, &in)
		if err == nil {
			_, err = s.dicts.Update(r.Context(), scopeFrom(r), k, id, in.Input)
		}
		status, inv := formFailure(err)
		if status == 0 {
			if err != nil {
				return err
			}
			setFlash(w, "success", "Изменения сохранены")
			redirect(w, r, dictionaryURL(k, 0))
			return nil
		}
		f := formFromValues(k, id, r.PostForm, inv)
		f.Title = old.Name
		return s.renderDictionaryEdit(w, r, status, f)
	}
}

func (s *Server) adminDictionaryDelete(k dictionary.Kind) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		it, err := s.dicts.Get(r.Context(), scopeFrom(r), k, id)
		if err != nil {
			return err
		}
		err = s.dicts.Delete(r.Context(), scopeFrom(r), k, id, 0)
		var inUse *apperr.Conflict
		if errors.As(err, &inUse) {
			return s.renderDictionaryEdit(w, r, http.StatusConflict, view.DictionaryForm{
				Kind: k, ID: it.ID, Code: it.Code, Name: it.Name, TimeZone: it.TimeZone,
				Position: strconv.Itoa(it.Position), Version: it.Version, Title: it.Name,
				Errors: map[string]string{apperr.NonField: inUse.Message},
			})
		}
		if err != nil {
			return err
		}
		setFlash(w, "success", "Запись «"+it.Name+"» удалена")
		redirect(w, r, dictionaryURL(k, 0))
		return nil
	}
}

// formFailure sorts a save error into what re-renders the form: 400 with
// field messages, 409 with a message on top; 0 for success or any other
// error (which fail handles).
func formFailure(err error) (int, apperr.Invalid) {
	if inv, ok := apperr.AsInvalid(err); ok {
		return http.StatusBadRequest, inv
	}
	var c *apperr.Conflict
	switch {
	case errors.As(err, &c):
		return http.StatusConflict, apperr.Invalid{apperr.NonField: c.Message}
	case errors.Is(err, apperr.ErrConflict):
		return http.StatusConflict, apperr.Invalid{apperr.NonField: "Запись уже изменил кто-то другой. Откройте её заново и повторите."}
	}
	return 0, nil
}

// formFromValues refills the form with what the admin typed.
func formFromValues(k dictionary.Kind, id int64, v url.Values, errs apperr.Invalid) view.DictionaryForm {
	version, _ := strconv.Atoi(v.Get("version"))
	return view.DictionaryForm{
		Kind: k, ID: id, Code: v.Get("code"), Name: v.Get("name"), TimeZone: v.Get("time_zone"),
		Position: v.Get("position"), Version: version, Errors: errs,
	}
}

// dictionaryURL is the admin page of a dictionary, or of one entry.
func dictionaryURL(k dictionary.Kind, id int64) string {
	return view.DictionaryURL(k, id)
}
