package live

import (
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

func TestAUserReceivesTheirOwnEventsInOrderAndNoOneElses(t *testing.T) {
	h := NewHub()
	mine, _, _ := h.Subscribe(1, 0)
	defer mine.Close()
	theirs, _, _ := h.Subscribe(2, 0)
	defer theirs.Close()
	a := h.Publish(1, event(t, "unread", map[string]int{"count": 1}))
	h.Publish(2, event(t, "unread", map[string]int{"count": 7}))
	b := h.Publish(1, event(t, "unread", map[string]int{"count": 2}))
	if got := receive(t, mine); got.ID != a.ID || string(got.Data) != `{"count":1}` {
		t.Fatalf("first event %+v", got)
	}
	if got := receive(t, mine); got.ID != b.ID || b.ID <= a.ID {
		t.Fatalf("second event %+v, want id %d > %d", got, b.ID, a.ID)
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

	sub, replay, gap := h.Subscribe(1, first.ID)
	defer sub.Close()
	if gap || len(replay) != 2 || replay[0].ID != second.ID || replay[1].ID != third.ID {
		t.Fatalf("replay %+v (gap %v), want the second and third events", replay, gap)
	}
	if _, replay, _ := h.Subscribe(1, 0); len(replay) != 0 {
		t.Fatalf("a first connection replayed %d events", len(replay))
	}
}

func TestEventsOlderThanTheRetentionAreDroppedAndTheGapReported(t *testing.T) {
	h := NewHub()
	clock := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	h.now = func() time.Time { return clock }
	old := h.Publish(1, event(t, "unread", map[string]int{"count": 1}))
	clock = clock.Add(DefaultRetain - time.Minute)
	kept := h.Publish(1, event(t, "unread", map[string]int{"count": 2}))
	if _, replay, gap := h.Subscribe(1, old.ID); gap || len(replay) != 1 || replay[0].ID != kept.ID {
		t.Fatalf("within the retention: replay %+v, gap %v", replay, gap)
	}
	clock = clock.Add(2 * time.Minute) // the first event is now older than the retention
	newer := h.Publish(1, event(t, "unread", map[string]int{"count": 3}))
	_, replay, gap := h.Subscribe(1, old.ID-1)
	if !gap || len(replay) != 2 || replay[0].ID != kept.ID || replay[1].ID != newer.ID {
		t.Fatalf("after the retention: replay %+v, gap %v", replay, gap)
	}
}

func TestTheBufferPerUserIsBounded(t *testing.T) {
	h := NewHub()
	h.perUser = 3
	var ids []uint64
	for i := range 5 {
		ids = append(ids, h.Publish(1, event(t, "unread", map[string]int{"count": i})).ID)
	}
	_, replay, gap := h.Subscribe(1, ids[0])
	if !gap || len(replay) != 3 || replay[0].ID != ids[2] {
		t.Fatalf("replay %+v, gap %v; want the last three and a gap", replay, gap)
	}
}

func TestASlowSubscriberIsDroppedInsteadOfBlockingPublishers(t *testing.T) {
	h := NewHub()
	sub, _, _ := h.Subscribe(1, 0)
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
	sub, _, _ := h.Subscribe(1, 0)
	h.Close()
	if _, ok := <-sub.C; ok {
		t.Fatal("the subscription is still open")
	}
	sub.Close() // after the hub: does nothing
	late, _, _ := h.Subscribe(1, 0)
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
	sub, _, _ := h.Subscribe(5, 0)
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

func TestAnIDFromBeforeARestartIsAGap(t *testing.T) {
	before := NewHub().Publish(1, event(t, "unread", map[string]int{"count": 1}))
	time.Sleep(time.Millisecond)
	h := NewHub() // the restarted process
	now := h.Publish(1, event(t, "unread", map[string]int{"count": 2}))
	if now.ID <= before.ID {
		t.Fatalf("ids went back after a restart: %d after %d", now.ID, before.ID)
	}
	if _, replay, gap := h.Subscribe(1, before.ID); !gap || len(replay) != 1 || replay[0].ID != now.ID {
		t.Fatalf("replay %+v, gap %v; want the new event and a gap", replay, gap)
	}
	if _, _, gap := h.Subscribe(1, now.ID); gap {
		t.Fatal("an id of this process is reported as a gap")
	}
}
