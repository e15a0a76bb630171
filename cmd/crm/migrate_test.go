package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/crmprofi/crm/internal/audit"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

func TestMigrateReportsOursAndRiversSchema(t *testing.T) {
	for _, d := range dbtest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			out, err := runCrm(t, dbtest.URL(t, d), "", "migrate")
			if err != nil {
				t.Fatal(err)
			}
			river := database.RiverVersion(d)
			if river == 0 || !strings.Contains(out, fmt.Sprintf("Очередь задач River: версия %d из %d", river, river)) {
				t.Fatalf("output %q, want River at version %d", out, river)
			}
		})
	}
}

func TestACommandIsAuditedAsTheSystemActor(t *testing.T) {
	for _, d := range dbtest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			url := dbtest.URL(t, d)
			if _, err := runCrm(t, url, "", "createsuperuser", "--username", "chief", "--password", "очень-надёжный",
				"--first-name", "Олег", "--last-name", "Орлов"); err != nil {
				t.Fatal(err)
			}
			db, err := database.Open(context.Background(), url)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = db.Close() }()
			var e audit.Entry
			err = db.QueryRowContext(context.Background(), `SELECT COALESCE(actor_id, 0), actor_name, actor_system FROM audit_log WHERE action = 'user.create'`).
				Scan(&e.ActorID, &e.ActorName, &e.System)
			if err != nil {
				t.Fatal(err)
			}
			if e.ActorID != 0 || e.ActorName != "cli:createsuperuser" || !e.System {
				t.Fatalf("user.create by %+v, want the system actor cli:createsuperuser", e)
			}
		})
	}
}
