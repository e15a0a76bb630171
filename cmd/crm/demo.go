package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"text/tabwriter"

	"github.com/crmprofi/crm/internal/auth"
	"github.com/crmprofi/crm/internal/demo"
	"github.com/crmprofi/crm/internal/progress"
)

// cmdDemo fills the database with a realistic demo base: three branches,
// 35 users of every role, companies with contacts and notes. Run again, it
// only tops the base up to the requested volume.
func cmdDemo(ctx context.Context, env *environment, args []string) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	companies := fs.Int("companies", 2000, "сколько компаний должно быть в базе")
	contacts := fs.Int("contacts", 4000, "сколько контактов должно быть в базе")
	notes := fs.Float64("notes-per-company", 3, "заметок на компанию в среднем")
	password := fs.String("password", "demo-пароль", "пароль каждого демо-пользователя")
	tasks := fs.Int("tasks-per-user", 40, "задач на каждого демо-пользователя (рабочий стол); 0 — без задач")
	_, _, db, err := setup(ctx, env, fs, args)
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	if msg := auth.ValidatePassword(*password, "demo-admin"); msg != "" {
		return errors.New(msg)
	}
	sum, err := demo.Load(ctx, db, demo.Options{
		Companies: *companies, Contacts: *contacts, NotesPerCompany: *notes, TasksPerUser: *tasks,
		Seed: 1, Password: *password, Progress: progress.Terminal(env.stdout),
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "\nДемо-база готова: %d компаний, %d контактов, %d заметок, %d задач.\n", sum.Companies, sum.Contacts, sum.Notes, sum.Tasks)
	fmt.Fprintf(env.stdout, "Пароль каждого демо-пользователя: %s\n\n", *password)
	tw := tabwriter.NewWriter(env.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "Логин\tИмя\tРоль\tВидит")
	for _, u := range sum.Users {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.Username, u.FullName, u.Role, u.Scope)
	}
	return tw.Flush()
}
