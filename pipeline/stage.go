package pipeline

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"sync"

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
	// keys follows the order of the keys of the rows fingerprinted.
	keys keyOrder
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
	sb.keys = keyOrder{lex: true, short: true}
	for _, k := range t.Key {
		for i, c := range t.Columns {
			if c.Name == k {
				sb.keys.cols = append(sb.keys.cols, i)
				sb.keys.text = append(sb.keys.text, c.Type == contract.String || c.Type == contract.Enum)
			}
		}
	}
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

// Every row that is loaded passes here (a row may pass twice, when a
// record batch the vectorised checker began is checked again row by row),
// so the builder's key order is noted here too.
func (sb *stageBuilder) rowHash(vals []value, extra string) uint64 {
	sb.keys.note(vals)
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

// keyOrder follows whether the keys of the rows a builder fingerprints
// arrive strictly increasing, under byte order or under shortlex order
// (shorter first, then byte order: the order of numeric ids without
// leading zeros). Keys strictly increasing under any order are all
// distinct, so a file whose rows all passed one builder in such an order
// holds no key twice, and its merge skips the grouped query that looks for
// repeated keys. Exports sorted by their key are common (our fixtures' fee
// lines, settlements and swipes are); a shuffled file (the foreign batch's)
// takes the query.
type keyOrder struct {
	cols       []int  // the key's columns
	text       []bool // per key column: a string (else a date or a number, as an integer)
	rows       int64  // rows noted
	lex, short bool   // every key so far above the one before, under each order
	prev, cur  []byte // the previous and the current key's values, end to end
	prevEnd    []int  // where each value of prev ends
	curEnd     []int
}

// note takes the key of the next row.
func (k *keyOrder) note(vals []value) {
	k.rows++
	if !k.lex && !k.short {
		return
	}
	k.cur, k.curEnd = k.cur[:0], k.curEnd[:0]
	for j, c := range k.cols {
		v := vals[c]
		switch {
		case v.null: // a key column is required: a NULL key proves nothing
			k.lex, k.short = false, false
			return
		case k.text[j]:
			k.cur = append(k.cur, v.s...)
		default: // a date or a number, sign flipped: the bytes order as the integers do
			k.cur = binary.BigEndian.AppendUint64(k.cur, uint64(v.i)^1<<63)
		}
		k.curEnd = append(k.curEnd, len(k.cur))
	}
	if k.rows > 1 {
		// The first column whose values differ decides each order.
		lex, short, from, to := 0, 0, 0, 0
		for j := range k.cols {
			a, b := k.prev[from:k.prevEnd[j]], k.cur[to:k.curEnd[j]]
			from, to = k.prevEnd[j], k.curEnd[j]
			if lex == 0 {
				lex = bytes.Compare(a, b)
			}
			if short == 0 {
				if short = cmp.Compare(len(a), len(b)); short == 0 {
					short = bytes.Compare(a, b)
				}
			}
		}
		k.lex, k.short = k.lex && lex < 0, k.short && short < 0
	}
	k.prev, k.cur = k.cur, k.prev
	k.prevEnd, k.curEnd = k.curEnd, k.prevEnd
}

// fileKeys gathers the key orders of the builders that loaded one file.
type fileKeys struct {
	mu       sync.Mutex // the producer's workers add theirs as they finish
	builders int        // builders that noted rows
	ordered  bool       // and the last of them noted strictly increasing keys
}

func (f *fileKeys) add(k *keyOrder) {
	if k.rows == 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.builders++
	f.ordered = k.lex || k.short
}

// distinct reports whether the file's loaded rows are known to hold each
// key once: they all passed one builder, in strictly increasing key order.
// (Two builders each in order may still share a key.)
func (f *fileKeys) distinct() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.builders == 0 || (f.builders == 1 && f.ordered)
}
