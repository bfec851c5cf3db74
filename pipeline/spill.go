package pipeline

import (
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medaudit/medaudit/contract"
)

// Spill kinds.
const (
	spillQuarantine = "q" // a malformed row
	spillNote       = "n" // a data-quality note on a well-formed row
)

var spillSchema = arrow.NewSchema([]arrow.Field{
	{Name: "kind", Type: arrow.BinaryTypes.String},
	{Name: "line", Type: arrow.PrimitiveTypes.Int64},
	{Name: "column_name", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "text", Type: arrow.BinaryTypes.String},
	{Name: "raw", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "record_key", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// spill collects the quarantined rows and data-quality notes of one file in
// an Arrow IPC temp file while the file streams into DuckDB, so that a file
// of any size, even one that is all bad rows, needs bounded memory.
type spill struct {
	mu        sync.Mutex // add is called by the producer's workers
	f         *os.File
	w         *ipc.Writer
	rb        *array.RecordBuilder
	rows      int
	batchRows int
	// counts
	quarantined int64
	notes       int64
	void        int64 // rows marked invalid at the source (vali_flag = 0)
}

func newSpill(mem memory.Allocator, batchRows int) (*spill, error) {
	f, err := os.CreateTemp("", "medaudit-spill-*.arrows")
	if err != nil {
		return nil, fmt.Errorf("create spill file: %w", err)
	}
	return &spill{
		f:         f,
		w:         ipc.NewWriter(f, ipc.WithSchema(spillSchema), ipc.WithAllocator(mem)),
		rb:        array.NewRecordBuilder(mem, spillSchema),
		batchRows: min(batchRows, 8192),
	}, nil
}

func (s *spill) add(kind string, line int64, col, text, raw, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rb.Field(0).(*array.StringBuilder).Append(kind)
	s.rb.Field(1).(*array.Int64Builder).Append(line)
	appendOptString(s.rb.Field(2).(*array.StringBuilder), col)
	s.rb.Field(3).(*array.StringBuilder).Append(text)
	appendOptString(s.rb.Field(4).(*array.StringBuilder), raw)
	appendOptString(s.rb.Field(5).(*array.StringBuilder), key)
	if kind == spillQuarantine {
		s.quarantined++
	} else {
		s.notes++
	}
	s.rows++
	if s.rows >= s.batchRows {
		return s.flush()
	}
	return nil
}

// addVoid counts a row marked invalid at the source.
func (s *spill) addVoid() {
	s.mu.Lock()
	s.void++
	s.mu.Unlock()
}

func (s *spill) flush() error {
	if s.rows == 0 {
		return nil
	}
	s.rows = 0
	rec := s.rb.NewRecordBatch()
	defer rec.Release()
	return s.w.Write(rec)
}

// finish writes what is left and closes the writer; the file stays for reading.
func (s *spill) finish() error {
	if err := s.flush(); err != nil {
		return err
	}
	return s.w.Close()
}

// reader opens the finished spill file as a record reader.
func (s *spill) reader(mem memory.Allocator) (*ipc.Reader, *os.File, error) {
	f, err := os.Open(s.f.Name())
	if err != nil {
		return nil, nil, err
	}
	r, err := ipc.NewReader(f, ipc.WithAllocator(mem))
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("read spill file: %w", err)
	}
	return r, f, nil
}

func (s *spill) close() {
	s.rb.Release()
	s.f.Close()
	os.Remove(s.f.Name())
}

// recordKey renders a row's key as text, parts joined by "/".
func recordKey(t *contract.Table, idx map[string]int, vals []value) string {
	parts := make([]string, len(t.Key))
	for i, k := range t.Key {
		j := idx[k]
		v := vals[j]
		switch t.Columns[j].Type {
		case contract.Date:
			parts[i] = formatDate(v.i)
		default:
			parts[i] = v.s
		}
	}
	return strings.Join(parts, "/")
}
