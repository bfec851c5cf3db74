package contract

import (
	"errors"
	"strconv"
	"strings"
)

var pow10 = [...]int64{1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000}

// Decimal parse errors; callers wrap them with the column they came from.
var (
	ErrDecimalSyntax = errors.New("not a decimal number")
	ErrDecimalScale  = errors.New("too many decimal places")
	ErrDecimalRange  = errors.New("decimal out of range")
)

// maxDecimal18 bounds the unscaled value of a decimal(18,s): at most 18 digits.
const maxDecimal18 = 999_999_999_999_999_999

// ParseDecimal parses a plain decimal number ("-12.5", "3", "0.0100") into an
// integer scaled by 10^scale. It rejects exponents, thousands separators and
// more than scale fraction digits (trailing zeros beyond scale are accepted:
// "1.2300" is fine at scale 2). The result fits a decimal(18, scale).
func ParseDecimal(s string, scale int) (int64, error) {
	if s == "" {
		return 0, ErrDecimalSyntax
	}
	neg := false
	switch s[0] {
	case '-':
		neg, s = true, s[1:]
	case '+':
		s = s[1:]
	}
	intPart, frac, hasDot := strings.Cut(s, ".")
	if intPart == "" && (!hasDot || frac == "") || !allDigits(intPart) || !allDigits(frac) {
		return 0, ErrDecimalSyntax
	}
	var v int64
	for i := 0; i < len(intPart); i++ {
		c := intPart[i]
		if v > (maxDecimal18-int64(c-'0'))/10 {
			return 0, ErrDecimalRange
		}
		v = v*10 + int64(c-'0')
	}
	for i := 0; i < len(frac); i++ {
		c := frac[i]
		if i >= scale {
			if c != '0' {
				return 0, ErrDecimalScale
			}
			continue
		}
		if v > (maxDecimal18-int64(c-'0'))/10 {
			return 0, ErrDecimalRange
		}
		v = v*10 + int64(c-'0')
	}
	for i := len(frac); i < scale; i++ {
		if v > maxDecimal18/10 {
			return 0, ErrDecimalRange
		}
		v *= 10
	}
	if neg {
		v = -v
	}
	return v, nil
}

// allDigits reports whether s holds only ASCII digits; syntax is checked
// before range and scale, so "0.00001A" is not a number rather than a
// number with too many decimals.
func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// FormatDecimal formats an integer scaled by 10^scale with exactly scale
// fraction digits.
func FormatDecimal(v int64, scale int) string {
	if scale == 0 {
		return strconv.FormatInt(v, 10)
	}
	neg := v < 0
	u := uint64(v)
	if neg {
		u = uint64(-v)
	}
	p := uint64(pow10[scale])
	frac := strconv.FormatUint(u%p, 10)
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	b.WriteString(strconv.FormatUint(u/p, 10))
	b.WriteByte('.')
	for i := len(frac); i < scale; i++ {
		b.WriteByte('0')
	}
	b.WriteString(frac)
	return b.String()
}
