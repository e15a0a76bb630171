package jobs_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/audit"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
	"github.com/crmprofi/crm/internal/jobs"
	"github.com/crmprofi/crm/internal/phone"
	"github.com/crmprofi/crm/internal/phone/fcmfake"
)

// pushRig is a real River client whose pushes go through the real
// Firebase SDK to the fake FCM, and a phone store that enqueues them.
type pushRig struct {
	db    *database.DB
	fake  *fcmfake.Server
	store *phone.Store
	cast  dbtest.Cast
}

func newPushRig(t *testing.T, db *database.DB, ttl time.Duration, push bool) *pushRig {
	t.Helper()
	fake, err := fcmfake.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	sender, err := fake.Sender(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	j := newJobs(t, db, jobs.Options{NoPeriodic: true, Push: sender, PollInterval: 100 * time.Millisecond})
	if err := j.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	store := phone.NewStore(db)
	store.CallTTL = ttl
	store.SetQueue(j, push)
	return &pushRig{db: db, fake: fake, store: store, cast: dbtest.NewCast(t, db)}
}

// pairWithToken pairs the member's phone with an FCM token.
func (r *pushRig) pairWithToken(t *testing.T, m dbtest.Member, token string) phone.Claimed {
	t.Helper()
	ctx := context.Background()
	p, secret, err := r.store.CreatePairing(ctx, m.Scope)
	if err != nil {
		t.Fatal(err)
	}
	c, err := r.store.Claim(ctx, phone.Claim{PairingID: strconv.FormatInt(p.ID, 10), Secret: secret,
		Device: phone.DeviceInfo{Name: "Телефон", Model: "Pixel"}, PushProvider: "fcm", PushToken: token})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.store.ConfirmPairing(ctx, m.Scope, p.ID, c.ConfirmCode); err != nil {
		t.Fatal(err)
	}
	return c
}

func (r *pushRig) request(t *testing.T, m dbtest.Member, number string) phone.CallRequest {
	t.Helper()
	cr, _, err := r.store.Request(context.Background(), m.Scope, phone.CallInput{Phone: number, CompanyName: "ООО «Ромашка»", ContactName: "Иван Петров"})
	if err != nil {
		t.Fatal(err)
	}
	return cr
}

// status reads a request's status straight from the table (GetRequest
// would expire it lazily, hiding what the timed job does).
func (r *pushRig) status(t *testing.T, id int64) string {
	t.Helper()
	var s string
	if err := r.db.QueryRowContext(context.Background(), `SELECT status FROM phone_call_requests WHERE id = $1`, id).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// events lists "type/channel" of a request's history.
func (r *pushRig) events(t *testing.T, id int64) []string {
	t.Helper()
	rows, err := r.db.QueryContext(context.Background(), `SELECT type, channel FROM phone_call_events WHERE request_id = $1 ORDER BY id`, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var typ, ch string
		if err := rows.Scan(&typ, &ch); err != nil {
			t.Fatal(err)
		}
		out = append(out, typ+"/"+ch)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestPhonePushHappyPath(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		rig := newPushRig(t, db, time.Minute, true)
		rig.pairWithToken(t, rig.cast.Alisa, "tok-alisa")
		got, cancel := rig.fake.Subscribe("tok-alisa")
		defer cancel()
		cr := rig.request(t, rig.cast.Alisa, "+7 495 123-45-67")
		select {
		case m := <-got:
			if m.Data["id"] != strconv.FormatInt(cr.ID, 10) || m.Data["type"] != "call_request" || m.Data["exp"] != cr.ExpiresAt.UTC().Format(time.RFC3339) {
				t.Fatalf("message %+v", m)
			}
			if ttl, err := time.ParseDuration(m.TTL); err != nil || ttl > time.Minute || ttl < 50*time.Second { // the request's minute, not FCM's 90 s
				t.Fatalf("ttl %s", m.TTL)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("no push")
		}
		waitFor(t, "sent through fcm", func() bool { return rig.status(t, cr.ID) == phone.StatusSent })
		if ev := rig.events(t, cr.ID); !has(ev, "sent/fcm") {
			t.Fatalf("events %v", ev)
		}
		// No personal data went to Google.
		for _, a := range rig.fake.Attempts() {
			for _, personal := range []string{"495", "123", "Ромашка", "Иван", "Алиса", "+7"} {
				if strings.Contains(string(a.Body), personal) {
					t.Fatalf("the push carries %q: %s", personal, a.Body)
				}
			}
		}
	})
}

func TestPhonePushUnregisteredClearsTheToken(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		rig := newPushRig(t, db, time.Minute, true)
		c := rig.pairWithToken(t, rig.cast.Alisa, "tok-gone")
		rig.fake.FailToken("tok-gone", fcmfake.Unregistered)
		cr := rig.request(t, rig.cast.Alisa, "+7 495 123-45-67")
		waitFor(t, "the token cleared", func() bool {
			var token string
			if err := db.QueryRowContext(ctx, `SELECT push_token FROM phone_devices WHERE id = $1`, c.Device.ID).Scan(&token); err != nil {
				t.Fatal(err)
			}
			return token == ""
		})
		var audited int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'phone.push_token_cleared' AND object_id = $1`,
			audit.ID(c.Device.ID)).Scan(&audited); err != nil || audited != 1 {
			t.Fatalf("audited %d %v", audited, err)
		}
		// Not failed: the long-poll still hands it out.
		if st := rig.status(t, cr.ID); st != phone.StatusPending {
			t.Fatalf("status %s", st)
		}
		d, err := rig.store.Authenticate(ctx, c.Device.CredentialID()+"."+c.Token)
		if err != nil {
			t.Fatal(err)
		}
		cmds, err := rig.store.Commands(ctx, d)
		if err != nil || len(cmds) != 1 || cmds[0].ID != cr.ID {
			t.Fatalf("long-poll: %+v %v", cmds, err)
		}
		// The next request is not pushed at all.
		before := len(rig.fake.Attempts())
		cr2 := rig.request(t, rig.cast.Alisa, "+7 495 123-45-68")
		time.Sleep(500 * time.Millisecond)
		if n := len(rig.fake.Attempts()); n != before || rig.status(t, cr2.ID) != phone.StatusPending {
			t.Fatalf("pushed without a token: %d attempts", n-before)
		}
	})
}

// TestPhonePushRetriesStopAtExpiry: 429 and 503 are tried again, never
// at or past the request's expiry; then push_failed, and the long-poll
// still serves the request.
func TestPhonePushRetriesStopAtExpiry(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		const ttl = 8 * time.Second
		rig := newPushRig(t, db, ttl, true)
		rig.pairWithToken(t, rig.cast.Alisa, "tok-busy")
		rig.fake.FailToken("tok-busy", fcmfake.QuotaExceeded(1))
		cr := rig.request(t, rig.cast.Alisa, "+7 495 123-45-67")
		waitFor(t, "push_failed", func() bool { return has(rig.events(t, cr.ID), "push_failed/fcm") })
		attempts := rig.fake.Attempts()
		if len(attempts) < 2 {
			t.Fatalf("429 with Retry-After 1 s within %s: %d attempts", ttl, len(attempts))
		}
		for _, a := range attempts {
			if !a.At.Before(cr.ExpiresAt) {
				t.Fatalf("an attempt at %s, the request expired at %s", a.At, cr.ExpiresAt)
			}
		}
		// The job ends: no retry is scheduled past the expiry.
		waitFor(t, "the send job finished", func() bool {
			var open int
			if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM river_job WHERE kind = 'phone.send'
				AND state NOT IN ('completed', 'cancelled', 'discarded')`).Scan(&open); err != nil {
				t.Fatal(err)
			}
			return open == 0
		})
		var late int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM river_job WHERE kind = 'phone.send' AND scheduled_at >= $1`, cr.ExpiresAt).
			Scan(&late); err != nil || late != 0 {
			t.Fatalf("a send scheduled at or past the expiry: %d %v", late, err)
		}

		// A Retry-After beyond the expiry: one attempt, given up at once.
		rig.fake.FailToken("tok-busy", fcmfake.QuotaExceeded(3600))
		n := len(rig.fake.Attempts())
		cr2 := rig.request(t, rig.cast.Alisa, "+7 495 123-45-68")
		waitFor(t, "push_failed at once", func() bool { return has(rig.events(t, cr2.ID), "push_failed/fcm") })
		if got := len(rig.fake.Attempts()) - n; got != 1 || time.Now().After(cr2.ExpiresAt) {
			t.Fatalf("Retry-After past the expiry: %d attempts, given up at %s (expiry %s)", got, time.Now(), cr2.ExpiresAt)
		}

		// 503: the SDK and the job try again, never past the expiry.
		rig.fake.FailToken("tok-busy", fcmfake.Unavailable)
		n = len(rig.fake.Attempts())
		cr3 := rig.request(t, rig.cast.Alisa, "+7 495 123-45-69")
		waitFor(t, "push_failed after 503s", func() bool { return has(rig.events(t, cr3.ID), "push_failed/fcm") })
		later := rig.fake.Attempts()[n:]
		if len(later) < 2 {
			t.Fatalf("503: %d attempts", len(later))
		}
		for _, a := range later {
			if !a.At.Before(cr3.ExpiresAt) {
				t.Fatalf("503: an attempt at %s, the request expired at %s", a.At, cr3.ExpiresAt)
			}
		}
		// FCM back: the next request goes through.
		rig.fake.ClearToken("tok-busy")
		cr4 := rig.request(t, rig.cast.Alisa, "+7 495 123-45-60")
		waitFor(t, "sent", func() bool { return rig.status(t, cr4.ID) == phone.StatusSent })
	})
}

func TestPhonePushSenderIDMismatchTellsTheAdmins(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		rig := newPushRig(t, db, time.Minute, true)
		rig.pairWithToken(t, rig.cast.Alisa, "tok-a")
		rig.fake.FailToken("tok-a", fcmfake.SenderIDMismatch)
		cr1 := rig.request(t, rig.cast.Alisa, "+7 495 123-45-67")
		waitFor(t, "push_failed", func() bool { return has(rig.events(t, cr1.ID), "push_failed/fcm") })
		cr2 := rig.request(t, rig.cast.Alisa, "+7 495 123-45-68")
		waitFor(t, "push_failed again", func() bool { return has(rig.events(t, cr2.ID), "push_failed/fcm") })
		p, ok, err := rig.store.CurrentPushProblem(ctx)
		if err != nil || !ok || p.Code != "SENDER_ID_MISMATCH" || !strings.Contains(p.Detail, "другого проекта Firebase") {
			t.Fatalf("problem %+v %v %v", p, ok, err)
		}
		// Told once, not per request; only administrators.
		var admin, others int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM notifications WHERE kind = $1 AND user_id = $2`, phone.KindPushProblem, rig.cast.Admin.ID).
			Scan(&admin); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM notifications WHERE kind = $1 AND user_id <> $2`, phone.KindPushProblem, rig.cast.Admin.ID).
			Scan(&others); err != nil {
			t.Fatal(err)
		}
		if admin != 1 || others != 0 {
			t.Fatalf("notifications: admin %d, others %d", admin, others)
		}
		// The requests stay on the long-poll.
		if st := rig.status(t, cr2.ID); st != phone.StatusPending {
			t.Fatalf("status %s", st)
		}
		// Fixed: a good send ends the problem.
		rig.fake.ClearToken("tok-a")
		cr3 := rig.request(t, rig.cast.Alisa, "+7 495 123-45-69")
		waitFor(t, "sent", func() bool { return rig.status(t, cr3.ID) == phone.StatusSent })
		if _, ok, _ := rig.store.CurrentPushProblem(ctx); ok {
			t.Fatal("the problem outlived a good send")
		}
	})
}

// TestPhoneTimedExpiry: the job at expires_at ends the request and tells
// the page, with nobody looking at it.
func TestPhoneTimedExpiry(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		rig := newPushRig(t, db, time.Second, false)
		rig.pairWithToken(t, rig.cast.Alisa, "tok-a")
		cr := rig.request(t, rig.cast.Alisa, "+7 495 123-45-67")
		waitFor(t, "expired by the job", func() bool { return rig.status(t, cr.ID) == phone.StatusExpired })
		var events int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM live_events WHERE user_id = $1 AND type = $2 AND data LIKE $3`,
			rig.cast.Alisa.ID, phone.EventCallRequest, `%"status":"expired"%`).Scan(&events); err != nil || events != 1 {
			t.Fatalf("live events %d %v", events, err)
		}
		if len(rig.fake.Attempts()) != 0 {
			t.Fatal("pushed with FCM off")
		}
		// Idempotent: again changes nothing.
		if wait, err := rig.store.ExpireRequest(ctx, cr.ID); err != nil || wait != 0 || len(rig.events(t, cr.ID)) != 2 {
			t.Fatalf("again: %v %v %v", wait, err, rig.events(t, cr.ID))
		}
	})
}

func TestPhoneUnpairedPush(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		rig := newPushRig(t, db, time.Minute, true)
		c := rig.pairWithToken(t, rig.cast.Alisa, "tok-bye")
		got, cancel := rig.fake.Subscribe("tok-bye")
		defer cancel()
		if err := rig.store.Revoke(context.Background(), rig.cast.Alisa.Scope, c.Device.ID); err != nil {
			t.Fatal(err)
		}
		select {
		case m := <-got:
			if m.Data["type"] != "unpaired" || m.Data["id"] != c.Device.CredentialID() {
				t.Fatalf("message %+v", m)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("no unpaired push")
		}
	})
}
