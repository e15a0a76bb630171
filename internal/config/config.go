// Package config reads the settings of the crm binary from flags, CRM_*
// environment variables and an optional .env file, in that order of
// precedence, and fills sensible defaults for a first run on a laptop.
package config

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Defaults for a fresh machine.
const (
	DefaultDatabaseURL = "sqlite:data/crm.db"
	DefaultAddr        = "127.0.0.1:8000"
	DefaultTimeZone    = "Europe/Moscow"
)

// Config is every setting of the binary. The env.example file documents
// each key; keep the two in step.
type Config struct {
	DatabaseURL     string // CRM_DATABASE_URL
	Addr            string // CRM_ADDR
	BaseURL         string // CRM_BASE_URL: public address, for links and QR codes
	SecretKey       string // CRM_SECRET_KEY: signs tokens
	SecretKeyFile   string // where a generated key was stored, if it was
	Production      bool   // CRM_PRODUCTION
	TimeZone        string // CRM_TIME_ZONE: default IANA zone
	Location        *time.Location
	LogFormat       string        // CRM_LOG_FORMAT: text or json
	LogLevel        string        // CRM_LOG_LEVEL: debug, info, warn, error
	TrustProxy      bool          // CRM_TRUST_PROXY: believe X-Forwarded-For/Proto
	SessionTTL      time.Duration // CRM_SESSION_TTL
	AccessTokenTTL  time.Duration // CRM_ACCESS_TOKEN_TTL
	RefreshTokenTTL time.Duration // CRM_REFRESH_TOKEN_TTL
	// ImportMaxBytes bounds an uploaded amoCRM export (CRM_IMPORT_MAX_MB,
	// in megabytes; 200 by default): a larger upload is refused with 413.
	ImportMaxBytes int64
	// ExportJobRows is the size above which an export of the base runs as
	// a background job with a progress bar instead of streaming into the
	// response (CRM_EXPORT_JOB_ROWS; 20,000 companies by default).
	ExportJobRows int
	// ExportDir keeps the files of export jobs for a day
	// (CRM_EXPORT_DIR; crm-exports in the system's temporary folder).
	ExportDir string
	// JobRescueAfter is how long a background job may run before it counts
	// as abandoned by a process that died, and is worked again
	// (CRM_JOB_RESCUE_AFTER; 1h by default).
	JobRescueAfter time.Duration
	// ImportTimeout bounds one run of an amoCRM import, and is how long
	// an import whose process died waits before another process runs it
	// again (CRM_IMPORT_TIMEOUT; 50m by default).
	ImportTimeout time.Duration
	// MetricsToken lets a Prometheus scraper that is not on this machine
	// read /metrics with Authorization: Bearer <token> (CRM_METRICS_TOKEN;
	// empty: loopback only).
	MetricsToken string
	// The first administrator, created by `crm serve` when the database
	// has no users (CRM_ADMIN_USERNAME, CRM_ADMIN_PASSWORD,
	// CRM_ADMIN_FIRST_NAME, CRM_ADMIN_LAST_NAME); never used to change an
	// existing user.
	AdminUsername, AdminPassword, AdminFirstName, AdminLastName string
	// PhoneCallTTL is how long a call request to a phone stays open
	// (CRM_PHONE_CALL_TTL; 2m by default); PhonePairingTTL how long a
	// pairing QR code, and then its confirmation, is valid
	// (CRM_PHONE_PAIRING_TTL; 5m).
	PhoneCallTTL    time.Duration
	PhonePairingTTL time.Duration
	// FCMCredentials is the path of the Firebase service-account key that
	// pushes call requests to the phones through FCM
	// (CRM_FCM_CREDENTIALS; empty: no FCM, the phones long-poll only).
	// FCMEndpoint replaces FCM's endpoint (CRM_FCM_ENDPOINT; tests and
	// the simulator's fake FCM).
	FCMCredentials string
	FCMEndpoint    string
	// BackupStatusFile is the status file of scheduled backups
	// (CRM_BACKUP_STATUS_FILE, or backup-status.json in CRM_BACKUP_DIR);
	// empty when backups are not configured. /readyz reports the age of
	// the last good backup from it.
	BackupStatusFile string
	// BackupDir is the folder of scheduled backups (CRM_BACKUP_DIR).
	BackupDir string
	// BackupMaxAge is how old the last good backup may be before it is
	// reported stale (CRM_BACKUP_MAX_AGE; 26h by default: a daily backup
	// with two hours' slack).
	BackupMaxAge time.Duration
	// MaxActiveRequests is how many requests are served at once; the
	// others wait in line (CRM_MAX_ACTIVE_REQUESTS; 0: four per core).
	// MaxQueuedRequests bounds that line (CRM_MAX_QUEUED_REQUESTS; 1000),
	// and QueueTimeout how long a request may wait in it before it is
	// refused with 503 (CRM_QUEUE_TIMEOUT; 10s).
	MaxActiveRequests int
	MaxQueuedRequests int
	QueueTimeout      time.Duration
	// GeneratedSecret is true when the key was created on this run.
	GeneratedSecret bool
}

// Load registers the common flags on fs (which may already hold a
// subcommand's own flags), parses args and resolves the result against the
// environment (getenv) and the .env file named by --env-file (default
// ".env", optional).
func Load(fs *flag.FlagSet, args []string, getenv func(string) string) (Config, error) {
	var c Config
	envFile := fs.String("env-file", ".env", "файл с настройками CRM_*, если он есть")
	dbURL := fs.String("database-url", "", "адрес базы данных: sqlite:путь/к/файлу.db или postgres://… (CRM_DATABASE_URL)")
	addr := fs.String("addr", "", "адрес, на котором слушать (CRM_ADDR, по умолчанию "+DefaultAddr+")")
	tz := fs.String("time-zone", "", "часовой пояс IANA по умолчанию (CRM_TIME_ZONE, по умолчанию "+DefaultTimeZone+")")
	logFormat := fs.String("log-format", "", "формат журнала: text или json (CRM_LOG_FORMAT)")
	production := fs.Bool("production", false, "рабочий режим: обязателен секретный ключ (CRM_PRODUCTION)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	env, err := withDotEnv(*envFile, getenv)
	if err != nil {
		return c, err
	}
	pick := func(flagValue, key, def string) string {
		if flagValue != "" {
			return flagValue
		}
		if v := env(key); v != "" {
			return v
		}
		return def
	}
	c.DatabaseURL = pick(*dbURL, "CRM_DATABASE_URL", DefaultDatabaseURL)
	c.Addr = pick(*addr, "CRM_ADDR", DefaultAddr)
	c.BaseURL = strings.TrimRight(env("CRM_BASE_URL"), "/")
	c.TimeZone = pick(*tz, "CRM_TIME_ZONE", DefaultTimeZone)
	c.LogFormat = pick(*logFormat, "CRM_LOG_FORMAT", "text")
	c.LogLevel = pick("", "CRM_LOG_LEVEL", "info")
	c.SecretKey = env("CRM_SECRET_KEY")
	c.MetricsToken = strings.TrimSpace(env("CRM_METRICS_TOKEN"))
	c.AdminUsername = strings.TrimSpace(env("CRM_ADMIN_USERNAME"))
	c.AdminPassword = env("CRM_ADMIN_PASSWORD")
	c.AdminFirstName = strings.TrimSpace(env("CRM_ADMIN_FIRST_NAME"))
	c.AdminLastName = strings.TrimSpace(env("CRM_ADMIN_LAST_NAME"))

	var errs []error
	if c.Production, err = boolValue(*production, env("CRM_PRODUCTION")); err != nil {
		errs = append(errs, fmt.Errorf("CRM_PRODUCTION: %w", err))
	}
	if c.TrustProxy, err = boolValue(false, env("CRM_TRUST_PROXY")); err != nil {
		errs = append(errs, fmt.Errorf("CRM_TRUST_PROXY: %w", err))
	}
	c.SessionTTL = duration(env, "CRM_SESSION_TTL", 14*24*time.Hour, &errs)
	c.AccessTokenTTL = duration(env, "CRM_ACCESS_TOKEN_TTL", 15*time.Minute, &errs)
	c.RefreshTokenTTL = duration(env, "CRM_REFRESH_TOKEN_TTL", 7*24*time.Hour, &errs)
	c.JobRescueAfter = duration(env, "CRM_JOB_RESCUE_AFTER", time.Hour, &errs)
	c.ImportTimeout = duration(env, "CRM_IMPORT_TIMEOUT", 50*time.Minute, &errs)
	c.PhoneCallTTL = duration(env, "CRM_PHONE_CALL_TTL", 2*time.Minute, &errs)
	c.PhonePairingTTL = duration(env, "CRM_PHONE_PAIRING_TTL", 5*time.Minute, &errs)
	c.FCMCredentials = env("CRM_FCM_CREDENTIALS")
	c.FCMEndpoint = env("CRM_FCM_ENDPOINT")
	c.BackupDir = env("CRM_BACKUP_DIR")
	c.BackupStatusFile = env("CRM_BACKUP_STATUS_FILE")
	if c.BackupStatusFile == "" && c.BackupDir != "" {
		c.BackupStatusFile = filepath.Join(c.BackupDir, "backup-status.json")
	}
	c.BackupMaxAge = duration(env, "CRM_BACKUP_MAX_AGE", 26*time.Hour, &errs)
	c.ImportMaxBytes = 200 << 20
	if v := env("CRM_IMPORT_MAX_MB"); v != "" {
		if mb, err := strconv.ParseInt(v, 10, 64); err != nil || mb <= 0 || mb > 1<<20 {
			errs = append(errs, fmt.Errorf("CRM_IMPORT_MAX_MB: %q is not a positive number of megabytes", v))
		} else {
			c.ImportMaxBytes = mb << 20
		}
	}
	c.ExportJobRows = 20_000
	if v := env("CRM_EXPORT_JOB_ROWS"); v != "" {
		if n, err := strconv.Atoi(v); err != nil || n <= 0 {
			errs = append(errs, fmt.Errorf("CRM_EXPORT_JOB_ROWS: %q is not a positive number of rows", v))
		} else {
			c.ExportJobRows = n
		}
	}
	c.MaxActiveRequests = positiveInt(env, "CRM_MAX_ACTIVE_REQUESTS", 0, 10_000, &errs)
	c.MaxQueuedRequests = positiveInt(env, "CRM_MAX_QUEUED_REQUESTS", 1000, 1_000_000, &errs)
	c.QueueTimeout = duration(env, "CRM_QUEUE_TIMEOUT", 10*time.Second, &errs)
	c.ExportDir = env("CRM_EXPORT_DIR")
	if c.ExportDir == "" {
		c.ExportDir = filepath.Join(os.TempDir(), "crm-exports")
	}
	if c.Location, err = time.LoadLocation(c.TimeZone); err != nil {
		errs = append(errs, fmt.Errorf("CRM_TIME_ZONE %q is not an IANA time zone", c.TimeZone))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("CRM_LOG_FORMAT must be text or json, not %q", c.LogFormat))
	}
	if c.MetricsToken != "" && len(c.MetricsToken) < 16 {
		errs = append(errs, errors.New("CRM_METRICS_TOKEN must be at least 16 characters (generate one with: openssl rand -hex 24)"))
	}
	if (c.AdminUsername == "") != (c.AdminPassword == "") {
		errs = append(errs, errors.New("CRM_ADMIN_USERNAME and CRM_ADMIN_PASSWORD go together: set both or neither"))
	}
	if len(errs) > 0 {
		return c, errors.Join(errs...)
	}
	return c, nil
}

// EnsureSecret makes sure the config has a secret key. In production a
// missing key is an error; otherwise a key is read from, or generated into,
// secret.key beside the SQLite file (or under ./data for PostgreSQL).
func (c *Config) EnsureSecret() error {
	if c.SecretKey != "" {
		if len(c.SecretKey) < 32 {
			return errors.New("CRM_SECRET_KEY must be at least 32 characters")
		}
		return nil
	}
	if c.Production {
		return errors.New("CRM_SECRET_KEY is required in production mode (generate one with: openssl rand -hex 32)")
	}
	dir := "data"
	if p, ok := strings.CutPrefix(c.DatabaseURL, "sqlite:"); ok {
		dir = filepath.Dir(strings.TrimPrefix(p, "//"))
	}
	path := filepath.Join(dir, "secret.key")
	c.SecretKeyFile = path
	if b, err := os.ReadFile(path); err == nil { //nolint:gosec // the path is derived from the operator's own database URL
		c.SecretKey = strings.TrimSpace(string(b))
		if len(c.SecretKey) >= 32 {
			return nil
		}
		return fmt.Errorf("%s holds a key shorter than 32 characters", path)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("read secret key: %w", err)
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	c.SecretKey = hex.EncodeToString(b)
	if err := os.WriteFile(path, []byte(c.SecretKey+"\n"), 0o600); err != nil {
		return fmt.Errorf("store secret key: %w", err)
	}
	c.GeneratedSecret = true
	return nil
}

// withDotEnv returns a getenv that falls back to the KEY=VALUE lines of
// path. A missing file is fine; a malformed line is an error naming it.
func withDotEnv(path string, getenv func(string) string) (func(string) string, error) {
	values := map[string]string{}
	f, err := os.Open(path) //nolint:gosec // the operator names the file
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("read %s: %w", path, err)
	default:
		defer func() { _ = f.Close() }()
		sc := bufio.NewScanner(f)
		for n := 1; sc.Scan(); n++ {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			key, value, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
			if !ok {
				return nil, fmt.Errorf("%s:%d: expected KEY=VALUE", path, n)
			}
			value = strings.TrimSpace(value)
			if len(value) >= 2 && (value[0] == '"' || value[0] == '\'') && value[len(value)-1] == value[0] {
				value = value[1 : len(value)-1]
			}
			values[strings.TrimSpace(key)] = value
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
	}
	return func(key string) string {
		if v := getenv(key); v != "" {
			return v
		}
		return values[key]
	}, nil
}

func boolValue(flagValue bool, s string) (bool, error) {
	if flagValue || s == "" {
		return flagValue, nil
	}
	return strconv.ParseBool(s)
}

func duration(env func(string) string, key string, def time.Duration, errs *[]error) time.Duration {
	s := env(key)
	if s == "" {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		*errs = append(*errs, fmt.Errorf("%s: %q is not a positive duration (like 15m or 168h)", key, s))
		return def
	}
	return d
}

// positiveInt reads a whole number from 1 to most, or def when unset.
func positiveInt(env func(string) string, key string, def, most int, errs *[]error) int {
	s := env(key)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 || n > most {
		*errs = append(*errs, fmt.Errorf("%s: %q is not a whole number from 1 to %d", key, s, most))
		return def
	}
	return n
}
