// Package nbkit holds what the auditor notebooks in notebooks/ share: a query
// result as a table that a notebook shows as HTML and reads columns from.
// It imports no notebook kernel, so the main module builds and tests it; the
// notebooks display its HTML with GoNB's gonbui.DisplayHTML.
package nbkit

import (
	"context"
	"database/sql"
	"fmt"
	"html"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/duckdb/duckdb-go/v2"
)

// Querier is what a table is read through: a *sql.DB, *sql.Conn or *sql.Tx.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Table is a query result with every value as text (see text); NULL is "".
type Table struct {
	Columns []string
	Rows    [][]string
}

// Query runs query and reads its whole result. Results are small: the
// notebooks aggregate in SQL.
func Query(ctx context.Context, q Querier, query string, args ...any) (*Table, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	t := &Table{}
	if t.Columns, err = rows.Columns(); err != nil {
		return nil, err
	}
	vals := make([]any, len(t.Columns))
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		row := make([]string, len(vals))
		for i, v := range vals {
			row[i] = text(v)
		}
		t.Rows = append(t.Rows, row)
	}
	return t, rows.Err()
}

// text formats a scanned value: DuckDB's DECIMAL keeps its scale ("950.00"),
// a timestamp without its zone, NULL is "".
func text(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case []byte:
		return string(v)
	case duckdb.Decimal:
		return decimalText(v)
	case time.Time:
		if v.Hour() == 0 && v.Minute() == 0 && v.Second() == 0 && v.Nanosecond() == 0 {
			return v.Format(time.DateOnly)
		}
		return v.Format(time.DateTime)
	default:
		return fmt.Sprint(v)
	}
}

// decimalText prints a DECIMAL with all its scale's digits: money reads
// "950.00", never "950" or a float.
func decimalText(d duckdb.Decimal) string {
	digits := new(big.Int).Abs(d.Value).String()
	sign := ""
	if d.Value.Sign() < 0 {
		sign = "-"
	}
	if d.Scale == 0 {
		return sign + digits
	}
	if pad := int(d.Scale) + 1 - len(digits); pad > 0 {
		digits = strings.Repeat("0", pad) + digits
	}
	cut := len(digits) - int(d.Scale)
	return sign + digits[:cut] + "." + digits[cut:]
}

// MustQuery is Query for notebook cells: a failing query panics, which fails
// the cell and so the notebook run in CI.
func MustQuery(ctx context.Context, q Querier, query string, args ...any) *Table {
	t, err := Query(ctx, q, query, args...)
	if err != nil {
		panic(fmt.Errorf("query %.60q: %w", query, err))
	}
	return t
}

// Column returns the values of the named column; an unknown name panics.
func (t *Table) Column(name string) []string {
	i := t.index(name)
	out := make([]string, len(t.Rows))
	for r, row := range t.Rows {
		out[r] = row[i]
	}
	return out
}

// Floats returns the named column as numbers; a value that is not a number
// panics (a notebook asks only numeric columns for numbers).
func (t *Table) Floats(name string) []float64 {
	col := t.Column(name)
	out := make([]float64, len(col))
	for r, v := range col {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			panic(fmt.Errorf("column %s row %d: %w", name, r, err))
		}
		out[r] = f
	}
	return out
}

func (t *Table) index(name string) int {
	for i, c := range t.Columns {
		if c == name {
			return i
		}
	}
	panic(fmt.Sprintf("no column %q in %v", name, t.Columns))
}

// HTML renders the table with its caption; numbers are right-aligned.
func (t *Table) HTML(caption string) string {
	var b strings.Builder
	b.WriteString(`<table style="border-collapse:collapse;font-size:13px">`)
	if caption != "" {
		fmt.Fprintf(&b, `<caption style="text-align:left;font-weight:bold;padding:4px 0">%s</caption>`, html.EscapeString(caption))
	}
	b.WriteString("<thead><tr>")
	for _, c := range t.Columns {
		fmt.Fprintf(&b, `<th style="border-bottom:1px solid #888;padding:2px 8px;text-align:left">%s</th>`, html.EscapeString(c))
	}
	b.WriteString("</tr></thead><tbody>")
	for _, row := range t.Rows {
		b.WriteString("<tr>")
		for _, v := range row {
			align := "left"
			if _, err := strconv.ParseFloat(v, 64); err == nil {
				align = "right"
			}
			fmt.Fprintf(&b, `<td style="padding:2px 8px;text-align:%s">%s</td>`, align, html.EscapeString(v))
		}
		b.WriteString("</tr>")
	}
	b.WriteString("</tbody></table>")
	return b.String()
}
