package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/medaudit/medaudit/pipeline"
	"github.com/medaudit/medaudit/reports"
)

// TestScheduledOperations: the overdue job escalates each case past its
// due date once; the nightly backup job writes a backup restore verifies
// and keeps only the newest `keep`.
func TestScheduledOperations(t *testing.T) {
	ctx := context.Background()
	path := copyOfCasebookDB(t)
	d, err := pipeline.Open(ctx, path, pipeline.DBConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Exec(`UPDATE cases SET due_at = now() - INTERVAL 2 DAY WHERE case_id IN (SELECT case_id FROM cases ORDER BY case_id LIMIT 3)`); err != nil {
		t.Fatal(err)
	}
	cfg, err := reports.ParseConfig([]byte(`jobs:
  - {name: overdue, kind: overdue_escalation, spec: "0 7 * * *"}
  - {name: nightly-backup, kind: backup, spec: "30 1 * * *", keep: 1}
`))
	if err != nil {
		t.Fatal(err)
	}
	r, err := newReportRunner(d, cfg, &thresholdsFlag{}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "backups")
	r.UseBackups(dir, onlineBackup(d, path))
	day := time.Date(2026, 12, 1, 7, 0, 0, 0, cfg.Location())
	for i := range 2 {
		if _, err := r.RunNow(ctx, "overdue", day.AddDate(0, 0, i)); err != nil {
			t.Fatal(err)
		}
	}
	var events int
	if err := d.QueryRow(`SELECT count(*) FROM case_events WHERE kind = 'overdue' AND actor = 'system:scheduler'`).Scan(&events); err != nil {
		t.Fatal(err)
	}
	if events != 3 {
		t.Errorf("%d overdue events after two runs, want 3 (once per case and deadline)", events)
	}
	for i := range 2 {
		if _, err := r.RunNow(ctx, "nightly-backup", day.AddDate(0, 0, i).Add(-330*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	left, _ := os.ReadDir(dir)
	if len(left) != 1 || left[0].Name() != "nightly-20261201T1730Z" {
		t.Fatalf("backups kept: %v", left)
	}
	run(t, "restore", "--from", filepath.Join(dir, left[0].Name()), "--db", filepath.Join(t.TempDir(), "restored.duckdb"))
}
