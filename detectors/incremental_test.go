package detectors_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/medaudit/medaudit/contract"
	"github.com/medaudit/medaudit/detectors"
	"github.com/medaudit/medaudit/fixtures"
	"github.com/medaudit/medaudit/pipeline"
)

// flagState is a stored flag as a full scan would leave it; evidence is
// compared as JSON values (key order aside).
type flagState struct {
	Status   string
	Score    float64
	Amount   string
	Evidence any
}

func storedFlags(t *testing.T, db *pipeline.DB) map[string]flagState {
	t.Helper()
	rows, err := db.Query(`SELECT flag_id, status, score, amount_at_risk::VARCHAR, evidence::VARCHAR FROM flags`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]flagState{}
	for rows.Next() {
		var id, ev string
		var f flagState
		if err := rows.Scan(&id, &f.Status, &f.Score, &f.Amount, &ev); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(ev), &f.Evidence); err != nil {
			t.Fatalf("evidence of %s: %v", id, err)
		}
		out[id] = f
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// correctOne appends to the second delivery a corrected version of the
// first settlement of the first delivery (one yuan moved from the fund
// part to cash), as a platform resends a settlement it corrected.
func correctOne(t *testing.T, before, after string) {
	t.Helper()
	read := func(path string) [][]string {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		r := csv.NewReader(f)
		r.FieldsPerRecord = -1
		recs, err := r.ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		return recs
	}
	early := read(filepath.Join(before, "settlements.csv"))
	late := read(filepath.Join(after, "settlements.csv"))
	col, cash := 0, 0
	for i, h := range early[0] {
		switch h {
		case "fund_paid":
			col = i
		case "cash_paid":
			cash = i
		}
	}
	var fixed []string
	for _, r := range early[1:] {
		if f, err := contract.ParseFen(r[col]); err == nil && f >= 100 {
			fixed = append([]string(nil), r...)
			break
		}
	}
	if fixed == nil {
		t.Fatal("no settlement with a fund part to correct")
	}
	fund, err := contract.ParseFen(fixed[col])
	if err != nil {
		t.Fatal(err)
	}
	paid, err := contract.ParseFen(fixed[cash])
	if err != nil {
		t.Fatal(err)
	}
	fixed[col], fixed[cash] = (fund - 100).String(), (paid + 100).String()
	f, err := os.Create(filepath.Join(after, "settlements.csv"))
	if err != nil {
		t.Fatal(err)
	}
	w := csv.NewWriter(f)
	if err := w.WriteAll(append(late, fixed)); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestIncrementalEqualsFullRescan: a batch in two monthly deliveries (the
// second with a correction of a settlement of the first), scanned in full
// after the first and incrementally after the second, leaves exactly the
// flags a full rescan leaves: the rescan adds, resolves and changes none.
func TestIncrementalEqualsFullRescan(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and scans a batch twice")
	}
	ctx := context.Background()
	dir := t.TempDir()
	cfg := fixtures.DefaultConfig()
	cfg.Persons, cfg.Seed = 2500, 9071
	if _, err := fixtures.Generate(ctx, cfg, filepath.Join(dir, "all")); err != nil {
		t.Fatal(err)
	}
	before, after := filepath.Join(dir, "m1-11"), filepath.Join(dir, "m12")
	split, err := fixtures.SplitAt(filepath.Join(dir, "all"), before, after, strconv.Itoa(cfg.Year)+"-12-01")
	if err != nil {
		t.Fatal(err)
	}
	if split.After["settlements.csv"] == 0 || split.After["fee_items.csv"] == 0 || split.After["card_swipes.csv"] == 0 {
		t.Fatalf("the second delivery has no activity: %+v", split.After)
	}
	correctOne(t, before, after)

	db, err := pipeline.Open(ctx, filepath.Join(dir, "scan.duckdb"), pipeline.DBConfig{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	icfg := pipeline.DefaultConfig()
	icfg.Now = func() time.Time { return time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC) }
	ds, err := detectors.Registry(detectors.Config{})
	if err != nil {
		t.Fatal(err)
	}
	scan := func(incremental bool) detectors.ScanSummary {
		t.Helper()
		sum, err := detectors.ScanWith(ctx, db.DB, ds, time.Now, detectors.ScanOptions{Guard: detectors.DefaultGuardConfig(), Incremental: incremental})
		if err != nil {
			t.Fatal(err)
		}
		return sum
	}
	if _, err := pipeline.Ingest(ctx, db, before, icfg); err != nil {
		t.Fatal(err)
	}
	first := scan(true) // nothing to build on yet: runs in full and says so
	if first.Scope.Mode != detectors.ModeFull || first.Scope.Reason == "" {
		t.Fatalf("first scan: %+v, want full with a reason", first.Scope)
	}
	sum, err := pipeline.Ingest(ctx, db, after, icfg)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Totals.Corrected != 1 {
		t.Fatalf("second delivery corrected %d rows, want the 1 resent settlement: %+v", sum.Totals.Corrected, sum.Totals)
	}
	inc := scan(true)
	sc := inc.Scope
	if sc.Mode != detectors.ModeIncremental || sc.BaseScan != first.ScanID {
		t.Fatalf("second scan: %+v, want incremental on scan %d", sc, first.ScanID)
	}
	var persons int64
	if err := db.QueryRow(`SELECT count(*) FROM persons`).Scan(&persons); err != nil {
		t.Fatal(err)
	}
	if sc.Changed == 0 || sc.Read >= persons || sc.Carried == 0 || sc.PerPerson == 0 {
		t.Fatalf("scope %+v of %d persons: want some persons changed, not all read, flags carried", sc, persons)
	}
	if inc.New == 0 {
		t.Fatal("the incremental scan raised no new flag on a month of new activity")
	}
	got := storedFlags(t, db)

	full := scan(false)
	if full.New != 0 || full.Resolved != 0 {
		t.Errorf("the full rescan after the incremental scan added %d and resolved %d flags, want none", full.New, full.Resolved)
	}
	want := storedFlags(t, db)
	if len(got) != len(want) {
		t.Errorf("%d flags after the incremental scan, %d after the full rescan", len(got), len(want))
	}
	diff := 0
	for id, w := range want {
		if g, ok := got[id]; !ok || !reflect.DeepEqual(g, w) {
			if diff++; diff <= 5 {
				t.Errorf("flag %s: incremental %+v, full %+v", id, g, w)
			}
		}
	}
	if diff > 0 {
		t.Errorf("%d of %d flags differ", diff, len(want))
	}

	// Nothing ingested since: an incremental scan re-judges nobody and
	// carries every per-person flag, changing none.
	again := scan(true)
	if again.Scope.Mode != detectors.ModeIncremental || again.Scope.Changed != 0 || again.New != 0 || again.Resolved != 0 {
		t.Errorf("incremental scan with no new data: scope %+v, %d new, %d resolved; want no change", again.Scope, again.New, again.Resolved)
	}
	if after := storedFlags(t, db); !reflect.DeepEqual(after, want) {
		t.Error("an incremental scan with no new data changed the stored flags")
	}

	// Other thresholds than the base scan's: the scan runs in full.
	other, err := detectors.Registry(detectors.Config{Params: map[string]map[string]float64{"ghost_bed.exam_only": {"min_exam_share": 0.85}}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := detectors.ScanWith(ctx, db.DB, other, time.Now, detectors.ScanOptions{Guard: detectors.DefaultGuardConfig(), Incremental: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Scope.Mode != detectors.ModeFull || !strings.Contains(res.Scope.Reason, "阈值") {
		t.Errorf("scan with other thresholds: %+v, want full because the thresholds changed", res.Scope)
	}
}
