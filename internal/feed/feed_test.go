package feed

import (
	"context"
	"errors"
	"testing"
)

type item struct {
	n    int
	text []byte
}

// produceN returns a producer of n items, each carrying its number and
// a text reusing the slot's memory, that ends with end.
func produceN(n int, end error) func(context.Context, Put[item]) error {
	return func(_ context.Context, put Put[item]) error {
		for i := range n {
			slot, err := put()
			if err != nil {
				return err
			}
			slot.n = i
			slot.text = append(slot.text[:0], byte('a'+i%26))
		}
		return end
	}
}

// TestFeedGivesEveryValueInOrder: values come out as they went in,
// across batches, full and partial, and for none at all.
func TestFeedGivesEveryValueInOrder(t *testing.T) {
	for _, tc := range []struct{ n, size int }{{0, 4}, {1, 4}, {4, 4}, {5, 4}, {1000, 7}, {10, 0}} {
		f := Start(context.Background(), tc.size, produceN(tc.n, nil))
		got := 0
		for {
			v, err := f.Peek()
			if err != nil {
				t.Fatalf("n=%d size=%d: %v", tc.n, tc.size, err)
			}
			if v == nil {
				break
			}
			if v.n != got || len(v.text) != 1 || v.text[0] != byte('a'+got%26) {
				t.Fatalf("n=%d size=%d: value %d is %d %q", tc.n, tc.size, got, v.n, v.text)
			}
			if again, _ := f.Peek(); again != v {
				t.Fatalf("n=%d: Peek moved on", tc.n)
			}
			f.Next()
			got++
		}
		if got != tc.n {
			t.Errorf("n=%d size=%d: %d values", tc.n, tc.size, got)
		}
		if v, err := f.Peek(); v != nil || err != nil {
			t.Errorf("n=%d: Peek after the end: %v %v", tc.n, v, err)
		}
		if err := f.Finish(); err != nil {
			t.Errorf("n=%d: Finish: %v", tc.n, err)
		}
	}
}

// TestFeedEndsWithTheProducersError: the values before the error are
// read, then Peek returns it, and Finish again.
func TestFeedEndsWithTheProducersError(t *testing.T) {
	broken := errors.New("disk on fire")
	f := Start(context.Background(), 8, produceN(20, broken))
	got, err := drain(f)
	if got != 20 || !errors.Is(err, broken) {
		t.Errorf("%d values, then %v", got, err)
	}
	if err := f.Finish(); !errors.Is(err, broken) {
		t.Errorf("Finish: %v", err)
	}
}

// TestFeedStopEndsTheProducer: a reader that gives up stops a producer
// that would go on for ever, and Stop returns the context's error; a
// feed stopped after its end returns the producer's own.
func TestFeedStopEndsTheProducer(t *testing.T) {
	f := Start(context.Background(), 16, func(ctx context.Context, put Put[item]) error {
		for i := 0; ; i++ {
			slot, err := put()
			if err != nil {
				return err
			}
			slot.n = i
		}
	})
	for range 100 {
		if v, err := f.Peek(); v == nil || err != nil {
			t.Fatalf("%v %v", v, err)
		}
		f.Next()
	}
	if err := f.Stop(); !errors.Is(err, context.Canceled) {
		t.Errorf("Stop: %v", err)
	}
	if v, err := f.Peek(); v != nil || !errors.Is(err, context.Canceled) {
		t.Errorf("after Stop: %v %v", v, err)
	}

	done := Start(context.Background(), 4, produceN(3, nil))
	if n, err := drain(done); n != 3 || err != nil {
		t.Fatalf("%d values, %v", n, err)
	}
	if err := done.Stop(); err != nil {
		t.Errorf("Stop after the end: %v", err)
	}
}

// TestFeedEndsWhenItsContextDoes: the caller's context ending stops the
// producer too.
func TestFeedEndsWhenItsContextDoes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	f := Start(ctx, 4, func(ctx context.Context, put Put[item]) error {
		for {
			if _, err := put(); err != nil {
				return err
			}
		}
	})
	cancel()
	if _, err := drain(f); !errors.Is(err, context.Canceled) {
		t.Errorf("%v", err)
	}
}

// drain reads the values of f to its end and returns how many there
// were and what ended it.
func drain(f *Feed[item]) (int, error) {
	n := 0
	for {
		v, err := f.Peek()
		if v == nil {
			return n, err
		}
		f.Next()
		n++
	}
}

// BenchmarkFeed is the cost of a value handed from one goroutine to
// another.
func BenchmarkFeed(b *testing.B) {
	if n, err := drain(Start(context.Background(), 512, produceN(b.N, nil))); n != b.N || err != nil {
		b.Fatal(n, err)
	}
}
