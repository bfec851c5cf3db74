package casebook_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/medaudit/medaudit/casebook"
	"github.com/medaudit/medaudit/pipeline"
)

// cardFlags adds two open flags on each of n cards K0000…, at an
// institution of district 330106: a card-misuse flag of 100.00 + i fen
// and a settlement flag of half that.
func cardFlags(t testing.TB, db *pipeline.DB, n int) {
	t.Helper()
	if _, err := db.Exec(`INSERT INTO flags
		SELECT 'K' || lpad(i::VARCHAR, 4, '0') || '-' || d.det, 1, 1, d.det, d.fam, 'card', 'K' || lpad(i::VARCHAR, 4, '0'), 'H33010600001',
			d.score, ((10000 + i) * d.share / 100)::DECIMAL(18,2), 'absolute', '{"summary":"x"}', 'open', NULL
		FROM range(?) r(i), (VALUES ('card_misuse.shared_card', 'card_misuse', 0.7, 1.0), ('settlement.recompute_diff', 'settlement', 0.4, 0.5)) d(det, fam, score, share)`,
		n); err != nil {
		t.Fatal(err)
	}
}

// TestOpenCasesInBulkSurvivesACrash: OpenCases opens more subjects than one
// chunk holds; a crash in the middle (the context ends during the second
// chunk) keeps the chunks written before it whole — every case with its
// flag links and its one "opened" event — and running it again opens the
// rest, none twice, with the trail intact and every case priced as
// PriorityConfig.Priority prices it.
func TestOpenCasesInBulkSurvivesACrash(t *testing.T) {
	ctx := context.Background()
	db, s := setup(t)
	const cards = 1200 // with S001 and S002: three chunks
	cardFlags(t, db, cards)

	crashCtx, crash := context.WithCancel(ctx)
	var reads atomic.Int64
	crashing := casebook.NewStore(db.DB, func() time.Time {
		if reads.Add(1) == 700 { // the 200th subject of the second chunk
			crash()
		}
		return time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	})
	if _, err := crashing.OpenCases(crashCtx, "system:scan"); err == nil {
		t.Fatal("OpenCases did not fail when its context ended")
	}
	if n := count(t, db, `SELECT count(*) FROM cases`); n != 500 {
		t.Fatalf("after the crash %d cases, want the first chunk's 500", n)
	}
	if _, err := s.VerifyTrail(ctx); err != nil {
		t.Fatalf("trail after the crash: %v", err)
	}

	sum, err := s.OpenCases(ctx, "system:scan")
	if err != nil || sum.Opened != cards+2-500 || sum.Updated != 0 || sum.Flags != 2*cards+2-1000 {
		t.Fatalf("second run: %+v %v", sum, err)
	}
	if again, err := s.OpenCases(ctx, "system:scan"); err != nil || again != (casebook.OpenSummary{}) {
		t.Fatalf("third run: %+v %v", again, err)
	}
	checks := []struct {
		name string
		q    string
		want int
	}{
		{"cases", `SELECT count(*) FROM cases`, cards + 2},
		{"flag links", `SELECT count(*) FROM case_flags`, 2*cards + 2},
		{"distinct flag links", `SELECT count(DISTINCT flag_id) FROM case_flags`, 2*cards + 2},
		{"opened events", `SELECT count(*) FROM case_events WHERE kind = 'opened'`, cards + 2},
		{"cases with one opened event", `SELECT count(*) FROM (SELECT case_id FROM case_events WHERE kind = 'opened' GROUP BY case_id HAVING count(*) = 1)
			WHERE case_id IN (SELECT case_id FROM cases)`, cards + 2},
		{"flags in the wrong case", `SELECT count(*) FROM case_flags cf JOIN flags f USING (flag_id) JOIN cases c USING (case_id)
			WHERE c.subject_type <> f.subject_type OR c.subject_id <> f.subject_id`, 0},
	}
	for _, c := range checks {
		if n := count(t, db, c.q); n != c.want {
			t.Errorf("%s: %d, want %d", c.name, n, c.want)
		}
	}
	if n, err := s.VerifyTrail(ctx); err != nil || n != int64(5+cards+2) { // 5 experts added by setup
		t.Errorf("trail: %d events, %v", n, err)
	}

	k, err := s.Get(ctx, casebook.CaseID("card", "K0042"))
	if err != nil {
		t.Fatal(err)
	}
	flags := []casebook.FlagRef{
		{Detector: "card_misuse.shared_card", Family: "card_misuse", Score: 0.7, Amount: 10042},
		{Detector: "settlement.recompute_diff", Family: "settlement", Score: 0.4, Amount: 5021},
	}
	want := s.Priority.Priority(10042, flags, nil, "", "")
	if k.AmountAtRisk != 10042 || k.Priority != want || strings.Join(k.Families, ",") != "card_misuse,settlement" ||
		k.Route != "auditor" || k.District != "330106" || k.State != casebook.Open || k.OrgCode != "H33010600001" {
		t.Errorf("case K0042: %+v, want amount 100.42, priority %v", k, want)
	}
}

// TestOpenCasesAddsToAndReopensCases: new flags on a subject with a case
// join it (one "flags_added" event, families and amount from all its
// flags); a closed case is reopened with a due date (one "reopened" event).
func TestOpenCasesAddsToAndReopensCases(t *testing.T) {
	ctx := context.Background()
	db, s := setup(t)
	if _, err := s.OpenCases(ctx, "system:scan"); err != nil {
		t.Fatal(err)
	}
	stay, abs := casebook.CaseID("settlement", "S001"), casebook.CaseID("settlement", "S002")
	if _, err := db.Exec(`UPDATE cases SET state = 'closed', due_at = NULL WHERE case_id = ?`, abs); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO flags VALUES ('F4', 1, 1, 'settlement.recompute_diff', 'settlement', 'settlement', 'S001', 'H33010600001',
			0.5, 1200.00, 'absolute', '{"summary":"z"}', 'open', NULL)`,
		`INSERT INTO flags VALUES ('F5', 1, 1, 'impersonation.age_mismatch', 'impersonation', 'settlement', 'S002', 'P33010600002',
			0.6, 10.00, 'clinical', '{"summary":"w"}', 'open', NULL)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	sum, err := s.OpenCases(ctx, "system:scan")
	if err != nil || sum != (casebook.OpenSummary{Updated: 2, Reopened: 1, Flags: 2}) {
		t.Fatalf("%+v %v", sum, err)
	}
	k, _ := s.Get(ctx, stay)
	if k.AmountAtRisk != 120000 || strings.Join(k.Families, ",") != "ghost_bed,settlement" || k.Route != "panel" || k.State != casebook.Open {
		t.Errorf("updated case %+v", k)
	}
	k, _ = s.Get(ctx, abs)
	if k.State != casebook.Open || k.DueAt == nil || k.AmountAtRisk != 3600 || k.Route != "panel" { // F5 is clinical
		t.Errorf("reopened case %+v", k)
	}
	var kinds []string
	rows, err := db.Query(`SELECT kind || ':' || case_id FROM case_events WHERE kind IN ('flags_added', 'reopened') ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		kinds = append(kinds, k)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if want := []string{"flags_added:" + stay, "flags_added:" + abs, "reopened:" + abs}; strings.Join(kinds, " ") != strings.Join(want, " ") {
		t.Errorf("events %v, want %v", kinds, want)
	}
	if _, err := s.VerifyTrail(ctx); err != nil {
		t.Error(err)
	}
}

// BenchmarkOpenCases opens the cases of cases card subjects (two flags
// each, three chunks at 1,200) on a fresh database per round.
func BenchmarkOpenCases(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{1200} {
		b.Run(fmt.Sprintf("cases=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			opened := 0
			for b.Loop() {
				b.StopTimer()
				db, s := setup(b)
				cardFlags(b, db, n)
				b.StartTimer()
				sum, err := s.OpenCases(ctx, "system:bench")
				if err != nil || sum.Opened != n+2 {
					b.Fatalf("%+v %v", sum, err)
				}
				opened += sum.Opened
			}
			b.ReportMetric(float64(opened)/b.Elapsed().Seconds(), "cases/s")
		})
	}
}
