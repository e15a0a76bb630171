package live

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"
)

func event(t *testing.T, typ string, v any) Event {
	t.Helper()
	e, err := NewEvent(typ, v)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// subscribe opens a subscription on h and fails the test on an error.
func subscribe(t *testing.T, h *Hub, userID int64, after Cursor) (*Subscription, []Event, bool) {
	t.Helper()
	sub, replay, gap, err := h.Subscribe(context.Background(), userID, after, "")
	if err != nil {
		t.Fatal(err)
	}
	return sub, replay, gap
}

// receive takes the next event of sub or fails after a second.
func receive(t *testing.T, sub *Subscription) Event {
	t.Helper()
	select {
	case e, ok := <-sub.C:
		if !ok {
			t.Fatal("the subscription was closed")
		}
		return e
	case <-time.After(time.Second):
		t.Fatal("no event within a second")
	}
	return Event{}
}

func TestAUserReceivesTheirOwnEphemeralEventsInOrderAndNoOneElses(t *testing.T) {
	h := NewHub()
	mine, _, _ := subscribe(t, h, 1, Cursor{})
	defer mine.Close()
	theirs, _, _ := subscribe(t, h, 2, Cursor{})
	defer theirs.Close()
	a := h.Publish(1, event(t, "unread", map[string]int{"count": 1}))
	h.Publish(2, event(t, "unread", map[string]int{"count": 7}))
	b := h.Publish(1, event(t, "unread", map[string]int{"count": 2}))
	if got := receive(t, mine); got.Seq != a.Seq || got.ID != 0 || string(got.Data) != `{"count":1}` {
		t.Fatalf("first event %+v", got)
	}
	if got := receive(t, mine); got.Seq != b.Seq || b.Seq <= a.Seq {
		t.Fatalf("second event %+v, want seq %d > %d", got, b.Seq, a.Seq)
	}
	if got := receive(t, theirs); string(got.Data) != `{"count":7}` {
		t.Fatalf("the other user got %s", got.Data)
	}
	select {
	case e := <-mine.C:
		t.Fatalf("an extra event arrived: %+v", e)
	default:
	}
}

func TestAReconnectWithTheLastIDReplaysWhatWasMissed(t *testing.T) {
	h := NewHub()
	first := h.Publish(1, event(t, "task", map[string]any{"id": 1, "change": "created"}))
	second := h.Publish(1, event(t, "task", map[string]any{"id": 1, "change": "updated"}))
	third := h.Publish(1, event(t, "task", map[string]any{"id": 1, "change": "deleted"}))
	h.Publish(2, event(t, "task", map[string]any{"id": 9, "change": "created"}))

	sub, replay, gap := subscribe(t, h, 1, Cursor{Given: true, Local: first.Seq})
	defer sub.Close()
	if gap || len(replay) != 2 || replay[0].Seq != second.Seq || replay[1].Seq != third.Seq {
		t.Fatalf("replay %+v (gap %v), want the second and third events", replay, gap)
	}
	if _, replay, _ := subscribe(t, h, 1, Cursor{}); len(replay) != 0 {
		t.Fatalf("a first connection replayed %d events", len(replay))
	}
}

func TestEphemeralEventsOlderThanTheRetentionOrBeyondTheCapAreDropped(t *testing.T) {
	h := NewHub()
	clock := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	h.now = func() time.Time { return clock }
	old := h.Publish(1, event(t, "progress", map[string]int{"done": 1}))
	clock = clock.Add(DefaultRetain - time.Minute)
	kept := h.Publish(1, event(t, "progress", map[string]int{"done": 2}))
	if _, replay, _ := subscribe(t, h, 1, Cursor{Given: true, Local: old.Seq - 1}); len(replay) != 2 {
		t.Fatalf("within the retention: replay %+v", replay)
	}
	clock = clock.Add(2 * time.Minute) // the first event is now older than the retention
	newer := h.Publish(1, event(t, "progress", map[string]int{"done": 3}))
	_, replay, gap := subscribe(t, h, 1, Cursor{Given: true, Local: old.Seq - 1})
	if gap || len(replay) != 2 || replay[0].Seq != kept.Seq || replay[1].Seq != newer.Seq {
		t.Fatalf("after the retention: replay %+v, gap %v", replay, gap)
	}

	h.perUser = 3
	var seqs []uint64
	for i := range 5 {
		seqs = append(seqs, h.Publish(2, event(t, "progress", map[string]int{"done": i})).Seq)
	}
	if _, replay, _ := subscribe(t, h, 2, Cursor{Given: true, Local: seqs[0]}); len(replay) != 3 || replay[0].Seq != seqs[2] {
		t.Fatalf("replay %+v; want the last three", replay)
	}
}

func TestAnIdleUsersEphemeralEventsAreReclaimedAfterTheRetention(t *testing.T) {
	h := NewHub()
	h.retain = 50 * time.Millisecond
	for u := range int64(100) {
		h.Publish(u+1, event(t, "progress", map[string]int{"done": 1}))
	}
	sub, _, _ := subscribe(t, h, 1, Cursor{})
	if n := h.userCount(); n != 100 {
		t.Fatalf("%d users held right after publishing, want 100", n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for h.userCount() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("%d users still held after the retention; want only the subscribed one", h.userCount())
		}
		time.Sleep(10 * time.Millisecond)
	}
	sub.Close()
	for h.userCount() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the last user was not reclaimed after their stream closed")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestASlowSubscriberIsDroppedInsteadOfBlockingPublishers(t *testing.T) {
	h := NewHub()
	sub, _, _ := subscribe(t, h, 1, Cursor{})
	defer sub.Close()
	done := make(chan struct{})
	go func() {
		for i := range subscriberBuf + 10 {
			h.Publish(1, event(t, "unread", map[string]int{"count": i}))
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Publish blocked on a subscriber that does not read")
	}
	n := 0
	for range sub.C {
		n++
	}
	if n != subscriberBuf || h.Subscribers(1) != 0 {
		t.Fatalf("read %d events before the close (want %d); %d subscribers left", n, subscriberBuf, h.Subscribers(1))
	}
}

func TestClosingTheHubEndsEverySubscription(t *testing.T) {
	h := NewHub()
	sub, _, _ := subscribe(t, h, 1, Cursor{})
	h.Close()
	if _, ok := <-sub.C; ok {
		t.Fatal("the subscription is still open")
	}
	sub.Close() // after the hub: does nothing
	late, _, _ := subscribe(t, h, 1, Cursor{})
	if _, ok := <-late.C; ok {
		t.Fatal("a subscription to a closed hub is open")
	}
	select {
	case <-h.Done():
	default:
		t.Fatal("Done is not closed")
	}
}

func TestTheBrowserReporterPublishesProgressEventsSparingly(t *testing.T) {
	h := NewHub()
	clock := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	h.now = func() time.Time { return clock }
	sub, _, _ := subscribe(t, h, 5, Cursor{})
	defer sub.Close()
	r := Progress(h, 5, "import-1", "Импорт компаний")
	r.Start(1000)
	for range 10 {
		r.Add(10) // within the same half second: not published
	}
	clock = clock.Add(progressEvery)
	r.Add(100)
	r.Finish(errors.New("строка 201: неверный ИНН"))
	var got []ProgressEvent
	for range 3 {
		e := receive(t, sub)
		if e.Type != "progress" {
			t.Fatalf("event type %q", e.Type)
		}
		var p ProgressEvent
		if err := json.Unmarshal(e.Data, &p); err != nil {
			t.Fatal(err)
		}
		got = append(got, p)
	}
	want := []ProgressEvent{
		{ID: "import-1", Label: "Импорт компаний", Done: 0, Total: 1000, State: "running"},
		{ID: "import-1", Label: "Импорт компаний", Done: 200, Total: 1000, State: "running"},
		{ID: "import-1", Label: "Импорт компаний", Done: 200, Total: 1000, State: "failed", Error: "строка 201: неверный ИНН"},
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("event %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	select {
	case e := <-sub.C:
		t.Fatalf("an extra event: %s", e.Data)
	default:
	}
}

func TestEphemeralEventsOfARestartedProcessReplayAfterAnOldCursor(t *testing.T) {
	before := NewHub().Publish(1, event(t, "progress", map[string]int{"done": 1}))
	time.Sleep(time.Millisecond)
	h := NewHub() // the restarted process
	now := h.Publish(1, event(t, "progress", map[string]int{"done": 2}))
	if now.Seq <= before.Seq {
		t.Fatalf("sequence numbers went back after a restart: %d after %d", now.Seq, before.Seq)
	}
	if _, replay, gap := subscribe(t, h, 1, Cursor{Given: true, Outbox: 7, Local: before.Seq}); gap || len(replay) != 1 || replay[0].Seq != now.Seq {
		t.Fatalf("replay %+v, gap %v; want the new event and no gap (ephemeral events are not promised)", replay, gap)
	}
}

func TestACursorTravelsAsTheEventID(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Cursor
	}{
		{"", Cursor{}},
		{"42", Cursor{Given: true, Outbox: 42}},
		{"42.1764756000000000", Cursor{Given: true, Outbox: 42, Local: 1764756000000000}},
		{"0.5", Cursor{Given: true, Local: 5}},
		{"0", Cursor{Given: true}}, // a page rendered on an empty outbox
		{"abc", Cursor{}},
		{"4.x", Cursor{}},
		{"-3", Cursor{}},
	} {
		t.Run("Last-Event-ID "+tc.in, func(t *testing.T) {
			got := ParseCursor(tc.in)
			if got != tc.want {
				t.Fatalf("ParseCursor(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
			if tc.want != (Cursor{}) && ParseCursor(got.String()) != got {
				t.Fatalf("%+v does not survive String: %q", got, got.String())
			}
		})
	}
}
