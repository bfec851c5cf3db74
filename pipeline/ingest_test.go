package pipeline_test

import (
	"context"
	"errors"
	"github.com/medaudit/medaudit/contract"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medaudit/medaudit/pipeline"
	"github.com/medaudit/medaudit/pipeline/pipelinetest"
)

// testConfig is the production config with a fixed clock and a checked
// allocator; the returned check asserts every Arrow buffer was released.
func testConfig(t *testing.T) pipeline.Config {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	cfg := pipeline.DefaultConfig()
	cfg.Allocator = mem
	cfg.BatchRows = 2 // several record batches even for tiny files
	cfg.Now = func() time.Time { return time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC) }
	return cfg
}

func openDB(t *testing.T) *pipeline.DB {
	t.Helper()
	db, err := pipeline.Open(context.Background(), ":memory:", pipeline.DBConfig{MemoryLimit: "256MB", Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func ingest(t *testing.T, db *pipeline.DB, dir string, cfg pipeline.Config) pipeline.Summary {
	t.Helper()
	sum, err := pipeline.Ingest(context.Background(), db, dir, cfg)
	if err != nil {
		t.Fatalf("ingest %s: %v", dir, err)
	}
	for _, f := range sum.Files {
		if !f.Balanced() {
			t.Errorf("%s: ledger does not add up: %+v", f.File, f)
		}
	}
	return sum
}

func fileSummary(t *testing.T, sum pipeline.Summary, table string) pipeline.FileSummary {
	t.Helper()
	for _, f := range sum.Files {
		if f.Table == table {
			return f
		}
	}
	t.Fatalf("no file for table %s in %+v", table, sum.Files)
	return pipeline.FileSummary{}
}

func TestIngestValidBatch(t *testing.T) {
	cfg := testConfig(t)
	db := openDB(t)
	dir := t.TempDir()
	b := pipelinetest.Valid()
	b.WriteCSV(t, dir)
	os.WriteFile(filepath.Join(dir, "labels.csv"), []byte("family\n"), 0o644)

	sum := ingest(t, db, dir, cfg)
	if len(sum.Files) != len(contract.Tables) {
		t.Fatalf("files = %d, want %d", len(sum.Files), len(contract.Tables))
	}
	for _, f := range sum.Files {
		want := int64(len(b[f.Table]))
		if f.Read != want || f.Loaded != want || f.Quarantined != 0 {
			t.Errorf("%s: %+v, want %d read and loaded", f.File, f, want)
		}
	}
	if len(sum.Ignored) != 1 || sum.Ignored[0] != "labels.csv" {
		t.Errorf("ignored = %v, want [labels.csv]", sum.Ignored)
	}
	var total, fund string
	if err := db.QueryRow(`SELECT sum(total_amount)::VARCHAR, sum(fund_paid)::VARCHAR FROM settlements`).Scan(&total, &fund); err != nil {
		t.Fatal(err)
	}
	if total != "1036.00" || fund != "800.00" {
		t.Errorf("sums = %s / %s, want 1036.00 / 800.00", total, fund)
	}
	var admitted time.Time
	if err := db.QueryRow(`SELECT admitted_at FROM settlements WHERE settlement_id = 'S001'`).Scan(&admitted); err != nil {
		t.Fatal(err)
	}
	if got := admitted.Format("2006-01-02 15:04:05"); got != "2025-03-02 09:10:00" {
		t.Errorf("admitted_at = %s", got)
	}
	var status string
	var runs int
	if err := db.QueryRow(`SELECT status, count(*) OVER () FROM ingest_runs`).Scan(&status, &runs); err != nil || status != "committed" || runs != 1 {
		t.Errorf("ingest_runs: %s %d %v", status, runs, err)
	}
}

func TestMissingFolderAndEmptyFolder(t *testing.T) {
	cfg := testConfig(t)
	db := openDB(t)
	if _, err := pipeline.Ingest(context.Background(), db, t.TempDir(), cfg); !errors.Is(err, pipeline.ErrNoFiles) {
		t.Errorf("empty folder: err = %v, want ErrNoFiles", err)
	}
	if _, err := pipeline.Ingest(context.Background(), db, filepath.Join(t.TempDir(), "nope"), cfg); err == nil || !strings.Contains(err.Error(), "read batch folder") {
		t.Errorf("missing folder: err = %v", err)
	}
}
