package casebook

import (
	"testing"

	"github.com/medaudit/medaudit/contract"
)

func TestAnnualScoreAndDeposit(t *testing.T) {
	r := DefaultScoringRules()
	items, total := r.Score("hospital", []string{contract.FamilyGhostBed, contract.FamilyGhostBed, contract.FamilyDrugSubstitution})
	if total != 100-5-5-10 || items[2].Score != 15 || items[2].Deductions != 2 || items[1].Score != 15 {
		t.Errorf("hospital %v %d", items, total)
	}
	items, total = r.Score("pharmacy", []string{contract.FamilyCardMisuse, contract.FamilyCardMisuse})
	if total != 90 || items[1].Name != "规范刷卡" || items[1].Score != 40 {
		t.Errorf("pharmacy %v %d", items, total)
	}
	many := make([]string, 30)
	for i := range many {
		many[i] = contract.FamilyGhostBed
	}
	if items, total := r.Score("hospital", many); items[2].Score != 0 || total != 75 {
		t.Errorf("an item never goes below 0: %v %d", items, total)
	}
	c := DefaultDepositCurve()
	tests := []struct {
		score int
		want  contract.Fen
	}{{95, 100_000}, {90, 100_000}, {75, 50_000}, {60, 0}, {59, 0}, {84, 80_000}}
	for _, tc := range tests {
		if got := c.Payout(100_000, tc.score); got != tc.want {
			t.Errorf("payout at %d = %s, want %s", tc.score, got, tc.want)
		}
	}
}

func TestSizeThreshold(t *testing.T) {
	scores := []float64{0.9, 0.8, 0.8, 0.7, 0.5, 0.3, 0.2}
	if got := SizeThreshold(scores, 100, 1); got != 0 {
		t.Errorf("everything fits: %g", got)
	}
	// 4 reviews a week for 1 week = 2 cases: the two highest.
	if got := SizeThreshold(scores, 4, 1); got <= 0.8 || got > 0.9 {
		t.Errorf("two cases but a tie at 0.8: threshold %g must exclude the tie", got)
	}
	if got := SizeThreshold(scores, 6, 1); got != 0.8 {
		t.Errorf("three cases: %g", got)
	}
	if got := SizeThreshold(scores, 0, 1); got != 1 {
		t.Errorf("no capacity: %g", got)
	}
}
