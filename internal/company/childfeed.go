package company

import "context"

// childGroup is the children of one company, as the whole tables give
// them: its phones, e-mails and spheres (by id), in position order.
type childGroup struct {
	id      int64
	phones  []Phone
	emails  []Email
	spheres []int64
}

// feedBatch is how many companies' children a batch of a childFeed
// carries: enough that the hand-over between goroutines is rare.
const feedBatch = 512

// childFeed steps the streams of a Whole selection's children in a
// goroutine of its own and hands their rows over grouped by company, in
// the order of the ids, while the caller's goroutine steps the
// companies: in an export of a million companies from SQLite the one
// goroutine that stepped both was the export's slowest (2.9 s of CPU
// in a 3.3 s pass), the children a good third of it. Batches of groups
// are reused (three of them), their slices too.
type childFeed struct {
	full, free chan []childGroup
	cur        []childGroup // the batch being read, from at
	at         int
	ended      chan error // the goroutine's end: nil, or what stopped it
	cancel     context.CancelFunc
	err        error // the goroutine's end, once received
	over       bool  // the goroutine has ended and its batches are read
}

// startChildFeed starts the goroutine reading kids (pending, each on its
// first row), whose statements it alone steps from now on.
func startChildFeed(ctx context.Context, kids []*childStream) *childFeed {
	ctx, cancel := context.WithCancel(ctx)
	f := &childFeed{full: make(chan []childGroup, 2), free: make(chan []childGroup, 3), ended: make(chan error, 1), cancel: cancel}
	for range 3 {
		f.free <- make([]childGroup, 0, feedBatch)
	}
	go func() {
		defer close(f.full)
		f.ended <- f.run(ctx, kids)
	}()
	return f
}

// run groups the rows of kids by company and sends them in batches.
func (f *childFeed) run(ctx context.Context, kids []*childStream) error {
	b := <-f.free
	for {
		id, found := int64(0), false
		for _, k := range kids {
			if k.pending && (!found || k.companyID < id) {
				id, found = k.companyID, true
			}
		}
		if !found {
			break
		}
		b = b[:len(b)+1]
		g := &b[len(b)-1]
		g.id, g.phones, g.emails, g.spheres = id, g.phones[:0], g.emails[:0], g.spheres[:0]
		for _, k := range kids {
			for k.pending && k.companyID == id {
				k.add(&g.phones, &g.emails, &g.spheres)
				if err := k.next(); err != nil {
					return err
				}
			}
		}
		if len(b) < cap(b) {
			continue
		}
		select {
		case f.full <- b:
		case <-ctx.Done():
			return ctx.Err()
		}
		select {
		case b = <-f.free:
			b = b[:0]
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if len(b) > 0 {
		select {
		case f.full <- b:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for _, k := range kids {
		if err := k.rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

// addTo adds the children of c to it, skipping those of the companies
// before c (which the selection does not hold: deleted ones).
func (f *childFeed) addTo(c *Company) error {
	for {
		if f.at == len(f.cur) {
			if f.over {
				return nil
			}
			if f.cur != nil {
				f.free <- f.cur // never blocks: three batches, three places
			}
			b, ok := <-f.full
			if !ok {
				f.over, f.cur, f.at = true, nil, 0
				if f.err = <-f.ended; f.err != nil {
					return f.err
				}
				return nil
			}
			f.cur, f.at = b, 0
		}
		g := &f.cur[f.at]
		if g.id > c.ID {
			return nil
		}
		if g.id == c.ID {
			c.Phones = append(c.Phones, g.phones...)
			c.Emails = append(c.Emails, g.emails...)
			c.Spheres = append(c.Spheres, g.spheres...)
		}
		f.at++
	}
}

// finish reads what the goroutine still sends (the children of
// companies after the last one the selection holds) and returns what
// ended it. After cancel it ends at once, with the context's error.
func (f *childFeed) finish() error {
	if !f.over {
		for range f.full { //nolint:revive // drained so that the goroutine ends
		}
		f.over = true
		f.err = <-f.ended
	}
	return f.err
}
