package main

// End-to-end tests: the real crm binary, built once, started on a real
// database and driven over HTTP and through headless Chromium.

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// crmBinary builds cmd/crm once per test run.
func crmBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "crm-e2e-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "crm")
		cmd := exec.CommandContext(context.Background(), "go", "build", "-o", binPath, ".")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			buildErr = fmt.Errorf("go build: %w\n%s", err, out.String())
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// instance is a running crm binary.
type instance struct {
	URL   string
	dbURL string
	env   []string
	log   *syncBuffer
}

// syncBuffer is the process's output, safe to read while it still writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startCRM runs `crm serve` on a free port against dbURL and waits until
// /readyz answers 200. The process is stopped with SIGTERM at cleanup and
// must exit cleanly.
func startCRM(t *testing.T, dbURL string) *instance {
	t.Helper()
	bin := crmBinary(t)
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	inst := &instance{URL: "http://" + addr, dbURL: dbURL, log: &syncBuffer{}}
	inst.env = append(os.Environ(),
		"CRM_DATABASE_URL="+dbURL,
		"CRM_ADDR="+addr,
		"CRM_SECRET_KEY="+strings.Repeat("e2e-secret-", 4),
		"CRM_LOG_FORMAT=text",
	)
	cmd := exec.CommandContext(context.Background(), bin, "serve", "--env-file", filepath.Join(t.TempDir(), "none.env"))
	cmd.Env = inst.env
	cmd.Dir = t.TempDir()
	cmd.Stdout, cmd.Stderr = inst.log, inst.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("crm did not stop cleanly: %v\n%s", err, inst.log.String())
			}
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("crm did not stop within 30 s of SIGTERM")
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-exited:
			t.Fatalf("crm exited before it was ready: %v\n%s", err, inst.log.String())
		default:
		}
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, inst.URL+"/readyz", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return inst
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("crm did not become healthy in time\n%s", inst.log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// crm runs a subcommand of the binary against the instance's database.
func (inst *instance) crm(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(context.Background(), crmBinary(t), args...)
	cmd.Env = inst.env
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("crm %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// e2eDatabases lists a fresh database URL per dialect under test.
func e2eDatabases(t *testing.T) map[database.Dialect]func() string {
	t.Helper()
	out := map[database.Dialect]func() string{}
	for _, d := range dbtest.Dialects() {
		out[d] = func() string { return dbtest.URL(t, d) }
	}
	return out
}

// browser returns a chromedp context on a fresh headless Chromium with the
// given window width. Without Chromium the test is skipped — unless
// CRM_TEST_BROWSER=require (as in CI), which makes it fail.
func browser(t *testing.T, width, height int) context.Context {
	t.Helper()
	exe := os.Getenv("CRM_CHROMIUM")
	if exe == "" {
		exe = "/usr/bin/chromium"
	}
	if _, err := os.Stat(exe); err != nil {
		if os.Getenv("CRM_TEST_BROWSER") == "require" {
			t.Fatalf("Chromium not found at %s (install Debian's chromium)", exe)
		}
		t.Skipf("Chromium not found at %s; set CRM_TEST_BROWSER=require to fail instead", exe)
	}
	if testing.Short() {
		t.Skip("browser tests are skipped with -short")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(width, height),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

// screenshotDir is where browser tests keep their screenshots: the
// package's testdata/screenshots (ignored by git), or CRM_SCREENSHOTS.
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("CRM_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join("testdata", "screenshots")
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	return dir
}

// shot saves a full-page screenshot named after the test and step.
func shot(t *testing.T, name string) chromedp.Action[chromedp.Void] {
	t.Helper()
	return chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
		buf, err := chromedp.FullScreenshot(100)(ctx, target)
		if err != nil {
			// A screenshot is evidence, not an assertion: a page caught
			// mid-layout must not fail the flow it documents.
			t.Logf("screenshot %s: %v", name, err)
			return nil
		}
		file := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()) + "_" + name + ".png"
		return os.WriteFile(filepath.Join(screenshotDir(t), file), buf, 0o600)
	})
}
