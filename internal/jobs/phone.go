package jobs

import (
	"context"
	"errors"
	"time"

	"github.com/riverqueue/river"

	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/phone"
)

// PhoneSendTimeout bounds one run of the push of a call request: FCM
// answers in well under a second, and a request lives two minutes.
const PhoneSendTimeout = 10 * time.Second

// phoneSendWorker pushes a call request to its phone through FCM
// (phone.SendArgs, enqueued in the request's transaction). What FCM says
// decides what follows:
//   - accepted: the request is sent (channel fcm), unless the phone got
//     it through the long-poll first;
//   - UNREGISTERED or a malformed token: the device's token is cleared
//     (audited); the phone keeps the long-poll, which still serves the
//     request;
//   - QUOTA_EXCEEDED, UNAVAILABLE, INTERNAL, the network: tried again
//     later (Retry-After when FCM sent one, else a back-off that doubles
//     with the request's age), but never at or past the request's
//     expiry — then the job stops and records push_failed;
//   - SENDER_ID_MISMATCH, a refused key: a configuration problem for the
//     administrators (phone.Store.SetPushProblem), push_failed.
type phoneSendWorker struct {
	river.WorkerDefaults[phone.SendArgs]
	j     *Jobs
	store *phone.Store
}

// Timeout keeps a run short; the send itself also ends at the request's
// expiry.
func (w *phoneSendWorker) Timeout(*river.Job[phone.SendArgs]) time.Duration { return PhoneSendTimeout }

func (w *phoneSendWorker) Work(ctx context.Context, job *river.Job[phone.SendArgs]) error {
	push := w.j.opts.Push
	id := job.Args.RequestID
	r, token, err := w.store.PushTarget(ctx, id)
	if errors.Is(err, apperr.ErrNotFound) {
		return river.JobCancel(err)
	}
	if err != nil {
		return err
	}
	// Pending only: a request the phone already fetched, or one that
	// ended, needs no push; nor does a phone without a token any more.
	if push == nil || r.Status != phone.StatusPending || token == "" {
		return nil
	}
	m, ok := phone.CallMessage(r, token, time.Now())
	if !ok {
		return w.store.PushFailed(ctx, id, "expired")
	}
	sendCtx, cancel := context.WithDeadline(ctx, r.ExpiresAt)
	defer cancel()
	err = push.Push(sendCtx, m)
	if err == nil {
		return w.store.Pushed(ctx, id)
	}
	var pe *phone.PushError
	if !errors.As(err, &pe) {
		pe = &phone.PushError{Fault: phone.PushRetry, Code: "ERROR", Err: err}
	}
	log := w.j.log.With("request", id, "device", r.DeviceID, "code", pe.Code)
	switch pe.Fault {
	case phone.PushBadToken:
		log.InfoContext(ctx, "FCM refused the phone's token: cleared, the phone keeps the long-poll")
		return w.store.DropPushToken(ctx, r.DeviceID, token, pe.Code)
	case phone.PushConfig:
		log.ErrorContext(ctx, "FCM refused the server's configuration: pushes stop working until an administrator fixes it", "err", err)
		if err := w.store.SetPushProblem(ctx, pe.Code); err != nil {
			return err
		}
		return w.store.PushFailed(ctx, id, pe.Code)
	}
	delay := max(pe.RetryAfter, phoneBackoff(time.Since(r.CreatedAt)))
	if !time.Now().Add(delay).Before(r.ExpiresAt) {
		log.WarnContext(ctx, "FCM push given up at the request's expiry; the long-poll still serves it", "err", err)
		return w.store.PushFailed(ctx, id, pe.Code)
	}
	log.InfoContext(ctx, "FCM push to be tried again", "in", delay, "err", err)
	return river.JobSnooze(delay)
}

// phoneBackoff is the wait before the next try of a push whose request is
// age old: about its age (so the waits double), from a second to 30 s.
func phoneBackoff(age time.Duration) time.Duration {
	return min(max(age.Round(time.Second), time.Second), 30*time.Second)
}

// phoneExpireWorker ends a call request at its expires_at if it is still
// open (phone.ExpireArgs, scheduled in the request's transaction), so the
// page learns of the expiry when it happens, not at the next look.
type phoneExpireWorker struct {
	river.WorkerDefaults[phone.ExpireArgs]
	store *phone.Store
}

func (w *phoneExpireWorker) Work(ctx context.Context, job *river.Job[phone.ExpireArgs]) error {
	wait, err := w.store.ExpireRequest(ctx, job.Args.RequestID)
	if errors.Is(err, apperr.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if wait > 0 {
		return river.JobSnooze(wait)
	}
	return nil
}

// phoneUnpairedWorker tells a revoked phone, through FCM, that it was
// unpaired: best effort, one try (the phone learns it from its next call
// anyway: 401 device_revoked).
type phoneUnpairedWorker struct {
	river.WorkerDefaults[phone.UnpairedArgs]
	j *Jobs
}

func (w *phoneUnpairedWorker) Timeout(*river.Job[phone.UnpairedArgs]) time.Duration {
	return PhoneSendTimeout
}

func (w *phoneUnpairedWorker) Work(ctx context.Context, job *river.Job[phone.UnpairedArgs]) error {
	if w.j.opts.Push == nil {
		return nil
	}
	if err := w.j.opts.Push.Push(ctx, phone.UnpairedMessage(job.Args.DeviceID, job.Args.Token)); err != nil {
		w.j.log.InfoContext(ctx, "the unpaired push did not go out", "device", job.Args.DeviceID, "err", err)
	}
	return nil
}
