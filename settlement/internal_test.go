package settlement

import (
	"testing"

	"github.com/medaudit/medaudit/contract"
)

func TestDivRound(t *testing.T) {
	tests := []struct {
		num, den int64
		mode     Rounding
		want     int64
	}{
		{5, 10, HalfUp, 1}, {15, 10, HalfUp, 2}, {14, 10, HalfUp, 1}, {-5, 10, HalfUp, -1},
		{5, 10, HalfEven, 0}, {15, 10, HalfEven, 2}, {25, 10, HalfEven, 2}, {26, 10, HalfEven, 3}, {-15, 10, HalfEven, -2},
		{19, 10, Down, 1}, {-19, 10, Down, -1}, {0, 10, HalfUp, 0},
	}
	for _, tt := range tests {
		if got := divRound(tt.num, tt.den, tt.mode); got != tt.want {
			t.Errorf("divRound(%d, %d, %v) = %d, want %d", tt.num, tt.den, tt.mode, got, tt.want)
		}
	}
}

func TestFormat(t *testing.T) {
	yuanTests := map[contract.Fen]string{0: "0.00", 5: "0.05", 1_790_000: "17,900.00", -123_456_78: "-123,456.78", 100_000_000_00: "100,000,000.00"}
	for in, want := range yuanTests {
		if got := yuan(in); got != want {
			t.Errorf("yuan(%d) = %q, want %q", in, got, want)
		}
	}
	pctTests := map[int64]string{5500: "55%", 5525: "55.25%", 8150: "81.5%", 0: "0%", 10000: "100%", 5: "0.05%"}
	for in, want := range pctTests {
		if got := pct(in); got != want {
			t.Errorf("pct(%d) = %q, want %q", in, got, want)
		}
	}
	if got := points(1500); got != "15个百分点" {
		t.Errorf("points(1500) = %q", got)
	}
}

func TestDeductibleForAdmission(t *testing.T) {
	step := deductible{amount: 50000, step: 2000, floor: 6000}
	list := deductible{amount: 60000, byAdmission: []int64{60000, 46000, 32000}}
	for n, want := range map[int]int64{0: 50000, 1: 50000, 2: 40000, 3: 30000, 4: 30000, 10: 30000} {
		if got := step.forAdmission(n); got != want {
			t.Errorf("step.forAdmission(%d) = %d, want %d", n, got, want)
		}
	}
	for n, want := range map[int]int64{1: 60000, 2: 46000, 3: 32000, 9: 32000} {
		if got := list.forAdmission(n); got != want {
			t.Errorf("list.forAdmission(%d) = %d, want %d", n, got, want)
		}
	}
	noFloor := deductible{amount: 50000, step: 4000}
	if got := noFloor.forAdmission(5); got != 0 {
		t.Errorf("step without floor bottoms out at %d, want 0", got)
	}
}

func TestRoundingString(t *testing.T) {
	for name, r := range roundingNames {
		if r.String() != name {
			t.Errorf("%d.String() = %q, want %q", r, r.String(), name)
		}
	}
}
