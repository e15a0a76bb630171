package main

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/crmprofi/crm/internal/config"
)

// readRepo reads a file of the repository (tests run in cmd/crm).
func readRepo(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile("../../" + path) //nolint:gosec // a file of this repository, named by the test
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The deployment files say what the binary serves: probes on /readyz, the
// one build command CI repeats (.ci/run reads it from the Dockerfile), and
// the first administrator and metrics token passed through.
func TestDeploymentFiles(t *testing.T) {
	dockerfile := readRepo(t, "Dockerfile")
	joined := strings.ReplaceAll(dockerfile, "\\\n", " ")
	var builds []string
	for _, line := range strings.Split(joined, "\n") {
		if strings.HasPrefix(line, "RUN ") && strings.Contains(line, "go build") {
			builds = append(builds, line)
		}
	}
	if len(builds) != 1 || !strings.Contains(builds[0], "CGO_ENABLED=0 go build") || !strings.Contains(builds[0], "-o /out/crm ./cmd/crm") {
		t.Errorf("the Dockerfile must have one RUN line 'CGO_ENABLED=0 go build … -o /out/crm ./cmd/crm' (.ci/run builds with it): %q", builds)
	}
	if !regexp.MustCompile(`HEALTHCHECK [^\n]*\\\n\s+CMD wget -q -O /dev/null http://127\.0\.0\.1:8000/readyz`).MatchString(dockerfile) {
		t.Error("the Dockerfile's HEALTHCHECK does not probe /readyz")
	}

	compose := readRepo(t, "docker-compose.yml")
	for _, want := range []string{`"http://127.0.0.1:8000/readyz"`, "CRM_ADMIN_USERNAME: ${CRM_ADMIN_USERNAME:-}",
		"CRM_ADMIN_PASSWORD: ${CRM_ADMIN_PASSWORD:-}", "CRM_METRICS_TOKEN: ${CRM_METRICS_TOKEN:-}"} {
		if !strings.Contains(compose, want) {
			t.Errorf("docker-compose.yml lacks %s", want)
		}
	}
	for _, f := range []string{"Dockerfile", "docker-compose.yml", "docker-compose.dev.yml", "docker-compose.vds.yml"} {
		if regexp.MustCompile(`:8000/healthz\b`).MatchString(readRepo(t, f)) {
			t.Errorf("%s still probes /healthz (readiness is /readyz)", f)
		}
	}
}

// The sample nginx site keeps the live stream and the phone's long-poll
// unbuffered with long timeouts, lets an import of the largest allowed
// size through, and forwards the client's address so it cannot be forged.
func TestNginxSample(t *testing.T) {
	conf := readRepo(t, "web/deploy/nginx/crm.conf")
	block := func(location string) string {
		t.Helper()
		i := strings.Index(conf, "location "+location+" {")
		if i < 0 {
			t.Fatalf("no location %s", location)
		}
		end := strings.Index(conf[i:], "}")
		return conf[i : i+end]
	}
	for _, loc := range []string{"/api/events/", "/api/phone/v1/commands"} {
		b := block(loc)
		if !strings.Contains(b, "proxy_buffering off;") || !regexp.MustCompile(`proxy_read_timeout (\d+m|1h);`).MatchString(b) {
			t.Errorf("location %s: %s", loc, b)
		}
	}
	if !strings.Contains(block("= /metrics"), "return 404;") {
		t.Error("/metrics is reachable through the proxy")
	}
	m := regexp.MustCompile(`client_max_body_size (\d+)m;`).FindStringSubmatch(conf)
	if m == nil {
		t.Fatal("no client_max_body_size")
	}
	c, err := config.Load(flag.NewFlagSet("t", flag.ContinueOnError), []string{"--env-file", filepath.Join(t.TempDir(), "none")},
		func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if mb, _ := strconv.Atoi(m[1]); int64(mb)<<20 <= c.ImportMaxBytes {
		t.Errorf("client_max_body_size %sm does not exceed the import limit of %d MB", m[1], c.ImportMaxBytes>>20)
	}
	for _, want := range []string{"proxy_set_header X-Forwarded-For   $remote_addr;", "proxy_set_header X-Forwarded-Proto $scheme;",
		"ssl_certificate ", "listen 443 ssl http2;"} {
		if !strings.Contains(conf, want) {
			t.Errorf("crm.conf lacks %q", want)
		}
	}
	// "http2 on;" is nginx 1.25.1+: Debian 12's nginx (1.22) refuses the
	// whole file (.ci/run runs nginx -t on it).
	if regexp.MustCompile(`(?m)^\s*http2\s+on;`).MatchString(conf) {
		t.Error("crm.conf uses 'http2 on;', which the nginx of Debian 12 and Ubuntu 24.04 does not know")
	}
	if regexp.MustCompile(`(?m)^\s*proxy_set_header\s+X-Forwarded-For\s+\$proxy_add_x_forwarded_for`).MatchString(conf) {
		t.Error("crm.conf appends to a client's X-Forwarded-For, which the CRM would believe")
	}
}
