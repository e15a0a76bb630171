package amoimport

import (
	"bytes"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/amoimport/amogen"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// equalTables are the tables an import writes or derives, each in a total
// order: snapshotTables (the similar-names tables by name) and the
// import's own rows with the ids Apply wrote for them.
var equalTables = append(snapshotTables[:len(snapshotTables):len(snapshotTables)], []struct{ table, order string }{
	{"import_rows", "import_id, number"}, {"import_row_ids", "import_id, number"}, {"import_row_plans", "import_id, number"},
}...)

// TestBulkImportWritesWhatTheTriggersWould imports the same generated
// export and fixture into two fresh databases of each kind: through the
// import's write path (batches whose tallies and duplicate marks the
// stores keep set-based with the INSERT triggers standing aside, COPY on
// PostgreSQL, statements in pieces of a few sizes) and row by row
// (database.DB.RowByRow: every INSERT trigger fires for every row, plain
// multi-row INSERTs), then compares every table the import writes or
// derives, row for row. Only the moment of the run differs.
func TestBulkImportWritesWhatTheTriggersWould(t *testing.T) {
	var buf bytes.Buffer
	if _, err := amogen.Write(&buf, amogen.Options{Rows: 600, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	generatedRows := parseRows(t, buf.Bytes())
	fixture := fixtureRows(t, "amo_small.csv")
	tr := loadPlanTruth(t, "amo_small.csv")
	for _, d := range dbtest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			start := time.Now().Add(-time.Minute)
			dump := func(db *database.DB) string {
				env := newPlanEnv(t, db, tr)
				env.importRows(t, generatedRows)
				env.importRows(t, fixture)
				env.importRows(t, generatedRows) // again: updates and merges into what is there
				var b strings.Builder
				for _, s := range equalTables {
					snapshotTable(t, db, &b, s.table, s.order)
				}
				return runTimes(b.String(), start)
			}
			bulk := dump(dbtest.New(t, d))
			rowByRow := dump(dbtest.New(t, d).RowByRow())
			if bulk != rowByRow {
				a, b := strings.Split(bulk, "\n"), strings.Split(rowByRow, "\n")
				for i := range min(len(a), len(b)) {
					if a[i] != b[i] {
						t.Fatalf("the bulk path and the triggers differ (%d and %d rows), first at row %d:\nbulk:     %s\ntriggers: %s", len(a), len(b), i, a[i], b[i])
					}
				}
				t.Fatalf("the bulk path wrote %d rows, the triggers %d", len(a), len(b))
			}
			for _, s := range equalTables {
				if !strings.Contains(bulk, s.table+" ") {
					t.Errorf("%s is empty: the sample proves nothing about it", s.table)
				}
			}
		})
	}
}

func parseRows(t *testing.T, data []byte) []Row {
	t.Helper()
	p, err := Parse(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = p.Close() }()
	var rows []Row
	for {
		row, err := p.Next()
		if errors.Is(err, io.EOF) {
			return rows
		}
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, row)
	}
}

var snapshotTime = regexp.MustCompile(`=(\d{4}-\d\d-\d\dT[0-9:.]+Z)`)

// runTimes replaces the times at or after start (when the run wrote) with
// a mark: the two runs write at different moments.
func runTimes(s string, start time.Time) string {
	return snapshotTime.ReplaceAllStringFunc(s, func(m string) string {
		at, err := time.Parse(time.RFC3339Nano, m[1:])
		if err == nil && !at.Before(start) {
			return "=<run>"
		}
		return m
	})
}
