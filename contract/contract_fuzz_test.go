package contract_test

import (
	"errors"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/medaudit/medaudit/contract"
)

// plainDecimal is the syntax ParseDecimal accepts, written independently of
// its hand-rolled scanner.
var plainDecimal = regexp.MustCompile(`^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)$`)

// maxDecimal18 is the largest unscaled value of a decimal(18, s).
var maxDecimal18 = big.NewInt(999_999_999_999_999_999)

// FuzzParseDecimal checks ParseDecimal against math/big: it accepts exactly
// the plain decimals whose value scaled by 10^scale is an integer of at most
// 18 digits, returns that integer, and FormatDecimal gives it back.
func FuzzParseDecimal(f *testing.F) {
	for _, s := range []string{"1234.50", "-0.05", "+7", ".5", "3.", "1.2300", "1.234", "1e3", "1,000.00", "", "-", ".",
		"9999999999999999.99", "99999999999999999.99", "0.0000", "-.0", "00000000000000000000000001.00", "１２", "12 ", "0x10", "NaN"} {
		for _, scale := range []uint8{0, 2, 4} {
			f.Add(s, scale)
		}
	}
	f.Fuzz(func(t *testing.T, s string, scale uint8) {
		sc := int(scale % 9)
		got, err := contract.ParseDecimal(s, sc)
		if !plainDecimal.MatchString(s) {
			if !errors.Is(err, contract.ErrDecimalSyntax) {
				t.Fatalf("ParseDecimal(%q, %d) = %d, %v; want a syntax error", s, sc, got, err)
			}
			return
		}
		r, ok := new(big.Rat).SetString(s)
		if !ok {
			t.Fatalf("big.Rat rejects %q", s)
		}
		r.Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(sc)), nil)))
		trunc := new(big.Int).Quo(r.Num(), r.Denom())
		inRange := new(big.Int).Abs(trunc).Cmp(maxDecimal18) <= 0
		switch {
		case r.IsInt() && inRange:
			if err != nil || got != trunc.Int64() {
				t.Fatalf("ParseDecimal(%q, %d) = %d, %v; want %s", s, sc, got, err, trunc)
			}
		case r.IsInt():
			if !errors.Is(err, contract.ErrDecimalRange) {
				t.Fatalf("ParseDecimal(%q, %d) = %d, %v; want a range error", s, sc, got, err)
			}
		case inRange:
			if !errors.Is(err, contract.ErrDecimalScale) {
				t.Fatalf("ParseDecimal(%q, %d) = %d, %v; want a scale error", s, sc, got, err)
			}
		default: // too many decimals and too large: either is right
			if !errors.Is(err, contract.ErrDecimalScale) && !errors.Is(err, contract.ErrDecimalRange) {
				t.Fatalf("ParseDecimal(%q, %d) = %d, %v; want a scale or range error", s, sc, got, err)
			}
		}
		if err != nil {
			return
		}
		text := contract.FormatDecimal(got, sc)
		if back, err := contract.ParseDecimal(text, sc); err != nil || back != got {
			t.Fatalf("%q -> %d -> %q -> %d, %v", s, got, text, back, err)
		}
	})
}

// FuzzFormatDecimal checks FormatDecimal against big.Rat.FloatString for any
// int64 and that ParseDecimal reads every 18-digit value back (and refuses
// the rest as out of range).
func FuzzFormatDecimal(f *testing.F) {
	for _, v := range []int64{0, 5, -5, 123450, -100, 999_999_999_999_999_999, -999_999_999_999_999_999,
		1_000_000_000_000_000_000, -1 << 63, 1<<63 - 1} {
		for _, scale := range []uint8{0, 2, 4, 8} {
			f.Add(v, scale)
		}
	}
	f.Fuzz(func(t *testing.T, v int64, scale uint8) {
		sc := int(scale % 9)
		text := contract.FormatDecimal(v, sc)
		den := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(sc)), nil)
		if want := new(big.Rat).SetFrac(big.NewInt(v), den).FloatString(sc); text != want {
			t.Fatalf("FormatDecimal(%d, %d) = %q, want %q", v, sc, text, want)
		}
		back, err := contract.ParseDecimal(text, sc)
		if big.NewInt(v).CmpAbs(maxDecimal18) > 0 {
			if !errors.Is(err, contract.ErrDecimalRange) {
				t.Fatalf("ParseDecimal(%q) = %d, %v; want a range error", text, back, err)
			}
			return
		}
		if err != nil || back != v {
			t.Fatalf("%d -> %q -> %d, %v", v, text, back, err)
		}
	})
}

// FuzzFenJSON: money read from JSON (a yuan string or number) marshals back
// to the canonical string, which reads back to the same fen.
func FuzzFenJSON(f *testing.F) {
	for _, s := range []string{`"1234.50"`, `12.5`, `"1.234"`, `"-0.05"`, `""`, `"`, `null`, `1e2`, `"9999999999999999.99"`, `"\u0031"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var m contract.Fen
		if err := m.UnmarshalJSON(b); err != nil {
			if !strings.HasPrefix(err.Error(), "money ") {
				t.Fatalf("error %q does not say what it was reading", err)
			}
			return
		}
		out, err := m.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		if want := `"` + contract.FormatDecimal(int64(m), 2) + `"`; string(out) != want {
			t.Fatalf("%s -> %d -> %s, want %s", b, m, out, want)
		}
		var back contract.Fen
		if err := back.UnmarshalJSON(out); err != nil || back != m {
			t.Fatalf("%s -> %s -> %d, %v", b, out, back, err)
		}
	})
}

// idValid is an independent GB 11643 check: 17 digits, a real calendar date
// in digits 7-14, and the MOD 11-2 check character computed from the
// definition (weight 2^(17-i) mod 11) rather than the package's tables.
func idValid(s string) bool {
	if len(s) != 18 {
		return false
	}
	sum := 0
	for i := 0; i < 17; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
		sum += int(s[i]-'0') * ((1 << (17 - i)) % 11)
	}
	check := (12 - sum%11) % 11
	want := byte('0' + check)
	if check == 10 {
		want = 'X'
	}
	if s[17] != want {
		return false
	}
	y, _ := strconv.Atoi(s[6:10])
	m, _ := strconv.Atoi(s[10:12])
	d, _ := strconv.Atoi(s[12:14])
	date := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	return date.Year() == y && int(date.Month()) == m && date.Day() == d
}

// FuzzParseIDNumber checks ParseIDNumber against idValid and the fields it
// returns against the digits, and MaskIDNumber on the same input.
func FuzzParseIDNumber(f *testing.F) {
	for _, s := range []string{"11010519491231002X", "330106198503121231", "11010519491231002x", "110105194912310021",
		"1101051949123100", "11010519491331002X", "1101051949123100AX", "44052418800101001４", "440524190002290016",
		"440524200002290012", "４４0524200002290012", "", "X", "330106********123X"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkMask(t, s)
		norm := contract.NormalizeIDNumber(s)
		if contract.NormalizeIDNumber(norm) != norm || len(norm) != len(s) {
			t.Fatalf("NormalizeIDNumber(%q) = %q is not idempotent or changed the length", s, norm)
		}
		id, err := contract.ParseIDNumber(s)
		if valid := idValid(s); (err == nil) != valid {
			t.Fatalf("ParseIDNumber(%q) err = %v, independent check says valid = %v", s, err, valid)
		}
		if err != nil {
			return
		}
		if id.Region != s[:6] || id.BirthDate.Format("20060102") != s[6:14] || id.Sex != 2-int(s[16]-'0')%2 {
			t.Fatalf("ParseIDNumber(%q) = %+v", s, id)
		}
		if got := contract.MaskIDNumber(s); got != s[:6]+"********"+s[14:] {
			t.Fatalf("MaskIDNumber(%q) = %q", s, got)
		}
	})
}

// checkMask: the mask never shows more than the first 6 and last 4
// characters, keeps the length in characters and keeps text valid UTF-8.
func checkMask(t *testing.T, s string) {
	t.Helper()
	m := contract.MaskIDNumber(s)
	if utf8.ValidString(s) && !utf8.ValidString(m) {
		t.Fatalf("MaskIDNumber(%q) = %q is not valid UTF-8", s, m)
	}
	in, out := []rune(s), []rune(m)
	if len(in) != len(out) {
		t.Fatalf("MaskIDNumber(%q) = %q: %d characters, want %d", s, m, len(out), len(in))
	}
	for i, r := range out {
		shown := len(in) > 10 && (i < 6 || i >= len(in)-4)
		if shown && r != in[i] || !shown && r != '*' {
			t.Fatalf("MaskIDNumber(%q) = %q: character %d", s, m, i)
		}
	}
}

// FuzzRegionCode checks ValidRegionCode against its definition and the
// containment relations between two codes.
func FuzzRegionCode(f *testing.F) {
	for _, p := range [][2]string{{"330106", "330106"}, {"330100", "330106"}, {"330000", "330106"}, {"330000", "440304"},
		{"330100", "330206"}, {"990106", "990106"}, {"33A106", "330106"}, {"", ""}, {"3301061", "33010"}, {"３３0106", "330106"}} {
		f.Add(p[0], p[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		digits := len(a) == 6 && strings.Trim(a, "0123456789") == ""
		if valid := digits && contract.ProvinceName(contract.RegionCode(a)) != ""; contract.ValidRegionCode(a) != valid {
			t.Fatalf("ValidRegionCode(%q) = %v, want %v", a, !valid, valid)
		}
		ra, rb := contract.RegionCode(a), contract.RegionCode(b)
		covers := ra.Covers(rb)
		if len(a) == 6 && !ra.Covers(ra) {
			t.Fatalf("%q does not cover itself", a)
		}
		if covers && (!contract.SameProvince(ra, rb) || len(a) != 6 || len(b) != 6) {
			t.Fatalf("%q covers %q outside its province", a, b)
		}
		if covers && a != b && !strings.HasSuffix(a, "00") {
			t.Fatalf("county %q covers another code %q", a, b)
		}
		if covers && ra != rb && rb.Covers(ra) {
			t.Fatalf("%q and %q cover each other", a, b)
		}
		if contract.SameCity(ra, rb) && !contract.SameProvince(ra, rb) {
			t.Fatalf("%q and %q: same city, other province", a, b)
		}
	})
}
