package pipeline

import (
	"math"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/medaudit/medaudit/contract"
)

// The vectorised checker validates a block of rows column by column: each
// column is parsed (CSV text) or read (Arrow arrays of the load types) in
// one tight loop of its type, then the table's cross-column rules run over
// whole columns. It only decides which rows are certainly well formed, with
// no data-quality note and nothing to normalise; every other row goes to
// the row checker (checker.check), which gives the reasons, the notes and
// the normalised values. So the row checker stays the one definition of a
// well-formed row, and the vectorised one is a fast filter in front of it
// that may send it too many rows, never too few (TestVecCheckAgrees).

// vecBlockRows is the number of rows checked as one block: small enough for
// the block's columns to stay in cache.
const vecBlockRows = 4096

// vecCol is one column of a block in its staged representation.
type vecCol struct {
	null  []bool
	ints  []int64 // Date days, Timestamp micros, decimals scaled, Int
	bools []bool
	strs  []string
}

// vecBlock is up to vecBlockRows rows of one table, column by column.
type vecBlock struct {
	t    *contract.Table
	chk  *checker // its limits and column index; its row state is not used
	rule func(b *vecBlock)
	n    int
	cols []vecCol
	// bad marks the rows the row checker must judge; nbad counts them.
	bad    []bool
	nbad   int
	lines  []int64
	extras []string
	fields []string // CSV records of the block, row r at r*width
	cells  []cell   // or the rows' cells, row r at r*len(t.Columns)
	raws   []string // and the records they were mapped from
	vals   []value  // one row's values, for the row hash
}

// hasVecRules reports whether t's rows can be checked by the vectorised
// checker; the rows of other tables go to the row checker one by one.
func hasVecRules(t *contract.Table) bool {
	if _, ok := vecRules[t.Name]; !ok {
		return false
	}
	for _, c := range t.Columns {
		if c.Format == contract.FormatIDNumber {
			return false // normalised and cross-checked per row
		}
	}
	return true
}

// newVecBlock returns a block of up to capRows rows of t, or nil when t has
// no vectorised rules.
func newVecBlock(t *contract.Table, chk *checker, capRows int) *vecBlock {
	if !hasVecRules(t) {
		return nil
	}
	b := &vecBlock{t: t, chk: chk, rule: vecRules[t.Name], cols: make([]vecCol, len(t.Columns)), vals: make([]value, len(t.Columns))}
	for i := range b.cols {
		c := &b.cols[i]
		c.null = make([]bool, capRows)
		switch t.Columns[i].Type {
		case contract.String, contract.Enum:
			c.strs = make([]string, capRows)
		case contract.Bool:
			c.bools = make([]bool, capRows)
		default:
			c.ints = make([]int64, capRows)
		}
	}
	b.bad = make([]bool, capRows)
	b.lines = make([]int64, 0, capRows)
	b.extras = make([]string, 0, capRows)
	return b
}

// start begins a block of n rows.
func (b *vecBlock) start(n int) {
	b.n, b.nbad = n, 0
	clear(b.bad[:n])
}

func (b *vecBlock) markBad(r int) {
	if !b.bad[r] {
		b.bad[r] = true
		b.nbad++
	}
}

// finish runs the cross-column rules over the rows not already marked.
func (b *vecBlock) finish() { b.rule(b) }

// col returns the named column.
func (b *vecBlock) col(name string) *vecCol { return &b.cols[b.chk.idx[name]] }

// setNull records a NULL in row r of column ci: its value is the zero
// value, as the row rules read it, and a required column fails the row.
func (b *vecBlock) setNull(ci, r int) {
	c := &b.cols[ci]
	c.null[r] = true
	switch {
	case c.strs != nil:
		c.strs[r] = ""
	case c.bools != nil:
		c.bools[r] = false
	default:
		c.ints[r] = 0
	}
	if b.t.Columns[ci].Required {
		b.markBad(r)
	}
}

// textColumn parses column ci from text: get(r) is row r's text, "" for
// NULL.
func (b *vecBlock) textColumn(ci int, get func(r int) string) {
	col := &b.t.Columns[ci]
	c := &b.cols[ci]
	// text returns row r's text, or "" after recording a NULL.
	text := func(r int) string {
		if s := get(r); s != "" {
			c.null[r] = false
			return s
		}
		b.setNull(ci, r)
		return ""
	}
	switch col.Type {
	case contract.String:
		region := col.Format == contract.FormatRegion
		for r := 0; r < b.n; r++ {
			s := text(r)
			c.strs[r] = s
			if region && s != "" && !contract.ValidRegionCode(s) {
				b.markBad(r)
			}
		}
	case contract.Enum:
		for r := 0; r < b.n; r++ {
			if s := text(r); s != "" {
				c.strs[r] = enumValue(col.Enum, s)
				if c.strs[r] == "" {
					b.markBad(r)
				}
			}
		}
	case contract.Date:
		for r := 0; r < b.n; r++ {
			if s := text(r); s != "" {
				d, ok := parseDate(s)
				if !ok || d < minDate || d > maxDate {
					b.markBad(r)
				}
				c.ints[r] = d
			}
		}
	case contract.Timestamp:
		for r := 0; r < b.n; r++ {
			if s := text(r); s != "" {
				t, ok := parseTimestamp(s)
				if !ok || t < b.chk.minTime || t > b.chk.maxTime {
					b.markBad(r)
				}
				c.ints[r] = t
			}
		}
	case contract.Amount, contract.Quantity, contract.Ratio:
		scale, ratio := col.Type.Scale(), col.Type == contract.Ratio
		for r := 0; r < b.n; r++ {
			if s := text(r); s != "" {
				v, err := contract.ParseDecimal(s, scale)
				if err != nil || ratio && (v < 0 || v > 10_000) {
					b.markBad(r)
				}
				c.ints[r] = v
			}
		}
	case contract.Int:
		for r := 0; r < b.n; r++ {
			if s := text(r); s != "" {
				v, err := strconv.ParseInt(s, 10, 32)
				if err != nil {
					b.markBad(r)
				}
				c.ints[r] = v
			}
		}
	case contract.Bool:
		for r := 0; r < b.n; r++ {
			switch text(r) {
			case "":
			case "true", "1", "t":
				c.bools[r] = true
			case "false", "0", "f":
				c.bools[r] = false
			default:
				b.markBad(r) // other spellings (TRUE, False) are the row checker's
			}
		}
	}
}

// cellColumn reads column ci from decoded cells, row r's at
// cells[r*stride+ci]. A column of text cells is parsed as text; a date or
// timestamp column may also hold typed cells of its type; any other typed
// cell is left to the row checker.
func (b *vecBlock) cellColumn(ci int, cells []cell, stride int) {
	typed := false
	for r := 0; r < b.n && !typed; r++ {
		k := cells[r*stride+ci].kind
		typed = k != cellText && k != cellNull
	}
	if !typed {
		b.textColumn(ci, func(r int) string { return cells[r*stride+ci].text })
		return
	}
	col := &b.t.Columns[ci]
	c := &b.cols[ci]
	lo, hi := int64(minDate), int64(maxDate)
	kind := cellDate
	if col.Type == contract.Timestamp {
		lo, hi, kind = b.chk.minTime, b.chk.maxTime, cellTime
	} else if col.Type != contract.Date {
		kind = cellNull // no typed cell passes
	}
	for r := 0; r < b.n; r++ {
		x := cells[r*stride+ci]
		switch {
		case x.kind == cellNull || x.kind == cellText && x.text == "":
			b.setNull(ci, r)
		case x.kind == kind:
			c.null[r] = false
			c.ints[r] = x.num
			if x.num < lo || x.num > hi {
				b.markBad(r)
			}
		default:
			c.null[r] = false
			b.markBad(r)
		}
	}
}

// enumValue returns the member of enum equal to s, or "".
func enumValue(enum []string, s string) string {
	for _, e := range enum {
		if s == e {
			return e
		}
	}
	return ""
}

// arrowColumn reads column ci from rows off..off+n of arr, an array of the
// column's load type (nil for a column the file does not have).
func (b *vecBlock) arrowColumn(ci int, arr arrow.Array, off int) {
	col := &b.t.Columns[ci]
	c := &b.cols[ci]
	if arr == nil {
		for r := 0; r < b.n; r++ {
			b.setNull(ci, r)
		}
		return
	}
	// isNull records row r's NULL.
	isNull := func(r int) bool {
		if arr.IsNull(off + r) {
			b.setNull(ci, r)
			return true
		}
		c.null[r] = false
		return false
	}
	switch col.Type {
	case contract.String, contract.Enum:
		a := arr.(*array.String)
		region := col.Format == contract.FormatRegion
		for r := 0; r < b.n; r++ {
			if isNull(r) {
				continue
			}
			s := a.Value(off + r)
			c.strs[r] = s
			switch {
			case s == "": // an empty string is NULL, as in CSV
				b.setNull(ci, r)
			case col.Type == contract.Enum:
				if enumValue(col.Enum, s) == "" {
					b.markBad(r)
				}
			case region:
				if !contract.ValidRegionCode(s) {
					b.markBad(r)
				}
			}
		}
	case contract.Date:
		a := arr.(*array.Date32)
		for r := 0; r < b.n; r++ {
			if !isNull(r) {
				d := int64(a.Value(off + r))
				if d < minDate || d > maxDate {
					b.markBad(r)
				}
				c.ints[r] = d
			}
		}
	case contract.Timestamp:
		a := arr.(*array.Timestamp)
		for r := 0; r < b.n; r++ {
			if !isNull(r) {
				t := int64(a.Value(off + r))
				if t < b.chk.minTime || t > b.chk.maxTime {
					b.markBad(r)
				}
				c.ints[r] = t
			}
		}
	case contract.Amount, contract.Quantity, contract.Ratio:
		a := arr.(*array.Decimal128)
		ratio := col.Type == contract.Ratio
		for r := 0; r < b.n; r++ {
			if !isNull(r) {
				v, ok := decimalInt64(a.Value(off + r))
				if !ok || ratio && (v < 0 || v > 10_000) {
					b.markBad(r)
				}
				c.ints[r] = v
			}
		}
	case contract.Int:
		a := arr.(*array.Int32)
		for r := 0; r < b.n; r++ {
			if !isNull(r) {
				c.ints[r] = int64(a.Value(off + r))
			}
		}
	case contract.Bool:
		a := arr.(*array.Boolean)
		for r := 0; r < b.n; r++ {
			if !isNull(r) {
				c.bools[r] = a.Value(off + r)
			}
		}
	}
}

// decimalInt64 returns n as an int64 when it fits one (decimalCell's test).
func decimalInt64(n decimal128.Num) (int64, bool) {
	hi, lo := n.HighBits(), n.LowBits()
	if (hi == 0 && lo <= math.MaxInt64) || (hi == -1 && lo > math.MaxInt64) {
		return int64(lo), true
	}
	return 0, false
}

// rowHash is the row hash of row r (stageBuilder.rowHash of its values).
func (b *vecBlock) rowHash(sb *stageBuilder, r int) uint64 {
	for ci := range b.cols {
		c := &b.cols[ci]
		v := value{null: c.null[r]}
		if !v.null {
			switch {
			case c.strs != nil:
				v.s = c.strs[r]
			case c.bools != nil:
				v.b = c.bools[r]
			default:
				v.i = c.ints[r]
			}
		}
		b.vals[ci] = v
	}
	return sb.rowHash(b.vals, b.extras[r])
}

// appendGood adds the rows of b not marked bad to sb, column by column.
func (sb *stageBuilder) appendGood(b *vecBlock) {
	for ci, col := range sb.table.Columns {
		c := &b.cols[ci]
		switch col.Type {
		case contract.String, contract.Enum:
			bld := sb.cols[ci].(*array.StringBuilder)
			for r := 0; r < b.n; r++ {
				if b.bad[r] {
					continue
				}
				if c.null[r] {
					bld.AppendNull()
				} else {
					bld.Append(c.strs[r])
				}
			}
		case contract.Date:
			bld := sb.cols[ci].(*array.Date32Builder)
			for r := 0; r < b.n; r++ {
				if !b.bad[r] {
					if c.null[r] {
						bld.AppendNull()
					} else {
						bld.Append(arrow.Date32(c.ints[r]))
					}
				}
			}
		case contract.Timestamp:
			bld := sb.cols[ci].(*array.TimestampBuilder)
			for r := 0; r < b.n; r++ {
				if !b.bad[r] {
					if c.null[r] {
						bld.AppendNull()
					} else {
						bld.Append(arrow.Timestamp(c.ints[r]))
					}
				}
			}
		case contract.Amount, contract.Quantity, contract.Ratio:
			bld := sb.cols[ci].(*array.Decimal128Builder)
			for r := 0; r < b.n; r++ {
				if !b.bad[r] {
					if c.null[r] {
						bld.AppendNull()
					} else {
						bld.Append(decimal128.FromI64(c.ints[r]))
					}
				}
			}
		case contract.Int:
			bld := sb.cols[ci].(*array.Int32Builder)
			for r := 0; r < b.n; r++ {
				if !b.bad[r] {
					if c.null[r] {
						bld.AppendNull()
					} else {
						bld.Append(int32(c.ints[r]))
					}
				}
			}
		case contract.Bool:
			bld := sb.cols[ci].(*array.BooleanBuilder)
			for r := 0; r < b.n; r++ {
				if !b.bad[r] {
					if c.null[r] {
						bld.AppendNull()
					} else {
						bld.Append(c.bools[r])
					}
				}
			}
		}
	}
	for r := 0; r < b.n; r++ {
		if !b.bad[r] {
			sb.line.Append(b.lines[r])
			sb.hash.Append(b.rowHash(sb, r))
			appendOptString(sb.extra, b.extras[r])
			sb.rows++
		}
	}
}

// vecRules are the tables' cross-column rules (tableRules) over whole
// columns: each marks every row its row rule would fail or note. A table
// without an entry is checked row by row.
var vecRules = map[string]func(b *vecBlock){
	"institutions": func(b *vecBlock) {
		level, kind, beds := b.col("level"), b.col("kind"), b.col("beds")
		code, region := b.col("org_code"), b.col("region_code")
		for r := 0; r < b.n; r++ {
			l := level.ints[r]
			if l < 0 || l > 3 || kind.strs[r] == "pharmacy" && l != 0 || !beds.null[r] && beds.ints[r] < 0 {
				b.markBad(r)
			}
			if s := code.strs[r]; len(s) == 12 && s[1:7] != region.strs[r] {
				b.markBad(r) // noted by the row checker
			}
		}
	},
	"catalog": func(b *vecBlock) {
		sex, price := b.col("sex_restriction"), b.col("price_ceiling")
		for r := 0; r < b.n; r++ {
			if !sex.null[r] && sex.ints[r] != 1 && sex.ints[r] != 2 || !price.null[r] && price.ints[r] < 0 {
				b.markBad(r)
			}
		}
		vecValidity(b)
	},
	"registrations": vecValidity,
	"settlements": func(b *vecBlock) {
		vecIdentity(b)
		dis, adm := b.col("discharged_at"), b.col("admitted_at")
		for r := 0; r < b.n; r++ {
			if !dis.null[r] && dis.ints[r] < adm.ints[r] {
				b.markBad(r)
			}
		}
	},
	"settlement_refunds": func(b *vecBlock) {
		vecIdentity(b)
		for _, name := range []string{"total_amount", "fund_paid", "account_paid", "cash_paid"} {
			c := b.col(name)
			for r := 0; r < b.n; r++ {
				if c.ints[r] > 0 {
					b.markBad(r)
				}
			}
		}
	},
	"fee_items": func(b *vecBlock) {
		q, p, amount := b.col("quantity").ints, b.col("unit_price").ints, b.col("amount").ints
		for r := 0; r < b.n; r++ {
			if !amountMatches(amount[r], q[r], p[r]) {
				b.markBad(r)
			}
		}
	},
	"card_swipes": func(b *vecBlock) {
		kind, amount := b.col("kind"), b.col("amount")
		for r := 0; r < b.n; r++ {
			if kind.strs[r] == "balance_query" && amount.ints[r] != 0 {
				b.markBad(r)
			}
		}
	},
	"stock_movements": func(b *vecBlock) {
		q, p := b.col("quantity"), b.col("unit_price")
		for r := 0; r < b.n; r++ {
			if q.ints[r] <= 0 || !p.null[r] && p.ints[r] < 0 {
				b.markBad(r)
			}
		}
	},
}

// vecIdentity marks rows whose total is not the sum of its parts within a fen.
func vecIdentity(b *vecBlock) {
	total, fund, acct, cash := b.col("total_amount").ints, b.col("fund_paid").ints, b.col("account_paid").ints, b.col("cash_paid").ints
	for r := 0; r < b.n; r++ {
		if d := total[r] - fund[r] - acct[r] - cash[r]; d > 1 || d < -1 {
			b.markBad(r)
		}
	}
}

func vecValidity(b *vecBlock) {
	from, to := b.col("valid_from"), b.col("valid_to")
	for r := 0; r < b.n; r++ {
		if !to.null[r] && to.ints[r] < from.ints[r] {
			b.markBad(r)
		}
	}
}
