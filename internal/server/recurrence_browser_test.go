package server

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/a-h/templ"
	"github.com/chromedp/chromedp"

	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
	"github.com/crmprofi/crm/internal/task"
	"github.com/crmprofi/crm/web/view"
)

// TestRecurrenceBuilderInABrowser drives the builder with the keyboard in
// headless Chromium on a page with the real layout, script and preview
// endpoint (the task form that embeds it belongs to another change, so the
// test serves a minimal form of its own): the hidden RRULE, the Russian
// description and the next five dates follow the controls; the submitted
// form gives the same rule on the server. CRM_AXE_JS (an axe.min.js)
// adds an accessibility check; CRM_SCREENSHOT_DIR keeps screenshots.
func TestRecurrenceBuilderInABrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	chromium := os.Getenv("CRM_CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		if os.Getenv("CRM_TEST_BROWSER") == "require" {
			t.Fatalf("Chromium not found at %s (install Debian's chromium)", chromium)
		}
		t.Skipf("Chromium not found at %s; set CRM_TEST_BROWSER=require to fail instead", chromium)
	}
	e := newTestEnv(t, dbtest.New(t, database.SQLite))
	if _, err := e.db.ExecContext(context.Background(), `UPDATE users SET time_zone = 'Europe/Berlin' WHERE id = $1`, e.cast.Alisa.ID); err != nil {
		t.Fatal(err)
	}
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("/recurrence-test", func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			if err := r.ParseForm(); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			rule, err := task.RuleFromForm(r.PostForm)
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			page := template.Must(template.New("result").Parse(`<!doctype html><html lang="ru"><title>Итог</title><p data-testid="result">{{.}}</p>`))
			if err := page.Execute(w, rule+"|"+fmt.Sprint(err)); err != nil {
				t.Error(err)
			}
			return
		}
		form := templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
			if _, err := io.WriteString(w, `<form method="post" action="/recurrence-test" data-testid="task-form">
				<div class="field"><label for="f-due_at">Срок</label><input id="f-due_at" type="datetime-local" name="due_at" value="2026-03-02T10:00"></div>
				<div class="field field-check"><label class="check" for="f-all_day"><input id="f-all_day" type="checkbox" name="all_day"><span>Весь день</span></label></div>`); err != nil {
				return err
			}
			b := view.RecurrenceBuilderData{DTStart: time.Date(2026, 3, 2, 10, 0, 0, 0, berlin), Location: berlin}
			if err := view.RecurrenceBuilder(b).Render(ctx, w); err != nil {
				return err
			}
			_, err := io.WriteString(w, `<button class="btn btn-primary" type="submit" data-testid="task-save">Сохранить</button></form>`)
			return err
		})
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		ctx := templ.WithChildren(r.Context(), form)
		if err := view.Layout(view.Shell{Title: "Новая задача"}).Render(ctx, w); err != nil {
			t.Error(err)
		}
	})
	mux.Handle("/", e.srv)
	ts := httptest.NewServer(mux)
	defer ts.Close()

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.UserDataDir(t.TempDir()))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	if err := chromedp.Do(ctx); err != nil {
		t.Fatal(err)
	}
	ctx, cancel = context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()

	shot := func(name string) {
		t.Helper()
		dir := os.Getenv("CRM_SCREENSHOT_DIR")
		if dir == "" {
			return
		}
		buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".png"), buf, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	js := func(expr string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](expr)); err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
	}
	// waitFor polls until the expression is true.
	waitFor := func(what, expr string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
			if err == nil && ok {
				return
			}
			if time.Now().After(deadline) {
				state, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("[data-recurrence-rrule]").value + " | " + document.querySelector("[data-recurrence-preview]").innerText`))
				t.Fatalf("%s: still false (%v): %s\nbuilder: %s", what, err, expr, state)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	rruleIs := func(want string) string {
		return `document.querySelector("[data-recurrence-rrule]").value === ` + strconv.Quote(want)
	}
	textIs := func(want string) string {
		return `document.querySelector("[data-recurrence-text]").innerText.trim() === ` + strconv.Quote(want)
	}
	dates := func() []string {
		t.Helper()
		raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify([...document.querySelectorAll("[data-recurrence-next] li")].map(li => li.innerText.trim()))`))
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		if err := json.Unmarshal([]byte(raw), &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	choose := func(selector, value string) {
		t.Helper()
		js(`(() => { const s = document.querySelector(` + strconv.Quote(selector) + `); s.focus(); s.value = ` + strconv.Quote(value) + `; s.dispatchEvent(new Event("change", {bubbles: true})); })()`)
	}
	retype := func(selector, value string) {
		t.Helper()
		js(`document.querySelector(` + strconv.Quote(selector) + `).value = ""`)
		do("type "+selector, chromedp.SendKeys(chromedp.CSS(selector), value))
	}

	do("sign in",
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(ts.URL+"/login"),
		chromedp.WaitVisible(chromedp.CSS("[data-testid=login-form]")),
		chromedp.SendKeys(chromedp.CSS("#f-username"), "alisa"),
		chromedp.SendKeys(chromedp.CSS("#f-password"), dbtest.CastPassword),
		chromedp.Click(chromedp.CSS("[data-testid=login-submit]")),
		chromedp.WaitVisible(chromedp.CSS("[data-testid=user-name]")),
		chromedp.Navigate(ts.URL+"/recurrence-test"),
		chromedp.WaitVisible(chromedp.CSS("[data-testid=recurrence-builder]")),
	)
	waitFor("the weekly part is hidden while nothing repeats", `document.querySelector('[data-show="weekly"]').hidden`)
	waitFor("nothing repeats", textIs("Не повторяется"))

	// A weekly rule, weekdays ticked with the keyboard (space).
	choose("#recurrence-freq", "weekly")
	waitFor("the weekly part shows", `!document.querySelector('[data-show="weekly"]').hidden && document.querySelector('[data-show="monthly"]').hidden`)
	retype("#recurrence-interval", "2")
	do("tick Tuesday and Thursday",
		chromedp.Focus(chromedp.CSS(`input[name=recurrence_byday][value=TU]`)),
		chromedp.KeyEvent(" "),
		chromedp.Focus(chromedp.CSS(`input[name=recurrence_byday][value=TH]`)),
		chromedp.KeyEvent(" "),
	)
	waitFor("the hidden rule follows", rruleIs("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH"))
	waitFor("the description follows", textIs("каждые 2 недели по вторникам и четвергам"))
	waitFor("five dates", `document.querySelectorAll("[data-recurrence-next] li").length === 5`)
	if got := dates(); got[0] != "вт, 03.03.2026, 10:00" || got[4] != "вт, 31.03.2026, 10:00" {
		t.Errorf("dates %v (10:00 must stay 10:00 across the 29 March switch)", got)
	}
	waitFor("the unit agrees with the number", `document.querySelector("[data-recurrence-unit]").innerText === "недели"`)
	shot("recurrence-weekly")

	// Moving the due date moves the preview.
	js(`(() => { const d = document.querySelector("#f-due_at"); d.value = "2026-03-16T09:30"; d.dispatchEvent(new Event("input", {bubbles: true})); })()`)
	waitFor("the dates follow the due date", `(document.querySelector("[data-recurrence-next] li") || {}).innerText === "вт, 17.03.2026, 09:30"`)

	// The last Friday of the month, six times.
	choose("#recurrence-freq", "monthly")
	retype("#recurrence-interval", "1")
	do("pick the last Friday",
		chromedp.Click(chromedp.CSS(`input[name=recurrence_monthmode][value=nth]`)),
	)
	choose(`select[name=recurrence_ordinal]`, "-1")
	choose(`select[name=recurrence_weekday]`, "FR")
	do("end after six times", chromedp.Click(chromedp.CSS(`input[name=recurrence_end][value=count]`)))
	retype(`input[name=recurrence_count]`, "6")
	waitFor("the monthly rule", rruleIs("FREQ=MONTHLY;BYDAY=-1FR;COUNT=6"))
	waitFor("the monthly description", textIs("в последнюю пятницу месяца, 6 раз"))

	// A bad end date is explained in the live region; a good one is used.
	do("end on a date", chromedp.Click(chromedp.CSS(`input[name=recurrence_end][value=until]`)))
	retype(`input[name=recurrence_until]`, "31.02.2026")
	waitFor("the bad date is explained", textIs("Дата окончания — в виде дд.мм.гггг."))
	retype(`input[name=recurrence_until]`, "31.12.2026")
	waitFor("the until rule", rruleIs("FREQ=MONTHLY;BYDAY=-1FR;UNTIL=20261231"))
	waitFor("the until description", textIs("в последнюю пятницу месяца до 31.12.2026"))
	shot("recurrence-monthly")

	if file := os.Getenv("CRM_AXE_JS"); file != "" {
		src, err := os.ReadFile(filepath.Clean(file))
		if err != nil {
			t.Fatal(err)
		}
		js(string(src))
		const run = `axe.run(document.querySelector("[data-testid=recurrence-builder]"), {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]}})
			.then(r => JSON.stringify(r.violations.map(v => v.id + ": " + v.help + " — " + v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(", "))))`
		raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](run, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		if raw != "[]" {
			t.Errorf("axe: %s", raw)
		}
	}

	// A phone's width: nothing sticks out.
	do("phone width", chromedp.EmulateViewport(390, 844), chromedp.Sleep(200*time.Millisecond))
	waitFor("no horizontal scroll at 390 px", `document.querySelector("[data-testid=recurrence-builder]").getBoundingClientRect().right <= 390`)
	shot("recurrence-phone")

	do("save", chromedp.Click(chromedp.CSS("[data-testid=task-save]")), chromedp.WaitVisible(chromedp.CSS("[data-testid=result]")))
	res, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("[data-testid=result]")))
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(res) != "FREQ=MONTHLY;BYDAY=-1FR;UNTIL=20261231|<nil>" {
		t.Errorf("the server built %q", res)
	}
}
