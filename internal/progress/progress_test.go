package progress

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestLineShowsShareCountsRateAndTimeLeft(t *testing.T) {
	got := Line("Компании", 250000, 500000, 12345, 20*time.Second)
	for _, want := range []string{"Компании [", "50%", "250\u202f000/500\u202f000", "12\u202f345/с", "осталось 20 с"} {
		if !strings.Contains(got, want) {
			t.Errorf("%q lacks %q", got, want)
		}
	}
}

func TestABarWritesPlainLinesWhenNotOnATerminalAndTheLastOnlyOnce(t *testing.T) {
	var buf bytes.Buffer
	clock := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	b := New(&buf, "Импорт", 10)
	b.now = func() time.Time { return clock }
	b.start = clock
	for range 10 {
		clock = clock.Add(6 * time.Second)
		b.Add(1)
	}
	b.Finish(nil)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 10 || !strings.Contains(lines[9], "100%") || strings.Contains(buf.String(), "\r") {
		t.Fatalf("unexpected output:\n%s", buf.String())
	}
}

// Bar is the terminal Reporter.
var _ Reporter = (*Bar)(nil)

func TestABarStartedLaterCountsFromItsStartAndSaysWhyItStopped(t *testing.T) {
	var buf bytes.Buffer
	clock := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	var r Reporter = New(&buf, "Импорт", 0)
	r.(*Bar).now = func() time.Time { return clock }
	r.Start(4)
	clock = clock.Add(time.Second)
	r.Add(2)
	r.Finish(errors.New("строка 3: неверный ИНН"))
	out := buf.String()
	for _, want := range []string{"2/4", "50%", "прервано: строка 3: неверный ИНН"} {
		if !strings.Contains(out, want) {
			t.Errorf("output %q lacks %q", out, want)
		}
	}
}

func TestTheTerminalFactoryLabelsEachStage(t *testing.T) {
	var buf bytes.Buffer
	r := Terminal(&buf)("Контакты")
	r.Start(1)
	r.Add(1)
	r.Finish(nil)
	if !strings.Contains(buf.String(), "Контакты [") || !strings.Contains(buf.String(), "1/1") {
		t.Fatalf("unexpected output %q", buf.String())
	}
	Discard("ничего").Finish(nil) // shows nothing and does not panic
}
