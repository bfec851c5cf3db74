package pipeline

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/medaudit/medaudit/contract"
)

// cellKind says how a decoded cell carries its value: as text (CSV, or a
// string column of a Parquet/Arrow file) or already typed (Arrow arrays).
type cellKind uint8

const (
	cellNull cellKind = iota
	cellText
	cellInt  // integer, scale 0
	cellDec  // num scaled by 10^scale
	cellDate // days since 1970-01-01
	cellTime // microseconds since 1970-01-01 00:00:00, China Standard Time wall clock
	cellBool
)

// cell is one input value before it is checked against its column.
type cell struct {
	kind  cellKind
	scale int8
	b     bool
	num   int64
	text  string
}

// value is a checked contract value in its staged representation.
type value struct {
	null bool
	b    bool
	i    int64 // Int; Date days; Timestamp micros; decimals scaled by their column's scale
	s    string
}

const microsPerDay = 86_400_000_000

var (
	errRequired = errors.New("required value is empty")
	errDate     = errors.New("not a date YYYY-MM-DD")
	errTime     = errors.New("not a timestamp YYYY-MM-DD HH:MM:SS")
	errInt      = errors.New("not an integer")
	errBool     = errors.New("not a boolean (true/false/1/0)")
)

// parseCell converts c to col's type. It checks syntax and scale only; ranges
// and cross-column rules are the row rules' job.
func parseCell(col *contract.Column, c cell) (value, error) {
	if c.kind == cellNull || (c.kind == cellText && c.text == "") {
		if col.Required {
			return value{null: true}, errRequired
		}
		return value{null: true}, nil
	}
	switch col.Type {
	case contract.String:
		if c.kind == cellText {
			return value{s: c.text}, nil
		}
		return value{s: cellText2(c)}, nil
	case contract.Enum:
		s := c.text
		if c.kind != cellText {
			s = cellText2(c)
		}
		for _, e := range col.Enum {
			if s == e {
				return value{s: e}, nil
			}
		}
		return value{null: true}, fmt.Errorf("%q is not one of %s", s, strings.Join(col.Enum, ", "))
	case contract.Date:
		switch c.kind {
		case cellDate:
			return value{i: c.num}, nil
		case cellText:
			d, ok := parseDate(c.text)
			if !ok {
				return value{null: true}, fmt.Errorf("%w: %q", errDate, c.text)
			}
			return value{i: d}, nil
		}
	case contract.Timestamp:
		switch c.kind {
		case cellTime:
			return value{i: c.num}, nil
		case cellText:
			t, ok := parseTimestamp(c.text)
			if !ok {
				return value{null: true}, fmt.Errorf("%w: %q", errTime, c.text)
			}
			return value{i: t}, nil
		}
	case contract.Amount, contract.Quantity, contract.Ratio:
		scale := col.Type.Scale()
		var v int64
		var err error
		switch c.kind {
		case cellText:
			v, err = contract.ParseDecimal(c.text, scale)
		case cellInt:
			v, err = rescale(c.num, 0, scale)
		case cellDec:
			v, err = rescale(c.num, int(c.scale), scale)
		default:
			return value{null: true}, fmt.Errorf("a %s cannot hold a decimal", kindName(c.kind))
		}
		if err != nil {
			return value{null: true}, fmt.Errorf("%q: %w (at most %d decimals)", cellText2(c), err, scale)
		}
		if col.Type == contract.Ratio && (v < 0 || v > 10_000) {
			return value{null: true}, fmt.Errorf("%s is not a share between 0 and 1", contract.FormatDecimal(v, 4))
		}
		return value{i: v}, nil
	case contract.Int:
		switch c.kind {
		case cellInt:
			if c.num < -1<<31 || c.num >= 1<<31 {
				return value{null: true}, fmt.Errorf("%d out of int32 range", c.num)
			}
			return value{i: c.num}, nil
		case cellDec:
			v, err := rescale(c.num, int(c.scale), 0)
			if err != nil || v < -1<<31 || v >= 1<<31 {
				return value{null: true}, fmt.Errorf("%w: %s", errInt, cellText2(c))
			}
			return value{i: v}, nil
		case cellText:
			v, err := strconv.ParseInt(c.text, 10, 32)
			if err != nil {
				return value{null: true}, fmt.Errorf("%w: %q", errInt, c.text)
			}
			return value{i: v}, nil
		}
	case contract.Bool:
		switch c.kind {
		case cellBool:
			return value{b: c.b}, nil
		case cellInt:
			if c.num == 0 || c.num == 1 {
				return value{b: c.num == 1}, nil
			}
		case cellText:
			switch strings.ToLower(c.text) {
			case "true", "1", "t":
				return value{b: true}, nil
			case "false", "0", "f":
				return value{b: false}, nil
			}
		}
		return value{null: true}, fmt.Errorf("%w: %q", errBool, cellText2(c))
	}
	return value{null: true}, fmt.Errorf("a %s cannot hold a %s", kindName(c.kind), typeName(col.Type))
}

// rescale converts v from scale from to scale to, refusing to drop non-zero
// digits or to overflow a decimal(18).
func rescale(v int64, from, to int) (int64, error) {
	for ; from < to; from++ {
		if v > 99_999_999_999_999_999 || v < -99_999_999_999_999_999 {
			return 0, contract.ErrDecimalRange
		}
		v *= 10
	}
	for ; from > to; from-- {
		if v%10 != 0 {
			return 0, contract.ErrDecimalScale
		}
		v /= 10
	}
	return v, nil
}

// cellText2 renders a cell as the text a CSV file would carry: it is used for
// raw rows of quarantined Parquet/Arrow records and for typed cells read into
// string columns.
func cellText2(c cell) string {
	switch c.kind {
	case cellText:
		return c.text
	case cellInt:
		return strconv.FormatInt(c.num, 10)
	case cellDec:
		return contract.FormatDecimal(c.num, int(c.scale))
	case cellDate:
		return formatDate(c.num)
	case cellTime:
		return formatTimestamp(c.num)
	case cellBool:
		return strconv.FormatBool(c.b)
	}
	return ""
}

func kindName(k cellKind) string {
	return [...]string{"null", "text", "integer", "decimal", "date", "timestamp", "boolean"}[k]
}

func typeName(t contract.ColType) string {
	return [...]string{"string", "enum", "date", "timestamp", "amount", "quantity", "ratio", "integer", "boolean"}[t]
}

// parseDate parses YYYY-MM-DD into days since the epoch.
func parseDate(s string) (int64, bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return 0, false
	}
	y, ok1 := digits(s[0:4])
	m, ok2 := digits(s[5:7])
	d, ok3 := digits(s[8:10])
	if !ok1 || !ok2 || !ok3 || m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return 0, false
	}
	return daysFromCivil(y, m, d), true
}

// parseTimestamp parses YYYY-MM-DD HH:MM:SS into wall-clock microseconds.
func parseTimestamp(s string) (int64, bool) {
	if len(s) != 19 || s[10] != ' ' || s[13] != ':' || s[16] != ':' {
		return 0, false
	}
	d, ok := parseDate(s[:10])
	if !ok {
		return 0, false
	}
	h, ok1 := digits(s[11:13])
	mi, ok2 := digits(s[14:16])
	sec, ok3 := digits(s[17:19])
	if !ok1 || !ok2 || !ok3 || h > 23 || mi > 59 || sec > 59 {
		return 0, false
	}
	return d*microsPerDay + int64(h*3600+mi*60+sec)*1_000_000, true
}

func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil is Howard Hinnant's days_from_civil.
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era*146097 + doe - 719468)
}

// civilFromDays is the inverse of daysFromCivil.
func civilFromDays(z int64) (y, m, d int) {
	z += 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era = (z - 146096) / 146097
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	yy := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = int(doy - (153*mp+2)/5 + 1)
	m = int(mp + 3)
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		yy++
	}
	return int(yy), m, d
}

func formatDate(days int64) string {
	y, m, d := civilFromDays(days)
	return fmt.Sprintf("%04d-%02d-%02d", y, m, d)
}

func formatTimestamp(micros int64) string {
	days := micros / microsPerDay
	rem := micros % microsPerDay
	if rem < 0 {
		days--
		rem += microsPerDay
	}
	sec := rem / 1_000_000
	return fmt.Sprintf("%s %02d:%02d:%02d", formatDate(days), sec/3600, sec/60%60, sec%60)
}
