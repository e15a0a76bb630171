package duplicate

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/crmprofi/crm/internal/database"
	"github.com/crmprofi/crm/internal/database/dbtest"
	"github.com/crmprofi/crm/internal/dedup"
	"github.com/crmprofi/crm/internal/progress"
)

// TestScorerIsScore holds the scan's cached scoring to Score: for pairs
// of records drawn from small pools — so that every signal, alone and
// together, and every kind of similar name comes up many times — the
// pairScorer gives what likelyPair (Score and its reasons as JSON) gives.
func TestScorerIsScore(t *testing.T) {
	rnd := rand.New(rand.NewPCG(5, 8)) //nolint:gosec // a fixed sample, not a secret
	names := []string{"", "ромашка", "ромашки", "ромашка плюс", "рома", "василек", "василек групп", "береза", "береза 2",
		"ромашка трейд", "ромашк", "торговый дом ромашка"}
	pick := func(list ...string) string { return list[rnd.IntN(len(list))] }
	record := func(id int64) *Record {
		r := &Record{ID: id, NameNorm: pick(names...), INN: pick("", "7707083893", "7736207543"), KPP: pick("", "770701001", "773601001"),
			OGRN: pick("", "1027700132195"), AddressNorm: pick("", "москва ленина 1", "москва мира 2"), Domain: pick("", "romashka.ru", "vasilek.ru")}
		for range rnd.IntN(3) {
			r.Phones = append(r.Phones, pick("+74951234567", "+74957654321", "+74950000000"))
		}
		for range rnd.IntN(3) {
			r.Emails = append(r.Emails, pick("a@romashka.ru", "b@vasilek.ru"))
		}
		return r
	}
	table := newReasonTable()
	ps := newPairScorer(table)
	likely := 0
	for i := range 20000 {
		a, b := record(int64(2*i+1)), record(int64(2*i+2))
		p := pairKey{a.ID, b.ID}
		want, wantOK, err := likelyPair(p, a, b)
		if err != nil {
			t.Fatal(err)
		}
		i, gotOK, err := ps.score(p, a, b)
		if err != nil {
			t.Fatal(err)
		}
		var got scoredPair
		if gotOK {
			r := table.list[i]
			got = scoredPair{a: p.a, b: p.b, score: r.score, reasons: r.reasons, fields: r.fields}
			if r.bits != fieldBits(r.fields) {
				t.Fatalf("answer %d: bits %b of fields %q", i, r.bits, r.fields)
			}
		}
		if gotOK != wantOK || got != want {
			t.Fatalf("pair %+v / %+v:\n got %v %+v\nwant %v %+v", *a, *b, gotOK, got, wantOK, want)
		}
		if wantOK {
			likely++
		}
	}
	if likely < 1000 || len(ps.byKey) < 50 {
		t.Fatalf("the sample is too poor: %d likely pairs, %d distinct signal keys", likely, len(ps.byKey))
	}
}

// TestFullScanWritesWhatScoreFinds holds a full scan's stored pairs and
// groups to the reference — every candidate scored by likelyPair, the
// groups labelled from them — on a base of random companies: written
// into an empty table with the secondary indexes dropped and rebuilt,
// rewritten after changes through the difference, and again through a
// rebuild. The indexes are there after each.
func TestFullScanWritesWhatScoreFinds(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		rnd := rand.New(rand.NewPCG(3, 11)) //nolint:gosec // a fixed base, not a secret
		pick := func(list ...string) string { return list[rnd.IntN(len(list))] }
		var ids []int64
		for i := range 400 {
			name := pick("Ромашка", "Ромашки", "Ромашка Плюс", "Василёк", "Василёк Групп", "Берёза", "Клён", "Дуб") + fmt.Sprint(" ", rnd.IntN(40))
			if i%3 == 0 {
				name = pick("Ромашка", "Василёк", "Берёза")
			}
			inn, address, site := pick("", "", "", "7707083893", "7736207543", "3982597915"), pick("", "г. Москва, ул. Ленина, д. 1", "ул. Мира, 2"),
				pick("", "", "romashka.ru", "vasilek.ru")
			var id int64
			err := db.QueryRowContext(ctx, `INSERT INTO companies (name, name_norm, inn, kpp, address, address_norm, website, website_domain, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $8) RETURNING id`, name, dedup.NormalizeName(name), inn, pick("", "770701001", "773601001"),
				address, dedup.NormalizeAddress(address), site, database.Now()).Scan(&id)
			if err != nil {
				t.Fatal(err)
			}
			if ph := pick("", "", "+7495555000"+fmt.Sprint(rnd.IntN(10))); ph != "" {
				if _, err := db.ExecContext(ctx, `INSERT INTO company_phones (company_id, value, e164) VALUES ($1, $2, $2)`, id, ph); err != nil {
					t.Fatal(err)
				}
			}
			if em := pick("", "", "", fmt.Sprintf("m%d@mail.ru", rnd.IntN(30))); em != "" {
				if _, err := db.ExecContext(ctx, `INSERT INTO company_emails (company_id, value, value_norm) VALUES ($1, $2, $2)`, id, em); err != nil {
					t.Fatal(err)
				}
			}
			ids = append(ids, id)
		}
		s := NewScanner(db)
		indexes := func() []pairIndex {
			t.Helper()
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = tx.Rollback() }()
			list, err := s.pairIndexes(ctx, tx)
			if err != nil {
				t.Fatal(err)
			}
			return list
		}
		want := indexes()
		if len(want) < 2 {
			t.Fatalf("secondary indexes of duplicate_pairs: %v", want)
		}
		check := func(what string, rebuildMin int) {
			t.Helper()
			s.rebuildMin = rebuildMin
			scanned := database.Now().Add(-time.Hour)
			s.now = func() time.Time { return scanned }
			st, err := s.Full(ctx, progress.Discard(""))
			if err != nil {
				t.Fatal(err)
			}
			// Every pair the scan wrote carries its time, as the page
			// reads it back (a pair found again unchanged keeps its own).
			var stamped, written int
			err = db.QueryRowContext(ctx, `SELECT COUNT(*) FROM duplicate_pairs WHERE checked_at = $1`, scanned).Scan(&stamped)
			if err != nil {
				t.Fatal(err)
			}
			if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM duplicate_pairs`).Scan(&written); err != nil {
				t.Fatal(err)
			}
			if what == "first scan, rebuilt" && (stamped != written || written == 0) {
				t.Fatalf("%s: %d of %d pairs carry the scan's time", what, stamped, written)
			}
			ref := referenceScan(t, s)
			if st.Pairs != len(ref) || len(ref) < 200 {
				t.Fatalf("%s: the scan found %d pairs, the reference %d", what, st.Pairs, len(ref))
			}
			got, err := storedPairs(ctx, db)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, ref) {
				t.Fatalf("%s: the stored pairs differ from the reference (%d stored, %d in it)", what, len(got), len(ref))
			}
			var groups []groupRow
			rows, err := db.QueryContext(ctx, `SELECT id, score, size, pair_count, field_bits FROM duplicate_groups ORDER BY id`)
			if err != nil {
				t.Fatal(err)
			}
			err = eachRow(rows, func() error {
				var g groupRow
				groups = append(groups, g)
				return rows.Scan(&groups[len(groups)-1].id, &groups[len(groups)-1].score, &groups[len(groups)-1].size,
					&groups[len(groups)-1].pairs, &groups[len(groups)-1].bits)
			})
			if err != nil {
				t.Fatal(err)
			}
			if wantGroups := labelGroups(ref); !reflect.DeepEqual(groups, wantGroups) {
				t.Fatalf("%s: groups\n got %v\nwant %v", what, groups, wantGroups)
			}
			if got := indexes(); !reflect.DeepEqual(got, want) {
				t.Fatalf("%s: indexes after the scan\n got %v\nwant %v", what, got, want)
			}
		}
		check("first scan, rebuilt", 1)
		for _, id := range ids[:40] {
			if _, err := db.ExecContext(ctx, `UPDATE companies SET inn = $1 WHERE id = $2`, pick("", "7707083893", "9074833780"), id); err != nil {
				t.Fatal(err)
			}
		}
		check("after changes, the difference written", 1<<30)
		if _, err := db.ExecContext(ctx, `UPDATE companies SET deleted_at = $1 WHERE id IN ($2, $3, $4)`, database.Now(), ids[1], ids[2], ids[3]); err != nil {
			t.Fatal(err)
		}
		check("after deletes, rebuilt", 1)
		check("unchanged", 1)
	})
}

// referenceScan is what a full scan must store: every candidate of
// referenceCandidates scored by likelyPair, grouped by labelGroups.
func referenceScan(t *testing.T, s *Scanner) []scoredPair {
	t.Helper()
	ctx := context.Background()
	cands := referenceCandidates(t, s)
	recs, err := s.allRecords(ctx)
	if err != nil {
		t.Fatal(err)
	}
	names, err := s.nameCandidates(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := candidates(recs, names); !slices.Equal(got, cands) {
		t.Fatalf("the scan's candidates (%d) are not the reference's (%d)", len(got), len(cands))
	}
	var out []scoredPair
	for _, p := range cands {
		a, b := recs.get(p.a), recs.get(p.b)
		if a == nil || b == nil {
			continue
		}
		sp, ok, err := likelyPair(p, a, b)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			out = append(out, sp)
		}
	}
	labelGroups(out)
	return out
}

// storedPairs reads duplicate_pairs in key order.
func storedPairs(ctx context.Context, db *database.DB) ([]scoredPair, error) {
	rows, err := db.QueryContext(ctx, `SELECT a_id, b_id, score, r.reasons, fields, group_id FROM duplicate_pairs JOIN duplicate_reasons r ON r.id = reasons_id ORDER BY a_id, b_id`)
	if err != nil {
		return nil, err
	}
	var out []scoredPair
	err = eachRow(rows, func() error {
		var p scoredPair
		if err := rows.Scan(&p.a, &p.b, &p.score, &p.reasons, &p.fields, &p.group); err != nil {
			return err
		}
		out = append(out, p)
		return nil
	})
	return out, err
}

// referenceKeys are the candidates' exact keys grouped by the database:
// the scan's first way, which the scan's grouping of its records in
// memory must match.
var referenceKeys = []string{
	`SELECT c.inn, c.id FROM companies c
	 JOIN (SELECT inn FROM companies WHERE deleted_at IS NULL AND inn <> '' GROUP BY inn HAVING COUNT(*) > 1) g ON g.inn = c.inn
	 WHERE c.deleted_at IS NULL ORDER BY c.inn, c.id`,
	`SELECT c.ogrn, c.id FROM companies c
	 JOIN (SELECT ogrn FROM companies WHERE deleted_at IS NULL AND ogrn <> '' GROUP BY ogrn HAVING COUNT(*) > 1) g ON g.ogrn = c.ogrn
	 WHERE c.deleted_at IS NULL ORDER BY c.ogrn, c.id`,
	`SELECT c.name_norm, c.id FROM companies c
	 JOIN (SELECT name_norm FROM companies WHERE deleted_at IS NULL AND name_norm <> '' GROUP BY name_norm HAVING COUNT(*) > 1) g ON g.name_norm = c.name_norm
	 WHERE c.deleted_at IS NULL ORDER BY c.name_norm, c.id`,
	`SELECT c.website_domain, c.id FROM companies c
	 JOIN (SELECT website_domain FROM companies WHERE deleted_at IS NULL AND website_domain <> '' GROUP BY website_domain HAVING COUNT(*) > 1) g
	   ON g.website_domain = c.website_domain
	 WHERE c.deleted_at IS NULL ORDER BY c.website_domain, c.id`,
	`SELECT p.e164, p.company_id FROM company_phones p
	 JOIN (SELECT e164 FROM company_phones WHERE e164 <> '' GROUP BY e164 HAVING COUNT(DISTINCT company_id) > 1) g ON g.e164 = p.e164
	 JOIN companies c ON c.id = p.company_id AND c.deleted_at IS NULL
	 ORDER BY p.e164, p.company_id`,
	`SELECT e.value_norm, e.company_id FROM company_emails e
	 JOIN (SELECT value_norm FROM company_emails WHERE value_norm <> '' GROUP BY value_norm HAVING COUNT(DISTINCT company_id) > 1) g ON g.value_norm = e.value_norm
	 JOIN companies c ON c.id = e.company_id AND c.deleted_at IS NULL
	 ORDER BY e.value_norm, e.company_id`,
}

// referenceCandidates are the candidate pairs as the scan first found
// them: referenceKeys, then each company with the next Window in name
// order, sorted, each once.
func referenceCandidates(t *testing.T, s *Scanner) []pairKey {
	t.Helper()
	ctx := context.Background()
	var out []pairKey
	for _, q := range referenceKeys {
		rows, err := s.db.QueryContext(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = rows.Close() }()
		var key string
		var ids []int64
		err = eachRow(rows, func() error {
			var k string
			var id int64
			if err := rows.Scan(&k, &id); err != nil {
				return err
			}
			if k != key {
				out = groupPairs(out, ids)
				key, ids = k, ids[:0]
			}
			if len(ids) == 0 || ids[len(ids)-1] != id {
				ids = append(ids, id)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		out = groupPairs(out, ids)
	}
	names, err := database.Column[int64](ctx, s.db, `SELECT id FROM companies WHERE deleted_at IS NULL AND name_norm <> '' ORDER BY name_norm, id`)
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range names {
		for _, prev := range names[max(0, i-s.Window):i] {
			out = append(out, orderedPair(prev, id))
		}
	}
	slices.SortFunc(out, func(x, y pairKey) int { return cmp.Or(cmp.Compare(x.a, y.a), cmp.Compare(x.b, y.b)) })
	return slices.Compact(out)
}

// BenchmarkInsertPairs writes 100,000 pairs into an empty duplicate_pairs
// without its secondary indexes on SQLite, the way a full scan does (the
// numbers written into the statements), and as bound parameters
// (rowByRow: database.InsertRows).
func BenchmarkInsertPairs(b *testing.B) {
	db := dbtest.New(b, database.SQLite)
	ctx := context.Background()
	s := NewScanner(db)
	reasons := []scored{
		{likely: true, score: 0.95, reasons: `[{"field":"inn"}]`, fields: ",inn,"},
		{likely: true, score: 0.7, reasons: `[{"field":"name"},{"field":"phone"}]`, fields: ",name,phone,"},
	}
	var pairs []foundPair
	for a := int64(1); len(pairs) < 100000; a++ {
		for d := int64(1); d <= 5; d++ {
			pairs = append(pairs, foundPair{a: a, b: a + d, group: a, reason: int32(d % 2)})
		}
	}
	for _, w := range []struct {
		name string
		db   *database.DB
	}{{"literal", db}, {"bound", db.RowByRow()}} {
		b.Run(w.name, func(b *testing.B) {
			s.db = w.db
			for b.Loop() {
				tx, err := db.BeginTx(ctx, nil)
				if err != nil {
					b.Fatal(err)
				}
				// A full scan inserts with the secondary indexes dropped.
				if _, err := tx.ExecContext(ctx, `DROP INDEX duplicate_pairs_b_idx`); err != nil {
					b.Fatal(err)
				}
				if _, err := tx.ExecContext(ctx, `DROP INDEX duplicate_pairs_group_idx`); err != nil {
					b.Fatal(err)
				}
				if err := s.insertPairs(ctx, tx, pairs, reasons, []int64{1, 2}, database.Now()); err != nil {
					b.Fatal(err)
				}
				_ = tx.Rollback()
			}
		})
	}
}
