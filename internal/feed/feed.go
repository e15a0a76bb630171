// Package feed carries values from a goroutine that makes them to the
// goroutine that reads them, in batches, so that the two run on two
// cores and meet once a batch rather than once a value. The export
// reads its streams this way: a statement is stepped in one goroutine
// while another uses its rows.
package feed

import "context"

// batches is how many batches a Feed has: one the producer fills, one the
// reader reads, one on the way between.
const batches = 3

// Feed is the reading end of a goroutine that produces values of type T.
// Its batches are made once and reused, and so are their values: the
// producer gets a slot that holds what it held batches ago, and fills it
// (keeping its slices' memory, if it likes). A value the reader has is
// valid until it moves past it (Next).
type Feed[T any] struct {
	full, free chan []T
	cur        []T // the batch being read, from at
	at         int
	ended      chan error // the producer's end: nil, or what stopped it
	cancel     context.CancelFunc
	err        error // the producer's end, once received
	over       bool  // the producer has ended and its batches are read
}

// Put returns the slot of the next value. Its error is the context's,
// when the reader has stopped the feed: the producer returns it then.
type Put[T any] func() (*T, error)

// Start runs produce in a goroutine of its own, with a batch of size
// values at a time. produce calls put for each value and fills the slot
// it returns; what produce returns ends the feed (Peek returns it).
func Start[T any](ctx context.Context, size int, produce func(ctx context.Context, put Put[T]) error) *Feed[T] {
	ctx, cancel := context.WithCancel(ctx) //nolint:gosec // kept in the Feed: Stop calls it
	f := &Feed[T]{full: make(chan []T, batches-1), free: make(chan []T, batches), ended: make(chan error, 1), cancel: cancel}
	for range batches {
		f.free <- make([]T, 0, max(size, 1))
	}
	go func() {
		defer close(f.full)
		b := <-f.free
		send := func() error {
			select {
			case f.full <- b:
				b = nil // the reader's now
			case <-ctx.Done():
				return ctx.Err()
			}
			select {
			case b = <-f.free:
				b = b[:0]
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		err := produce(ctx, func() (*T, error) {
			if len(b) == cap(b) {
				if err := send(); err != nil {
					return nil, err
				}
			}
			b = b[:len(b)+1]
			return &b[len(b)-1], nil
		})
		if len(b) > 0 { // the values before an error too
			select {
			case f.full <- b:
			case <-ctx.Done():
				if err == nil {
					err = ctx.Err()
				}
			}
		}
		f.ended <- err
	}()
	return f
}

// Peek returns the next value without moving past it, or nil once the
// producer has ended and its values are read; the error is what ended it
// (nil when make returned nil).
func (f *Feed[T]) Peek() (*T, error) {
	for f.at == len(f.cur) {
		if f.over {
			return nil, f.err
		}
		if f.cur != nil {
			f.free <- f.cur // never blocks: as many places as batches
			f.cur, f.at = nil, 0
		}
		b, ok := <-f.full
		if !ok {
			f.over = true
			f.err = <-f.ended
			return nil, f.err
		}
		f.cur, f.at = b, 0
	}
	return &f.cur[f.at], nil
}

// Next moves past the value Peek returned.
func (f *Feed[T]) Next() { f.at++ }

// Finish reads what the producer still sends (values the reader does not
// want) and returns what ended it.
func (f *Feed[T]) Finish() error {
	if !f.over {
		for range f.full { //nolint:revive // drained so that the producer ends
		}
		f.over, f.cur, f.at = true, nil, 0
		f.err = <-f.ended
	}
	return f.err
}

// Stop cancels the producer and waits for it to end: for a reader that
// gives up before the end. It returns what ended the producer (the
// context's error, unless it had ended before).
func (f *Feed[T]) Stop() error {
	f.cancel()
	return f.Finish()
}
