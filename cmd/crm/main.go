// Command crm is CRM ПРОФИ: the web application, its migrations and its
// administrative commands in one binary.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
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
		{"demo", "заполнить базу реалистичными демонстрационными данными", cmdDemo},
		{"bench", "загрузить большой объём данных и измерить скорость страниц", cmdBench},
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
			return c.run(ctx, env, args)
		}
	}
	_ = cmdHelp(ctx, env, nil)
	return fmt.Errorf("unknown command %q", name)
}

func cmdVersion(_ context.Context, env *environment, _ []string) error {
	_, err := fmt.Fprintln(env.stdout, "crm", version)
	return err
}

func cmdHelp(_ context.Context, env *environment, _ []string) error {
	fmt.Fprintln(env.stdout, "CRM ПРОФИ — использование: crm [команда] [флаги]")
	fmt.Fprintln(env.stdout)
	for _, c := range commands() {
		fmt.Fprintf(env.stdout, "  %-16s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(env.stdout)
	fmt.Fprintln(env.stdout, "Флаги команды: crm <команда> -h. Настройки: переменные CRM_* или файл .env (см. env.example).")
	return nil
}
