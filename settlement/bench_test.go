package settlement_test

import (
	"testing"

	"github.com/medaudit/medaudit/contract"
	"github.com/medaudit/medaudit/settlement"
)

// benchClaim is a realistic inpatient claim: 40 lines (drugs A/B/C, exams,
// materials with a price ceiling), cross-province, temporary registration.
func benchClaim() settlement.Claim {
	c := settlement.Claim{InsuredRegion: "611002", TreatmentRegion: "330106", InsuranceType: "employee",
		Retiree: true, VisitType: "inpatient", HospitalLevel: 3, Registration: "temporary", NthAdmission: 2,
		FundUsedYTD: 12_000_00, AccountBalance: 2_500_00}
	for i := range 40 {
		qty := contract.Qty((i%7 + 1) * 1_0000)
		price := contract.Qty((i*37%500 + 5) * 1_0000)
		ln := settlement.Line{Quantity: qty, UnitPrice: price, Amount: contract.Fen(int64(qty) * int64(price) / 1_000_000)}
		switch i % 5 {
		case 0, 1:
			ln.Class = "A"
		case 2, 3:
			ln.Class, ln.SelfPayRatio = "B", 1000+i*50
		default:
			ln.Class = "C"
		}
		if i%6 == 0 {
			ln.PriceCeiling = price * 9 / 10
		}
		c.Lines = append(c.Lines, ln)
	}
	return c
}

// BenchmarkSettle measures one settlement of benchClaim. mode=quick is
// SettleQuick (no Steps, no allocation), mode=steps is Settle with the
// Chinese explanation.
func BenchmarkSettle(b *testing.B) {
	ps, err := settlement.DefaultPolicies()
	if err != nil {
		b.Fatal(err)
	}
	c := benchClaim()
	for _, bm := range []struct {
		name   string
		settle func(settlement.Claim) (settlement.Result, error)
	}{
		{"mode=quick", ps.SettleQuick},
		{"mode=steps", ps.Settle},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bm.settle(c); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "settlements/s")
		})
	}
}

func TestSettleQuickDoesNotAllocate(t *testing.T) {
	ps, err := settlement.DefaultPolicies()
	if err != nil {
		t.Fatal(err)
	}
	c := benchClaim()
	if n := testing.AllocsPerRun(100, func() {
		if _, err := ps.SettleQuick(c); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("SettleQuick allocates %v times per call", n)
	}
}
