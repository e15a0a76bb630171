package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/crmprofi/crm/internal/audit"
)

// cmdAudit is `crm audit verify`: walks every lane of the audit log's
// hash chain from the first entry to the last and prints OK with the
// count, or the first broken link (the entry's id, its lane and number
// there, the hash expected and the one found) and
// fails, so that a script or a cron job sees exit status 1. Entries
// written before the chain existed are hashed first, once (audit.Seal).
// The result is kept for the admin page, as the daily job's is
// (audit.VerifyAll).
func cmdAudit(ctx context.Context, env *environment, args []string) error {
	if len(args) == 0 || args[0] != "verify" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprintln(env.stdout, "Использование: crm audit verify [--database-url URL]")
			return nil
		}
		return errors.New("укажите действие: crm audit verify [--database-url URL]")
	}
	fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	_, _, db, err := setup(ctx, env, fs, args[1:])
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	start := time.Now()
	full, err := audit.VerifyAll(ctx, db)
	if err != nil {
		return err
	}
	n, b := full.Entries, full.Broken
	if b != nil {
		where := fmt.Sprintf("ветвь %d", b.Lane)
		if b.ID != 0 {
			where = fmt.Sprintf("запись %d (ветвь %d, №%d в ней)", b.ID, b.Lane, b.Seq)
		}
		fmt.Fprintf(env.stdout, "Цепочка журнала аудита НАРУШЕНА: %s — %s\n  ожидался хеш: %s\n  найден хеш:   %s\n  до неё проверено записей: %d\n",
			where, b.Reason, orDash(b.Expected), orDash(b.Found), n)
		if b.ID == 0 {
			return fmt.Errorf("цепочка журнала аудита нарушена в ветви %d", b.Lane)
		}
		return fmt.Errorf("цепочка журнала аудита нарушена на записи %d (ветвь %d)", b.ID, b.Lane)
	}
	_, err = fmt.Fprintf(env.stdout, "OK: цепочка журнала аудита цела, записей: %d, ветвей: %d (проверено за %s)\n", n, audit.Lanes, time.Since(start).Round(time.Millisecond))
	return err
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}
