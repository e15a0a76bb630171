package duplicate

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/crmprofi/crm/internal/access"
	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
)

// TestCandidateQueriesUseIndexes checks the plans of every query a
// duplicate check sends: each signal is an index look-up, the trigram
// lists are ranges of name_trigrams' primary key, the similar names'
// companies ranges of companies_name_idx — never a scan of companies,
// phones, e-mails, names or trigrams. PostgreSQL is told to avoid sequential
// scans, as its planner prefers them on tables this small; it still must
// find a usable index.
func TestCandidateQueriesUseIndexes(t *testing.T) {
	probe := RecordOf(Probe{Name: "ООО «Ромашка»", INN: "7707083893", OGRN: "1027700132195", Website: "romashka.ru",
		Phones: []string{"+7 495 123-45-67", "8 800 555-35-35"}, Emails: []string{"info@romashka.ru"}})
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		grams := Trigrams(probe.NameNorm)
		exact, exactArgs := exactQuery(db.Dialect, probe)
		rank, rankArgs := trigramRankQuery(db.Dialect, grams, 3, 20)
		lists, listArgs := trigramListsQuery(db.Dialect, grams[:4], 3, 20, 2)
		verify, verifyArgs := verifyQuery(db.Dialect, []int64{1, 2})
		byName, byNameArgs := companiesByNameQuery(db.Dialect, []string{"ромашка", "ромашки"}, 50)
		look, lookArgs := lookQuery(db.Dialect, probe, grams)
		found, foundArgs := foundQuery(db.Dialect, access.Scope{UserID: 1, Role: access.RoleBranchDirector, Data: access.Branch, BranchID: 1},
			[]int64{1, 2}, []string{"ромашка", "ромашки"})
		queries := []struct {
			name    string
			sql     string
			args    []any
			dialect database.Dialect // "" for both
			index   string           // an index the plan must name
		}{
			{"the exact signals", exact, exactArgs, "", "companies_inn_idx"},
			{"the exact signals find ОГРН by its index", exact, exactArgs, "", "companies_ogrn_idx"},
			{"the exact signals find the website by its index", exact, exactArgs, "", "companies_website_domain_idx"},
			{"the exact signals find phones by their index", exact, exactArgs, "", "company_phones_e164_idx"},
			{"the exact signals find e-mails by their index", exact, exactArgs, "", "company_emails_norm_idx"},
			{"the trigram ranking", rank, rankArgs, database.SQLite, "PRIMARY KEY"},
			{"the trigram lists", lists, listArgs, database.SQLite, "PRIMARY KEY"},
			{"the trigram ranking", rank, rankArgs, database.Postgres, "name_trigrams_pkey"},
			{"the trigram lists", lists, listArgs, database.Postgres, "name_trigrams_pkey"},
			{"the verification", verify, verifyArgs, "", ""},
			{"the similar names' companies", byName, byNameArgs, "", "companies_name_idx"},
			{"Find's look-up finds the ИНН by its index", look, lookArgs, "", "companies_inn_idx"},
			{"Find's look-up finds phones by their index", look, lookArgs, "", "company_phones_e164_idx"},
			{"Find's look-up reads the trigram lists", look, lookArgs, database.SQLite, "PRIMARY KEY"},
			{"Find's look-up reads the trigram lists", look, lookArgs, database.Postgres, "name_trigrams_pkey"},
			{"Find's candidates come by the names' index", found, foundArgs, "", "companies_name_idx"},
			{"Find's candidates' phones come by their index", found, foundArgs, database.Postgres, "company_phones_company_idx"},
		}
		ctx := context.Background()
		conn, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer func() {
			if err := conn.Close(); err != nil {
				t.Error(err)
			}
		}()
		prefix := "EXPLAIN QUERY PLAN "
		if db.Dialect == database.Postgres {
			prefix = "EXPLAIN (COSTS OFF) "
			if _, err := conn.ExecContext(ctx, "SET enable_seqscan = off"); err != nil {
				t.Fatal(err)
			}
			defer func() {
				if _, err := conn.ExecContext(ctx, "RESET enable_seqscan"); err != nil {
					t.Error(err)
				}
			}()
		}
		for _, q := range queries {
			if q.dialect != "" && q.dialect != db.Dialect {
				continue
			}
			t.Run(q.name, func(t *testing.T) {
				rows, err := conn.QueryContext(ctx, prefix+q.sql, q.args...)
				if err != nil {
					t.Fatal(err)
				}
				defer func() { _ = rows.Close() }()
				cols, err := rows.Columns()
				if err != nil {
					t.Fatal(err)
				}
				var plan []string
				for rows.Next() {
					vals := make([]any, len(cols))
					ptrs := make([]any, len(cols))
					for i := range vals {
						ptrs[i] = &vals[i]
					}
					if err := rows.Scan(ptrs...); err != nil {
						t.Fatal(err)
					}
					switch v := vals[len(vals)-1].(type) {
					case string:
						plan = append(plan, v)
					case []byte:
						plan = append(plan, string(v))
					}
				}
				if err := rows.Err(); err != nil {
					t.Fatal(err)
				}
				text := strings.Join(plan, "\n")
				if q.index != "" && !strings.Contains(text, q.index) {
					t.Errorf("%s is not used:\n%s", q.index, text)
				}
				for _, table := range []string{"companies", "company_phones", "company_emails", "company_names", "name_trigrams"} {
					if strings.Contains(text, "SCAN "+table+"\n") || strings.HasSuffix(text, "SCAN "+table) ||
						strings.Contains(text, "SCAN "+table+" ") || strings.Contains(text, "Seq Scan on "+table) {
						t.Errorf("%s is scanned:\n%s", table, text)
					}
				}
			})
		}
	})
}

// TestSimilarNameQueriesAreOneText checks that on both databases the
// duplicate check sends the same statement texts whatever the name and
// however many phones and e-mails: a text per number of trigrams, names
// or phones was planned (PostgreSQL) or compiled (SQLite) afresh on every
// call (issue 6), where one text is prepared once per connection.
func TestSimilarNameQueriesAreOneText(t *testing.T) {
	short, long := Trigrams("ромашка"), Trigrams("торговый дом ромашка и партнёры")
	if len(short) == len(long) {
		t.Fatal("the names must differ in their number of trigrams")
	}
	for _, tc := range []struct {
		name  string
		query func(d database.Dialect, grams []string) string
	}{
		{"the ranking", func(d database.Dialect, g []string) string { q, _ := trigramRankQuery(d, g, 3, 20); return q }},
		{"the lists", func(d database.Dialect, g []string) string { q, _ := trigramListsQuery(d, g, 3, 20, 2); return q }},
		{"the verification", func(d database.Dialect, g []string) string {
			q, _ := verifyQuery(d, make([]int64, len(g)))
			return q
		}},
		{"the companies of the names", func(d database.Dialect, g []string) string {
			q, _ := companiesByNameQuery(d, g, 50-len(g))
			return q
		}},
		{"Find's look-up", func(d database.Dialect, g []string) string {
			q, _ := lookQuery(d, Record{NameNorm: "ромашка", INN: "7707083893", Phones: g}, g)
			return q
		}},
		{"Find's candidates", func(d database.Dialect, g []string) string {
			q, _ := foundQuery(d, access.Scope{UserID: 1, Role: access.RoleManager}, make([]int64, len(g)), g)
			return q
		}},
		{"the exact signals", func(d database.Dialect, g []string) string {
			q, _ := exactQuery(d, Record{NameNorm: "ромашка", Phones: g, Emails: g[1:]})
			return q
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, d := range []database.Dialect{database.Postgres, database.SQLite} {
				if a, b := tc.query(d, short), tc.query(d, long); a != b {
					t.Errorf("%s gets two texts:\n%s\n%s", d, a, b)
				}
			}
		})
	}
}

// TestFindsStatementsRunOnGenericPlans checks on PostgreSQL that both
// statements of Find are planned a few times per connection and then run
// on their generic plan, like every other hot statement: a statement whose
// generic plan looks dearer than the calls' own is planned on every call,
// and planning Find's candidates took longer than running them.
func TestFindsStatementsRunOnGenericPlans(t *testing.T) {
	if !slices.Contains(dbtest.Dialects(), database.Postgres) {
		t.Skip("PostgreSQL is not configured (" + dbtest.EnvPostgres + ")")
	}
	db := dbtest.New(t, database.Postgres)
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	// The planner compares its guesses with the table's statistics: a
	// few thousand companies, analysed, as in the demo base.
	if _, err := conn.ExecContext(ctx, `INSERT INTO companies (name, name_norm, inn, created_at, updated_at)
		SELECT 'ООО «Ромашка ' || g || '»', 'ромашка ' || g, '', now(), now() FROM generate_series(1, 3000) g`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, `INSERT INTO company_phones (company_id, value, e164)
		SELECT id, '+7 495 ' || id, '+7495' || lpad(id::text, 7, '0') FROM companies`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, `INSERT INTO company_emails (company_id, value, value_norm)
		SELECT id, 'info' || id || '@example.ru', 'info' || id || '@example.ru' FROM companies`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, `ANALYZE`); err != nil {
		t.Fatal(err)
	}
	scopes := []access.Scope{
		{UserID: 1, Role: access.RoleAdmin, Data: access.Global},
		{UserID: 1, Role: access.RoleBranchDirector, Data: access.Branch, BranchID: 1},
	}
	for _, scope := range scopes {
		for i := range 12 {
			probe := RecordOf(Probe{Name: fmt.Sprintf("ООО «Ромашка-%d»", i), INN: "7707083893", Phones: []string{"+7 495 123-45-67"}})
			look, lookArgs := lookQuery(db.Dialect, probe, Trigrams(probe.NameNorm))
			ids := make([]int64, i%4)
			for k := range ids {
				ids[k] = int64(k + 1)
			}
			found, foundArgs := foundQuery(db.Dialect, scope, ids, []string{"ромашка", fmt.Sprintf("ромашка %d", i)})
			for _, q := range []struct {
				sql  string
				args []any
			}{{look, lookArgs}, {found, foundArgs}} {
				func() {
					rows, err := conn.QueryContext(ctx, q.sql, q.args...)
					if err != nil {
						t.Fatal(err)
					}
					defer rows.Close()
					for rows.Next() {
					}
					if err := rows.Err(); err != nil {
						t.Fatal(err)
					}
				}()
			}
		}
	}
	rows, err := conn.QueryContext(ctx, `SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements`)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	seen := 0
	for rows.Next() {
		var text string
		var generic, custom int64
		if err := rows.Scan(&text, &generic, &custom); err != nil {
			t.Fatal(err)
		}
		seen++
		if generic == 0 {
			t.Errorf("planned on each of %d calls, never generic:\n%.300s", custom, text)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if want := 2 * len(scopes); seen != want {
		t.Errorf("%d prepared statements, want %d (one text a statement and scope)", seen, want)
	}
}

// TestFoundReadsEachNamesCompaniesOnce checks that on PostgreSQL the
// second statement of Find reads a walked name's range of
// companies_name_idx once: the walk keeps the ids it counted (issue 6:
// counting them and reading them again was a sixth of the statement's
// buffers on a load-test PATCH).
func TestFoundReadsEachNamesCompaniesOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		if db.Dialect != database.Postgres {
			t.Skip("SQLite counts, then reads")
		}
		ctx := context.Background()
		if _, err := db.ExecContext(ctx, `INSERT INTO companies (name, name_norm, created_at, updated_at)
			VALUES ('Ромашка', 'ромашка', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP), ('Ромашки', 'ромашки', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)`); err != nil {
			t.Fatal(err)
		}
		q, args := foundQuery(db.Dialect, access.Scope{UserID: 1, Role: access.RoleManager, Data: access.Self},
			[]int64{1}, []string{"ромашка", "ромашки", "ромашкин"})
		plan := explainWithout(t, db, "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) ", q, args, "enable_seqscan")
		// The look-ups of a name: a scan of companies_name_idx whose
		// condition is the name, as many times as its loops.
		loops := regexp.MustCompile(`loops=(\d+)`)
		reads := 0
		for i, line := range plan[:len(plan)-1] {
			if strings.Contains(line, "using companies_name_idx") && strings.Contains(plan[i+1], "Index Cond: (name_norm =") {
				n, _ := strconv.Atoi(loops.FindStringSubmatch(line)[1])
				reads += n
			}
		}
		if reads != 3 {
			t.Errorf("companies_name_idx read %d times for 3 names, want 3:\n%s", reads, strings.Join(plan, "\n"))
		}
	})
}

// TestFoundReadsChildKeysFromTheIndex checks that on PostgreSQL the
// second statement of Find reads the candidates' phone and e-mail keys
// from company_id's indexes alone (migration 00062): the heap page of
// each was a third of those reads (issue 6).
func TestFoundReadsChildKeysFromTheIndex(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		if db.Dialect != database.Postgres {
			t.Skip("SQLite keeps its indexes")
		}
		q, args := foundQuery(db.Dialect, access.Scope{UserID: 1, Role: access.RoleAdmin, Data: access.Global},
			[]int64{1}, []string{"ромашка"})
		plan := explainWithout(t, db, "EXPLAIN (COSTS OFF) ", q, args, "enable_seqscan", "enable_bitmapscan")
		text := strings.Join(plan, "\n")
		for _, index := range []string{"company_phones_company_idx", "company_emails_company_idx"} {
			if !strings.Contains(text, "Index Only Scan using "+index) {
				t.Errorf("%s is not read alone:\n%s", index, text)
			}
		}
	})
}

// explainWithout returns PostgreSQL's plan of q (explain is the EXPLAIN
// with its options) in a transaction whose planner settings off are
// turned off: on a test's tiny tables the planner would rather scan.
func explainWithout(t *testing.T, db *database.DB, explain, q string, args []any, off ...string) []string {
	t.Helper()
	ctx := context.Background()
	var plan []string
	err := db.InTx(ctx, func(tx *sql.Tx) error {
		for _, setting := range off {
			if _, err := tx.ExecContext(ctx, "SET LOCAL "+setting+" = off"); err != nil {
				return err
			}
		}
		var err error
		plan, err = database.Column[string](ctx, tx, explain+q, args...)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return plan
}
