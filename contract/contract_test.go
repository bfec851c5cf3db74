package contract_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/medaudit/medaudit/contract"
)

// The worked examples of DOMAIN.md §6.2.
func TestIDCheckChar(t *testing.T) {
	tests := []struct{ first17, want string }{
		{"11010519491231002", "X"},
		{"44052418800101001", "4"},
		{"33010619850312123", "1"},
	}
	for _, tc := range tests {
		if got := string(contract.IDCheckChar(tc.first17)); got != tc.want {
			t.Errorf("IDCheckChar(%s) = %s, want %s", tc.first17, got, tc.want)
		}
	}
}

func TestParseIDNumber(t *testing.T) {
	tests := []struct {
		in      string
		wantErr error
		sex     int
		birth   string
	}{
		{"11010519491231002X", nil, 2, "1949-12-31"},
		{"330106198503121231", nil, 1, "1985-03-12"},
		{"11010519491231002x", contract.ErrIDCharset, 0, ""}, // normalise first
		{"110105194912310021", contract.ErrIDCheckDigit, 0, ""},
		{"1101051949123100", contract.ErrIDLength, 0, ""},
		{"11010519491331002X", contract.ErrIDBirthDate, 0, ""},
		{"1101051949123100AX", contract.ErrIDCharset, 0, ""},
	}
	for _, tc := range tests {
		id, err := contract.ParseIDNumber(tc.in)
		if !errors.Is(err, tc.wantErr) {
			t.Errorf("ParseIDNumber(%s) err = %v, want %v", tc.in, err, tc.wantErr)
			continue
		}
		if err == nil && (id.Sex != tc.sex || id.BirthDate.Format("2006-01-02") != tc.birth) {
			t.Errorf("ParseIDNumber(%s) = %+v", tc.in, id)
		}
	}
	if got := contract.NormalizeIDNumber("11010519491231002x"); got != "11010519491231002X" {
		t.Errorf("NormalizeIDNumber = %s", got)
	}
	if got := contract.MaskIDNumber("11010519491231002X"); got != "110105********002X" {
		t.Errorf("MaskIDNumber = %s", got)
	}
}

func TestParseDecimal(t *testing.T) {
	tests := []struct {
		in    string
		scale int
		want  int64
		err   error
	}{
		{"1234.50", 2, 123450, nil},
		{"1234.5", 2, 123450, nil},
		{"-0.05", 2, -5, nil},
		{"+7", 2, 700, nil},
		{".5", 2, 50, nil},
		{"3.", 2, 300, nil},
		{"1.2300", 2, 123, nil},
		{"1.234", 2, 0, contract.ErrDecimalScale},
		{"2.5", 4, 25000, nil},
		{"1e3", 2, 0, contract.ErrDecimalSyntax},
		{"1,000.00", 2, 0, contract.ErrDecimalSyntax},
		{"", 2, 0, contract.ErrDecimalSyntax},
		{"-", 2, 0, contract.ErrDecimalSyntax},
		{".", 2, 0, contract.ErrDecimalSyntax},
		{"9999999999999999.99", 2, 999999999999999999, nil},
		{"99999999999999999.99", 2, 0, contract.ErrDecimalRange},
	}
	for _, tc := range tests {
		got, err := contract.ParseDecimal(tc.in, tc.scale)
		if !errors.Is(err, tc.err) || (err == nil && got != tc.want) {
			t.Errorf("ParseDecimal(%q, %d) = %d, %v; want %d, %v", tc.in, tc.scale, got, err, tc.want, tc.err)
		}
	}
	for _, f := range []contract.Fen{0, 5, -5, 123450, -100} {
		back, err := contract.ParseDecimal(f.String(), 2)
		if err != nil || contract.Fen(back) != f {
			t.Errorf("Fen %d -> %q -> %d %v", f, f.String(), back, err)
		}
	}
	if s := contract.Qty(25000).String(); s != "2.5000" {
		t.Errorf("Qty = %s", s)
	}
}

func TestRegions(t *testing.T) {
	for _, code := range []string{"330106", "330000", "110105", "820000"} {
		if !contract.ValidRegionCode(code) {
			t.Errorf("%s should be valid", code)
		}
	}
	for _, code := range []string{"33010", "3301061", "990106", "33A106", ""} {
		if contract.ValidRegionCode(code) {
			t.Errorf("%s should be invalid", code)
		}
	}
	covers := []struct {
		area, r contract.RegionCode
		want    bool
	}{
		{"330106", "330106", true},
		{"330100", "330106", true},
		{"330000", "330106", true},
		{"330000", "440304", false},
		{"330100", "330206", false},
		{"330102", "330106", false},
	}
	for _, tc := range covers {
		if got := tc.area.Covers(tc.r); got != tc.want {
			t.Errorf("%s covers %s = %v", tc.area, tc.r, got)
		}
	}
	if contract.ProvinceName("330106") != "浙江省" {
		t.Error("province name")
	}
}

func TestTablesWellFormed(t *testing.T) {
	v1 := 0
	for _, tb := range contract.Tables {
		if !tb.Extension {
			v1++
		}
	}
	if v1 != 8 {
		t.Fatalf("%d contract v1 tables", v1)
	}
	for _, tb := range contract.Tables {
		seen := map[string]bool{}
		for _, c := range tb.Columns {
			if seen[c.Name] {
				t.Errorf("%s.%s twice", tb.Name, c.Name)
			}
			seen[c.Name] = true
			if c.Type == contract.Enum && len(c.Enum) == 0 {
				t.Errorf("%s.%s enum without values", tb.Name, c.Name)
			}
			if c.Extension && c.Required {
				t.Errorf("%s.%s: an extension column cannot be required", tb.Name, c.Name)
			}
		}
		for _, k := range tb.Key {
			if c, ok := tb.Column(k); !ok || !c.Required {
				t.Errorf("%s: key %s must be a required column", tb.Name, k)
			}
		}
		for _, p := range tb.Parents {
			if _, ok := contract.TableByName(p.Table); !ok || !seen[p.Column] {
				t.Errorf("%s: bad parent %+v", tb.Name, p)
			}
		}
	}
}

func TestFenJSON(t *testing.T) {
	b, err := json.Marshal(struct{ A contract.Fen }{123450})
	if err != nil || string(b) != `{"A":"1234.50"}` {
		t.Errorf("marshal %s %v", b, err)
	}
	var v struct{ A, B contract.Fen }
	if err := json.Unmarshal([]byte(`{"A":"1234.50","B":12.5}`), &v); err != nil || v.A != 123450 || v.B != 1250 {
		t.Errorf("unmarshal %+v %v", v, err)
	}
	if err := json.Unmarshal([]byte(`{"A":"1.234"}`), &v); err == nil {
		t.Error("three decimals accepted")
	}
}
