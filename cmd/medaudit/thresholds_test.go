package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medaudit/medaudit/pipeline"
)

// TestScanThresholdsFile: scan --thresholds rejects a bad file naming every
// bad entry, and with a good one records the values it ran with.
func TestScanThresholdsFile(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "audit.duckdb")
	run(t, "ingest", "--db", db, filepath.Join("..", "..", "fixtures", "testdata", "sample"))
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("ghost_bed.nope:\n  x: 1\nghost_bed.exam_only:\n  min_exam_share: 2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	root := newRoot()
	root.SetArgs([]string{"scan", "--db", db, "--thresholds", bad})
	err := root.ExecuteContext(context.Background())
	if err == nil || !strings.Contains(err.Error(), "ghost_bed.nope: no such detector") || !strings.Contains(err.Error(), "ghost_bed.exam_only.min_exam_share") {
		t.Fatalf("bad thresholds file: %v", err)
	}
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte("ghost_bed.exam_only:\n  min_exam_share: 0.9\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := run(t, "scan", "--db", db, "--detectors", "ghost_bed.exam_only", "--thresholds", good)
	if !strings.Contains(out, `"thresholds":"`+good+`"`) || !strings.Contains(out, `"rules":[{"rule":"ghost_bed.exam_only"`) {
		t.Fatalf("scan summary %s", out)
	}
	d, err := pipeline.Open(context.Background(), db, pipeline.DBConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var v float64
	if err := d.QueryRow(`SELECT (thresholds->'ghost_bed.exam_only'->>'min_exam_share')::DOUBLE FROM scan_thresholds`).Scan(&v); err != nil || v != 0.9 {
		t.Errorf("recorded threshold %g %v", v, err)
	}
}
