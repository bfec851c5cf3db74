package pipeline_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/medaudit/medaudit/pipeline"
	"github.com/medaudit/medaudit/pipeline/pipelinetest"
)

// Hostile input (issue 7): files that are badly encoded, oversized or built
// to exhaust memory. Each must load correctly, or quarantine with a reason,
// or fail its batch with an error naming the file and leave the database as
// it was; memory stays bounded (peakMemory).

// editFile rewrites one file of a batch folder.
func editFile(t *testing.T, dir, name string, edit func([]byte) []byte) {
	t.Helper()
	path := filepath.Join(dir, name)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, edit(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestHostileCSVLoads: a byte-order mark, CRLF line ends and newlines inside
// quoted fields are legal CSV; the batch loads whole and the line numbers in
// the quarantine still point at the physical line where a record starts.
func TestHostileCSVLoads(t *testing.T) {
	bom := func(b []byte) []byte { return append([]byte("\xef\xbb\xbf"), b...) }
	crlf := func(b []byte) []byte { return bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n")) }
	tests := []struct {
		name string
		edit func([]byte) []byte
	}{
		{"UTF-8 BOM", bom},
		{"CRLF", crlf},
		{"BOM and CRLF", func(b []byte) []byte { return bom(crlf(b)) }},
		{"LF", func(b []byte) []byte { return b }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t)
			db := openDB(t)
			dir := t.TempDir()
			b := pipelinetest.Valid()
			// fee_items: line 1 header, F001 spans lines 2-3, F002 line 4,
			// F003 (a wrong amount) line 5, F004 line 6.
			b.Set("fee_items", 0, "item_name", "普通病房\n床位费").Set("fee_items", 2, "amount", "865.00")
			b.WriteCSV(t, dir)
			for _, name := range []string{"persons.csv", "fee_items.csv", "settlements.csv"} {
				editFile(t, dir, name, tc.edit)
			}
			sum := ingest(t, db, dir, cfg)
			if sum.Totals.Read != 18 || sum.Totals.Loaded != 17 || sum.Totals.Quarantined != 1 {
				t.Fatalf("totals %+v", sum.Totals)
			}
			var line int64
			var reason, name string
			if err := db.QueryRow(`SELECT line, reason FROM quarantine`).Scan(&line, &reason); err != nil {
				t.Fatal(err)
			}
			if line != 5 || !strings.Contains(reason, "amount 865.00 ≠ quantity") {
				t.Errorf("quarantined line %d %q, want line 5, the amount", line, reason)
			}
			if err := db.QueryRow(`SELECT item_name FROM fee_items WHERE item_id = 'F001'`).Scan(&name); err != nil {
				t.Fatal(err)
			}
			if name != "普通病房\n床位费" {
				t.Errorf("multi-line name loaded as %q", name)
			}
			var id string
			if err := db.QueryRow(`SELECT person_id FROM persons ORDER BY person_id LIMIT 1`).Scan(&id); err != nil {
				t.Fatal(err)
			}
			if id != "P001" {
				t.Errorf("first person_id %q: the BOM or CR is part of the data", id)
			}
		})
	}
}

// gbk holds GB 2312/GBK encodings of text in the valid batch.
var gbk = map[string][]byte{
	"张建国":  {0xd5, 0xc5, 0xbd, 0xa8, 0xb9, 0xfa},
	"李秀英":  {0xc0, 0xee, 0xd0, 0xe3, 0xd3, 0xa2},
	"个人编号": {0xb8, 0xf6, 0xc8, 0xcb, 0xb1, 0xe0, 0xba, 0xc5},
}

func toGBK(b []byte) []byte {
	for utf, enc := range gbk {
		b = bytes.ReplaceAll(b, []byte(utf), enc)
	}
	return b
}

// TestHostileCSVRefused: input that cannot be read as contract CSV fails the
// batch with an error naming the file and the problem; nothing of the batch
// is loaded and the failed run is recorded.
func TestHostileCSVRefused(t *testing.T) {
	tests := []struct {
		name string
		file string
		edit func([]byte) []byte
		want string
	}{
		// Encoding is a property of the whole file: a file that is GBK in
		// part and UTF-8 in part is refused rather than each row with a
		// Chinese name quarantined (a wholly GBK file loads, see
		// TestEncodingsAndDialects).
		{"GBK header", "persons.csv", func(b []byte) []byte {
			return append(toGBK([]byte("个人编号,")), b...)
		}, "neither valid UTF-8 nor valid GB18030"},
		{"GBK in a broken row", "persons.csv", func(b []byte) []byte {
			return append(b, toGBK([]byte("P003,张建国,\"x\"y\n"))...)
		}, "neither valid UTF-8 nor valid GB18030"},
		{"10 MB field", "settlements.csv", func(b []byte) []byte {
			return bytes.Replace(b, []byte("J18.900"), bytes.Repeat([]byte("J"), 10<<20), 1)
		}, "the record after line 1: CSV record too long: longer than 1048576 bytes"},
		{"unclosed quote", "fee_items.csv", func(b []byte) []byte {
			rows := bytes.Repeat([]byte("F9,S001,X,x,drug,A,1.0000,1.0000,1.00,2025-03-02 12:00:00,,\n"), 40000)
			return append(bytes.Replace(b, []byte(",普通病房床位费,"), []byte(`,"普通病房床位费,`), 1), rows...)
		}, "the record after line 1: CSV record too long"},
		{"duplicate column", "stock_movements.csv", func(b []byte) []byte {
			return bytes.Replace(b, []byte("unit_price"), []byte("quantity"), 1)
		}, `column "quantity" appears twice`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t)
			db := openDB(t)
			dir := t.TempDir()
			pipelinetest.Valid().WriteCSV(t, dir)
			editFile(t, dir, tc.file, tc.edit)
			refused(t, db, dir, cfg, tc.file, tc.want)
		})
	}
}

// refused ingests dir, which must fail with a BatchError for file whose
// message contains want, and must change nothing but the run log.
func refused(t *testing.T, db *pipeline.DB, dir string, cfg pipeline.Config, file, want string) error {
	t.Helper()
	before := pipelinetest.TakeSnapshot(t, db)
	_, err := pipeline.Ingest(context.Background(), db, dir, cfg)
	var be *pipeline.BatchError
	if !errors.As(err, &be) || be.File != file || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want a BatchError for %s containing %q", err, file, want)
	}
	if after := pipelinetest.TakeSnapshot(t, db); !equalSnapshots(before, after) {
		t.Errorf("database changed by a refused batch:\nbefore %v\nafter  %v", before, after)
	}
	var status string
	if err := db.QueryRow(`SELECT status FROM ingest_runs ORDER BY run_id DESC LIMIT 1`).Scan(&status); err != nil {
		t.Fatal(err)
	}
	if status != "failed" {
		t.Errorf("last run %q, want failed", status)
	}
	return err
}

// TestHostileLimitsAreConfigurable: the row and gzip limits are settings,
// checked by Validate.
func TestHostileLimitsAreConfigurable(t *testing.T) {
	cfg := testConfig(t)
	db := openDB(t)
	dir := t.TempDir()
	pipelinetest.Valid().WriteCSV(t, dir)
	editFile(t, dir, "settlements.csv", func(b []byte) []byte {
		return bytes.Replace(b, []byte("J18.900"), bytes.Repeat([]byte("J"), 2<<20), 1)
	})
	cfg.MaxRowBytes = 4 << 20
	sum := ingest(t, db, dir, cfg)
	if fs := fileSummary(t, sum, "settlements"); fs.Loaded != 2 {
		t.Errorf("a 2 MiB field under a 4 MiB limit: %+v", fs)
	}
	for _, bad := range []func(c *pipeline.Config){
		func(c *pipeline.Config) { c.MaxRowBytes = 0 },
		func(c *pipeline.Config) { c.MaxRowBytes = 2 << 30 },
		func(c *pipeline.Config) { c.MaxGzipRatio = -1 },
	} {
		c := pipeline.DefaultConfig()
		bad(&c)
		if c.Validate() == nil {
			t.Errorf("%+v validates", c)
		}
	}
}

// TestHostileFolder: archives are not batch files, and one table may not
// come twice.
func TestHostileFolder(t *testing.T) {
	cfg := testConfig(t)
	db := openDB(t)

	zipOnly := t.TempDir()
	os.WriteFile(filepath.Join(zipOnly, "settlements.zip"), []byte("PK\x03\x04"), 0o644)
	os.WriteFile(filepath.Join(zipOnly, "batch.tar"), []byte("x"), 0o644)
	if _, err := pipeline.Ingest(context.Background(), db, zipOnly, cfg); !errors.Is(err, pipeline.ErrNoFiles) {
		t.Errorf("a folder of archives: %v, want ErrNoFiles", err)
	}

	withZip := t.TempDir()
	pipelinetest.Valid().WriteCSV(t, withZip)
	os.WriteFile(filepath.Join(withZip, "persons.csv.zip"), []byte("PK\x03\x04"), 0o644)
	sum := ingest(t, db, withZip, cfg)
	if len(sum.Ignored) != 1 || sum.Ignored[0] != "persons.csv.zip" || sum.Totals.Loaded != 18 {
		t.Errorf("ignored %v, totals %+v", sum.Ignored, sum.Totals)
	}

	twice := t.TempDir()
	pipelinetest.Valid().WriteCSV(t, twice)
	data, _ := os.ReadFile(filepath.Join(twice, "persons.csv"))
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write(data)
	w.Close()
	os.WriteFile(filepath.Join(twice, "persons.csv.gz"), gz.Bytes(), 0o644)
	if _, err := pipeline.Ingest(context.Background(), db, twice, cfg); err == nil || !strings.Contains(err.Error(), "persons is delivered twice") {
		t.Errorf("persons twice: %v", err)
	}
}

// TestHostileDuplicateIDs: one file repeating a key a thousand times, the
// same and with other content: the first row stands, identical repeats are
// unchanged, different ones are quarantined naming the line kept, and the
// ledger adds up.
func TestHostileDuplicateIDs(t *testing.T) {
	cfg := testConfig(t)
	cfg.BatchRows = 64
	db := openDB(t)
	dir := t.TempDir()
	b := pipelinetest.Valid()
	first := b["card_swipes"][0]
	for i := range 1000 {
		r := append(pipelinetest.Row(nil), first...)
		if i%10 == 9 {
			r[8] = "T" + strconv.Itoa(i) // terminal_id: different content
		}
		b["card_swipes"] = append(b["card_swipes"], r)
	}
	b.WriteCSV(t, dir)
	fs := fileSummary(t, ingest(t, db, dir, cfg), "card_swipes")
	if fs.Read != 1003 || fs.Loaded != 3 || fs.Unchanged != 900 || fs.Quarantined != 100 {
		t.Fatalf("%+v", fs)
	}
	var n int
	var terminal, reason string
	if err := db.QueryRow(`SELECT count(*), min(terminal_id) FROM card_swipes WHERE swipe_id = 'W001'`).Scan(&n, &terminal); err != nil {
		t.Fatal(err)
	}
	if n != 1 || terminal != "T01" {
		t.Errorf("W001: %d rows, terminal %s; want the first row (T01)", n, terminal)
	}
	if err := db.QueryRow(`SELECT count(*), min(reason) FROM quarantine WHERE line = 14`).Scan(&n, &reason); err != nil {
		t.Fatal(err)
	}
	if n != 1 || reason != "duplicate key W001 with different content; the row at line 2 is kept" {
		t.Errorf("line 14 (T9): %d rows, %q", n, reason)
	}
}

// heapPeak samples the Go heap every millisecond while fn runs and returns
// its peak increase in MiB.
func heapPeak(fn func()) float64 {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	heap := func() int64 { metrics.Read(sample); return int64(sample[0].Value.Uint64()) }
	runtime.GC()
	h0 := heap()
	var peak atomic.Int64
	take := func() {
		if d := heap() - h0; d > peak.Load() {
			peak.Store(d)
		}
	}
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				take()
			}
		}
	}()
	fn()
	close(stop)
	<-done
	take()
	return float64(peak.Load()) / (1 << 20)
}

// vmHWM is the process's peak resident set (VmHWM) in MiB: meaningful when
// one benchmark runs alone in its process.
func vmHWM(tb testing.TB) float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		tb.Skip("no /proc/self/status")
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// gzipBomb writes a .csv.gz of stock movements that expands to about
// 10 GiB: the header, then one gzip member of 8 MiB of rows repeated 1280
// times (gzip readers read concatenated members as one stream).
func gzipBomb(t testing.TB, path string) (expanded int64) {
	t.Helper()
	var out bytes.Buffer
	member := func(data []byte) []byte {
		var b bytes.Buffer
		w, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
		w.Write(data)
		w.Close()
		return b.Bytes()
	}
	header := []byte("movement_id,org_code,item_code,moved_on,kind,quantity,unit_price\n")
	row := []byte("M001,P33010600002,XA01ABD075A002010100483,2025-03-01,purchase,100.0000,8.5000\n")
	body := bytes.Repeat(row, (8<<20)/len(row))
	out.Write(member(header))
	m := member(body)
	for range 1280 {
		out.Write(m)
	}
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return int64(len(header)) + 1280*int64(len(body))
}

// wideHeader writes settlements.csv whose header has the contract columns
// followed by n more, one row after it.
func wideHeader(t testing.TB, dir string, n int) {
	t.Helper()
	var b bytes.Buffer
	b.WriteString("settlement_id,person_id,card_no,org_code,visit_type,admitted_at,total_amount,fund_paid,account_paid,cash_paid,insured_region,treatment_region,settled_at")
	for i := range n {
		b.WriteString(",c")
		b.WriteString(strconv.Itoa(i))
	}
	b.WriteString("\nS9,P001,A1,H33010600001,outpatient,2025-03-02 09:10:00,1.00,0.00,0.00,1.00,611002,330106,2025-03-02 09:10:00\n")
	if err := os.WriteFile(filepath.Join(dir, "settlements.csv"), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// bigInputs are the oversized inputs measured by TestHostileMemory and
// BenchmarkHostileMemory: each builds a batch folder and names the file
// that must fail and the message.
var bigInputs = []struct {
	name  string
	build func(t testing.TB, dir string)
	file  string
	want  string
}{
	{"gzip-bomb-10GiB", func(t testing.TB, dir string) {
		gzipBomb(t, filepath.Join(dir, "stock_movements.csv.gz"))
	}, "stock_movements.csv.gz", "gzip data expands too far"},
	{"header-1e7-columns", func(t testing.TB, dir string) {
		wideHeader(t, dir, 10_000_000)
	}, "settlements.csv", "header: CSV record too long"},
	{"field-10MB", func(t testing.TB, dir string) {
		pipelinetest.Valid().WriteCSV(t, dir)
		path := filepath.Join(dir, "persons.csv")
		data, _ := os.ReadFile(path)
		os.WriteFile(path, bytes.Replace(data, []byte("张建国"), bytes.Repeat([]byte("张"), 10<<20/3), 1), 0o644)
	}, "persons.csv", "CSV record too long"},
}

// TestHostileMemory: a gzip bomb of 10 GiB, a header of 10^7 columns and a
// 10 MB field each fail their batch quickly, holding a few MiB of Go heap.
func TestHostileMemory(t *testing.T) {
	for _, tc := range bigInputs {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t)
			db := openDB(t)
			dir := t.TempDir()
			tc.build(t, dir)
			var err error
			heap := heapPeak(func() { _, err = pipeline.Ingest(context.Background(), db, dir, cfg) })
			var be *pipeline.BatchError
			if !errors.As(err, &be) || be.File != tc.file || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want a BatchError for %s containing %q", err, tc.file, tc.want)
			}
			t.Logf("%s: peak +%.1f MiB Go heap: %v", tc.name, heap, err)
			if heap > 64 {
				t.Errorf("Go heap grew by %.1f MiB, want a bounded few MiB", heap)
			}
			var n int
			if err := db.QueryRow(`SELECT count(*) FROM stock_movements`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				t.Errorf("%d stock movements loaded from a refused batch", n)
			}
		})
	}
}

// BenchmarkHostileMemory reports the time and the peak Go heap of refusing
// each oversized input, and the process's peak resident set (run one input
// per process for a clean figure: -bench 'HostileMemory/input=gzip').
func BenchmarkHostileMemory(b *testing.B) {
	for _, tc := range bigInputs {
		b.Run("input="+tc.name, func(b *testing.B) {
			cfg := pipeline.DefaultConfig()
			db, err := pipeline.Open(context.Background(), ":memory:", pipeline.DBConfig{MemoryLimit: "256MB", Threads: 1})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			dir := b.TempDir()
			tc.build(b, dir)
			var heap float64
			for b.Loop() {
				heap = max(heap, heapPeak(func() { _, err = pipeline.Ingest(context.Background(), db, dir, cfg) }))
				if err == nil {
					b.Fatal("accepted")
				}
			}
			b.ReportMetric(heap, "peak-heap-MiB")
			b.ReportMetric(vmHWM(b), "VmHWM-MiB")
		})
	}
}

// TestHostileGzipRatio: an ordinary .csv.gz of 200,000 rows loads under the
// default MaxGzipRatio.
func TestHostileGzipRatio(t *testing.T) {
	cfg := testConfig(t)
	cfg.BatchRows = 4096
	db := openDB(t)
	parents, dir := t.TempDir(), t.TempDir()
	pipelinetest.Valid().WriteCSV(t, parents)
	ingest(t, db, parents, cfg)
	var raw bytes.Buffer
	raw.WriteString("movement_id,org_code,item_code,moved_on,kind,quantity,unit_price\n")
	for i := range 200_000 {
		fmt.Fprintf(&raw, "M%07d,P33010600002,XA01ABD075A002010100483,2025-03-%02d,purchase,%d.0000,8.5000\n", i, i%28+1, i%97+1)
	}
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write(raw.Bytes())
	w.Close()
	os.WriteFile(filepath.Join(dir, "stock_movements.csv.gz"), gz.Bytes(), 0o644)
	t.Logf("%d bytes of gzip expand %.1f times", gz.Len(), float64(raw.Len())/float64(gz.Len()))
	sum := ingest(t, db, dir, cfg)
	if fs := fileSummary(t, sum, "stock_movements"); fs.Loaded != 200_000 {
		t.Fatalf("%+v", fs)
	}
}
