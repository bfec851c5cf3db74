package pipeline

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medaudit/medaudit/contract"
	"github.com/medaudit/medaudit/fixtures"
)

// hostileCells are values swapped into every column of generated rows: each
// is wrong, or right, for some column type, rule or range.
var hostileCells = []string{
	"", "x", "-1", "0", "1", "2", "3", "5", "t", "f", "TRUE", "False", "0.5", "1.005", "12.345", "-0.01",
	"1e3", " 1", "99999999999999999999", "999999999999999999", "2147483648", "2025-02-30", "1899-12-31",
	"2200-01-01", "2025-06-01", "2025-01-01 24:00:00", "2025-06-01 10:00:00", "2099-01-01 00:00:00",
	"1999-12-31 23:59:59", "330106", "990106", "33010", "balance_query", "settlement", "pharmacy",
	"hospital", "A", "C", "drug", "1.5000", "0.1000", "-0.0001", "10000.00", "-10000.00",
}

// TestVecCheckAgrees gives the vectorised checker and the row checker the
// same rows — generated rows, and each with one field replaced by a hostile
// value — as CSV text and as Arrow arrays of the load types. Every row the
// vectorised checker passes must pass the row checker with no note, nothing
// normalised, the same values and the same hash; every generated row that
// the row checker passes cleanly must pass the vectorised checker too (or
// the fast path would be dead).
func TestVecCheckAgrees(t *testing.T) {
	dir := t.TempDir()
	fcfg := fixtures.DefaultConfig()
	fcfg.Persons = 100
	if _, err := fixtures.Generate(context.Background(), fcfg, dir); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Now = func() time.Time { return time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC) }
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	cfg.Allocator = mem
	files, _, err := FindBatchFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	tested := 0
	for _, f := range files {
		if !hasVecRules(f.Table) {
			continue
		}
		tested++
		t.Run(f.Table.Name, func(t *testing.T) {
			src, err := openSource(f, cfg)
			if err != nil {
				t.Fatal(err)
			}
			cs := src.(*csvSource)
			defer cs.close()
			var records [][]string
			for cs.read() == nil {
				if cs.row.bad != "" {
					t.Fatalf("generated line %d: %s", cs.row.line, cs.row.bad)
				}
				records = append(records, append([]string(nil), cs.rec...))
			}
			generated := len(records)
			for _, rec := range records[:min(len(records), 6)] {
				for p := range rec {
					for _, h := range hostileCells {
						m := append([]string(nil), rec...)
						m[p] = h
						records = append(records, m)
					}
				}
			}
			agreeText(t, cfg, f.Table, cs, records, generated)
			agreeArrow(t, cfg, f.Table, cs, records)
			agreeCells(t, cfg, f.Table, cs, records)
		})
	}
	if tested < 5 {
		t.Fatalf("only %d tables have vectorised rules", tested)
	}
}

// judge compares the two checkers on row r of block b whose cells are cells.
func judge(t *testing.T, chk *checker, sb *stageBuilder, b *vecBlock, r int, cells []cell, generated bool, what string) {
	t.Helper()
	chk.check(cells)
	clean := len(chk.probs) == 0 && len(chk.warns) == 0 && !chk.normalized
	if b.bad[r] {
		if generated && clean {
			t.Errorf("%s: a clean generated row is refused by the vectorised checker: %v", what, cells)
		}
		return
	}
	if !clean {
		t.Fatalf("%s: vectorised checker passes a row the row checker refuses (%v, notes %v): %v", what, chk.probs, chk.warns, cells)
	}
	want := sb.rowHash(chk.vals, b.extras[r])
	if got := b.rowHash(sb, r); got != want {
		t.Fatalf("%s: hash %x, row checker's values hash %x: %v", what, got, want, cells)
	}
	for i, v := range chk.vals {
		if b.vals[i] != v {
			t.Fatalf("%s: column %s is %+v, row checker says %+v", what, chk.table.Columns[i].Name, b.vals[i], v)
		}
	}
}

func agreeText(t *testing.T, cfg Config, tbl *contract.Table, cs *csvSource, records [][]string, generated int) {
	chk := newChecker(tbl, cfg)
	sb := newStageBuilder(cfg.Allocator, chk.table)
	defer sb.release()
	b := newVecBlock(chk.table, chk, vecBlockRows)
	for off := 0; off < len(records); off += vecBlockRows {
		n := min(vecBlockRows, len(records)-off)
		b.fields, b.lines, b.extras = b.fields[:0], b.lines[:0], b.extras[:0]
		for _, rec := range records[off : off+n] {
			b.fields = append(b.fields, rec...)
			b.lines = append(b.lines, 0)
			b.extras = append(b.extras, cs.extra(rec))
		}
		b.start(n)
		for ci, pos := range cs.cols.index {
			b.textColumn(ci, func(r int) string {
				if pos < 0 {
					return ""
				}
				return b.fields[r*cs.width+pos]
			})
		}
		b.finish()
		passed := 0
		for r := range n {
			row := cs.heldRow(records[off+r], 0, b.extras[r])
			judge(t, chk, sb, b, r, row.cells, off+r < generated, "CSV")
			if !b.bad[r] {
				passed++
			}
		}
		if passed == 0 {
			t.Fatal("the vectorised checker passes no row")
		}
	}
}

// agreeArrow loads every row's values as the row checker parsed them, bad
// ones included (a date out of range, an unbalanced total), into arrays of
// the load types and compares the checkers on those.
func agreeArrow(t *testing.T, cfg Config, tbl *contract.Table, cs *csvSource, records [][]string) {
	chk := newChecker(tbl, cfg)
	sb := newStageBuilder(cfg.Allocator, tbl)
	defer sb.release()
	for _, rec := range records {
		chk.check(cs.heldRow(rec, 0, "").cells)
		sb.appendValid(chk.vals, 0, "")
	}
	rec := sb.flush()
	defer rec.Release()
	getters := make([]func(int) cell, len(tbl.Columns))
	for i := range tbl.Columns {
		getters[i] = cellGetter(rec.Column(i))
	}
	b := newVecBlock(tbl, chk, vecBlockRows)
	cells := make([]cell, len(tbl.Columns))
	for off := 0; off < len(records); off += vecBlockRows {
		n := min(vecBlockRows, len(records)-off)
		b.start(n)
		b.extras = b.extras[:0]
		for range n {
			b.extras = append(b.extras, "")
		}
		for ci := range tbl.Columns {
			b.arrowColumn(ci, rec.Column(ci), off)
		}
		b.finish()
		for r := range n {
			for ci := range cells {
				cells[ci] = getters[ci](off + r)
			}
			judge(t, chk, sb, b, r, cells, false, "Arrow")
		}
	}
}

// agreeCells compares the checkers on decoded cells as a national source
// hands them on: dates and timestamps typed where they parse (in every
// fifth row an integer instead), every other cell text.
func agreeCells(t *testing.T, cfg Config, tbl *contract.Table, cs *csvSource, records [][]string) {
	chk := newChecker(tbl, cfg)
	sb := newStageBuilder(cfg.Allocator, tbl)
	defer sb.release()
	ncols := len(tbl.Columns)
	var cells []cell
	for i, rec := range records {
		row := cs.heldRow(rec, 0, "")
		for ci, c := range row.cells {
			switch tbl.Columns[ci].Type {
			case contract.Timestamp:
				if v, ok := parseTimestamp(c.text); ok {
					c = cell{kind: cellTime, num: v}
				}
			case contract.Date:
				if v, ok := parseDate(c.text); ok {
					c = cell{kind: cellDate, num: v}
				}
			}
			if k := tbl.Columns[ci].Type; i%5 == 0 && (k == contract.Date || k == contract.Timestamp) {
				c = cell{kind: cellInt, num: int64(i)}
			}
			cells = append(cells, c)
		}
	}
	b := newVecBlock(tbl, chk, vecBlockRows)
	for off := 0; off < len(records); off += vecBlockRows {
		n := min(vecBlockRows, len(records)-off)
		b.start(n)
		b.extras = b.extras[:0]
		for range n {
			b.extras = append(b.extras, "")
		}
		block := cells[off*ncols : (off+n)*ncols]
		for ci := range ncols {
			b.cellColumn(ci, block, ncols)
		}
		b.finish()
		for r := range n {
			judge(t, chk, sb, b, r, block[r*ncols:(r+1)*ncols], false, "cells")
		}
	}
}

// TestWriteJSONString checks the direct path against json.Marshal.
func TestWriteJSONString(t *testing.T) {
	for _, s := range []string{"", "abc", "张三", "a\"b", `a\b`, "<x>&", "tab\there", "line\nbreak", "\u2028", "\u2029x",
		"bad \xff utf-8", "\x7f", "0.5", "北京市朝阳区 1号", "e\u0301"} {
		var b strings.Builder
		writeJSONString(&b, s)
		want, _ := json.Marshal(s)
		if b.String() != string(want) {
			t.Errorf("%q: got %s, json.Marshal gives %s", s, b.String(), want)
		}
	}
}
