package pipeline_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medaudit/medaudit/contract"
	"github.com/medaudit/medaudit/pipeline"
	"github.com/medaudit/medaudit/pipeline/pipelinetest"
)

// FuzzIngestCSV ingests arbitrary bytes as one file of any table into a real
// DuckDB that already holds the valid batch (so rows can find their parents
// and repeat stored ones). The batch either fails with a BatchError naming
// the file and leaves every data table, the history and the quarantine as
// they were, or its ledger adds up and the table holds exactly the rows the
// ledger says this run loaded or corrected, and the quarantine the rows it
// says were quarantined. One database serves every input of a fuzz worker.
func FuzzIngestCSV(f *testing.F) {
	ctx := context.Background()
	db, err := pipeline.Open(ctx, ":memory:", pipeline.DBConfig{MemoryLimit: "256MB", Threads: 1})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	cfg := pipeline.DefaultConfig()
	cfg.BatchRows = 3
	cfg.Now = func() time.Time { return time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC) }
	valid := f.TempDir()
	pipelinetest.Valid().WriteCSV(f, valid)
	if _, err := pipeline.Ingest(ctx, db, valid, cfg); err != nil {
		f.Fatal(err)
	}
	for i, t := range contract.Tables {
		body, err := os.ReadFile(filepath.Join(valid, t.Name+".csv"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(i), body)
		f.Add(uint8(i), bytes.ReplaceAll(body, []byte("\n"), []byte("\r\n")))
		f.Add(uint8(i), append([]byte("\xef\xbb\xbf"), bytes.ReplaceAll(body, []byte("P0"), []byte("Q0"))...))
		f.Add(uint8(i), append(body, body[bytes.IndexByte(body, '\n')+1:]...))
		f.Add(uint8(i), bytes.Replace(body, []byte(","), []byte(",\"x\ny\","), 3))
	}
	f.Fuzz(func(t *testing.T, table uint8, body []byte) {
		tb := &contract.Tables[int(table)%len(contract.Tables)]
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		c := cfg
		c.Allocator = mem
		dir := t.TempDir()
		name := tb.Name + ".csv"
		if err := os.WriteFile(filepath.Join(dir, name), body, 0o644); err != nil {
			t.Fatal(err)
		}
		batchID, err := pipeline.BatchID(dir)
		if err != nil {
			t.Fatal(err)
		}
		var seen int
		if err := db.QueryRow(`SELECT count(*) FROM ingest_runs WHERE batch_id = ? AND status = 'committed'`, batchID).Scan(&seen); err != nil {
			t.Fatal(err)
		}
		before := pipelinetest.TakeSnapshot(t, db)
		sum, err := pipeline.Ingest(ctx, db, dir, c)
		if err != nil {
			var be *pipeline.BatchError
			if !errors.As(err, &be) || be.File != name {
				t.Fatalf("error %v is not a BatchError naming %s", err, name)
			}
			if after := pipelinetest.TakeSnapshot(t, db); !equalSnapshots(before, after) {
				t.Fatalf("a failed batch changed the database:\nbefore %v\nafter  %v", before, after)
			}
			return
		}
		mem.AssertSize(t, 0)
		if len(sum.Files) != 1 || !sum.Files[0].Balanced() {
			t.Fatalf("ledger %+v", sum.Files)
		}
		fs := sum.Files[0]
		var kept, quarantined int64
		if err := db.QueryRow(`SELECT count(*) FROM "`+tb.Name+`" WHERE run_id = ?`, sum.RunID).Scan(&kept); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRow(`SELECT count(*) FROM quarantine WHERE batch_id = ? AND file = ?`, sum.BatchID, name).Scan(&quarantined); err != nil {
			t.Fatal(err)
		}
		if kept != fs.Loaded+fs.Corrected {
			t.Fatalf("%d rows of run %d in %s, ledger %+v", kept, sum.RunID, tb.Name, fs)
		}
		if seen == 0 && quarantined != fs.Quarantined {
			t.Fatalf("%d rows in quarantine, ledger %+v", quarantined, fs)
		}
	})
}
