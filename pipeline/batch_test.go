package pipeline_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"github.com/medaudit/medaudit/contract"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medaudit/medaudit/pipeline"
	"github.com/medaudit/medaudit/pipeline/pipelinetest"
)

// TestUnreadableFileFailsBatch: a file that cannot be read fails the whole
// batch, names the file, and leaves the database exactly as it was.
func TestUnreadableFileFailsBatch(t *testing.T) {
	tests := []struct {
		name    string
		file    string // the file that is broken
		format  pipeline.Format
		breakIt func(t *testing.T, path string)
		want    string
	}{
		{"missing required column", "settlements.csv", pipeline.FormatCSV, func(t *testing.T, path string) {
			data, _ := os.ReadFile(path)
			os.WriteFile(path, bytes.Replace(data, []byte("fund_paid"), []byte("fund_pay"), 1), 0o644)
		}, "missing required column(s) fund_paid"},
		{"case matters in names", "persons.csv", pipeline.FormatCSV, func(t *testing.T, path string) {
			data, _ := os.ReadFile(path)
			os.WriteFile(path, bytes.Replace(data, []byte("person_id"), []byte("Person_ID"), 1), 0o644)
		}, "missing required column(s) person_id"},
		{"GBK encoding", "persons.csv", pipeline.FormatCSV, func(t *testing.T, path string) {
			data, _ := os.ReadFile(path)
			// 张 in GBK is D5 C5: not valid UTF-8.
			os.WriteFile(path, bytes.Replace(data, []byte("张建国"), []byte{0xD5, 0xC5, 0xBD, 0xA8}, 1), 0o644)
		}, "neither valid UTF-8 nor valid GB18030"},
		{"empty file", "fee_items.csv", pipeline.FormatCSV, func(t *testing.T, path string) {
			os.WriteFile(path, nil, 0o644)
		}, "no header row"},
		{"truncated parquet", "fee_items.parquet", pipeline.FormatParquet, func(t *testing.T, path string) {
			data, _ := os.ReadFile(path)
			os.WriteFile(path, data[:len(data)*2/3], 0o644)
		}, "Parquet"},
		{"truncated arrow", "card_swipes.arrow", pipeline.FormatArrow, func(t *testing.T, path string) {
			data, _ := os.ReadFile(path)
			os.WriteFile(path, data[:len(data)/2], 0o644)
		}, "Arrow"},
		{"corrupt gzip", "settlements.csv.gz", pipeline.FormatCSVGz, func(t *testing.T, path string) {
			data, _ := os.ReadFile(path)
			os.WriteFile(path, data[:len(data)-12], 0o644)
		}, "unexpected EOF"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t)
			db := openDB(t)
			// A first, good batch so that "unchanged" means something.
			first := t.TempDir()
			pipelinetest.Valid().WriteCSV(t, first)
			ingest(t, db, first, cfg)
			before := pipelinetest.TakeSnapshot(t, db)

			dir := t.TempDir()
			b := pipelinetest.Valid()
			b.Set("settlements", 1, "cash_paid", "35.99").Set("fee_items", 3, "amount", "36.01")
			b.Write(t, dir, tc.format, cfg)
			tc.breakIt(t, filepath.Join(dir, tc.file))
			_, err := pipeline.Ingest(context.Background(), db, dir, cfg)
			var be *pipeline.BatchError
			if !errors.As(err, &be) || be.File != tc.file || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want a BatchError for %s containing %q", err, tc.file, tc.want)
			}
			if after := pipelinetest.TakeSnapshot(t, db); !equalSnapshots(before, after) {
				t.Errorf("database changed by a failed batch:\nbefore %v\nafter  %v", before, after)
			}
			var status, msg string
			if err := db.QueryRow(`SELECT status, error FROM ingest_runs ORDER BY run_id DESC LIMIT 1`).Scan(&status, &msg); err != nil {
				t.Fatal(err)
			}
			if status != "failed" || !strings.Contains(msg, tc.want) {
				t.Errorf("last run = %s %q", status, msg)
			}
		})
	}
}

// TestCancelledIngestRollsBack: a batch cancelled while its files are
// being read (the producer of a later file may already be ahead of the
// loader) returns the cancellation, leaves the database as it was, and
// releases every Arrow buffer (testConfig's checked allocator). Delimited
// files only: a columnar source reports progress in 64 KiB steps, which
// these small files never reach.
func TestCancelledIngestRollsBack(t *testing.T) {
	for _, format := range []pipeline.Format{pipeline.FormatCSV, pipeline.FormatCSVGz} {
		t.Run(string(format), func(t *testing.T) {
			db := openDB(t)
			first := t.TempDir()
			pipelinetest.Valid().WriteCSV(t, first)
			ingest(t, db, first, testConfig(t))
			before := pipelinetest.TakeSnapshot(t, db)

			cfg := testConfig(t)
			dir := t.TempDir()
			b := pipelinetest.Valid()
			b.Set("settlements", 1, "cash_paid", "35.99").Set("fee_items", 3, "amount", "36.01")
			b.Write(t, dir, format, cfg)
			var total int64
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				info, _ := e.Info()
				total += info.Size()
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var read int64
			cfg.Progress = func(n int64) {
				if read += n; read > total/2 {
					cancel()
				}
			}
			_, err := pipeline.Ingest(ctx, db, dir, cfg)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want the cancellation", err)
			}
			if after := pipelinetest.TakeSnapshot(t, db); !equalSnapshots(before, after) {
				t.Errorf("database changed by a cancelled batch:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
}

func equalSnapshots(a, b pipelinetest.Snapshot) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestSameBatchTwiceChangesNothing(t *testing.T) {
	cfg := testConfig(t)
	db := openDB(t)
	dir := t.TempDir()
	// With a quarantined row, so that the quarantine must not grow either.
	pipelinetest.Valid().Set("fee_items", 3, "amount", "99.00").WriteCSV(t, dir)
	first := ingest(t, db, dir, cfg)
	before := pipelinetest.TakeSnapshot(t, db)
	second := ingest(t, db, dir, cfg)
	if after := pipelinetest.TakeSnapshot(t, db); !equalSnapshots(before, after) {
		t.Errorf("second ingest changed data:\nbefore %v\nafter  %v", before, after)
	}
	if first.BatchID != second.BatchID {
		t.Errorf("batch ids differ: %s %s", first.BatchID, second.BatchID)
	}
	for _, f := range second.Files {
		if f.Loaded != 0 || f.Corrected != 0 || f.Unchanged+f.Quarantined != f.Read {
			t.Errorf("%s: %+v, want all rows unchanged or quarantined", f.File, f)
		}
	}
	if fs := fileSummary(t, second, "fee_items"); fs.Quarantined != 1 {
		t.Errorf("fee_items %+v", fs)
	}
}

func TestSameRowsInAnotherFormatAreUnchanged(t *testing.T) {
	cfg := testConfig(t)
	db := openDB(t)
	csvDir, pqDir := t.TempDir(), t.TempDir()
	pipelinetest.Valid().WriteCSV(t, csvDir)
	pipelinetest.Valid().Write(t, pqDir, pipeline.FormatParquet, cfg)
	ingest(t, db, csvDir, cfg)
	sum := ingest(t, db, pqDir, cfg)
	if sum.Totals.Unchanged != sum.Totals.Read || sum.Totals.Read == 0 {
		t.Errorf("Parquet re-delivery of CSV rows: %+v", sum.Totals)
	}
}

func TestCorrectionKeepsHistory(t *testing.T) {
	cfg := testConfig(t)
	db := openDB(t)
	first, second := t.TempDir(), t.TempDir()
	pipelinetest.Valid().WriteCSV(t, first)
	ingest(t, db, first, cfg)
	corrected := pipelinetest.Valid()
	corrected.Set("settlements", 0, "fund_paid", "700.00").Set("settlements", 0, "cash_paid", "150.00")
	corrected.Set("persons", 1, "name", "李秀英（更正）")
	corrected.WriteCSV(t, second)
	sum := ingest(t, db, second, cfg)
	if fs := fileSummary(t, sum, "settlements"); fs.Corrected != 1 || fs.Unchanged != 1 || fs.Loaded != 0 {
		t.Errorf("settlements %+v", fs)
	}
	if fs := fileSummary(t, sum, "persons"); fs.Corrected != 1 || fs.Unchanged != 1 {
		t.Errorf("persons %+v", fs)
	}
	var fund, oldFund, by string
	var n int
	if err := db.QueryRow(`SELECT fund_paid::VARCHAR, (SELECT count(*) FROM settlements) FROM settlements WHERE settlement_id = 'S001'`).Scan(&fund, &n); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT fund_paid::VARCHAR, superseded_by FROM settlements_history WHERE settlement_id = 'S001'`).Scan(&oldFund, &by); err != nil {
		t.Fatal(err)
	}
	if fund != "700.00" || n != 2 || oldFund != "800.00" || by != sum.BatchID {
		t.Errorf("current %s (%d rows), history %s by %s (batch %s)", fund, n, oldFund, by, sum.BatchID)
	}
	// Delivering the first version again is a correction back, with a second
	// history row: the newest batch always wins.
	third := t.TempDir()
	pipelinetest.Valid().WriteCSV(t, third)
	os.WriteFile(filepath.Join(third, "note.txt"), []byte("re-run"), 0o644) // another batch id
	sum = ingest(t, db, third, cfg)
	if fs := fileSummary(t, sum, "settlements"); fs.Corrected != 1 {
		t.Errorf("settlements %+v", fs)
	}
	if err := db.QueryRow(`SELECT count(*) FROM settlements_history`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("history rows = %d, want 2", n)
	}
}

func TestDuplicateKeysInOneFile(t *testing.T) {
	cfg := testConfig(t)
	db := openDB(t)
	dir := t.TempDir()
	b := pipelinetest.Valid()
	same := append(pipelinetest.Row(nil), b["stock_movements"][0]...)
	diff := append(pipelinetest.Row(nil), b["stock_movements"][1]...)
	diff[5] = "4.0000"
	b["stock_movements"] = append(b["stock_movements"], same, diff)
	b.WriteCSV(t, dir)
	fs := fileSummary(t, ingest(t, db, dir, cfg), "stock_movements")
	if fs.Read != 4 || fs.Loaded != 2 || fs.Unchanged != 1 || fs.Quarantined != 1 {
		t.Fatalf("%+v", fs)
	}
	var reason string
	if err := db.QueryRow(`SELECT reason FROM quarantine`).Scan(&reason); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(reason, "duplicate key M002 with different content; the row at line 3 is kept") {
		t.Errorf("reason = %q", reason)
	}
	var q string
	if err := db.QueryRow(`SELECT quantity::VARCHAR FROM stock_movements WHERE movement_id = 'M002'`).Scan(&q); err != nil {
		t.Fatal(err)
	}
	if q != "3.0000" {
		t.Errorf("kept quantity %s, want the first row's 3.0000", q)
	}
}

// TestFormatsRoundTrip: the same rows in each format load to identical tables.
func TestFormatsRoundTrip(t *testing.T) {
	ref := map[string]string{}
	for _, format := range []pipeline.Format{pipeline.FormatCSV, pipeline.FormatCSVGz, pipeline.FormatParquet, pipeline.FormatArrow} {
		t.Run(string(format), func(t *testing.T) {
			cfg := testConfig(t)
			db := openDB(t)
			dir := t.TempDir()
			pipelinetest.Valid().Write(t, dir, format, cfg)
			matches, _ := filepath.Glob(filepath.Join(dir, "*."+string(format)))
			if len(matches) != len(contract.Tables) {
				t.Fatalf("%d files of format %s", len(matches), format)
			}
			if format == pipeline.FormatCSVGz {
				fh, _ := os.Open(filepath.Join(dir, "persons.csv.gz"))
				if _, err := gzip.NewReader(fh); err != nil {
					t.Fatalf("not gzip: %v", err)
				}
				fh.Close()
			}
			sum := ingest(t, db, dir, cfg)
			if sum.Totals.Quarantined != 0 || sum.Totals.Loaded != 18 {
				t.Fatalf("%+v", sum.Totals)
			}
			for _, table := range []string{"institutions", "persons", "catalog", "registrations", "settlements", "fee_items", "card_swipes", "stock_movements"} {
				var content string
				// Compare content without batch_id (the fingerprint differs by format)
				// and src_line (a CSV line counts the header, a row index does not).
				if err := db.QueryRow(`SELECT string_agg(x::VARCHAR, '|' ORDER BY x::VARCHAR) FROM (SELECT * EXCLUDE (batch_id, src_line) FROM ` + table + `) x`).Scan(&content); err != nil {
					t.Fatal(err)
				}
				if prev, ok := ref[table]; ok && prev != content {
					t.Errorf("%s differs from CSV:\n%s\n%s", table, prev, content)
				}
				ref[table] = content
			}
		})
	}
}

// TestColumnarPassthroughFallback: a Parquet record batch with one bad row
// and one normalised row loads its good rows and quarantines the bad one,
// whether the bad row comes first, in the middle or last in the batch.
func TestColumnarPassthroughFallback(t *testing.T) {
	for _, badItem := range []string{"F001", "F003", "F004"} {
		t.Run(badItem, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.BatchRows = 100 // one record batch per file
			db := openDB(t)
			dir := t.TempDir()
			pipelinetest.Valid().Set("persons", 0, "id_number", strings.ToLower(idWithX(t))).
				Write(t, dir, pipeline.FormatParquet, cfg)
			// Rewrite fee_items.parquet with DuckDB, breaking one amount.
			orig := filepath.Join(dir, "fee_items.parquet")
			broken := filepath.Join(t.TempDir(), "fee_items.parquet")
			if _, err := db.Exec(`COPY (SELECT * REPLACE (CASE WHEN item_id = '` + badItem + `' THEN amount + 1 ELSE amount END AS amount)
				FROM read_parquet('` + orig + `')) TO '` + broken + `' (FORMAT parquet)`); err != nil {
				t.Fatal(err)
			}
			data, _ := os.ReadFile(broken)
			os.WriteFile(orig, data, 0o644)
			sum := ingest(t, db, dir, cfg)
			fees := fileSummary(t, sum, "fee_items")
			if fees.Read != 4 || fees.Loaded != 3 || fees.Quarantined != 1 {
				t.Fatalf("fee_items %+v", fees)
			}
			var reason string
			var line int64
			if err := db.QueryRow(`SELECT line, reason FROM quarantine`).Scan(&line, &reason); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(reason, "≠ quantity") || line == 0 {
				t.Errorf("quarantine: line %d %q", line, reason)
			}
			var ids string
			if err := db.QueryRow(`SELECT string_agg(item_id, ',' ORDER BY item_id) FROM fee_items`).Scan(&ids); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(ids, badItem) || len(strings.Split(ids, ",")) != 3 {
				t.Errorf("loaded items %s", ids)
			}
			var id string
			if err := db.QueryRow(`SELECT id_number FROM persons WHERE person_id = 'P001'`).Scan(&id); err != nil {
				t.Fatal(err)
			}
			if id != idWithX(t) {
				t.Errorf("id_number %q not normalised", id)
			}
		})
	}
}

// TestCompositeKey: the catalogue is keyed by (item_code, valid_from); the
// same code from another date is a new record, the same pair again is not.
func TestCompositeKey(t *testing.T) {
	cfg := testConfig(t)
	db := openDB(t)
	dir := t.TempDir()
	b := pipelinetest.Valid()
	again := append(pipelinetest.Row(nil), b["catalog"][0]...)
	later := append(pipelinetest.Row(nil), b["catalog"][0]...)
	later[7] = "2025-07-01" // valid_from
	b["catalog"] = append(b["catalog"], again, later)
	b.WriteCSV(t, dir)
	fs := fileSummary(t, ingest(t, db, dir, cfg), "catalog")
	if fs.Read != 3 || fs.Loaded != 2 || fs.Unchanged != 1 {
		t.Fatalf("%+v", fs)
	}
}

func TestExportParquet(t *testing.T) {
	cfg := testConfig(t)
	db := openDB(t)
	dir := t.TempDir()
	pipelinetest.Valid().WriteCSV(t, dir)
	ingest(t, db, dir, cfg)
	out := filepath.Join(t.TempDir(), "export")
	rows, err := pipeline.ExportParquet(context.Background(), db, out, false)
	if err != nil {
		t.Fatal(err)
	}
	if rows["settlements"] != 2 || rows["fee_items"] != 4 || rows["persons"] != 2 {
		t.Errorf("rows %v", rows)
	}
	var n int
	var id, name string
	if err := db.QueryRow(`SELECT count(*) FROM read_parquet('` + out + `/settlements/*/*/*.parquet', hive_partitioning = true) WHERE region = '611002' AND month = '2025-03'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("partition region=611002/month=2025-03 holds %d settlements, want 1", n)
	}
	if err := db.QueryRow(`SELECT id_number, name FROM read_parquet('`+out+`/persons.parquet') WHERE person_id = 'P001'`).Scan(&id, &name); err != nil {
		t.Fatal(err)
	}
	if id != "611002********1232" || name != "张**" {
		t.Errorf("exported person %q %q: must be masked", id, name)
	}
}
