package detectors_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/medaudit/medaudit/detectors"
	"github.com/medaudit/medaudit/pipeline"
	"github.com/medaudit/medaudit/pipeline/pipelinetest"
)

// TestScanRepeatableAndResolves: a re-scan of unchanged data keeps the same
// flag ids and adds nothing; new data adds flags; a corrected row whose flag
// no longer holds resolves it (never deletes it).
func TestScanRepeatableAndResolves(t *testing.T) {
	ctx := context.Background()
	now := func() time.Time { return time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC) }
	cfg := pipeline.DefaultConfig()
	cfg.Now = now
	// P002 is recorded dead two days before her pharmacy purchase S002.
	b := pipelinetest.Valid().Set("persons", 1, "death_date", "2025-03-03")
	db := pipelinetest.Load(t, b)
	ds, err := detectors.Registry(detectors.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ds = detectors.Select(ds, []string{"impersonation.after_death"})
	first, err := detectors.Scan(ctx, db.DB, ds, now)
	if err != nil || first.New != 1 || first.Flags["impersonation"] != 1 {
		t.Fatalf("first scan %+v %v", first, err)
	}
	// The summary times every step of the scan, in order.
	var phases []string
	for _, p := range first.Phases {
		if p.Seconds < 0 || p.Label == "" {
			t.Errorf("phase %+v", p)
		}
		phases = append(phases, p.Phase)
	}
	if got := strings.Join(phases, " "); got != "prepare detectors collect readers guard store" {
		t.Errorf("scan phases %q", got)
	}
	id := detectors.FlagID("impersonation.after_death", "settlement", "S002")
	second, err := detectors.Scan(ctx, db.DB, ds, now)
	if err != nil || second.New != 0 || second.Resolved != 0 || second.Flags["impersonation"] != 1 {
		t.Fatalf("re-scan %+v %v", second, err)
	}
	var scanID int64
	if err := db.QueryRow(`SELECT scan_id FROM flags WHERE flag_id = ?`, id).Scan(&scanID); err != nil {
		t.Fatal(err)
	}
	if scanID != second.ScanID {
		t.Errorf("the same flag id is refreshed by the re-scan: scan %d", scanID)
	}
	// A correction: the death date was wrong (the person died later).
	dir := t.TempDir()
	corr := pipelinetest.Batch{"persons": {b["persons"][1]}}
	corr.Set("persons", 0, "death_date", "2025-09-01")
	corr.WriteCSV(t, dir)
	if sum, err := pipeline.Ingest(ctx, db, dir, cfg); err != nil || sum.Totals.Corrected != 1 {
		t.Fatalf("correction %+v %v", sum.Totals, err)
	}
	third, err := detectors.Scan(ctx, db.DB, ds, now)
	if err != nil || third.Resolved != 1 || third.Flags["impersonation"] != 0 {
		t.Fatalf("scan after the correction %+v %v", third, err)
	}
	var status string
	var resolvedIn int64
	if err := db.QueryRow(`SELECT status, resolved_scan_id FROM flags WHERE flag_id = ?`, id).Scan(&status, &resolvedIn); err != nil || status != "resolved" || resolvedIn != third.ScanID {
		t.Errorf("flag after correction: %s in scan %d, %v", status, resolvedIn, err)
	}
	if n, _ := detectors.ExportFlags(ctx, db.DB, filepath.Join(t.TempDir(), "f.csv")); n != 0 {
		t.Errorf("the export of the latest scan lists %d resolved flags", n)
	}
}

// TestScanGivesThreadsBack: a scan's two workers share the database's
// threads while its detectors run (shareThreads) and give them back, also
// to the connections the scan opened.
func TestScanGivesThreadsBack(t *testing.T) {
	ctx := context.Background()
	now := func() time.Time { return time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC) }
	dir := t.TempDir()
	pipelinetest.Valid().WriteCSV(t, dir)
	db, err := pipeline.Open(ctx, ":memory:", pipeline.DBConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cfg := pipeline.DefaultConfig()
	cfg.Now = now
	if _, err := pipeline.Ingest(ctx, db, dir, cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`SET threads = 4`); err != nil {
		t.Fatal(err)
	}
	ds, err := detectors.Registry(detectors.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ds = detectors.Select(ds, []string{"impersonation", "card_misuse"})
	if _, err := detectors.ScanWith(ctx, db.DB, ds, now, detectors.ScanOptions{Guard: detectors.DefaultGuardConfig(), Workers: 2}); err != nil {
		t.Fatal(err)
	}
	db.SetMaxIdleConns(0) // every query below on a new connection
	for range 3 {
		var threads int
		if err := db.QueryRow(`SELECT current_setting('threads')`).Scan(&threads); err != nil || threads != 4 {
			t.Fatalf("threads after a scan on 2 workers: %d, want 4 again (%v)", threads, err)
		}
	}
}
