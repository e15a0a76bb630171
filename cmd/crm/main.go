// Command crm is CRM ПРОФИ: the web application, its migrations and its
// administrative commands in one binary.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"unicode"
	"unicode/utf8"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "crm:", err)
		os.Exit(1)
	}
}

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// command is one subcommand of the binary.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env *environment, args []string) error
}

// environment is what run hands to a subcommand, so tests can call run
// with their own streams and variables.
type environment struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

func commands() []command {
	return []command{
		{"serve", "запустить веб-сервер (по умолчанию)", cmdServe},
		{"migrate", "применить миграции базы данных", cmdMigrate},
		{"createsuperuser", "создать администратора", cmdCreateSuperuser},
		{"import-amo", "импорт выгрузки amoCRM (CSV или XLSX): --csv ФАЙЛ [--dry-run] [--report ОТЧЁТ.csv]", cmdImportAmo},
		{"audit", "журнал аудита: verify — проверить цепочку хешей (код выхода 1 и номер записи, если она нарушена)", cmdAudit},
		{"backup", "резервная копия базы на ходу: crm backup [--verify] ФАЙЛ; crm backup verify ФАЙЛ; crm backup status", cmdBackup},
		{"restore", "восстановить резервную копию в пустую базу: crm restore ФАЙЛ", cmdRestore},
		{"demo", "заполнить базу реалистичными демонстрационными данными", cmdDemo},
		{"bench", "загрузить большой объём данных и измерить скорость страниц", cmdBench},
		{"amo-generate", "записать реалистичную выгрузку amoCRM (CSV или .xlsx) для тестов и замеров импорта", cmdAmoGenerate},
		{"bench-import", "замерить импорт выгрузки amoCRM: строк/с и пик памяти, проверка и импорт, пустая и полная база", cmdBenchImport},
		{"export-companies", "выгрузить компании с контактами в файл CSV или XLSX: --format csv|xlsx --out ФАЙЛ", cmdExportCompanies},
		{"bench-export", "замерить выгрузку базы: строк/с и пик памяти, CSV и XLSX", cmdBenchExport},
		{"loadtest", "нагрузочный тест: много клиентов сразу, запр/с и задержки (только loopback)", cmdLoadtest},
		{"version", "показать версию", cmdVersion},
		{"help", "показать эту справку", cmdHelp},
	}
}

// run dispatches to a subcommand; with no arguments it serves.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	env := &environment{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	name := "serve"
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		name, args = args[0], args[1:]
	}
	if name == "-h" || name == "--help" {
		name = "help"
	}
	for _, c := range commands() {
		if c.name == name {
			err := c.run(ctx, env, args)
			if errors.Is(err, flag.ErrHelp) {
				return nil // -h: the usage is printed, nothing failed
			}
			return err
		}
	}
	_ = cmdHelp(ctx, env, nil)
	return fmt.Errorf("unknown command %q", name)
}

func cmdVersion(_ context.Context, env *environment, args []string) error {
	if err := noFlags(env, "version", args); err != nil {
		return err
	}
	_, err := fmt.Fprintln(env.stdout, "crm", version)
	return err
}

// cmdHelp lists the commands; "crm help demo" shows the usage of one, the
// same as "crm demo -h".
func cmdHelp(ctx context.Context, env *environment, args []string) error {
	for _, c := range commands() {
		if len(args) > 0 && args[0] == c.name && c.name != "help" {
			return c.run(ctx, env, []string{"-h"})
		}
	}
	fmt.Fprintln(env.stdout, "CRM ПРОФИ — использование: crm [команда] [флаги]")
	fmt.Fprintln(env.stdout)
	for _, c := range commands() {
		fmt.Fprintf(env.stdout, "  %-16s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(env.stdout)
	fmt.Fprintln(env.stdout, "Флаги команды: crm <команда> -h. Настройки: переменные CRM_* или файл .env (см. env.example).")
	return nil
}

// noFlags parses the arguments of a command that takes none, so that -h
// works for it as for every other command.
func noFlags(env *environment, name string, args []string) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	russianUsage(env, fs)
	return fs.Parse(args)
}

// russianUsage makes fs print its usage in Russian, like crm help: to
// stdout when asked for with -h (run then ends without an error), to
// stderr after a bad flag. The flag package's own English message about a
// bad flag is dropped: run returns that error and main prints it once.
func russianUsage(env *environment, fs *flag.FlagSet) {
	var flagErr bytes.Buffer
	fs.SetOutput(&flagErr)
	fs.Usage = func() {
		w := env.stdout
		if flagErr.Len() > 0 {
			w = env.stderr
		}
		printUsage(w, fs)
	}
}

// printUsage writes a command's synopsis, summary and flags.
func printUsage(w io.Writer, fs *flag.FlagSet) {
	var b strings.Builder
	b.WriteString("Использование: crm " + fs.Name() + " [флаги]\n")
	for _, c := range commands() {
		if c.name == fs.Name() {
			r, size := utf8.DecodeRuneInString(c.summary)
			b.WriteString("\n" + string(unicode.ToUpper(r)) + c.summary[size:] + ".\n")
		}
	}
	n := 0
	fs.VisitAll(func(f *flag.Flag) {
		if n++; n == 1 {
			b.WriteString("\nФлаги:\n")
		}
		kind, usage := flag.UnquoteUsage(f)
		b.WriteString("  -" + f.Name)
		if v := valueNames[kind]; v != "" {
			b.WriteString(" " + v)
		} else if kind != "" {
			b.WriteString(" " + kind)
		}
		b.WriteString("\n      " + usage)
		switch f.DefValue {
		case "", "0", "false", "0s":
		default:
			b.WriteString(" (по умолчанию " + f.DefValue + ")")
		}
		b.WriteString("\n")
	})
	if n == 0 {
		b.WriteString("\nФлагов нет.\n")
	}
	_, _ = io.WriteString(w, b.String())
}

// valueNames are the Russian names of the flag package's value kinds.
var valueNames = map[string]string{
	"int": "число", "uint": "число", "float": "число",
	"string": "строка", "duration": "длительность", "value": "значение",
}
