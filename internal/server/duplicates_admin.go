package server

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/duplicate"
	"github.com/crmprofi/crm/internal/jobs"
	"github.com/crmprofi/crm/internal/live"
	"github.com/crmprofi/crm/web/view"
)

// The admin page «Дубли» (/admin/duplicates/): the team-wide scan's groups
// of likely duplicates, its «Проверить всю базу» and «Не дубль». Admins
// only, like the rest of the section: a group may span branches, and a
// branch director meets the duplicates of their own companies in the
// company form's check and on the card.

// scanner is the duplicate scan over the server's database (it holds no
// state of its own, so one per request costs nothing).
func (s *Server) scanner() *duplicate.Scanner { return duplicate.NewScanner(s.db) }

// duplicatesBody is the page as JSON (Accept: application/json).
type duplicatesBody struct {
	Scan *duplicate.Scan `json:"scan"`
	duplicate.GroupList
}

func (s *Server) adminDuplicates(w http.ResponseWriter, r *http.Request) error {
	inv := apperr.Invalid{}
	q := queryValues(r.URL.RawQuery, inv)
	page, size := readPage(q, inv)
	reason := q.Get("reason")
	if reason != "" && !view.DuplicateReason(reason) {
		inv.Add("reason", "Неизвестная причина")
	}
	p := view.DuplicatesPage{Reason: reason, Location: s.viewerLocation(r), Back: r.URL.RequestURI()}
	// The stream's cursor before the scan's state: the page's bar then
	// misses no state written after this render.
	cur, err := live.Latest(r.Context(), s.db)
	if err != nil {
		return err
	}
	p.LiveCursor = cur.String()
	sc := s.scanner()
	last, ok, err := sc.LastScan(r.Context())
	if err != nil {
		return err
	}
	if ok {
		p.Scan = &last
	}
	status := http.StatusOK
	if len(inv) > 0 {
		if wantsJSON(r) {
			return inv
		}
		p.Errors, status = inv, http.StatusBadRequest
	} else {
		list, err := sc.Groups(r.Context(), scopeFrom(r), duplicate.GroupFilter{Field: reason, Page: page, Size: size})
		if err != nil {
			return err
		}
		p.Groups = list
		p.Pager = view.Pager{Page: page, Pages: (list.Count + size - 1) / size, Count: list.Count, URL: pageURL(r)}
	}
	return respond(w, r, status, duplicatesBody{Scan: p.Scan, GroupList: p.Groups},
		view.DuplicatesPageTemplate(s.shell(r, "Дубли", "admin"), p))
}

// startDuplicateScan enqueues a full scan, or shows the one queued or
// running (one at a time for the whole team).
func (s *Server) startDuplicateScan(w http.ResponseWriter, r *http.Request) error {
	if s.jobs == nil {
		return fmt.Errorf("duplicate scan: %w", errNoJobQueue)
	}
	userID := scopeFrom(r).UserID
	enqueue := func(ctx context.Context, tx *sql.Tx, scanID int64) (int64, error) {
		return s.jobs.Enqueue(ctx, tx, jobs.DuplicateScanArgs{ScanID: scanID, UserID: userID})
	}
	scan, started, err := s.scanner().StartScan(r.Context(), scopeFrom(r), enqueue)
	flash, status := "Проверка всей базы запущена", http.StatusAccepted
	if !started {
		flash, status = "Проверка уже идёт — показываем её", http.StatusOK
	}
	return saved(w, r, done{status: status, body: scan, flash: flash, to: "/admin/duplicates/"}, err, nil)
}

// dismissInput is «Не дубль» for the pair a, b.
type dismissInput struct {
	A int64 `json:"a"`
	B int64 `json:"b"`
	// Back is the page to return to (the list with its filter and page).
	Back string `json:"-"`
}

func (in *dismissInput) fromForm(v url.Values) error {
	inv := apperr.Invalid{}
	for _, f := range []struct {
		name string
		dst  *int64
	}{{"a", &in.A}, {"b", &in.B}} {
		n, err := strconv.ParseInt(v.Get(f.name), 10, 64)
		if err != nil || n <= 0 {
			inv.Add(f.name, "Укажите компанию")
		}
		*f.dst = n
	}
	in.Back = v.Get("back")
	return inv.Err()
}

func (s *Server) dismissDuplicate(w http.ResponseWriter, r *http.Request) error {
	var in dismissInput
	err := decode(w, r, &in)
	if err == nil {
		err = s.scanner().Dismiss(r.Context(), scopeFrom(r), in.A, in.B)
	}
	back := "/admin/duplicates/"
	if u, perr := url.Parse(in.Back); perr == nil && u.Path == back && u.Host == "" && u.Scheme == "" {
		back = u.RequestURI()
	}
	return saved(w, r, done{status: http.StatusNoContent, flash: "Отмечено: не дубль. Пара больше не предлагается", to: back}, err, nil)
}
