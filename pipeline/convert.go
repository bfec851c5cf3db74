package pipeline

import (
	"compress/gzip"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/medaudit/medaudit/contract"
)

// Convert rewrites the contract files of batch folder src into dst in the
// given format, with the contract's natural types (decimal128(18,2) amounts,
// date32, timestamps, int32, bool). It checks every row as ingest does and
// refuses a batch with malformed rows: a converted batch must be loadable
// as is. Other files are not copied.
func Convert(ctx context.Context, src, dst string, to Format, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	files, _, err := findBatchFiles(src, cfg)
	if err != nil {
		return err
	}
	for _, f := range files {
		if f.national != nil {
			return fmt.Errorf("%s is a table of the national extract layout: convert rewrites contract files (ingest reads the national tables directly)", f.Name)
		}
	}
	if err := settleDialects(files, cfg); err != nil {
		return err
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	for _, f := range files {
		out := filepath.Join(dst, f.Table.Name+"."+string(to))
		if err := convertFile(ctx, f, out, to, cfg); err != nil {
			os.Remove(out)
			return fmt.Errorf("convert %s: %w", f.Name, err)
		}
	}
	return nil
}

// recordSink writes contract-schema record batches in one format.
type recordSink interface {
	write(arrow.RecordBatch) error
	close() error
}

func convertFile(ctx context.Context, f BatchFile, out string, to Format, cfg Config) error {
	src, err := openSource(f, cfg)
	if err != nil {
		return err
	}
	defer src.close()
	fh, err := os.Create(out)
	if err != nil {
		return err
	}
	defer fh.Close()
	schema := ContractSchema(f.Table)
	sink, err := newSink(fh, schema, to, cfg)
	if err != nil {
		return err
	}
	sb := newStageBuilder(cfg.Allocator, f.Table)
	defer sb.release()
	chk := newChecker(f.Table, cfg)
	flush := func() error {
		rec := sb.flush()
		if rec == nil {
			return nil
		}
		defer rec.Release()
		proj := array.NewRecordBatch(schema, rec.Columns()[:len(f.Table.Columns)], rec.NumRows())
		defer proj.Release()
		return sink.write(proj)
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		row, err := src.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if row.bad != "" {
			return fmt.Errorf("line %d: %s", row.line, row.bad)
		}
		chk.check(row.cells)
		if len(chk.probs) > 0 {
			_, msg := chk.reason()
			return fmt.Errorf("line %d: %s", row.line, msg)
		}
		sb.appendValid(chk.vals, row.line, "")
		if sb.rows >= cfg.BatchRows {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	if err := sink.close(); err != nil {
		return err
	}
	return fh.Close()
}

func newSink(w io.Writer, schema *arrow.Schema, to Format, cfg Config) (recordSink, error) {
	switch to {
	case FormatParquet:
		props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy),
			parquet.WithMaxRowGroupLength(int64(cfg.BatchRows)), parquet.WithAllocator(cfg.Allocator))
		// Hide Close: the Parquet writer would close the caller's file.
		fw, err := pqarrow.NewFileWriter(schema, struct{ io.Writer }{w}, props, pqarrow.NewArrowWriterProperties(pqarrow.WithAllocator(cfg.Allocator)))
		if err != nil {
			return nil, err
		}
		return parquetSink{fw}, nil
	case FormatArrow:
		fw, err := ipc.NewFileWriter(w, ipc.WithSchema(schema), ipc.WithAllocator(cfg.Allocator))
		if err != nil {
			return nil, err
		}
		return ipcSink{fw}, nil
	case FormatCSV:
		return newCSVSink(w, schema, nil), nil
	case FormatCSVGz:
		gz := gzip.NewWriter(w)
		return newCSVSink(gz, schema, gz), nil
	}
	return nil, fmt.Errorf("unsupported format %q", to)
}

type parquetSink struct{ w *pqarrow.FileWriter }

func (s parquetSink) write(r arrow.RecordBatch) error { return s.w.Write(r) }
func (s parquetSink) close() error                    { return s.w.Close() }

type ipcSink struct{ w *ipc.FileWriter }

func (s ipcSink) write(r arrow.RecordBatch) error { return s.w.Write(r) }
func (s ipcSink) close() error                    { return s.w.Close() }

// csvSink writes records as contract CSV text.
type csvSink struct {
	w      *csv.Writer
	gz     *gzip.Writer
	fields []string
	header []string
}

func newCSVSink(w io.Writer, schema *arrow.Schema, gz *gzip.Writer) *csvSink {
	s := &csvSink{w: csv.NewWriter(w), gz: gz}
	for _, f := range schema.Fields() {
		s.header = append(s.header, f.Name)
	}
	s.fields = make([]string, len(s.header))
	return s
}

func (s *csvSink) write(r arrow.RecordBatch) error {
	if s.header != nil {
		if err := s.w.Write(s.header); err != nil {
			return err
		}
		s.header = nil
	}
	getters := make([]func(int) cell, r.NumCols())
	for i, c := range r.Columns() {
		getters[i] = cellGetter(c)
	}
	for i := 0; i < int(r.NumRows()); i++ {
		for c, g := range getters {
			s.fields[c] = csvText(g(i))
		}
		if err := s.w.Write(s.fields); err != nil {
			return err
		}
	}
	return nil
}

// csvText is a cell as the contract writes it in CSV: decimals keep their
// scale ("12.50"), booleans are true/false.
func csvText(c cell) string {
	if c.kind == cellBool {
		return strconv.FormatBool(c.b)
	}
	return cellText2(c)
}

func (s *csvSink) close() error {
	if s.header != nil { // no rows: still write the header
		if err := s.w.Write(s.header); err != nil {
			return err
		}
	}
	s.w.Flush()
	err := s.w.Error()
	if s.gz != nil {
		err = errors.Join(err, s.gz.Close())
	}
	return err
}

// WriteTableFile writes rows given as contract-ordered text fields to a file
// of table t in any format, through the same checks as ingest. It is how
// tests and tools produce Parquet and Arrow inputs from literal rows.
func WriteTableFile(ctx context.Context, t *contract.Table, rows [][]string, path string, to Format, cfg Config) error {
	dir, err := os.MkdirTemp("", "medaudit-write-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	tmp := filepath.Join(dir, t.Name+".csv")
	fh, err := os.Create(tmp)
	if err != nil {
		return err
	}
	w := csv.NewWriter(fh)
	header := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		header[i] = c.Name
	}
	w.Write(header)
	w.WriteAll(rows)
	if err := errors.Join(w.Error(), fh.Close()); err != nil {
		return err
	}
	f := BatchFile{Table: t, Name: t.Name + ".csv", Path: tmp, Format: FormatCSV}
	return convertFile(ctx, f, path, to, cfg)
}
