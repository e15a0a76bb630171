package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/crmprofi/crm/internal/audit"
	"github.com/crmprofi/crm/internal/backup"
	"github.com/crmprofi/crm/internal/config"
	"github.com/crmprofi/crm/internal/database"
)

// auditChain walks the audit chain of a restored copy during verify
// (the same walk as crm audit verify).
func auditChain(ctx context.Context, db *database.DB) error {
	_, err := audit.Verify(ctx, db)
	return err
}

// configFlags are the flags config.Load adds; they must come before a
// command's file argument, since the configuration is resolved from the
// flags read up to it.
var configFlags = map[string]bool{
	"env-file": true, "database-url": true, "addr": true, "time-zone": true, "log-format": true, "production": true,
}

// loadWithFile resolves the configuration and returns the positional
// arguments; a command's own flags may also follow its file argument
// (crm backup FILE --verify).
func loadWithFile(env *environment, fs *flag.FlagSet, args []string) (config.Config, []string, error) {
	russianUsage(env, fs)
	cfg, err := config.Load(fs, args, env.getenv)
	if err != nil {
		return cfg, nil, err
	}
	early := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { early[f.Name] = true })
	var files []string
	rest := fs.Args()
	for len(rest) > 0 {
		if !strings.HasPrefix(rest[0], "-") {
			files, rest = append(files, rest[0]), rest[1:]
			continue
		}
		if err := fs.Parse(rest); err != nil {
			return cfg, nil, err
		}
		rest = fs.Args()
	}
	var late error
	fs.Visit(func(f *flag.Flag) {
		if configFlags[f.Name] && !early[f.Name] {
			late = fmt.Errorf("флаг -%s укажите перед именем файла", f.Name)
		}
	})
	return cfg, files, late
}

// cmdBackup is crm backup: one backup to a file, or a scheduled one into
// a folder (--dir); "crm backup verify FILE" proves an existing backup and
// "crm backup status" judges the folder's last backup.
func cmdBackup(ctx context.Context, env *environment, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "verify":
			return cmdBackupVerify(ctx, env, args[1:])
		case "status":
			return cmdBackupStatus(ctx, env, args[1:])
		}
	}
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	verify := fs.Bool("verify", false, "проверить копию сразу после записи: восстановить во временную базу и сравнить с описанием")
	dir := fs.String("dir", "", "папка для копий по расписанию: имя файла по времени, файл состояния backup-status.json (CRM_BACKUP_DIR)")
	keep := fs.Int("keep", 0, "с --dir: сколько последних копий хранить (0 — все)")
	cfg, files, err := loadWithFile(env, fs, args)
	if err != nil {
		return err
	}
	o := backupOptions(env)
	if *dir == "" && len(files) == 0 {
		*dir = cfg.BackupDir
	}
	if *dir != "" {
		if len(files) > 0 {
			return errors.New("укажите либо файл копии, либо --dir, не то и другое")
		}
		sc := backup.Scheduled{Dir: *dir, Keep: *keep, Verify: *verify, ServerURL: cfg.DatabaseURL}
		file, m, rep, err := sc.Run(ctx, func() (*database.DB, error) { return openExisting(ctx, cfg.DatabaseURL) }, o)
		if rep != nil {
			rep.Write(env.stdout)
		}
		if err != nil {
			fmt.Fprintf(env.stderr, "backup: FAILED: %v\n", err)
			return err
		}
		fmt.Fprintf(env.stdout, "backup: wrote %s (%s, %s)\n", file, size(m.File.Size), time.Duration(m.Took).Round(time.Millisecond))
		return nil
	}
	if len(files) != 1 {
		return errors.New("укажите один файл копии: crm backup [--verify] ФАЙЛ (или --dir ПАПКА)")
	}
	file := files[0]
	db, err := openExisting(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	m, err := backup.Create(ctx, db, file, o)
	if err != nil {
		return err
	}
	var rows int64
	for _, n := range m.Tables {
		rows += n
	}
	fmt.Fprintf(env.stdout, "Копия записана: %s (%s, %d таблиц, %d строк, схема %d, %s)\nОписание: %s\n",
		file, size(m.File.Size), len(m.Tables), rows, m.Schema, time.Duration(m.Took).Round(time.Millisecond), backup.ManifestPath(file))
	if !*verify {
		return nil
	}
	return verifyFile(ctx, env, file, cfg.DatabaseURL, o)
}

// openExisting opens the database to back up; a SQLite file that is not
// there is an error, not a new empty base to back up.
func openExisting(ctx context.Context, rawURL string) (*database.DB, error) {
	if p := backup.SQLitePath(rawURL); p != "" {
		if _, err := os.Stat(p); err != nil { //nolint:gosec // the operator's own database URL
			return nil, fmt.Errorf("базы %s нет: проверьте CRM_DATABASE_URL или --database-url", p)
		}
	}
	return database.Open(ctx, rawURL)
}

func backupOptions(env *environment) backup.Options {
	return backup.Options{PathEnv: env.getenv("PATH"), VerifyChain: auditChain}
}

// cmdBackupVerify is crm backup verify FILE.
func cmdBackupVerify(ctx context.Context, env *environment, args []string) error {
	fs := flag.NewFlagSet("backup verify", flag.ContinueOnError)
	cfg, files, err := loadWithFile(env, fs, args)
	if err != nil {
		return err
	}
	if len(files) != 1 {
		return errors.New("укажите один файл копии: crm backup verify ФАЙЛ")
	}
	return verifyFile(ctx, env, files[0], cfg.DatabaseURL, backupOptions(env))
}

func verifyFile(ctx context.Context, env *environment, file, serverURL string, o backup.Options) error {
	r, err := backup.Verify(ctx, file, serverURL, o)
	if err != nil {
		return err
	}
	r.Write(env.stdout)
	if !r.OK() {
		return fmt.Errorf("копия %s не прошла проверку", file)
	}
	return nil
}

// cmdBackupStatus is crm backup status: it prints the state of scheduled
// backups and fails when the last attempt failed or the last good backup
// is older than the allowed age — the backup service's health check.
func cmdBackupStatus(_ context.Context, env *environment, args []string) error {
	fs := flag.NewFlagSet("backup status", flag.ContinueOnError)
	dir := fs.String("dir", "", "папка копий по расписанию (CRM_BACKUP_DIR)")
	maxAge := fs.Duration("max-age", 0, "наибольший допустимый возраст последней хорошей копии (CRM_BACKUP_MAX_AGE, по умолчанию 26h)")
	cfg, files, err := loadWithFile(env, fs, args)
	if err != nil {
		return err
	}
	if len(files) > 0 {
		return errors.New("crm backup status не принимает файлов: укажите --dir")
	}
	path := cfg.BackupStatusFile
	if *dir != "" {
		path = filepath.Join(*dir, backup.StatusFileName)
	}
	if path == "" {
		return errors.New("резервные копии по расписанию не настроены: укажите --dir или CRM_BACKUP_DIR")
	}
	if *maxAge == 0 {
		*maxAge = cfg.BackupMaxAge
	}
	st, err := backup.ReadStatus(path)
	if err != nil {
		return fmt.Errorf("состояние копий: %w", err)
	}
	now := time.Now().UTC()
	if st.LastGood != nil {
		fmt.Fprintf(env.stdout, "Последняя хорошая копия: %s, %s назад (%s, проверена: %s)\n",
			st.LastGood.File, backup.Age(now, st.LastGood.At), size(st.LastGood.Size), yesNo(st.LastGood.Verified))
	}
	if err := st.Check(now, *maxAge); err != nil {
		fmt.Fprintf(env.stdout, "backup: FAILED: %v\n", err)
		return err
	}
	fmt.Fprintln(env.stdout, "backup: ok")
	return nil
}

// cmdRestore is crm restore FILE: the backup into the empty database of
// CRM_DATABASE_URL, brought up to this binary's schema (a backup made by
// an older version is migrated as crm serve would; one made by a newer
// version is refused before anything is written).
func cmdRestore(ctx context.Context, env *environment, args []string) error {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	cfg, files, err := loadWithFile(env, fs, args)
	if err != nil {
		return err
	}
	if len(files) != 1 {
		return errors.New("укажите один файл копии: crm restore ФАЙЛ")
	}
	r, err := backup.Restore(ctx, cfg.DatabaseURL, files[0], backupOptions(env))
	if err != nil {
		return err
	}
	if r.From < r.Latest {
		fmt.Fprintf(env.stdout, "Копия %s восстановлена. Она сделана более старой версией CRM (схема версии %d); схема обновлена до версии %d этой версии CRM (применено миграций: %d), база готова к запуску.\n",
			files[0], r.From, r.Current, r.Migrated)
		return nil
	}
	fmt.Fprintf(env.stdout, "Копия %s восстановлена; схема базы: версия %d из %d\n", files[0], r.Current, r.Latest)
	return nil
}

func size(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f ГБ", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f МБ", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f КБ", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d байт", n)
}

func yesNo(b bool) string {
	if b {
		return "да"
	}
	return "нет"
}
