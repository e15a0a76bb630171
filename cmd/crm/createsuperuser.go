package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/auth"
	"github.com/crmprofi/crm/internal/config"
	"github.com/crmprofi/crm/internal/database"
)

// cmdCreateSuperuser creates an administrator from flags, asking in the
// terminal for whatever was not given.
func cmdCreateSuperuser(ctx context.Context, env *environment, args []string) error {
	fs := flag.NewFlagSet("createsuperuser", flag.ContinueOnError)
	username := fs.String("username", "", "логин администратора")
	password := fs.String("password", "", "пароль (не короче 8 символов)")
	firstName := fs.String("first-name", "", "имя")
	lastName := fs.String("last-name", "", "фамилия")
	email := fs.String("email", "", "электронная почта (необязательно)")
	_, _, db, err := setup(ctx, env, fs, args)
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()

	fields := []struct {
		value  *string
		flag   string
		prompt string
	}{
		{username, "--username", "Логин"},
		{firstName, "--first-name", "Имя"},
		{lastName, "--last-name", "Фамилия"},
		{password, "--password", "Пароль (будет виден при вводе)"},
	}
	if isTerminal(env.stdin) {
		in := bufio.NewReader(env.stdin)
		for _, f := range fields {
			for strings.TrimSpace(*f.value) == "" {
				fmt.Fprintf(env.stdout, "%s: ", f.prompt)
				line, err := in.ReadString('\n')
				*f.value = strings.TrimRight(line, "\r\n")
				if err != nil {
					if errors.Is(err, io.EOF) && *f.value != "" {
						break
					}
					return fmt.Errorf("не удалось прочитать %s: %w", strings.ToLower(f.prompt), err)
				}
			}
		}
	}
	var missing []string
	for _, f := range fields {
		if strings.TrimSpace(*f.value) == "" {
			missing = append(missing, f.flag)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("не указаны %s (или запустите команду в терминале, чтобы ввести их)", strings.Join(missing, ", "))
	}
	u, err := auth.NewStore(db).CreateAdmin(ctx, auth.UserInput{
		Username: username, FirstName: firstName, LastName: lastName, Email: email, Password: password,
	})
	if err != nil {
		return describeInvalid(err)
	}
	_, err = fmt.Fprintf(env.stdout, "Администратор %s создан\n", u.Username)
	return err
}

// describeInvalid turns field messages into one readable error for the terminal.
func describeInvalid(err error) error {
	inv, ok := apperr.AsInvalid(err)
	if !ok {
		return err
	}
	names := map[string]string{ //nolint:gosec // field labels, not credentials
		"username": "логин", "first_name": "имя", "last_name": "фамилия", "email": "почта", "password": "пароль"}
	keys := make([]string, 0, len(inv))
	for k := range inv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		name := names[k]
		if name == "" {
			name = k
		}
		parts = append(parts, name+": "+inv[k])
	}
	return errors.New(strings.Join(parts, "; "))
}

// isTerminal reports whether r is an interactive terminal, where asking
// questions makes sense.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// siteURL is the address to open in a browser: the public one when
// configured, else the listen address.
func siteURL(cfg config.Config) string {
	if cfg.BaseURL != "" {
		return cfg.BaseURL + "/"
	}
	return "http://" + cfg.Addr + "/"
}

// ensureFirstAdmin makes the first administrator of an empty database with
// a random password and prints, once, how to sign in. Without it a fresh
// install would have no way in but the createsuperuser command.
func ensureFirstAdmin(ctx context.Context, env *environment, db *database.DB, url string) error {
	store := auth.NewStore(db)
	n, err := store.Count(ctx)
	if err != nil || n > 0 {
		return err
	}
	password := randomPassword(12)
	username, first, last := "admin", "Администратор", "Системы"
	if _, err := store.CreateAdmin(ctx, auth.UserInput{Username: &username, FirstName: &first, LastName: &last, Password: &password}); err != nil {
		return fmt.Errorf("create the first administrator: %w", err)
	}
	lines := []string{
		"CRM ПРОФИ готова к работе. Первый вход:",
		"",
		"  Адрес:  " + url,
		"  Логин:  " + username,
		"  Пароль: " + password,
		"",
		"Пароль показан один раз — смените пароль в профиле после входа.",
	}
	width := 0
	for _, l := range lines {
		width = max(width, len([]rune(l)))
	}
	var b strings.Builder
	b.WriteString("\n╔" + strings.Repeat("═", width+2) + "╗\n")
	for _, l := range lines {
		b.WriteString("║ " + l + strings.Repeat(" ", width-len([]rune(l))) + " ║\n")
	}
	b.WriteString("╚" + strings.Repeat("═", width+2) + "╝\n\n")
	_, err = io.WriteString(env.stdout, b.String())
	return err
}

// ensureConfiguredAdmin creates the administrator named by
// CRM_ADMIN_USERNAME / CRM_ADMIN_PASSWORD when the database has no users,
// and does nothing otherwise: an existing user, even one of that login,
// is never changed (the password may have been changed since). Two
// processes starting at once race harmlessly: the loser finds a user.
func ensureConfiguredAdmin(ctx context.Context, env *environment, cfg config.Config, db *database.DB) error {
	store := auth.NewStore(db)
	n, err := store.Count(ctx)
	if err != nil || n > 0 {
		return err
	}
	username, password := cfg.AdminUsername, cfg.AdminPassword
	first, last := cfg.AdminFirstName, cfg.AdminLastName
	if first == "" && last == "" {
		first, last = "Администратор", "Системы"
	}
	u, err := store.CreateAdmin(ctx, auth.UserInput{Username: &username, FirstName: &first, LastName: &last, Password: &password})
	if err != nil {
		if n, cerr := store.Count(ctx); cerr == nil && n > 0 {
			return nil // another process created the first user meanwhile
		}
		return fmt.Errorf("CRM_ADMIN_USERNAME / CRM_ADMIN_PASSWORD: %w", describeInvalid(err))
	}
	_, err = fmt.Fprintf(env.stdout, "Создан первый администратор %s (из CRM_ADMIN_USERNAME); войдите на %s\n", u.Username, siteURL(cfg))
	return err
}

// passwordAlphabet leaves out look-alikes (0/O, 1/l/I) so the password can
// be read off a screen and typed.
const passwordAlphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"

func randomPassword(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = passwordAlphabet[randIntn(len(passwordAlphabet))]
	}
	return string(b)
}

// randIntn is a uniform crypto-random number in [0, n), n < 256.
func randIntn(n int) int {
	limit := 256 - 256%n
	var c [1]byte
	for {
		_, _ = rand.Read(c[:])
		if int(c[0]) < limit {
			return int(c[0]) % n
		}
	}
}
