package config

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func load(t *testing.T, args []string, env map[string]string) (Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	if len(args) == 0 || !strings.HasPrefix(strings.Join(args, " "), "--env-file") {
		args = append([]string{"--env-file", filepath.Join(t.TempDir(), "none.env")}, args...)
	}
	return Load(fs, args, func(k string) string { return env[k] })
}

func TestAFreshMachineGetsWorkingDefaults(t *testing.T) {
	c, err := load(t, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.DatabaseURL != DefaultDatabaseURL || c.Addr != DefaultAddr || c.TimeZone != "Europe/Moscow" || c.LogFormat != "text" {
		t.Fatalf("defaults: %+v", c)
	}
	if c.SessionTTL != 14*24*time.Hour || c.AccessTokenTTL != 15*time.Minute || c.Location.String() != "Europe/Moscow" {
		t.Fatalf("durations and zone: %+v", c)
	}
}

func TestFlagsBeatTheEnvironmentWhichBeatsTheDotEnvFile(t *testing.T) {
	dir := t.TempDir()
	dotenv := filepath.Join(dir, ".env")
	content := "# comment\nCRM_ADDR=0.0.0.0:9000\nexport CRM_TIME_ZONE=\"Asia/Novosibirsk\"\nCRM_LOG_FORMAT=json\n"
	if err := os.WriteFile(dotenv, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := load(t, []string{"--env-file", dotenv, "--log-format", "text"}, map[string]string{"CRM_ADDR": "127.0.0.1:7000"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:7000" || c.TimeZone != "Asia/Novosibirsk" || c.LogFormat != "text" {
		t.Fatalf("precedence: addr %q zone %q format %q", c.Addr, c.TimeZone, c.LogFormat)
	}
}

func TestBadSettingsAreNamed(t *testing.T) {
	_, err := load(t, nil, map[string]string{"CRM_TIME_ZONE": "Moscow", "CRM_LOG_FORMAT": "xml", "CRM_SESSION_TTL": "-1h", "CRM_PRODUCTION": "maybe"})
	if err == nil {
		t.Fatal("bad settings were accepted")
	}
	for _, key := range []string{"CRM_TIME_ZONE", "CRM_LOG_FORMAT", "CRM_SESSION_TTL", "CRM_PRODUCTION"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("error does not name %s: %v", key, err)
		}
	}
}

func TestASecretIsGeneratedOnceBesideTheDatabaseAndRequiredInProduction(t *testing.T) {
	dir := t.TempDir()
	c := Config{DatabaseURL: "sqlite:" + filepath.Join(dir, "crm.db")}
	if err := c.EnsureSecret(); err != nil {
		t.Fatal(err)
	}
	if !c.GeneratedSecret || len(c.SecretKey) < 32 || c.SecretKeyFile != filepath.Join(dir, "secret.key") {
		t.Fatalf("first run: %+v", c)
	}
	again := Config{DatabaseURL: c.DatabaseURL}
	if err := again.EnsureSecret(); err != nil {
		t.Fatal(err)
	}
	if again.GeneratedSecret || again.SecretKey != c.SecretKey {
		t.Fatalf("second run made a new key")
	}
	prod := Config{DatabaseURL: c.DatabaseURL, Production: true}
	if err := prod.EnsureSecret(); err == nil || !strings.Contains(err.Error(), "CRM_SECRET_KEY") {
		t.Fatalf("production without a key: %v", err)
	}
	short := Config{SecretKey: "short"}
	if err := short.EnsureSecret(); err == nil {
		t.Fatal("a short key was accepted")
	}
}

func TestTheRequestQueueIsConfigured(t *testing.T) {
	c, err := load(t, nil, map[string]string{"CRM_MAX_ACTIVE_REQUESTS": "6", "CRM_MAX_QUEUED_REQUESTS": "50", "CRM_QUEUE_TIMEOUT": "3s"})
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxActiveRequests != 6 || c.MaxQueuedRequests != 50 || c.QueueTimeout != 3*time.Second {
		t.Fatalf("queue settings: %d, %d, %s", c.MaxActiveRequests, c.MaxQueuedRequests, c.QueueTimeout)
	}
	if c, _ := load(t, nil, nil); c.MaxActiveRequests != 0 || c.MaxQueuedRequests != 1000 || c.QueueTimeout != 10*time.Second {
		t.Fatalf("queue defaults: %d, %d, %s", c.MaxActiveRequests, c.MaxQueuedRequests, c.QueueTimeout)
	}
	_, err = load(t, nil, map[string]string{"CRM_MAX_ACTIVE_REQUESTS": "0", "CRM_MAX_QUEUED_REQUESTS": "many", "CRM_QUEUE_TIMEOUT": "0s"})
	for _, key := range []string{"CRM_MAX_ACTIVE_REQUESTS", "CRM_MAX_QUEUED_REQUESTS", "CRM_QUEUE_TIMEOUT"} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("error does not name %s: %v", key, err)
		}
	}
}
