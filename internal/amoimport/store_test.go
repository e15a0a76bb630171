package amoimport_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/amoimport"
	"github.com/crmprofi/crm/internal/apperr"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// create adds an import of data in its own transaction.
func create(t *testing.T, db *database.DB, in amoimport.New, data []byte) amoimport.Import {
	t.Helper()
	var im amoimport.Import
	err := db.InTx(context.Background(), func(tx *sql.Tx) error {
		var err error
		im, err = amoimport.NewStore(db).Create(context.Background(), tx, in, bytes.NewReader(data))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return im
}

func TestAnUploadIsKeptInPartsAndSpooledBackWhole(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		cast := dbtest.NewCast(t, db)
		data := make([]byte, 2<<20+123) // three parts of 1 MB
		if _, err := rand.Read(data); err != nil {
			t.Fatal(err)
		}
		im := create(t, db, amoimport.New{FileName: "amo.csv", DryRun: true, CreatedBy: cast.Admin.ID}, data)
		if im.Status != amoimport.StatusQueued || im.FileSize != int64(len(data)) || im.Fallback != cast.Admin.ID ||
			im.CreatedByName != "Админ Системный" {
			t.Errorf("import: %+v", im)
		}
		var parts int
		_ = db.QueryRowContext(ctx, `SELECT COUNT(*) FROM import_files WHERE import_id = $1`, im.ID).Scan(&parts)
		if parts != 3 {
			t.Errorf("parts: %d", parts)
		}
		f, size, err := amoimport.NewStore(db).Spool(ctx, im.ID)
		if err != nil {
			t.Fatal(err)
		}
		defer amoimport.Remove(f)
		got, _ := io.ReadAll(f)
		if size != int64(len(data)) || !bytes.Equal(got, data) {
			t.Errorf("spooled %d bytes, equal %v", size, bytes.Equal(got, data))
		}

		again, err := func() (amoimport.Import, error) {
			var out amoimport.Import
			err := db.InTx(ctx, func(tx *sql.Tx) error {
				var err error
				out, err = amoimport.NewStore(db).CreateFrom(ctx, tx, im.ID, cast.Admin.ID)
				return err
			})
			return out, err
		}()
		if err != nil || again.DryRun || again.FileSize != im.FileSize || again.Fallback != im.Fallback {
			t.Fatalf("copy: %+v %v", again, err)
		}
		list, count, err := amoimport.NewStore(db).List(ctx, 1, 10)
		if err != nil || count != 2 || list[0].ID != again.ID {
			t.Errorf("list: %d %v", count, err)
		}
	})
}

func TestAnEmptyUploadIsRefusedAndLeavesNothing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		err := db.InTx(ctx, func(tx *sql.Tx) error {
			_, err := amoimport.NewStore(db).Create(ctx, tx, amoimport.New{FileName: "amo.csv"}, strings.NewReader(""))
			return err
		})
		if inv, ok := apperr.AsInvalid(err); !ok || inv["file"] == "" {
			t.Fatalf("err: %v", err)
		}
		var n int
		_ = db.QueryRowContext(ctx, `SELECT COUNT(*) FROM imports`).Scan(&n)
		if n != 0 {
			t.Errorf("imports: %d", n)
		}
		if _, err := amoimport.NewStore(db).Get(ctx, 12345); !errors.Is(err, apperr.ErrNotFound) {
			t.Errorf("missing import: %v", err)
		}
	})
}

func TestWarningsAreSaidInRussianWithTheirCell(t *testing.T) {
	cases := []struct {
		name string
		in   amoimport.Issue
		want string
	}{
		{"a repaired ИНН says what it was and became", amoimport.Issue{Code: "inn_leading_zero_lost", Field: "ИНН", Value: "274062111", Fixed: "0274062111"},
			"ИНН без ведущего нуля — ноль восстановлен («ИНН», было «274062111», стало «0274062111»)"},
		{"an unknown code is shown by its code", amoimport.Issue{Code: "something_new"}, "Предупреждение: something_new"},
		{"a long value is cut", amoimport.Issue{Code: "value_too_long", Value: strings.Repeat("я", 100)},
			"Слишком длинное значение — обрезано (было «" + strings.Repeat("я", 60) + "…»)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := amoimport.IssueText(c.in); got != c.want {
				t.Errorf("got %q", got)
			}
		})
	}
}

func TestTheFilesOfImportsThatEndedAWeekAgoArePurgedAndTheirReportsStay(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		cast := dbtest.NewCast(t, db)
		store := amoimport.NewStore(db)
		in := amoimport.New{FileName: "amo.csv", DryRun: true, CreatedBy: cast.Admin.ID}
		old := create(t, db, in, []byte("Наименование;ИНН\nРомашка;7707083893\n"))
		recent := create(t, db, in, []byte("Наименование;ИНН\nЛютик;7707083893\n"))
		waiting := create(t, db, in, []byte("Наименование;ИНН\nВасилёк;7707083893\n"))
		now := database.Now()
		finish := func(id int64, status string, at time.Time) {
			t.Helper()
			if _, err := db.ExecContext(ctx, `UPDATE imports SET status = $1, finished_at = $2 WHERE id = $3`, status, at, id); err != nil {
				t.Fatal(err)
			}
		}
		week := time.Duration(amoimport.FileRetentionDays) * 24 * time.Hour
		finish(old.ID, amoimport.StatusDone, now.Add(-week-time.Hour))
		finish(recent.ID, amoimport.StatusFailed, now.Add(-week+time.Hour))
		// A queued import keeps its file however old it is.
		if _, err := db.ExecContext(ctx, `UPDATE imports SET created_at = $1 WHERE id = $2`, now.Add(-10*week), waiting.ID); err != nil {
			t.Fatal(err)
		}

		n, err := store.PurgeFiles(ctx, now.Add(-week))
		if err != nil || n != 1 {
			t.Fatalf("purged %d parts, %v", n, err)
		}
		for _, im := range []amoimport.Import{recent, waiting} {
			f, _, err := store.Spool(ctx, im.ID)
			if err != nil {
				t.Fatalf("import %d lost its file: %v", im.ID, err)
			}
			amoimport.Remove(f)
		}
		if got, err := store.Get(ctx, old.ID); err != nil || got.Status != amoimport.StatusDone || got.FileName != "amo.csv" {
			t.Errorf("the purged import itself: %+v %v", got, err)
		}

		// «Импортировать этот файл» after the purge says why it cannot.
		err = db.InTx(ctx, func(tx *sql.Tx) error {
			_, err := store.CreateFrom(ctx, tx, old.ID, cast.Admin.ID)
			return err
		})
		var conflict *apperr.Conflict
		if !errors.As(err, &conflict) || !strings.Contains(conflict.Message, "уже удалён") {
			t.Fatalf("import from a purged dry run: %v", err)
		}
		var imports int
		_ = db.QueryRowContext(ctx, `SELECT COUNT(*) FROM imports`).Scan(&imports)
		if imports != 3 {
			t.Errorf("the refused import left a row: %d imports", imports)
		}
	})
}
