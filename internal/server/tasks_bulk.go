package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/task"
)

// bulkForm is a bulk action as a form posts it: the desk's «Перенести»
// (one id) or the task list without its script. next is where to go back.
type bulkForm struct {
	in   task.BulkInput
	next string
}

// UnmarshalJSON reads the API's body into the input itself, so field
// errors name the contract's fields ("ids", not "BulkInput.ids").
func (f *bulkForm) UnmarshalJSON(b []byte) error { return json.Unmarshal(b, &f.in) }

// fromForm reads ids (repeated), action, due_at, assigned_to, result, next.
func (f *bulkForm) fromForm(v url.Values) error {
	inv := apperr.Invalid{}
	for _, raw := range v["ids"] {
		for part := range strings.SplitSeq(raw, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			id, err := strconv.ParseInt(part, 10, 64)
			if err != nil || id <= 0 {
				inv["ids"] = "Неверный номер задачи"
				continue
			}
			f.in.IDs = append(f.in.IDs, id)
		}
	}
	if len(f.in.IDs) > task.MaxBulkIDs {
		inv["ids"] = "Не больше " + strconv.Itoa(task.MaxBulkIDs) + " задач за раз"
	}
	f.in.Action = v.Get("action")
	f.in.DueAt = v.Get("due_at")
	f.in.Result = v.Get("result")
	if a := strings.TrimSpace(v.Get("assigned_to")); a != "" {
		if err := f.in.AssignedTo.UnmarshalJSON([]byte(strconv.Quote(a))); err != nil {
			inv["assigned_to"] = "Выберите исполнителя"
		}
	}
	f.next = v.Get("next")
	if len(inv) > 0 {
		return inv
	}
	return nil
}

// bulkTasks is POST /api/tasks/bulk/ and the form post /tasks/bulk/: one
// action on up to 500 tasks, each checked as if alone (see task.Store.Bulk).
// JSON answers 200 {"done", "refused", "undo_token"}; a form goes back to
// next (the desk, the list) with a toast.
func (s *Server) bulkTasks(w http.ResponseWriter, r *http.Request) error {
	var in bulkForm
	err := decode(w, r, &in)
	var res task.BulkResult
	if err == nil {
		sc := scopeFrom(r)
		var loc *time.Location
		if loc, err = s.tasks.Location(r.Context(), sc.UserID); err != nil {
			return err
		}
		res, err = s.tasks.Bulk(r.Context(), sc, in.in, loc)
	}
	if wantsJSON(r) {
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, res)
	}
	next := in.next
	if !localPath(next) {
		next = "/tasks/"
	}
	if err != nil {
		if inv, ok := apperr.AsInvalid(err); ok {
			setFlash(w, "error", bulkMessage(inv))
			redirect(w, r, next)
			return nil
		}
		return err
	}
	switch {
	case len(res.Refused) > 0 && len(res.Done) == 0:
		setFlash(w, "error", "Не изменено: "+res.Refused[0].Detail)
	case len(res.Refused) > 0:
		setFlash(w, "success", bulkDoneText(in.in.Action, len(res.Done))+"; не изменено: "+strconv.Itoa(len(res.Refused)))
	default:
		setFlash(w, "success", bulkDoneText(in.in.Action, len(res.Done)))
	}
	redirect(w, r, next)
	return nil
}

// bulkMessage is one field message of inv, for a toast.
func bulkMessage(inv apperr.Invalid) string {
	for _, k := range []string{"ids", "action", "due_at", "assigned_to", "result"} {
		if m, ok := inv[k]; ok {
			return m
		}
	}
	for _, m := range inv {
		return m
	}
	return "Неверные данные"
}

// bulkDoneText is «Перенесено 5 задач», the verb agreeing with the count.
func bulkDoneText(action string, n int) string {
	stem := map[string]string{task.BulkReschedule: "Перенесен", task.BulkReassign: "Переназначен", task.BulkComplete: "Выполнен"}[action]
	noun := "задач"
	switch {
	case n%10 == 1 && n%100 != 11:
		stem, noun = stem+"а", "задача"
	case n%10 >= 2 && n%10 <= 4 && (n%100 < 12 || n%100 > 14):
		stem, noun = stem+"ы", "задачи"
	default:
		stem += "о"
	}
	return stem + " " + strconv.Itoa(n) + " " + noun
}

// undoInput is POST /api/tasks/bulk/undo/.
type undoInput struct {
	Token string `json:"undo_token"`
}

func (u *undoInput) fromForm(v url.Values) error {
	u.Token = v.Get("undo_token")
	return nil
}

// undoBulk is POST /api/tasks/bulk/undo/ {"undo_token"}: puts back what
// the bulk action changed → 200 {"action", "restored", "refused"}. Someone
// else's or an unknown token is 404; a token past its ten minutes 410.
func (s *Server) undoBulk(w http.ResponseWriter, r *http.Request) error {
	var in undoInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if strings.TrimSpace(in.Token) == "" {
		return apperr.Invalid{"undo_token": "Обязательное поле"}
	}
	sc := scopeFrom(r)
	loc, err := s.tasks.Location(r.Context(), sc.UserID)
	if err != nil {
		return err
	}
	res, err := s.tasks.Undo(r.Context(), sc, in.Token, loc)
	if errors.Is(err, task.ErrUndoExpired) {
		return writeJSON(w, http.StatusGone, detail{Detail: "Отменить уже нельзя: прошло больше 10 минут.", Code: "undo_expired"})
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, res)
}
