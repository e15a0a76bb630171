package server

import (
	"net/http"

	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/notify"
	"github.com/crmprofi/crm/web/view"
)

// notificationsPath is the page of all the signed-in user's notifications.
const notificationsPath = "/notifications/"

// listNotifications is GET /api/notifications/ (paginated, ?is_read=) and
// the page /notifications/. Everyone sees only their own.
func (s *Server) listNotifications(w http.ResponseWriter, r *http.Request) error {
	page, size, err := pageParams(r)
	inv, _ := apperr.AsInvalid(err)
	if inv == nil {
		inv = apperr.Invalid{}
	}
	f := notify.Filter{Page: page, Size: size}
	isRead := r.URL.Query().Get("is_read")
	if isRead != "" {
		read, ok := parseBool(isRead)
		if !ok {
			inv.Add("is_read", "Укажите true или false")
		}
		unread := !read
		f.Unread = &unread
	}
	if err := inv.Err(); err != nil {
		return err
	}
	u := userFrom(r)
	list, count, err := s.notices.List(r.Context(), u.ID, f)
	if err != nil {
		return err
	}
	if wantsJSON(r) {
		return writeJSON(w, http.StatusOK, newListPage(r, list, count, page, size))
	}
	sh := s.shell(r, "Уведомления", "")
	return respond(w, r, http.StatusOK, nil, view.NotificationsPage(sh, view.NotificationList{
		Items:      list,
		UnreadOnly: f.Unread != nil && *f.Unread,
		Unread:     sh.User.Unread,
		Location:   s.viewerLocation(r),
		Pager:      view.Pager{Page: page, Pages: (count + size - 1) / size, Count: count, URL: pageURL(r)},
	}))
}

// unreadNotifications is GET /api/notifications/unread-count/ → {"count"}.
func (s *Server) unreadNotifications(w http.ResponseWriter, r *http.Request) error {
	n, err := s.notices.UnreadCount(r.Context(), userFrom(r).ID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, notify.Unread{Count: n})
}

// readNotification is POST /notifications/{id}/read/: the API answers
// {"count"} (the unread count after it), a form goes back to the page it
// came from (the form's "next", a local path) or to the notification's own
// link when it asks with next=open. Another user's notification is 404.
func (s *Server) readNotification(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	uid := userFrom(r).ID
	count, err := s.notices.MarkRead(r.Context(), uid, id)
	if err != nil {
		return err
	}
	if wantsJSON(r) {
		return writeJSON(w, http.StatusOK, notify.Unread{Count: count})
	}
	to := r.PostFormValue("next")
	if to == "open" {
		n, err := s.notices.Get(r.Context(), uid, id)
		if err != nil {
			return err
		}
		to = n.URL
	}
	if !localPath(to) {
		to = notificationsPath
	}
	redirect(w, r, to)
	return nil
}

// readAllNotifications is POST /notifications/read-all/: every one of the
// user's notifications is read; the API answers {"count": 0}.
func (s *Server) readAllNotifications(w http.ResponseWriter, r *http.Request) error {
	if err := s.notices.MarkAllRead(r.Context(), userFrom(r).ID); err != nil {
		return err
	}
	if wantsJSON(r) {
		return writeJSON(w, http.StatusOK, notify.Unread{Count: 0})
	}
	setFlash(w, "success", "Все уведомления прочитаны")
	to := r.PostFormValue("next")
	if !localPath(to) {
		to = notificationsPath
	}
	redirect(w, r, to)
	return nil
}
