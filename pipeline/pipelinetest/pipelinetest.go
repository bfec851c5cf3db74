// Package pipelinetest builds small contract batches for tests: a valid
// baseline of every file whose fields can be changed by name, written in any
// supported format, and a fingerprint of a database's loaded data.
package pipelinetest

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/medaudit/medaudit/contract"
	"github.com/medaudit/medaudit/pipeline"
)

// Row is one record as contract-ordered text fields.
type Row []string

// Batch holds the rows of each contract table, by table name.
type Batch map[string][]Row

// IDNumber returns a valid 18-character ID number for a region, birth date
// (YYYYMMDD) and 3-digit sequence (odd = male).
func IDNumber(region, birth, seq string) string {
	first := region + birth + seq
	return first + string(contract.IDCheckChar(first))
}

// Valid returns a small, fully valid batch: two institutions, two persons, a
// catalogue item, a registration, an inpatient stay with three fee lines, a
// pharmacy purchase, card swipes and stock movements.
func Valid() Batch {
	return padded(Batch{
		"institutions": {
			{"H33010600001", "杭州西湖第一医院", "hospital", "3", "330106", "500", ""},
			{"P33010600002", "西湖大药房", "pharmacy", "0", "330106", "", ""},
		},
		"persons": {
			{"P001", IDNumber("611002", "19560312", "123"), "张建国", "1", "1956-03-12", "611002", "employee", "", "true", "3000.00"},
			{"P002", IDNumber("620102", "19880705", "244"), "李秀英", "2", "1988-07-05", "620102", "resident", "", "", ""},
		},
		"catalog": {
			{"XA01ABD075A002010100483", "地喹氯铵含片", "drug", "B", "0.1000", "12.0000", "", "2024-01-01", ""},
		},
		"registrations": {
			{"R001", "P001", "611002", "330106", "relocated_retiree", "2024-01-01", ""},
		},
		"settlements": {
			{"S001", "P001", "A12345678", "H33010600001", "inpatient", "0301", "D330106000001", "2025-03-02 09:10:00", "2025-03-04 10:00:00", "J18.900",
				"1000.00", "800.00", "150.00", "50.00", "611002", "330106", "R001", "false", "2025-03-04 10:30:00", "false", "21", "1", ""},
			{"S002", "P002", "B87654321", "P33010600002", "pharmacy", "", "", "2025-03-05 18:20:00", "", "",
				"36.00", "0.00", "0.00", "36.00", "620102", "330106", "", "", "2025-03-05 18:20:05", "", "41", "", ""},
		},
		"settlement_refunds": {
			{"RF001", "S002", "P002", "P33010600002", "", "-36.00", "0.00", "0.00", "-36.00", "", "2025-03-05 18:40:00"},
		},
		"fee_items": {
			{"F001", "S001", "001109000010000", "普通病房床位费", "bed", "A", "2.0000", "50.0000", "100.00", "2025-03-02 12:00:00", "", ""},
			{"F002", "S001", "XA01ABD075A002010100483", "地喹氯铵含片", "drug", "B", "3.0000", "12.0000", "36.00", "2025-03-03 08:00:00", "81234567890123456789", ""},
			{"F003", "S001", "002503000010000", "血常规", "lab", "A", "1.0000", "864.0000", "864.00", "2025-03-02 10:00:00", "", ""},
			{"F004", "S002", "XA01ABD075A002010100483", "地喹氯铵含片", "drug", "B", "3.0000", "12.0000", "36.00", "2025-03-05 18:20:00", "81234567890123456790", ""},
		},
		"card_swipes": {
			{"W001", "A12345678", "P001", "H33010600001", "2025-03-04 10:30:00", "1000.00", "settlement", "S001", "T01", "03", ""},
			{"W002", "B87654321", "P002", "P33010600002", "2025-03-05 18:20:05", "36.00", "purchase", "S002", "T02", "01", ""},
			{"W003", "B87654321", "P002", "P33010600002", "2025-03-05 18:19:00", "0.00", "balance_query", "", "T02", "01", ""},
		},
		"stock_movements": {
			{"M001", "P33010600002", "XA01ABD075A002010100483", "2025-03-01", "purchase", "100.0000", "8.5000"},
			{"M002", "P33010600002", "XA01ABD075A002010100483", "2025-03-05", "sale", "3.0000", "12.0000"},
		},
	})
}

// padded gives every row an empty value for the optional columns added to
// its table after the row was written down (rows that are short on purpose
// are written as raw text by the tests that need them).
func padded(b Batch) Batch {
	for name, rows := range b {
		t, _ := contract.TableByName(name)
		for i, r := range rows {
			for len(r) < len(t.Columns) {
				r = append(r, "")
			}
			rows[i] = r
		}
	}
	return b
}

// Clone returns a deep copy.
func (b Batch) Clone() Batch {
	out := Batch{}
	for t, rows := range b {
		for _, r := range rows {
			out[t] = append(out[t], append(Row(nil), r...))
		}
	}
	return out
}

// Set changes one field, by table, row index and column name.
func (b Batch) Set(table string, row int, column, v string) Batch {
	b[table][row][columnIndex(table, column)] = v
	return b
}

// Get reads one field.
func (b Batch) Get(table string, row int, column string) string {
	return b[table][row][columnIndex(table, column)]
}

func columnIndex(table, column string) int {
	t, ok := contract.TableByName(table)
	if !ok {
		panic("pipelinetest: no table " + table)
	}
	for i, c := range t.Columns {
		if c.Name == column {
			return i
		}
	}
	panic("pipelinetest: no column " + table + "." + column)
}

// WriteCSV writes every table as NAME.csv into dir, the rows as given (they
// may be malformed: that is the point of many tests).
func (b Batch) WriteCSV(t testing.TB, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, rows := range b {
		tb, _ := contract.TableByName(name)
		header := make([]string, len(tb.Columns))
		for i, c := range tb.Columns {
			header[i] = c.Name
		}
		writeCSV(t, filepath.Join(dir, name+".csv"), header, padded(Batch{name: rows})[name])
	}
}

// Write writes a valid batch into dir in the given format, converting
// through pipeline.Convert for the columnar formats.
func (b Batch) Write(t testing.TB, dir string, format pipeline.Format, cfg pipeline.Config) {
	t.Helper()
	if format == pipeline.FormatCSV {
		b.WriteCSV(t, dir)
		return
	}
	tmp := t.TempDir()
	b.WriteCSV(t, tmp)
	if err := pipeline.Convert(context.Background(), tmp, dir, format, cfg); err != nil {
		t.Fatalf("convert to %s: %v", format, err)
	}
}

func writeCSV(t testing.TB, path string, header []string, rows []Row) {
	t.Helper()
	fh, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := csv.NewWriter(fh)
	w.Write(header)
	for _, r := range rows {
		w.Write(r)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		t.Fatal(err)
	}
	if err := fh.Close(); err != nil {
		t.Fatal(err)
	}
}

// Snapshot is a fingerprint of a database's data tables, history,
// quarantine and data-quality notes: equal snapshots mean nothing changed.
type Snapshot map[string]string

// TakeSnapshot fingerprints db (counts and an order-independent content hash).
func TakeSnapshot(t testing.TB, db *pipeline.DB) Snapshot {
	t.Helper()
	s := Snapshot{}
	var tables []string
	for _, tb := range contract.Tables {
		tables = append(tables, tb.Name, tb.Name+"_history")
	}
	tables = append(tables, "quarantine", "data_quality")
	for _, name := range tables {
		var n int64
		var h any
		q := fmt.Sprintf(`SELECT count(*), coalesce(sum(hash(x)), 0)::VARCHAR FROM %s x`, name)
		if name == "quarantine" {
			q = `SELECT count(*), coalesce(sum(hash(x)), 0)::VARCHAR FROM (SELECT * EXCLUDE (quarantined_at) FROM quarantine) x`
		}
		if err := db.QueryRow(q).Scan(&n, &h); err != nil {
			t.Fatalf("snapshot %s: %v", name, err)
		}
		s[name] = fmt.Sprintf("%d/%v", n, h)
	}
	return s
}

// Load ingests b into a fresh in-memory database (clock fixed at
// 2026-06-30) and fails the test on any quarantined row: detector tests build
// well-formed worlds.
func Load(t testing.TB, b Batch) *pipeline.DB {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	b.WriteCSV(t, dir)
	db, err := pipeline.Open(ctx, ":memory:", pipeline.DBConfig{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	cfg := pipeline.DefaultConfig()
	cfg.Now = func() time.Time { return time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC) }
	if _, err := pipeline.Ingest(ctx, db, dir, cfg); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query(`SELECT file, line, reason FROM quarantine ORDER BY file, line`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var f, r string
		var l int
		if err := rows.Scan(&f, &l, &r); err != nil {
			t.Fatal(err)
		}
		t.Errorf("quarantined %s:%d: %s", f, l, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return db
}

// Add appends a row to table from column values by name (missing columns are
// empty); an unknown table or column panics, as a typo in a test should.
func (b Batch) Add(table string, kv map[string]string) {
	tb, ok := contract.TableByName(table)
	if !ok {
		panic("pipelinetest: no table " + table)
	}
	row := make(Row, len(tb.Columns))
	for i, c := range tb.Columns {
		row[i] = kv[c.Name]
		delete(kv, c.Name)
	}
	if len(kv) > 0 {
		panic(fmt.Sprintf("pipelinetest: unknown columns %v in %s", kv, table))
	}
	b[table] = append(b[table], row)
}
