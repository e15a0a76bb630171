// Package progress reports the progress of long work (loading, imports,
// exports) through one small interface, Reporter, so the work does not know
// who watches it. Bar draws it in a terminal: redrawn in place on a
// terminal, a plain line every few seconds when the output is a file or a
// CI log. internal/live implements it for the browser over the live events
// stream.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Reporter receives the progress of one piece of work: Start with the total
// number of units once it is known, Add as units are done, Finish once at
// the end with the error that ended the work, or nil. Implementations are
// safe for concurrent use and cheap to call for every unit: they decide
// themselves how often to show a change.
type Reporter interface {
	Start(total int64)
	Add(n int64)
	Finish(err error)
}

// Factory makes the Reporter of each named stage of a piece of work
// («Компании», «Контакты», …), so one job can report several bars.
type Factory func(label string) Reporter

// Terminal is the Factory of Bars drawn on w.
func Terminal(w io.Writer) Factory {
	return func(label string) Reporter { return New(w, label, 0) }
}

// Discard is the Factory of Reporters that show nothing.
func Discard(string) Reporter { return discard{} }

type discard struct{}

func (discard) Start(int64)  {}
func (discard) Add(int64)    {}
func (discard) Finish(error) {}

// Bar reports the progress of one piece of work in a terminal or a log. It
// is safe for concurrent use and implements Reporter.
type Bar struct {
	mu       sync.Mutex
	drawn    int64 // done at the last draw
	w        io.Writer
	label    string
	total    int64
	done     int64
	start    time.Time
	last     time.Time
	terminal bool
	every    time.Duration
	now      func() time.Time
	err      error
}

// New starts a bar for total units of work, drawn on w; a total not known
// yet is 0 and given later to Start.
func New(w io.Writer, label string, total int64) *Bar {
	b := &Bar{w: w, label: label, total: total, terminal: isTerminal(w), now: time.Now}
	b.every = 5 * time.Second
	if b.terminal {
		b.every = 100 * time.Millisecond
	}
	b.start = b.now()
	return b
}

// Start sets the total and restarts the clock the rate is measured by.
func (b *Bar) Start(total int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.total, b.done, b.drawn = total, 0, 0
	b.start, b.last = b.now(), time.Time{}
}

// Add records n more units done and redraws when it is time to.
func (b *Bar) Add(n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done += n
	if t := b.now(); t.Sub(b.last) >= b.every {
		b.last = t
		b.draw(false)
	}
}

// Finish draws the final state and ends the line; a plain-line bar that
// already printed the final state of a success does not print it twice.
// A failure is said on the line: «… · прервано: <err>».
func (b *Bar) Finish(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.err = err
	if err == nil && !b.terminal && b.drawn == b.done && !b.last.IsZero() {
		return
	}
	b.draw(true)
}

func (b *Bar) draw(final bool) {
	b.drawn = b.done
	elapsed := b.now().Sub(b.start)
	rate := 0.0
	if elapsed > 0 {
		rate = float64(b.done) / elapsed.Seconds()
	}
	line := Line(b.label, b.done, b.total, rate, elapsed)
	if final && b.err != nil {
		line += " · прервано: " + b.err.Error()
	}
	switch {
	case b.terminal && final:
		fmt.Fprintf(b.w, "\r\033[K%s\n", line)
	case b.terminal:
		fmt.Fprintf(b.w, "\r\033[K%s", line)
	default:
		fmt.Fprintln(b.w, line)
	}
}

// Line renders one state of a bar:
// "Компании [██████░░░░░░] 50% 250 000/500 000 · 12 345/с · осталось 20 с".
func Line(label string, done, total int64, rate float64, elapsed time.Duration) string {
	const width = 24
	var sb strings.Builder
	sb.WriteString(label)
	sb.WriteString(" [")
	pct := 0.0
	if total > 0 {
		pct = min(float64(done)/float64(total), 1)
	}
	filled := int(pct * width)
	sb.WriteString(strings.Repeat("█", filled))
	sb.WriteString(strings.Repeat("░", width-filled))
	fmt.Fprintf(&sb, "] %3.0f%% %s/%s", pct*100, group(done), group(total))
	if rate > 0 {
		fmt.Fprintf(&sb, " · %s/с", group(int64(rate)))
		if done < total {
			left := time.Duration(float64(total-done) / rate * float64(time.Second))
			fmt.Fprintf(&sb, " · осталось %s", Duration(left))
		} else {
			fmt.Fprintf(&sb, " · за %s", Duration(elapsed))
		}
	}
	return sb.String()
}

// group writes n with thin spaces between thousands: 1 234 567.
func group(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var out []string
	for len(s) > 3 {
		out = append([]string{s[len(s)-3:]}, out...)
		s = s[:len(s)-3]
	}
	out = append([]string{s}, out...)
	r := strings.Join(out, "\u202f")
	if neg {
		r = "-" + r
	}
	return r
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// Duration writes d the Russian way, to the second: "1 ч 02 мин", "3 мин 05 с", "42 с".
func Duration(d time.Duration) string {
	s := int64(d.Round(time.Second) / time.Second)
	switch {
	case s >= 3600:
		return fmt.Sprintf("%d ч %02d мин", s/3600, s%3600/60)
	case s >= 60:
		return fmt.Sprintf("%d мин %02d с", s/60, s%60)
	}
	return fmt.Sprintf("%d с", s)
}
