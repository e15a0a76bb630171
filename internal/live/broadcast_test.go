package live

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

func TestBroadcastReachesEveryWatcherDurably(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		before, err := Latest(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		h := attached(t, db)
		subs := make([]*Subscription, 0, 2)
		for _, u := range []int64{7, 8} {
			sub, _, _ := subscribe(t, h, u, Cursor{})
			defer sub.Close()
			subs = append(subs, sub)
		}
		rep := Broadcast(ctx, db, []int64{7, 8}, "scan-1", "Проверка")
		rep.Start(10)
		rep.Add(10)
		rep.Finish(errors.New("база недоступна"))
		for _, sub := range subs {
			var last ProgressEvent
			for last.State != "failed" {
				e := receive(t, sub)
				if e.Type != "progress" || e.ID == 0 {
					t.Fatalf("event %+v: want a durable progress event", e)
				}
				if err := json.Unmarshal(e.Data, &last); err != nil {
					t.Fatal(err)
				}
			}
			if last.ID != "scan-1" || last.Done != 10 || last.Total != 10 || last.Error != "база недоступна" {
				t.Fatalf("last state %+v", last)
			}
		}
		// A page rendered before the work replays it all from its cursor.
		_, replay, gap, err := h.Subscribe(ctx, 7, before, "page")
		if err != nil || gap {
			t.Fatal(err, gap)
		}
		if len(replay) < 2 {
			t.Fatalf("replayed %d events from the render's cursor, want start and finish", len(replay))
		}
	})
}
