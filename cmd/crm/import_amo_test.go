package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/database"
)

// importTruth is what a fixture's truth file says the import ends with.
type importTruth struct {
	Users []struct {
		Username  string `json:"username"`
		FirstName string `json:"first_name"`
		LastName  string `json:"last_name"`
		Email     string `json:"email"`
	} `json:"users"`
	Expected struct {
		Records                 int `json:"records"`
		Contacts                int `json:"contacts"`
		CompaniesPlusOrphanRefs int `json:"companies_plus_orphan_refs"`
	} `json:"expected"`
}

func fixturePath(name string) string {
	p, _ := filepath.Abs(filepath.Join("..", "..", "internal", "amoimport", "testdata", name))
	return p
}

func readTruth(t *testing.T, name string) importTruth {
	t.Helper()
	raw, err := os.ReadFile(fixturePath(name) + ".truth.json")
	if err != nil {
		t.Fatal(err)
	}
	var tr importTruth
	if err := json.Unmarshal(raw, &tr); err != nil {
		t.Fatal(err)
	}
	return tr
}

// crmRun runs the binary against dbURL and returns its exit error and
// output (stdout, stderr).
func crmRun(t *testing.T, dbURL string, args ...string) (string, string, error) {
	t.Helper()
	cmd := exec.CommandContext(context.Background(), crmBinary(t), args...)
	cmd.Env = append(os.Environ(), "CRM_DATABASE_URL="+dbURL, "CRM_SECRET_KEY="+strings.Repeat("e2e-secret-", 4), "CRM_LOG_LEVEL=warn")
	cmd.Dir = t.TempDir()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

func openDB(t *testing.T, url string) *database.DB {
	t.Helper()
	db, err := database.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func countRows(t *testing.T, db *database.DB, query string) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(context.Background(), query).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestImportAmoCommandOnBothFixtures runs `crm import-amo` as a user
// would: a dry run with a report for Excel that writes nothing, the
// import, which ends as the truth file says, a re-run that adds nothing,
// and a file that is no export, refused with a clear message and a
// non-zero exit.
func TestImportAmoCommandOnBothFixtures(t *testing.T) {
	for dialect, newURL := range e2eDatabases(t) {
		for _, name := range []string{"amo_small.csv", "amo_small_excel_cp1251.csv"} {
			t.Run(string(dialect)+"/"+name, func(t *testing.T) {
				url := newURL()
				tr := readTruth(t, name)
				if out, errOut, err := crmRun(t, url, "createsuperuser", "--username", "admin", "--password", "Ромашка-2026!",
					"--first-name", "Анна", "--last-name", "Админова"); err != nil {
					t.Fatalf("createsuperuser: %v\n%s%s", err, out, errOut)
				}
				db := openDB(t, url)
				for _, u := range tr.Users {
					if _, err := db.ExecContext(context.Background(), `INSERT INTO users (username, first_name, last_name, email, role, date_joined)
						VALUES ($1, $2, $3, $4, 'manager', $5)`, u.Username, u.FirstName, u.LastName, u.Email, database.Now()); err != nil {
						t.Fatal(err)
					}
				}
				file := fixturePath(name)
				report := filepath.Join(t.TempDir(), "отчёт.csv")

				out, errOut, err := crmRun(t, url, "import-amo", "--csv", file, "--dry-run", "--report", report, "--trace")
				if err != nil {
					t.Fatalf("dry run: %v\n%s%s", err, out, errOut)
				}
				// --trace: every step with its time, its SQL and the
				// memory it took (the Go runtime's share of its peak and
				// the rest), the file's upload and spool included.
				for _, step := range []string{"upload", "spool", "stage", "plan group", "plan decide", "report"} {
					if !regexp.MustCompile(`(?m)^` + step + ` +\S+ +\d+ SQL  пик шага \d+ МБ \(Go \d+, вне Go \d+; живая куча до \d+ МБ\), RSS \d+ МБ, пик \d+ МБ, куча Go \d+ МБ$`).
						MatchString(errOut) {
						t.Errorf("--trace has no line of step %q:\n%s", step, errOut)
					}
				}
				if !strings.Contains(out, "в базу ничего не записано") || !strings.Contains(out, "будет создано:") {
					t.Errorf("dry run summary:\n%s", out)
				}
				if !strings.Contains(errOut, "Чтение файла") {
					t.Errorf("no progress bar:\n%s", errOut)
				}
				if n := countRows(t, db, `SELECT COUNT(*) FROM companies`); n != 0 {
					t.Errorf("the dry run wrote %d companies", n)
				}
				raw, err := os.ReadFile(report) //nolint:gosec // the test's own temporary file
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.HasPrefix(raw, []byte("\uFEFFНомер записи;Строка файла;Действие;Причина;Предупреждения")) {
					t.Errorf("report head: %q", raw[:min(len(raw), 100)])
				}
				if lines := bytes.Count(raw, []byte("\r\n")); lines < tr.Expected.Records+1 {
					t.Errorf("report lines: %d, records %d", lines, tr.Expected.Records)
				}

				if out, errOut, err = crmRun(t, url, "import-amo", "--csv", file); err != nil {
					t.Fatalf("import: %v\n%s%s", err, out, errOut)
				}
				if !strings.Contains(out, "выполнен") || !strings.Contains(errOut, "Запись в базу") {
					t.Errorf("import output:\n%s\n%s", out, errOut)
				}
				companies := countRows(t, db, `SELECT COUNT(*) FROM companies WHERE deleted_at IS NULL`)
				contacts := countRows(t, db, `SELECT COUNT(*) FROM contacts WHERE deleted_at IS NULL`)
				if companies != tr.Expected.CompaniesPlusOrphanRefs || contacts != tr.Expected.Contacts {
					t.Errorf("companies %d (truth %d), contacts %d (truth %d)", companies, tr.Expected.CompaniesPlusOrphanRefs,
						contacts, tr.Expected.Contacts)
				}
				if n := countRows(t, db, `SELECT COUNT(*) FROM audit_log WHERE action = 'import.amo' AND outcome = 'ok' AND actor_system`); n != 2 {
					t.Errorf("audit entries of the two runs: %d", n)
				}

				if out, errOut, err = crmRun(t, url, "import-amo", "--csv", file); err != nil {
					t.Fatalf("re-import: %v\n%s%s", err, out, errOut)
				}
				if countRows(t, db, `SELECT COUNT(*) FROM companies WHERE deleted_at IS NULL`) != companies ||
					countRows(t, db, `SELECT COUNT(*) FROM contacts WHERE deleted_at IS NULL`) != contacts {
					t.Error("re-importing the same file added companies or contacts")
				}

				bad := filepath.Join(t.TempDir(), "prices.csv")
				_ = os.WriteFile(bad, []byte("Товар;Цена\r\nКирпич;10\r\n"), 0o600)
				_, errOut, err = crmRun(t, url, "import-amo", "--csv", bad)
				var exit *exec.ExitError
				if err == nil || !errorsAs(err, &exit) || exit.ExitCode() == 0 || !strings.Contains(errOut, "не выгрузка") {
					t.Errorf("a price list: %v\n%s", err, errOut)
				}
			})
		}
	}
}

func errorsAs(err error, target **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError) //nolint:errorlint // exec.Cmd.Run returns it unwrapped
	if ok {
		*target = e
	}
	return ok
}

// bigExport writes an export of n records (half companies, half their
// contacts) in the documented layout, for a run long enough to be killed.
func bigExport(t *testing.T, n int) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("\uFEFFID;Тип;Наименование;Компания;Ответственный;Адрес;Рабочий телефон\r\n")
	for i := range n {
		if i%2 == 0 {
			fmt.Fprintf(&b, "%d;компания;ООО «Станкозавод %d»;;anna;г. Тверь, ул. Заводская, д. %d;+7 495 %07d\r\n", 20000000+i, i, i, 1000000+i)
		} else {
			fmt.Fprintf(&b, "%d;контакт;Иван Петров %d;ООО «Станкозавод %d»;anna;;+7 916 %07d\r\n", 20000000+i, i, i-1, 1000000+i)
		}
	}
	path := filepath.Join(t.TempDir(), "amocrm_export_big.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// serveProcess is a `crm serve` this test may kill.
type serveProcess struct {
	url    string
	cmd    *exec.Cmd
	exited chan error
	log    *syncBuffer
}

func startServe(t *testing.T, dbURL string, env ...string) *serveProcess {
	t.Helper()
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	cmd := exec.CommandContext(context.Background(), crmBinary(t), "serve", "--env-file", filepath.Join(t.TempDir(), "none.env"))
	cmd.Env = append(os.Environ(), append([]string{"CRM_DATABASE_URL=" + dbURL, "CRM_ADDR=" + addr,
		"CRM_SECRET_KEY=" + strings.Repeat("e2e-secret-", 4), "CRM_LOG_LEVEL=warn"}, env...)...)
	cmd.Dir = t.TempDir()
	log := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &serveProcess{url: "http://" + addr, cmd: cmd, exited: make(chan error, 1), log: log}
	go func() { p.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-p.exited:
			_ = err // a killed or stopped process; its log tells
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, p.url+"/healthz", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("crm serve did not start\n%s", log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// uploadImport posts file to /api/imports/ with the bearer token.
func uploadImport(t *testing.T, base, token, file string, dry bool) int64 {
	t.Helper()
	data, err := os.ReadFile(file) //nolint:gosec // the test's own file
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("dry_run", fmt.Sprint(dry))
	fw, _ := mw.CreateFormFile("file", filepath.Base(file))
	_, _ = fw.Write(data)
	_ = mw.Close()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, base+"/api/imports/", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var out struct {
		ID     int64  `json:"id"`
		Status string `json:"status"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("upload: %d %v", resp.StatusCode, err)
	}
	return out.ID
}

func importStatus(t *testing.T, db *database.DB, id int64) string {
	t.Helper()
	var s string
	if err := db.QueryRowContext(context.Background(), `SELECT status FROM imports WHERE id = $1`, id).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestAnImportKilledMidwayLeavesTheBaseAsItWasAndFinishesOnceAfterARestart
// kills `crm serve` with SIGKILL while the import's transaction is open:
// nothing of it is in the base. A new process takes the job over (River
// rescues it) and the import finishes once, with exact counts.
func TestAnImportKilledMidwayLeavesTheBaseAsItWasAndFinishesOnceAfterARestart(t *testing.T) {
	for dialect, newURL := range e2eDatabases(t) {
		t.Run(string(dialect), func(t *testing.T) {
			url := newURL()
			// Big enough that the import, however fast, is still writing
			// when the process is killed.
			const records = 5000
			file := bigExport(t, records)
			// The default rescue (an hour) and import timeout: the restarted
			// server takes the killed job over by itself — at once on SQLite,
			// on PostgreSQL at its first look after the job is 30 s old.
			var rescue []string
			first := startServe(t, url, rescue...)
			if out, errOut, err := crmRun(t, url, "createsuperuser", "--username", "anna", "--password", "Ромашка-2026!",
				"--first-name", "Анна", "--last-name", "Админова"); err != nil {
				t.Fatalf("createsuperuser: %v\n%s%s", err, out, errOut)
			}
			var tok struct{ Access string }
			apiPost(t, &instance{URL: first.url}, "", "/api/token/", map[string]string{"username": "anna", "password": "Ромашка-2026!"}, &tok)
			db := openDB(t, url)
			id := uploadImport(t, first.url, tok.Access, file, false)

			deadline := time.Now().Add(60 * time.Second)
			for importStatus(t, db, id) != "running" {
				if time.Now().After(deadline) {
					t.Fatal("the import did not start")
				}
				time.Sleep(20 * time.Millisecond)
			}
			time.Sleep(200 * time.Millisecond) // into the transaction
			if err := first.cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			t.Logf("first server: %v", <-first.exited)
			if s := importStatus(t, db, id); s != "running" {
				t.Fatalf("the import ended before the kill (%s): make the file bigger", s)
			}
			for q, want := range map[string]int{
				`SELECT COUNT(*) FROM companies`:                             0,
				`SELECT COUNT(*) FROM contacts`:                              0,
				`SELECT COUNT(*) FROM import_rows`:                           0,
				`SELECT COUNT(*) FROM audit_log WHERE action = 'import.amo'`: 0,
			} {
				if n := countRows(t, db, q); n != want {
					t.Errorf("after the kill, %s: %d", q, n)
				}
			}

			second := startServe(t, url, rescue...)
			deadline = time.Now().Add(3 * time.Minute)
			for importStatus(t, db, id) != "done" {
				if time.Now().After(deadline) {
					var state string
					var attempt int
					var errs string
					_ = db.QueryRowContext(context.Background(), `SELECT state, attempt, CAST(errors AS TEXT) FROM river_job WHERE kind = 'import.amo'`).Scan(&state, &attempt, &errs)
					t.Fatalf("the import did not finish after the restart (%s); job %s, attempt %d, errors %s\n%s",
						importStatus(t, db, id), state, attempt, errs, second.log.String())
				}
				time.Sleep(200 * time.Millisecond)
			}
			if n := countRows(t, db, `SELECT COUNT(*) FROM companies WHERE deleted_at IS NULL`); n != records/2 {
				t.Errorf("companies: %d, want %d", n, records/2)
			}
			if n := countRows(t, db, `SELECT COUNT(*) FROM contacts WHERE deleted_at IS NULL AND company_id IS NOT NULL`); n != records/2 {
				t.Errorf("linked contacts: %d, want %d", n, records/2)
			}
			if n := countRows(t, db, `SELECT COUNT(*) FROM audit_log WHERE action = 'import.amo' AND outcome = 'ok'`); n != 1 {
				t.Errorf("import.amo entries: %d", n)
			}
			if n := countRows(t, db, `SELECT COUNT(*) FROM import_rows`); n != records {
				t.Errorf("report rows: %d", n)
			}
		})
	}
}
