package casebook

import (
	"fmt"

	"github.com/medaudit/medaudit/contract"
)

// Basis is the article of 《医疗保障基金使用监督管理条例》 a decision rests on.
type Basis string

// Bases and their fine ranges (DOMAIN.md §3).
const (
	Art38 Basis = "art38" // institution violation: fine 1–2× the loss
	Art40 Basis = "art40" // institution fraud: 2–5×
	Art41 Basis = "art41" // insured person's fraud (冒名就医…): 2–5×
)

// FineRange returns the allowed multiples of a basis in percent.
func FineRange(b Basis) (lo, hi int, ok bool) {
	switch b {
	case Art38:
		return 100, 200, true
	case Art40, Art41:
		return 200, 500, true
	}
	return 0, 0, false
}

// Fine is amount × percent/100, rounded half-up to the fen, after checking
// the multiple is within the article's range.
func Fine(amount contract.Fen, b Basis, percent int) (contract.Fen, error) {
	lo, hi, ok := FineRange(b)
	if !ok {
		return 0, fmt.Errorf("unknown basis %q (art38, art40, art41)", b)
	}
	if percent < lo || percent > hi {
		return 0, fmt.Errorf("%s allows a fine of %d%%–%d%% of the amount, not %d%%", b, lo, hi, percent)
	}
	if amount < 0 {
		return 0, fmt.Errorf("negative amount %s", amount)
	}
	return contract.Fen((int64(amount)*int64(percent) + 50) / 100), nil
}
