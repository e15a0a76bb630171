package company

import (
	"context"
	"database/sql"
	"strconv"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/notify"
)

// notifyMerge tells, in the merge's (or the undo's) transaction, the
// responsible users of both companies what happened to them: the absorbed
// company's responsible learns where its contacts, notes and tasks went,
// the survivor's that its card now holds another company's. The actor is
// never told of their own doing (notify.Add skips them), a user
// responsible for both is told once, and skip (the survivor's new
// responsible, already told «Вы назначены ответственным») is left out.
// notify.Add emits the live "notification" and "unread" events, so the
// bell of an open page updates when the transaction commits.
func notifyMerge(ctx context.Context, tx *sql.Tx, sc access.Scope, kind, title string, survivorID int64, recipients []int64, skip int64) error {
	body := ""
	if sc.Name != "" && !sc.IsSystem() {
		if kind == notify.KindCompanyUnmerged {
			body = "Отменил(а): " + sc.Name
		} else {
			body = "Объединил(а): " + sc.Name
		}
	}
	told := map[int64]bool{0: true, skip: true}
	for _, to := range recipients {
		if told[to] {
			continue
		}
		told[to] = true
		if _, _, err := notify.Add(ctx, tx, notify.Notification{Kind: kind, Title: title, Body: body,
			URL: "/companies/" + strconv.FormatInt(survivorID, 10) + "/", UserID: to, ActorID: sc.UserID,
			ObjectType: "company", ObjectID: survivorID}); err != nil {
			return err
		}
	}
	return nil
}
