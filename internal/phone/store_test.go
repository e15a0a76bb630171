package phone_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
	"github.com/crmprofi/crm/internal/phone"
)

func TestAdvanceOnlyMovesForward(t *testing.T) {
	tests := []struct {
		cur, next, want string
		late            bool
	}{
		{"pending", "delivered", "delivered", false},
		{"sent", "dialed", "dialed", false},
		{"opened", "delivered", "opened", true},
		{"delivered", "delivered", "delivered", true},
		{"dialed", "cancelled", "dialed", true},
		{"expired", "delivered", "expired", true},
		{"superseded", "opened", "superseded", true},
		{"opened", "failed", "failed", false},
	}
	for _, tt := range tests {
		got, late := phone.Advance(tt.cur, tt.next)
		if got != tt.want || late != tt.late {
			t.Errorf("Advance(%s, %s) = %s, %v; want %s, %v", tt.cur, tt.next, got, late, tt.want, tt.late)
		}
	}
}

// pair runs a whole pairing for the member and returns the device.
func pair(t *testing.T, s *phone.Store, m dbtest.Member) phone.Claimed {
	t.Helper()
	ctx := context.Background()
	p, secret, err := s.CreatePairing(ctx, m.Scope)
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Claim(ctx, phone.Claim{PairingID: strconv.FormatInt(p.ID, 10), Secret: secret, Device: phone.DeviceInfo{Name: "Телефон", Model: "Pixel"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ConfirmPairing(ctx, m.Scope, p.ID, c.ConfirmCode); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestPairingAndCallRequests(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		cast := dbtest.NewCast(t, db)
		s := phone.NewStore(db)

		t.Run("a wrong secret counts and locks the pairing", func(t *testing.T) {
			p, secret, err := s.CreatePairing(ctx, cast.Vera.Scope)
			if err != nil {
				t.Fatal(err)
			}
			id := strconv.FormatInt(p.ID, 10)
			for i := range phone.MaxPairingAttempts {
				_, err := s.Claim(ctx, phone.Claim{PairingID: id, Secret: phone.NewSecret()})
				want := phone.ErrInvalidPairing
				if i == phone.MaxPairingAttempts-1 {
					want = phone.ErrTooManyAttempts
				}
				if !errors.Is(err, want) {
					t.Fatalf("guess %d: %v, want %v", i, err, want)
				}
			}
			if _, err := s.Claim(ctx, phone.Claim{PairingID: id, Secret: secret}); !errors.Is(err, phone.ErrTooManyAttempts) {
				t.Fatalf("the right secret after the lock: %v", err)
			}
		})

		t.Run("a secret is used once and expires", func(t *testing.T) {
			p, secret, err := s.CreatePairing(ctx, cast.Gleb.Scope)
			if err != nil {
				t.Fatal(err)
			}
			id := strconv.FormatInt(p.ID, 10)
			if _, err := s.Claim(ctx, phone.Claim{PairingID: id, Secret: secret}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Claim(ctx, phone.Claim{PairingID: id, Secret: secret}); !errors.Is(err, phone.ErrInvalidPairing) {
				t.Fatalf("reused: %v", err)
			}
			p2, secret2, err := s.CreatePairing(ctx, cast.Gleb.Scope)
			if err != nil {
				t.Fatal(err)
			}
			late := phone.NewStore(db)
			late.SetClock(func() time.Time { return database.Now().Add(phone.DefaultPairingTTL + time.Second) })
			if _, err := late.Claim(ctx, phone.Claim{PairingID: strconv.FormatInt(p2.ID, 10), Secret: secret2}); !errors.Is(err, phone.ErrPairingExpired) {
				t.Fatalf("expired: %v", err)
			}
		})

		t.Run("a new phone replaces the old one", func(t *testing.T) {
			first := pair(t, s, cast.Alisa)
			second := pair(t, s, cast.Alisa)
			if _, err := s.Authenticate(ctx, first.Device.CredentialID()+"."+first.Token); !errors.Is(err, phone.ErrDeviceRevoked) {
				t.Fatalf("old phone: %v", err)
			}
			if _, err := s.Authenticate(ctx, second.Device.CredentialID()+".wrong"); !errors.Is(err, phone.ErrBadCredential) {
				t.Fatalf("wrong token: %v", err)
			}
			if _, err := s.Authenticate(ctx, second.Device.CredentialID()+"."+second.Token); err != nil {
				t.Fatal(err)
			}
		})

		t.Run("call requests move forward, once per event id", func(t *testing.T) {
			c := pair(t, s, cast.Boris)
			d, err := s.Authenticate(ctx, c.Device.CredentialID()+"."+c.Token)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.Request(ctx, cast.Boris.Scope, phone.CallInput{Phone: "не номер"}); err == nil {
				t.Fatal("an unusable number was accepted")
			} else if _, ok := apperr.AsInvalid(err); !ok {
				t.Fatalf("unusable number: %v", err)
			}
			r, created, err := s.Request(ctx, cast.Boris.Scope, phone.CallInput{Phone: "8 (495) 123-45-67", Key: "k1"})
			if err != nil || !created {
				t.Fatal(err, created)
			}
			again, created, err := s.Request(ctx, cast.Boris.Scope, phone.CallInput{Phone: "8 (495) 123-45-67", Key: "k1"})
			if err != nil || created || again.ID != r.ID {
				t.Fatalf("same key: %v %v %d", err, created, again.ID)
			}
			cmds, err := s.Commands(ctx, d)
			if err != nil || len(cmds) != 1 || cmds[0].Status != phone.StatusSent || cmds[0].Phone.E164 != "+74951234567" {
				t.Fatalf("commands: %v %+v", err, cmds)
			}
			steps := []struct{ id, typ, want string }{
				{"e2", "opened", "opened"},
				{"e1", "delivered", "opened"}, // late
				{"e2", "opened", "opened"},    // repeat
				{"e3", "dialed", "dialed"},
				{"e4", "cancelled", "dialed"},
			}
			for _, st := range steps {
				got, err := s.Acknowledge(ctx, d, r.ID, phone.Ack{EventID: st.id, Type: st.typ, Channel: "poll"})
				if err != nil || got != st.want {
					t.Fatalf("%s %s: %v %s, want %s", st.id, st.typ, err, got, st.want)
				}
			}
			got, err := s.GetRequest(ctx, cast.Boris.Scope, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			late := 0
			for _, e := range got.Events {
				if e.Late {
					late++
				}
			}
			// created, sent, opened, delivered (late), dialed, cancelled (late)
			if len(got.Events) != 6 || late != 2 {
				t.Fatalf("events: %+v", got.Events)
			}
			if _, err := s.GetRequest(ctx, cast.Vera.Scope, r.ID); !errors.Is(err, apperr.ErrNotFound) {
				t.Fatalf("another user's request: %v", err)
			}
		})

		t.Run("a new request supersedes, and an old one expires", func(t *testing.T) {
			pair(t, s, cast.Darya)
			a, _, err := s.Request(ctx, cast.Darya.Scope, phone.CallInput{Phone: "+7 916 123-45-67"})
			if err != nil {
				t.Fatal(err)
			}
			b, _, err := s.Request(ctx, cast.Darya.Scope, phone.CallInput{Phone: "+7 916 765-43-21"})
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := s.GetRequest(ctx, cast.Darya.Scope, a.ID); got.Status != phone.StatusSuperseded {
				t.Fatalf("first: %s", got.Status)
			}
			later := phone.NewStore(db)
			later.SetClock(func() time.Time { return database.Now().Add(phone.DefaultCallTTL + time.Second) })
			if got, _ := later.GetRequest(ctx, cast.Darya.Scope, b.ID); got.Status != phone.StatusExpired {
				t.Fatalf("second: %s", got.Status)
			}
		})

		t.Run("concurrent clicks and acknowledgements never break the order", func(t *testing.T) {
			c := pair(t, s, cast.Gleb)
			d, err := s.Authenticate(ctx, c.Device.CredentialID()+"."+c.Token)
			if err != nil {
				t.Fatal(err)
			}
			for round := range 5 {
				var wg sync.WaitGroup
				errs := make(chan error, 8)
				for range 4 { // four clicks at once: one stays open, the rest superseded
					wg.Go(func() {
						if _, _, err := s.Request(ctx, cast.Gleb.Scope, phone.CallInput{Phone: "+74951234567"}); err != nil {
							errs <- err
						}
					})
				}
				wg.Wait()
				cmds, err := s.Commands(ctx, d)
				if err != nil || len(cmds) != 1 {
					t.Fatalf("round %d: %v, %d open", round, err, len(cmds))
				}
				id := cmds[0].ID
				for i, typ := range []string{"dialed", "delivered", "opened", "delivered"} {
					wg.Go(func() {
						if _, err := s.Acknowledge(ctx, d, id, phone.Ack{EventID: strconv.Itoa(i), Type: typ}); err != nil {
							errs <- err
						}
					})
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					t.Fatalf("round %d: %v", round, err)
				}
				if got, _ := s.GetRequest(ctx, cast.Gleb.Scope, id); got.Status != phone.StatusDialed {
					t.Fatalf("round %d: %s after dialed", round, got.Status)
				}
			}
		})

		t.Run("no active phone", func(t *testing.T) {
			if _, _, err := s.Request(ctx, cast.Admin.Scope, phone.CallInput{Phone: "+74951234567"}); !errors.Is(err, phone.ErrNoActiveDevice) {
				t.Fatalf("%v", err)
			}
		})
	})
}

// A pairing's sealed QR link lives only while the QR code can be used: a
// claim drops it, and the purge drops those of pairings that expired.
func TestSealedQRIsForgottenOnceUseless(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		cast := dbtest.NewCast(t, db)
		s := phone.NewStore(db)
		sealed := func(id int64) string {
			t.Helper()
			v, err := s.SealedQR(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		claimed, secret, err := s.CreatePairing(ctx, cast.Alisa.Scope)
		if err != nil {
			t.Fatal(err)
		}
		unused, _, err := s.CreatePairing(ctx, cast.Boris.Scope)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range []int64{claimed.ID, unused.ID} {
			if err := s.KeepQR(ctx, id, "sealed-link"); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.Claim(ctx, phone.Claim{PairingID: strconv.FormatInt(claimed.ID, 10), Secret: secret,
			Device: phone.DeviceInfo{Name: "Телефон", Model: "Pixel"}}); err != nil {
			t.Fatal(err)
		}
		if got := sealed(claimed.ID); got != "" {
			t.Errorf("claimed pairing keeps %q", got)
		}
		if n, err := s.PurgeSealedQR(ctx); err != nil || n != 0 {
			t.Fatalf("purge before expiry: %d, %v", n, err)
		}
		if got := sealed(unused.ID); got != "sealed-link" {
			t.Fatalf("a waiting pairing lost its link: %q", got)
		}
		s.SetClock(func() time.Time { return time.Now().Add(phone.DefaultPairingTTL + time.Minute) })
		if n, err := s.PurgeSealedQR(ctx); err != nil || n != 1 {
			t.Fatalf("purge after expiry: %d, %v", n, err)
		}
		if got := sealed(unused.ID); got != "" {
			t.Errorf("expired pairing keeps %q", got)
		}
	})
}
