package server

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/dictionary"
	"github.com/crmprofi/crm/web/view"
)

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

// createDictionary is POST of the API and of the admin list's add form.
// Only admins write; anyone else is refused before the body is read.
func (s *Server) createDictionary(k dictionary.Kind) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := scopeFrom(r).CanManage(); err != nil {
			return err
		}
		var in dictionaryInput
		var it dictionary.Item
		err := decode(w, r, &in)
		if err == nil {
			it, err = s.dicts.Create(r.Context(), scopeFrom(r), k, in.Input)
		}
		return saved(w, r, done{status: http.StatusCreated, body: it, flash: "Запись «" + it.Name + "» добавлена", to: dictionaryURL(k, 0)},
			err, func(status int, errs apperr.Invalid) error {
				return s.renderDictionaryList(w, r, status, k, formFromValues(k, 0, r.PostForm, errs))
			})
	}
}

// updateDictionary is PATCH (what is sent), PUT (every field) and the
// admin edit form's POST.
func (s *Server) updateDictionary(k dictionary.Kind) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		if err := scopeFrom(r).CanManage(); err != nil {
			return err
		}
		var in dictionaryInput
		var it dictionary.Item
		if err = decode(w, r, &in); err == nil {
			in.Replace = r.Method == http.MethodPut
			it, err = s.dicts.Update(r.Context(), scopeFrom(r), k, id, in.Input)
		}
		return saved(w, r, done{status: http.StatusOK, body: it, flash: "Изменения сохранены", to: dictionaryURL(k, 0)},
			err, func(status int, errs apperr.Invalid) error {
				old, err := s.dicts.Get(r.Context(), scopeFrom(r), k, id)
				if err != nil {
					return err
				}
				f := formFromValues(k, id, r.PostForm, errs)
				f.Title = old.Name
				return s.renderDictionaryEdit(w, r, status, f)
			})
	}
}

// deleteDictionary is DELETE (?version= optional) and the admin edit
// page's delete form; an entry still in use is a 409 with the reason.
func (s *Server) deleteDictionary(k dictionary.Kind) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		if err := scopeFrom(r).CanManage(); err != nil {
			return err
		}
		version, err := versionParam(r.URL.Query().Get("version"))
		if err != nil {
			return err
		}
		it, err := s.dicts.Get(r.Context(), scopeFrom(r), k, id)
		if err != nil {
			return err
		}
		err = s.dicts.Delete(r.Context(), scopeFrom(r), k, id, version)
		return saved(w, r, done{status: http.StatusNoContent, flash: "Запись «" + it.Name + "» удалена", to: dictionaryURL(k, 0)},
			err, func(status int, errs apperr.Invalid) error {
				return s.renderDictionaryEdit(w, r, status, view.DictionaryForm{
					Kind: k, ID: it.ID, Code: it.Code, Name: it.Name, TimeZone: it.TimeZone,
					Position: strconv.Itoa(it.Position), Icon: it.Icon, Color: it.Color, Version: it.Version, Title: it.Name, Errors: errs,
				})
			})
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
	in.Icon, in.Color = str("icon"), str("color")
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
			Position: strconv.Itoa(it.Position), Icon: it.Icon, Color: it.Color, Version: it.Version, Title: it.Name,
		})
	}
}

func (s *Server) renderDictionaryEdit(w http.ResponseWriter, r *http.Request, status int, f view.DictionaryForm) error {
	return respond(w, r, status, nil, view.DictionaryEditPage(s.shell(r, f.Title+" · "+f.Kind.Label(), "admin"), f))
}

// formFromValues refills the form with what the admin typed.
func formFromValues(k dictionary.Kind, id int64, v url.Values, errs apperr.Invalid) view.DictionaryForm {
	version, _ := strconv.Atoi(v.Get("version"))
	return view.DictionaryForm{
		Kind: k, ID: id, Code: v.Get("code"), Name: v.Get("name"), TimeZone: v.Get("time_zone"),
		Position: v.Get("position"), Icon: v.Get("icon"), Color: v.Get("color"), Version: version, Errors: errs,
	}
}

// dictionaryURL is the admin page of a dictionary, or of one entry.
func dictionaryURL(k dictionary.Kind, id int64) string {
	return view.DictionaryURL(k, id)
}
