package settlement_test

import (
	"os"
	"testing"

	"github.com/medaudit/medaudit/contract"
	"github.com/medaudit/medaudit/settlement"
)

// testPolicies loads testdata/policies.yaml (small, stable numbers for the
// element tests; the shipped defaults may be retuned).
func testPolicies(t testing.TB) *settlement.PolicySet {
	t.Helper()
	f, err := os.Open("testdata/policies.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ps, err := settlement.LoadPolicies(f)
	if err != nil {
		t.Fatalf("load testdata/policies.yaml: %v", err)
	}
	return ps
}

func lineA(amount contract.Fen) settlement.Line {
	return settlement.Line{Class: "A", Quantity: 10000, UnitPrice: contract.Qty(amount) * 100, Amount: amount}
}

func lineB(amount contract.Fen, selfPay int) settlement.Line {
	return settlement.Line{Class: "B", Quantity: 10000, UnitPrice: contract.Qty(amount) * 100, Amount: amount, SelfPayRatio: selfPay}
}

func lineC(amount contract.Fen) settlement.Line {
	return settlement.Line{Class: "C", Quantity: 10000, UnitPrice: contract.Qty(amount) * 100, Amount: amount}
}

// sums checks the identities every result must satisfy.
func sums(t *testing.T, r settlement.Result) {
	t.Helper()
	if r.Total != r.Fund+r.Account+r.Cash {
		t.Errorf("Total %v != Fund %v + Account %v + Cash %v", r.Total, r.Fund, r.Account, r.Cash)
	}
	if r.Total != r.FullOwnPay+r.OverCeiling+r.PreSelfPay+r.InScope {
		t.Errorf("Total %v != FullOwnPay %v + OverCeiling %v + PreSelfPay %v + InScope %v",
			r.Total, r.FullOwnPay, r.OverCeiling, r.PreSelfPay, r.InScope)
	}
}
