package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// recordIter yields the record batches of a columnar file. Records returned
// by next stay valid until the following call.
type recordIter interface {
	next() (arrow.RecordBatch, error)
	close() error
}

// arrowSource turns the records of a Parquet or Arrow IPC file into rows.
type arrowSource struct {
	it       recordIter
	cols     columnMap
	rec      arrow.RecordBatch
	getters  []func(int) cell // per file column
	i, n     int
	line     int64
	row      srcRow
	progress func(int64)
	perRow   float64 // bytes of file per row, for progress
	credit   float64
	// passthrough: every contract column present in the file already has
	// its load type, so a record batch whose rows all pass the checks is
	// loaded as is, without rebuilding its arrays.
	passthrough bool
	format      string // "Parquet" or "Arrow IPC", for messages
}

func newArrowSource(it recordIter, f BatchFile, schema *arrow.Schema, totalRows int64, cfg Config) (*arrowSource, error) {
	names := make([]string, schema.NumFields())
	for i, fl := range schema.Fields() {
		names[i] = fl.Name
		if !supportedArrowType(fl.Type) {
			it.close()
			return nil, fmt.Errorf("column %q has Arrow type %s, which no contract column can hold", fl.Name, fl.Type)
		}
	}
	if f.Layout == LayoutNHSA {
		names = nationalHeader(names)
	}
	cols, err := mapColumns(f.Table, names)
	if err != nil {
		it.close()
		return nil, err
	}
	s := &arrowSource{cols: cols, progress: cfg.Progress, passthrough: true, format: "Parquet"}
	if f.Format == FormatArrow {
		s.format = "Arrow IPC"
	}
	s.it = newPrefetchIter(it, s.format)
	for c, p := range cols.index {
		if p >= 0 && !arrow.TypeEqual(schema.Field(p).Type, ArrowType(f.Table.Columns[c].Type)) {
			s.passthrough = false
		}
	}
	if totalRows > 0 {
		s.perRow = float64(f.Size) / float64(totalRows)
	}
	s.row.cells = make([]cell, len(f.Table.Columns))
	s.row.raw = s.rawRow
	return s, nil
}

func (s *arrowSource) next() (*srcRow, error) {
	for s.i >= s.n {
		if _, err := s.nextRecord(); err != nil {
			return nil, err
		}
	}
	return s.rowAt(s.i), nil
}

// nextRecord advances to the next record batch of the file.
func (s *arrowSource) nextRecord() (arrow.RecordBatch, error) {
	rec, err := s.it.next()
	if err != nil {
		return nil, err
	}
	s.rec, s.i, s.n = rec, 0, int(rec.NumRows())
	s.getters = s.getters[:0]
	for _, col := range rec.Columns() {
		s.getters = append(s.getters, cellGetter(col))
	}
	return rec, nil
}

// rowAt decodes row i of the current record; rows must be read in order.
func (s *arrowSource) rowAt(i int) *srcRow {
	s.i = i + 1
	s.line++
	s.row.line = s.line
	for c, p := range s.cols.index {
		if p < 0 {
			s.row.cells[c] = cell{}
		} else {
			s.row.cells[c] = s.getters[p](i)
		}
	}
	s.row.extra = s.extraAt(i)
	s.report(1)
	return &s.row
}

// extraAt is the JSON object of the unknown columns of row i of the
// current record.
func (s *arrowSource) extraAt(i int) string {
	return s.cols.extraJSON(func(p int) (string, bool) {
		c := s.getters[p](i)
		return cellText2(c), c.kind != cellNull
	})
}

// skip passes over the n rows of the current record without decoding
// them: the record is loaded whole.
func (s *arrowSource) skip(n int) {
	s.i = n
	s.line += int64(n)
	s.report(n)
}

// report credits the progress callback with the bytes of rows rows.
func (s *arrowSource) report(rows int) {
	if s.progress != nil {
		s.credit += s.perRow * float64(rows)
		if s.credit >= 1<<16 {
			s.progress(int64(s.credit))
			s.credit -= float64(int64(s.credit))
		}
	}
}

func (s *arrowSource) rawRow() string {
	fields := make([]string, len(s.getters))
	for p, g := range s.getters {
		fields[p] = cellText2(g(s.i - 1))
	}
	return csvLine(fields)
}

func (s *arrowSource) close() error { return s.it.close() }

func supportedArrowType(dt arrow.DataType) bool {
	switch dt.ID() {
	case arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW,
		arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64,
		arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64,
		arrow.FLOAT32, arrow.FLOAT64, arrow.DECIMAL128,
		arrow.DATE32, arrow.DATE64, arrow.TIMESTAMP, arrow.BOOL, arrow.NULL:
		return true
	case arrow.DICTIONARY:
		return supportedArrowType(dt.(*arrow.DictionaryType).ValueType)
	}
	return false
}

// cellGetter returns a function reading row i of arr as a cell. The column's
// type has been checked by supportedArrowType.
func cellGetter(arr arrow.Array) func(int) cell {
	null := func(i int) bool { return arr.IsNull(i) }
	typed := func(get func(int) cell) func(int) cell {
		return func(i int) cell {
			if null(i) {
				return cell{}
			}
			return get(i)
		}
	}
	switch a := arr.(type) {
	case *array.String:
		return typed(func(i int) cell { return cell{kind: cellText, text: a.Value(i)} })
	case *array.LargeString:
		return typed(func(i int) cell { return cell{kind: cellText, text: a.Value(i)} })
	case *array.StringView:
		return typed(func(i int) cell { return cell{kind: cellText, text: a.Value(i)} })
	case *array.Int8:
		return typed(func(i int) cell { return cell{kind: cellInt, num: int64(a.Value(i))} })
	case *array.Int16:
		return typed(func(i int) cell { return cell{kind: cellInt, num: int64(a.Value(i))} })
	case *array.Int32:
		return typed(func(i int) cell { return cell{kind: cellInt, num: int64(a.Value(i))} })
	case *array.Int64:
		return typed(func(i int) cell { return cell{kind: cellInt, num: a.Value(i)} })
	case *array.Uint8:
		return typed(func(i int) cell { return cell{kind: cellInt, num: int64(a.Value(i))} })
	case *array.Uint16:
		return typed(func(i int) cell { return cell{kind: cellInt, num: int64(a.Value(i))} })
	case *array.Uint32:
		return typed(func(i int) cell { return cell{kind: cellInt, num: int64(a.Value(i))} })
	case *array.Uint64:
		return typed(func(i int) cell {
			v := a.Value(i)
			if v > math.MaxInt64 {
				return cell{kind: cellText, text: strconv.FormatUint(v, 10)}
			}
			return cell{kind: cellInt, num: int64(v)}
		})
	case *array.Float32:
		return typed(func(i int) cell {
			return cell{kind: cellText, text: strconv.FormatFloat(float64(a.Value(i)), 'f', -1, 32)}
		})
	case *array.Float64:
		// Money must not be a float: a float is read as the shortest decimal
		// that round-trips, so 12.5 loads and 0.1+0.2 is quarantined for scale.
		return typed(func(i int) cell { return cell{kind: cellText, text: strconv.FormatFloat(a.Value(i), 'f', -1, 64)} })
	case *array.Decimal128:
		scale := int8(a.DataType().(*arrow.Decimal128Type).Scale)
		return typed(func(i int) cell { return decimalCell(a.Value(i), scale) })
	case *array.Date32:
		return typed(func(i int) cell { return cell{kind: cellDate, num: int64(a.Value(i))} })
	case *array.Date64:
		return typed(func(i int) cell { return cell{kind: cellDate, num: floorDiv(int64(a.Value(i)), 86_400_000)} })
	case *array.Timestamp:
		tt := a.DataType().(*arrow.TimestampType)
		toMicros := timestampToMicros(tt)
		return typed(func(i int) cell { return cell{kind: cellTime, num: toMicros(int64(a.Value(i)))} })
	case *array.Boolean:
		return typed(func(i int) cell { return cell{kind: cellBool, b: a.Value(i)} })
	case *array.Dictionary:
		values := cellGetter(a.Dictionary())
		return typed(func(i int) cell { return values(a.GetValueIndex(i)) })
	}
	return func(int) cell { return cell{} } // arrow.NULL
}

func decimalCell(n decimal128.Num, scale int8) cell {
	hi, lo := n.HighBits(), n.LowBits()
	if (hi == 0 && lo <= math.MaxInt64) || (hi == -1 && lo > math.MaxInt64) {
		return cell{kind: cellDec, num: int64(lo), scale: scale}
	}
	return cell{kind: cellText, text: n.ToString(int32(scale))}
}

// timestampToMicros converts a timestamp of any unit to microseconds of China
// Standard Time wall clock: a zone-less timestamp is already wall clock (the
// contract writes CST without offset); one with a zone is an instant.
func timestampToMicros(tt *arrow.TimestampType) func(int64) int64 {
	var mul, div int64 = 1, 1
	switch tt.Unit {
	case arrow.Second:
		mul = 1_000_000
	case arrow.Millisecond:
		mul = 1_000
	case arrow.Nanosecond:
		div = 1_000
	}
	var shift int64
	if tt.TimeZone != "" {
		shift = 8 * 3600 * 1_000_000
	}
	return func(v int64) int64 { return floorDiv(v, div)*mul + shift }
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// parquetIter reads a Parquet file through pqarrow.
type parquetIter struct {
	f  *os.File
	pf *file.Reader
	rr pqarrow.RecordReader
}

// errCorrupt reports a panic of arrow-go's Parquet or IPC decoder, which
// panics instead of returning an error on some corrupt inputs (found by
// FuzzDecodeParquet and FuzzDecodeArrow): a damaged upload must fail its
// batch, not the process.
func errCorrupt(format string, r any) error {
	return fmt.Errorf("not a readable %s file (corrupt: the decoder failed with %v)", format, r)
}

// openParquet reads columns one after the other: pqarrow's Parallel option
// decodes them in goroutines of its own, where a decoder panic on a corrupt
// file cannot be recovered and would end the process.
func openParquet(f BatchFile, cfg Config) (src rowSource, err error) {
	fh, err := os.Open(f.Path)
	if err != nil {
		return nil, err
	}
	var pf *file.Reader
	defer func() {
		if r := recover(); r != nil {
			if pf != nil {
				pf.Close()
			} else {
				fh.Close()
			}
			src, err = nil, errCorrupt("Parquet", r)
		}
	}()
	pf, err = file.NewParquetReader(fh)
	if err != nil {
		fh.Close()
		return nil, fmt.Errorf("not a readable Parquet file (truncated?): %w", err)
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: int64(cfg.BatchRows)}, cfg.Allocator)
	if err != nil {
		pf.Close()
		return nil, fmt.Errorf("read Parquet schema: %w", err)
	}
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		pf.Close()
		return nil, fmt.Errorf("read Parquet: %w", err)
	}
	it := &parquetIter{f: fh, pf: pf, rr: rr}
	return newArrowSource(it, f, rr.Schema(), pf.NumRows(), cfg)
}

func (p *parquetIter) next() (arrow.RecordBatch, error) {
	if p.rr.Next() {
		return p.rr.RecordBatch(), nil
	}
	if err := p.rr.Err(); err != nil && err != io.EOF {
		return nil, fmt.Errorf("read Parquet (truncated or corrupt?): %w", err)
	}
	return nil, io.EOF
}

func (p *parquetIter) close() error {
	p.rr.Release()
	return p.pf.Close()
}

// ipcIter reads an Arrow IPC file (or, failing the file magic, an IPC stream).
type ipcIter struct {
	f    *os.File
	file *ipc.FileReader
	strm *ipc.Reader
	i    int
	cur  arrow.RecordBatch
	// progress is called with perRecord bytes per record of an IPC file.
	progress  func(int64)
	perRecord int64
}

func openArrowIPC(f BatchFile, cfg Config) (src rowSource, err error) {
	fh, err := os.Open(f.Path)
	if err != nil {
		return nil, err
	}
	it := &ipcIter{f: fh}
	defer func() {
		if r := recover(); r != nil {
			it.close()
			src, err = nil, errCorrupt("Arrow IPC", r)
		}
	}()
	magic := make([]byte, 6)
	isFile := false
	if _, err := io.ReadFull(fh, magic); err == nil && bytes.Equal(magic, []byte("ARROW1")) {
		isFile = true
	}
	if err := checkIPC(fh, isFile, f.Size); err != nil {
		fh.Close()
		return nil, err
	}
	// No message of a file can be longer than the file: tight limits keep a
	// corrupt length from allocating (and clearing) up to 256 MiB.
	opts := []ipc.Option{ipc.WithAllocator(cfg.Allocator), ipc.WithMetadataSizeLimit(max(f.Size, 1)), ipc.WithBodySizeLimit(max(f.Size, 1))}
	if isFile {
		it.file, err = ipc.NewFileReader(fh, opts...)
		if err != nil {
			fh.Close()
			return nil, fmt.Errorf("not a readable Arrow IPC file (truncated?): %w", err)
		}
		if n := it.file.NumRecords(); n > 0 && cfg.Progress != nil {
			it.progress, it.perRecord = cfg.Progress, f.Size/int64(n)
		}
		return newArrowSource(it, f, it.file.Schema(), 0, cfg)
	}
	// ipc.NewReader drops the size limits (arrow-go v18.8.0 builds its
	// message reader without them): a stream whose first length field
	// declares 2 GiB of metadata would allocate 2 GiB before reading a byte
	// of it. NewMessageReader keeps them.
	mr := ipc.NewMessageReader(&countingReader{r: fh, progress: cfg.Progress}, opts...)
	it.strm, err = ipc.NewReaderFromMessageReader(mr, opts...)
	if err != nil {
		fh.Close()
		return nil, fmt.Errorf("not an Arrow IPC file or stream: %w", err)
	}
	return newArrowSource(it, f, it.strm.Schema(), 0, cfg)
}

func (it *ipcIter) next() (arrow.RecordBatch, error) {
	if it.cur != nil {
		it.cur.Release()
		it.cur = nil
	}
	if it.file != nil {
		if it.i >= it.file.NumRecords() {
			return nil, io.EOF
		}
		rec, err := it.file.RecordBatchAt(it.i)
		if err != nil {
			return nil, fmt.Errorf("read Arrow record batch %d (truncated?): %w", it.i, err)
		}
		it.i++
		it.cur = rec
		if it.progress != nil {
			it.progress(it.perRecord)
		}
		return rec, nil
	}
	if it.strm.Next() {
		return it.strm.RecordBatch(), nil
	}
	if err := it.strm.Err(); err != nil && err != io.EOF {
		return nil, fmt.Errorf("read Arrow stream (truncated?): %w", err)
	}
	return nil, io.EOF
}

func (it *ipcIter) close() error {
	if it.cur != nil {
		it.cur.Release()
	}
	if it.file != nil {
		it.file.Close()
	}
	if it.strm != nil {
		it.strm.Release()
	}
	return it.f.Close()
}
