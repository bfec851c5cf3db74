package pipeline

import (
	"encoding/binary"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/zeebo/xxh3"

	"github.com/medaudit/medaudit/contract"
)

// stageBuilder accumulates well-formed rows of one table into Arrow record
// batches of the load schema.
type stageBuilder struct {
	table   *contract.Table
	rb      *array.RecordBuilder
	cols    []array.Builder
	line    *array.Int64Builder
	hash    *array.Uint64Builder
	extra   *array.StringBuilder
	rows    int
	hashBuf []byte
	// dataLen is, per string column, the bytes of the last batch: the next
	// batch reserves as much up front instead of growing by copies.
	dataLen []int
}

func newStageBuilder(mem memory.Allocator, t *contract.Table) *stageBuilder {
	rb := array.NewRecordBuilder(mem, loadSchema(t))
	n := len(t.Columns)
	sb := &stageBuilder{table: t, rb: rb, cols: make([]array.Builder, n)}
	for i := 0; i < n; i++ {
		sb.cols[i] = rb.Field(i)
	}
	sb.line = rb.Field(n).(*array.Int64Builder)
	sb.hash = rb.Field(n + 1).(*array.Uint64Builder)
	sb.extra = rb.Field(n + 2).(*array.StringBuilder)
	sb.dataLen = make([]int, n)
	return sb
}

func (sb *stageBuilder) release() { sb.rb.Release() }

// appendValid adds a well-formed row.
func (sb *stageBuilder) appendValid(vals []value, line int64, extra string) {
	for i := range sb.table.Columns {
		appendValue(sb.cols[i], sb.table.Columns[i].Type, vals[i])
	}
	sb.line.Append(line)
	sb.hash.Append(sb.rowHash(vals, extra))
	appendOptString(sb.extra, extra)
	sb.rows++
}

// flush returns the rows built so far as a record batch (nil if none).
func (sb *stageBuilder) flush() arrow.RecordBatch {
	if sb.rows == 0 {
		return nil
	}
	rows := sb.rows
	sb.rows = 0
	for i, b := range sb.cols {
		if s, ok := b.(*array.StringBuilder); ok {
			sb.dataLen[i] = s.DataLen()
		}
	}
	rec := sb.rb.NewRecordBatch()
	sb.rb.Reserve(rows)
	for i, b := range sb.cols {
		if s, ok := b.(*array.StringBuilder); ok && sb.dataLen[i] > 0 {
			s.ReserveData(sb.dataLen[i])
		}
	}
	return rec
}

func appendOptString(b *array.StringBuilder, s string) {
	if s == "" {
		b.AppendNull()
	} else {
		b.Append(s)
	}
}

func appendValue(b array.Builder, t contract.ColType, v value) {
	if v.null {
		b.AppendNull()
		return
	}
	switch t {
	case contract.String, contract.Enum:
		b.(*array.StringBuilder).Append(v.s)
	case contract.Date:
		b.(*array.Date32Builder).Append(arrow.Date32(v.i))
	case contract.Timestamp:
		b.(*array.TimestampBuilder).Append(arrow.Timestamp(v.i))
	case contract.Amount, contract.Quantity, contract.Ratio:
		b.(*array.Decimal128Builder).Append(decimal128.FromI64(v.i))
	case contract.Int:
		b.(*array.Int32Builder).Append(int32(v.i))
	case contract.Bool:
		b.(*array.BooleanBuilder).Append(v.b)
	}
}

// rowHash fingerprints a row's canonical values, so that the same record
// delivered as CSV and later as Parquet hashes the same.
// hashWidth is, per table, the number of columns it had before migration
// 0012 added optional ones: an empty later column leaves the hash as it was,
// so a batch delivered again after an upgrade is recognised as unchanged.
var hashWidth = map[string]int{"persons": 10, "settlements": 23}

func (sb *stageBuilder) rowHash(vals []value, extra string) uint64 {
	buf := sb.hashBuf[:0]
	width, ok := hashWidth[sb.table.Name]
	if !ok {
		width = len(vals)
	}
	for i, v := range vals {
		if i >= width {
			// A column added later counts only when set, marked by its position.
			if v.null {
				continue
			}
			buf = append(buf, byte(i))
		}
		switch {
		case v.null:
			buf = append(buf, 0)
		case sb.table.Columns[i].Type == contract.String || sb.table.Columns[i].Type == contract.Enum:
			buf = append(buf, 1)
			buf = binary.LittleEndian.AppendUint32(buf, uint32(len(v.s)))
			buf = append(buf, v.s...)
		case sb.table.Columns[i].Type == contract.Bool:
			if v.b {
				buf = append(buf, 2)
			} else {
				buf = append(buf, 3)
			}
		default:
			buf = append(buf, 4)
			buf = binary.LittleEndian.AppendUint64(buf, uint64(v.i))
		}
	}
	buf = append(buf, 5)
	buf = append(buf, extra...)
	sb.hashBuf = buf
	return xxh3.Hash(buf)
}
