//go:build unix

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/backup"
)

// composeService is the text of one service of a compose file, from its
// name to the next service.
func composeService(t *testing.T, compose, name string) string {
	t.Helper()
	i := strings.Index(compose, "\n  "+name+":\n")
	if i < 0 {
		t.Fatalf("no service %s", name)
	}
	svc := compose[i+1:]
	if end := regexp.MustCompile(`\n  [a-z][a-z0-9_-]*:\n`).FindStringIndex(svc[1:]); end != nil {
		svc = svc[:end[0]+1]
	}
	return svc
}

// composeList reads a one-line JSON list setting of a service
// (entrypoint: [...], test: [...]).
func composeList(t *testing.T, svc, key string) []string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^\s+` + key + `: (\[.*\])\s*$`).FindStringSubmatch(svc)
	if m == nil {
		t.Fatalf("no %s: [...] in\n%s", key, svc)
	}
	var list []string
	if err := json.Unmarshal([]byte(m[1]), &list); err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	return list
}

// composeScript reads the service's command given as one literal block
// (command: then "- |"), with compose's "$$" unescaped.
func composeScript(t *testing.T, svc string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^    command:\n      - \|\n((?:        .*\n|\s*\n)+)`).FindStringSubmatch(svc)
	if m == nil {
		t.Fatalf("no command block in\n%s", svc)
	}
	var lines []string
	for l := range strings.SplitSeq(m[1], "\n") {
		lines = append(lines, strings.TrimPrefix(l, "        "))
	}
	return strings.ReplaceAll(strings.Join(lines, "\n"), "$$", "$")
}

// TestVDSBackupServiceReportsAFailure runs the backup service of
// docker-compose.vds.yml as Compose would — its entrypoint and command
// script, the crm binary on PATH, its folder — against a database that
// cannot be reached, then its health check command: the service's log
// says "backup: FAILED" with the reason, the status file records the
// failed attempt, and the health check exits non-zero (the container
// turns unhealthy) saying FAILED too.
func TestVDSBackupServiceReportsAFailure(t *testing.T) {
	svc := composeService(t, readRepo(t, "docker-compose.vds.yml"), "backup")
	entry := composeList(t, svc, "entrypoint")
	health := composeList(t, svc, "test")
	script := composeScript(t, svc)
	if len(entry) != 2 || entry[1] != "-c" || !strings.Contains(script, "crm backup --dir /backups") {
		t.Fatalf("the backup service is not a shell loop around crm backup --dir /backups: %q %q", entry, script)
	}
	if len(health) < 2 || health[0] != "CMD" || health[1] != "crm" {
		t.Fatalf("health check %q", health)
	}

	bin := crmBinary(t)
	dir := filepath.Join(t.TempDir(), "backups")
	script = strings.ReplaceAll(script, "/backups", dir)
	env := append(os.Environ(),
		"PATH="+filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"),
		"CRM_DATABASE_URL=postgres://nobody@127.0.0.1:1/crm?sslmode=disable&connect_timeout=2",
		"CRM_BACKUP_DIR="+dir, "CRM_BACKUP_MAX_AGE=26h", "BACKUP_INTERVAL=3600", "BACKUP_KEEP=14",
		"CRM_LOG_LEVEL=error")

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, entry[0], entry[1], script) //nolint:gosec // the compose file's own entrypoint and script
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // the loop's sleep goes with it
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	_ = pw.Close()
	defer func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		_ = pr.Close()
	}()
	var log []string
	failed := ""
	sc := bufio.NewScanner(pr)
	for failed == "" && sc.Scan() {
		log = append(log, sc.Text())
		if strings.HasPrefix(sc.Text(), "backup: FAILED: ") {
			failed = sc.Text()
		}
	}
	if failed == "" {
		t.Fatalf("the backup service never said backup: FAILED; its log:\n%s", strings.Join(log, "\n"))
	}
	if !strings.Contains(failed, "127.0.0.1") {
		t.Errorf("the failure does not say why: %q", failed)
	}

	st, err := backup.ReadStatus(filepath.Join(dir, backup.StatusFileName))
	if err != nil || st.OK || st.Error == "" || st.LastAttempt.IsZero() {
		t.Fatalf("status file after the failure %+v, %v", st, err)
	}

	args := make([]string, 0, len(health))
	for _, a := range health[2:] {
		args = append(args, strings.ReplaceAll(a, "/backups", dir))
	}
	check := exec.CommandContext(ctx, bin, args...) //nolint:gosec // the compose file's own health check
	check.Env = env
	out, err := check.CombinedOutput()
	if err == nil || check.ProcessState.ExitCode() == 0 {
		t.Fatalf("the health check passed after a failed backup:\n%s", out)
	}
	if !strings.Contains(string(out), "backup: FAILED") || !strings.Contains(string(out), "не удалась") {
		t.Fatalf("the health check's output %q", out)
	}
}
