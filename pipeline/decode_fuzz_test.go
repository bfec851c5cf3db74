package pipeline

import (
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medaudit/medaudit/contract"
)

// The decoder fuzzers run the file decoders, the row checks, the stage
// builder and the spill exactly as Ingest does, without DuckDB, so that they
// try thousands of inputs a second. FuzzIngestCSV (ingest_fuzz_test.go)
// covers the same bytes end to end.

// maxFuzzAlloc bounds any single Arrow allocation while decoding a fuzzed
// file of at most a few hundred kilobytes: a corrupt length field must be
// an error, not a gigabyte buffer.
const maxFuzzAlloc = 64 << 20

// boundedAllocator is a checked allocator that panics on an allocation
// larger than maxFuzzAlloc, so the fuzzer reports it as a crasher.
type boundedAllocator struct{ *memory.CheckedAllocator }

func (a boundedAllocator) Allocate(size int) []byte {
	if size > maxFuzzAlloc {
		panic(fmt.Sprintf("decoder allocates %d bytes", size))
	}
	return a.CheckedAllocator.Allocate(size)
}

func (a boundedAllocator) Reallocate(size int, b []byte) []byte {
	if size > maxFuzzAlloc {
		panic(fmt.Sprintf("decoder reallocates %d bytes", size))
	}
	return a.CheckedAllocator.Reallocate(size, b)
}

// fuzzConfig is the production config with a fixed clock, tiny record
// batches and a bounded, checked allocator; the caller asserts its balance.
func fuzzConfig() (Config, *memory.CheckedAllocator) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	cfg := DefaultConfig()
	cfg.Allocator = boundedAllocator{mem}
	cfg.BatchRows = 3
	cfg.Now = func() time.Time { return time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC) }
	return cfg, mem
}

// fuzzTable picks the contract table a fuzzed file is delivered as.
func fuzzTable(i uint8) *contract.Table { return &contract.Tables[int(i)%len(contract.Tables)] }

// sampleHead returns the header and first rows of a table in the committed
// sample batch (fixtures/testdata/sample), the realistic seeds.
func sampleHead(tb testing.TB, table string, rows int) []byte {
	tb.Helper()
	fh, err := os.Open(filepath.Join("..", "fixtures", "testdata", "sample", table+".csv.gz"))
	if os.IsNotExist(err) && table == "settlement_refunds" {
		// The default fixtures write no refunds: two of the sample's
		// purchases refunded.
		return []byte("settlement_id,init_setl_id,person_id,org_code,mdtrt_id,total_amount,fund_paid,account_paid,cash_paid,hifp_pay,settled_at\n" +
			"330000000001,300000000001,5101046364136223846793,H33010600002,,-108.00,0.00,-108.00,0.00,,2025-10-02 11:02:00\n" +
			"330000000002,300000000002,5101046364136223846793,H33010600018,M00000000002,-51.00,0.00,-51.00,0.00,0.00,2025-11-17 11:40:00\n")
	}
	if err != nil {
		tb.Fatal(err)
	}
	defer fh.Close()
	gz, err := gzip.NewReader(fh)
	if err != nil {
		tb.Fatal(err)
	}
	var b strings.Builder
	sc := bufio.NewScanner(gz)
	for i := 0; i <= rows && sc.Scan(); i++ {
		b.WriteString(sc.Text())
		b.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return []byte(b.String())
}

// addCSVSeeds adds, for every table, sample rows as delivered and in the
// shapes the hostile-input tests name: CRLF, a BOM, a quoted newline, a
// GBK name, a stray quote, a short row.
func addCSVSeeds(f *testing.F) {
	for i, t := range contract.Tables {
		head := sampleHead(f, t.Name, 4)
		lines := strings.SplitAfter(string(head), "\n")
		f.Add(uint8(i), head)
		f.Add(uint8(i), []byte(strings.ReplaceAll(string(head), "\n", "\r\n")))
		f.Add(uint8(i), append([]byte("\xef\xbb\xbf"), head...))
		f.Add(uint8(i), []byte(lines[0]))
		f.Add(uint8(i), []byte(lines[0]+strings.Replace(lines[1], ",", `,"a`+"\n"+`b",`, 1)+lines[2]))
		f.Add(uint8(i), []byte(lines[0]+strings.Replace(lines[1], ",", `,"`, 1)+lines[2]))
		f.Add(uint8(i), []byte(lines[0]+strings.Replace(lines[1], ",", ",\xd5\xc5\xbd\xa8", 1)+lines[2]))
		f.Add(uint8(i), []byte(lines[0]+lines[1][:len(lines[1])/2]+"\n"+lines[2]))
	}
}

// writeFuzzFile writes data as the table's file in a fresh folder.
func writeFuzzFile(t *testing.T, table *contract.Table, format Format, data []byte) BatchFile {
	path := filepath.Join(t.TempDir(), table.Name+"."+string(format))
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return BatchFile{Table: table, Name: filepath.Base(path), Path: path, Format: format, Size: int64(len(data))}
}

// drain runs produce over src as Ingest's producer goroutine does, with a
// consumer in place of DuckDB, and returns the well-formed rows sent and the
// rows spilled to quarantine. When the producer reports the rows' keys
// distinct (the merge then skips its duplicate query), no key may repeat.
func drain(t *testing.T, src rowSource, table *contract.Table, cfg Config) (sent, quarantined int64, err error) {
	sp, err := newSpill(cfg.Allocator, cfg.BatchRows)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.close()
	ch := make(chan arrow.RecordBatch, 2)
	done := make(chan struct{})
	schema := loadSchema(table)
	var keyCols []int
	for _, k := range table.Key {
		keyCols = append(keyCols, schema.FieldIndices(k)[0])
	}
	seen := map[string]int{}
	go func() {
		defer close(done)
		for rec := range ch {
			if !rec.Schema().Equal(schema) {
				t.Errorf("record schema %s, want the load schema", rec.Schema())
			}
			for r := range int(rec.NumRows()) {
				var key strings.Builder
				for _, c := range keyCols {
					key.WriteString(rec.Column(c).ValueStr(r) + "\x00")
				}
				seen[key.String()]++
			}
			sent += rec.NumRows()
			rec.Release()
		}
	}()
	var keys fileKeys
	err = produce(context.Background(), src, table, cfg, ch, sp, &keys)
	close(ch)
	<-done
	if err == nil && keys.distinct() {
		for k, n := range seen {
			if n > 1 {
				t.Errorf("keys reported distinct, but key %q was sent %d times", k, n)
			}
		}
	}
	if ferr := sp.finish(); ferr != nil {
		t.Fatalf("spill: %v", ferr)
	}
	return sent, sp.quarantined, err
}

// auditedSource wraps a row source and classifies every row it yields with
// a checker of its own, so the fuzzer knows how many rows produce must load
// and quarantine; each well-formed row is also written back as canonical
// CSV text and checked again, which must give the same values.
type auditedSource struct {
	rowSource
	t           *testing.T
	chk, again  *checker
	lines       []int64
	wellFormed  int64
	canonical   []cell
	cellColumns []contract.Column
}

func newAuditedSource(t *testing.T, src rowSource, table *contract.Table, cfg Config) *auditedSource {
	return &auditedSource{rowSource: src, t: t, chk: newChecker(table, cfg), again: newChecker(table, cfg),
		canonical: make([]cell, len(table.Columns)), cellColumns: table.Columns}
}

func (a *auditedSource) next() (*srcRow, error) {
	row, err := a.rowSource.next()
	if err != nil {
		return row, err
	}
	a.lines = append(a.lines, row.line)
	if row.bad != "" {
		return row, nil
	}
	if a.chk.check(row.cells); len(a.chk.probs) > 0 {
		if col, msg := a.chk.reason(); msg == "" || (col != "" && !strings.Contains(msg, col+": ")) {
			a.t.Fatalf("line %d: reason %q does not name column %q", row.line, msg, col)
		}
		return row, nil
	}
	a.wellFormed++
	for i, col := range a.cellColumns {
		a.canonical[i] = canonicalCell(col.Type, a.chk.vals[i])
	}
	if a.again.check(a.canonical); len(a.again.probs) > 0 || !reflect.DeepEqual(a.chk.vals, a.again.vals) {
		a.t.Fatalf("line %d: values %+v written back as %+v give %+v, problems %+v", row.line, a.chk.vals, a.canonical, a.again.vals, a.again.probs)
	}
	return row, nil
}

// canonicalCell renders a checked value as the CSV text of the contract.
func canonicalCell(t contract.ColType, v value) cell {
	if v.null {
		return cell{}
	}
	var s string
	switch t {
	case contract.String, contract.Enum:
		s = v.s
	case contract.Date:
		s = formatDate(v.i)
	case contract.Timestamp:
		s = formatTimestamp(v.i)
	case contract.Amount, contract.Quantity, contract.Ratio:
		s = contract.FormatDecimal(v.i, t.Scale())
	case contract.Int:
		s = strconv.FormatInt(v.i, 10)
	case contract.Bool:
		s = strconv.FormatBool(v.b)
	}
	return cell{kind: cellText, text: s}
}

// FuzzDecodeCSV feeds arbitrary bytes to the CSV decoder as any table's
// file. Either the file is refused with an error that says why, or every
// record is accounted for: well-formed rows are loaded, the others
// quarantined, line numbers rise and stay within the file, and every loaded
// row survives being written back as canonical CSV.
func FuzzDecodeCSV(f *testing.F) {
	addCSVSeeds(f)
	f.Fuzz(func(t *testing.T, table uint8, data []byte) {
		tb := fuzzTable(table)
		cfg, mem := fuzzConfig()
		defer mem.AssertSize(t, 0)
		bf := writeFuzzFile(t, tb, FormatCSV, data)
		src, err := openSource(bf, cfg)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		defer src.close()
		as := newAuditedSource(t, src, tb, cfg)
		sent, quarantined, err := drain(t, as, tb, cfg)
		if err != nil {
			if !strings.Contains(err.Error(), "UTF-8") && !errors.Is(err, ErrRowTooLong) {
				t.Fatalf("unexpected decode error: %v", err)
			}
			return
		}
		if rows := int64(len(as.lines)); sent+quarantined != rows || sent != as.wellFormed {
			t.Fatalf("%d rows read, %d loaded + %d quarantined; %d are well formed", rows, sent, quarantined, as.wellFormed)
		}
		maxLine := int64(strings.Count(string(data), "\n") + 1)
		for i, l := range as.lines {
			if l < 2 || l > maxLine || i > 0 && l <= as.lines[i-1] {
				t.Fatalf("row %d has line %d (lines %v, file has %d)", i, l, as.lines, maxLine)
			}
		}
	})
}

// addColumnarSeeds converts the sample rows of every table to format and
// adds each file, truncated copies and copies with a flipped byte.
func addColumnarSeeds(f *testing.F, format Format) {
	src, dst := f.TempDir(), f.TempDir()
	for _, t := range contract.Tables {
		if err := os.WriteFile(filepath.Join(src, t.Name+".csv"), sampleHead(f, t.Name, 3), 0o644); err != nil {
			f.Fatal(err)
		}
	}
	cfg := DefaultConfig()
	cfg.Now = func() time.Time { return time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC) }
	if err := Convert(context.Background(), src, dst, format, cfg); err != nil {
		f.Fatal(err)
	}
	for i, t := range contract.Tables {
		data, err := os.ReadFile(filepath.Join(dst, t.Name+"."+string(format)))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(i), data)
		f.Add(uint8(i), data[:len(data)/2])
		f.Add(uint8(i), data[len(data)/3:])
		for _, at := range []int{8, len(data) / 2, len(data) - 12} {
			flipped := append([]byte(nil), data...)
			flipped[at] ^= 0xff
			f.Add(uint8(i), flipped)
		}
	}
}

// maxFuzzHeap bounds all the Go heap one fuzzed columnar file may allocate
// (both passes): boundedAllocator sees only the Arrow buffers, not the
// make calls of the readers themselves (a declared metadata length, for
// one), which a fuzz worker under memory pressure dies of with no report.
const maxFuzzHeap = 4 * maxFuzzAlloc

// fuzzColumnar decodes a fuzzed Parquet or Arrow file through the same path
// as Ingest (including the zero-copy pass-through). A corrupt file must be
// refused with an error naming the format; a readable one must have all its
// rows accounted for, counted by a second, independent pass, and release
// every Arrow buffer. (On corrupt input arrow-go's IPC reader itself drops
// buffers without releasing them; the Go allocator collects them.)
func fuzzColumnar(t *testing.T, table uint8, data []byte, format Format, name string) {
	tb := fuzzTable(table)
	cfg, mem := fuzzConfig()
	bf := writeFuzzFile(t, tb, format, data)
	before := heapAllocated()
	defer func() {
		if n := heapAllocated() - before; n > maxFuzzHeap {
			t.Fatalf("decoding a %d-byte file allocated %d bytes of Go heap", len(data), n)
		}
	}()
	src, err := openSource(bf, cfg)
	if err != nil {
		return
	}
	sent, quarantined, err := drain(t, src, tb, cfg)
	src.close()
	if err != nil {
		if !strings.Contains(err.Error(), name) {
			t.Fatalf("error %q does not name the format %s", err, name)
		}
		return
	}
	again, err := openSource(bf, cfg)
	if err != nil {
		t.Fatalf("opened once, not twice: %v", err)
	}
	var rows int64
	for {
		if _, err := again.next(); err == io.EOF {
			break
		} else if err != nil {
			again.close()
			t.Fatalf("read once, not twice: %v", err)
		}
		rows++
	}
	if sent+quarantined != rows {
		t.Fatalf("%d rows, %d loaded + %d quarantined", rows, sent, quarantined)
	}
	again.close()
	mem.AssertSize(t, 0)
}

// FuzzDecodeParquet: corrupted Parquet files are refused cleanly, with
// bounded allocations, or read with every row accounted for.
func FuzzDecodeParquet(f *testing.F) {
	addColumnarSeeds(f, FormatParquet)
	f.Fuzz(func(t *testing.T, table uint8, data []byte) {
		fuzzColumnar(t, table, data, FormatParquet, "Parquet")
	})
}

// FuzzDecodeArrow: the same for Arrow IPC files and streams.
func FuzzDecodeArrow(f *testing.F) {
	addColumnarSeeds(f, FormatArrow)
	f.Fuzz(func(t *testing.T, table uint8, data []byte) {
		fuzzColumnar(t, table, data, FormatArrow, "Arrow")
	})
}

// FuzzParseCell checks the cell parser of every column type: a date or a
// timestamp is accepted exactly when Go's time package accepts it in the
// contract layout (with the same day number), and any accepted value
// written back as canonical text parses to the same value.
func FuzzParseCell(f *testing.F) {
	for _, s := range []string{"2024-02-29", "2023-02-29", "1900-01-01", "0000-01-01", "9999-12-31", "2024-1-01", "2024-01-01 23:59:59",
		"2024-01-01 24:00:00", "2024-01-01 00:00:60", "2024-01-01T00:00:00", "2024-01-01 00:00:00.5", "12.50", "-0.0001", "1e3",
		"true", "T", "0", "2147483647", "-2147483649", "hospital", "", "１２"} {
		for typ := range uint8(9) {
			f.Add(typ, s, typ%2 == 0)
		}
	}
	f.Fuzz(func(t *testing.T, typ uint8, s string, required bool) {
		col := contract.Column{Name: "c", Type: contract.ColType(typ % 9), Required: required, Enum: contract.InstitutionKinds}
		v, err := parseCell(&col, cell{kind: cellText, text: s})
		switch col.Type {
		case contract.Date:
			ref, rerr := time.Parse("2006-01-02", s)
			if s != "" && (err == nil) != (rerr == nil && len(s) == 10) {
				t.Fatalf("date %q: parseCell err %v, time.Parse err %v", s, err, rerr)
			}
			if err == nil && s != "" && v.i != floorDiv(ref.Unix(), 86400) {
				t.Fatalf("date %q: day %d, time says %d", s, v.i, ref.Unix()/86400)
			}
		case contract.Timestamp:
			ref, rerr := time.Parse(time.DateTime, s)
			if s != "" && (err == nil) != (rerr == nil && len(s) == 19) {
				t.Fatalf("timestamp %q: parseCell err %v, time.Parse err %v", s, err, rerr)
			}
			if err == nil && s != "" && v.i != ref.UnixMicro() {
				t.Fatalf("timestamp %q: %d µs, time says %d", s, v.i, ref.UnixMicro())
			}
		}
		if err != nil {
			if v.null != true || err.Error() == "" {
				t.Fatalf("%q: error %v with value %+v", s, err, v)
			}
			return
		}
		back, err := parseCell(&col, canonicalCell(col.Type, v))
		if err != nil || back != v {
			t.Fatalf("%q -> %+v -> %+v -> %+v, %v", s, v, canonicalCell(col.Type, v), back, err)
		}
	})
}
