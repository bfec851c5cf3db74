package pipeline

import (
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
)

// streamReader is an array.RecordReader fed through a channel by a producer
// goroutine, so that DuckDB pulls record batches while the next ones are
// being decoded: decoding and loading overlap, and memory holds only the
// batches in flight.
type streamReader struct {
	refs   atomic.Int64
	schema *arrow.Schema
	ch     <-chan arrow.RecordBatch
	cur    arrow.RecordBatch
	mu     sync.Mutex
}

// newStreamReader reads ch until it is closed. Errors of the producer are
// reported by the caller after the statement, not through Err: DuckDB would
// only turn them into a less precise message.
func newStreamReader(schema *arrow.Schema, ch <-chan arrow.RecordBatch) *streamReader {
	r := &streamReader{schema: schema, ch: ch}
	r.refs.Store(1)
	return r
}

func (r *streamReader) Retain() { r.refs.Add(1) }

func (r *streamReader) Release() {
	if r.refs.Add(-1) == 0 {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.cur != nil {
			r.cur.Release()
			r.cur = nil
		}
	}
}

func (r *streamReader) Schema() *arrow.Schema { return r.schema }

func (r *streamReader) Next() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	rec, ok := <-r.ch
	if !ok {
		return false
	}
	r.cur = rec
	return true
}

func (r *streamReader) RecordBatch() arrow.RecordBatch {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cur
}

// Record is the deprecated name of RecordBatch, required by the interface.
func (r *streamReader) Record() arrow.RecordBatch { return r.RecordBatch() }

func (r *streamReader) Err() error { return nil }
