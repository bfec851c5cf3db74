package settlement_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/medaudit/medaudit/contract"
	"github.com/medaudit/medaudit/settlement"
)

// randomClaim draws a claim with non-negative lines against any region of ps.
func randomClaim(rng *rand.Rand, regions []contract.RegionCode) settlement.Claim {
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	treat := []contract.RegionCode{"611002", "611025", "610102", "330106", "440304", "650102", "370302"}
	c := settlement.Claim{
		InsuredRegion:     regions[rng.IntN(len(regions))],
		TreatmentRegion:   treat[rng.IntN(len(treat))],
		InsuranceType:     pick(contract.InsuranceTypes),
		Retiree:           rng.IntN(3) == 0,
		VisitType:         pick(contract.VisitTypes),
		HospitalLevel:     rng.IntN(4),
		Registration:      pick(append([]string{"", ""}, contract.RegistrationKind...)),
		Emergency:         rng.IntN(5) == 0,
		NthAdmission:      rng.IntN(6),
		FundUsedYTD:       contract.Fen(rng.Int64N(400_000_00)),
		DeductibleUsedYTD: contract.Fen(rng.Int64N(3_000_00)),
		AccountBalance:    contract.Fen(rng.Int64N(20_000_00)),
	}
	if rng.IntN(3) == 0 {
		c.InsuredRegion = c.InsuredRegion[:4] + "99" // fallback to a city or province policy, or none
	}
	for range rng.IntN(60) {
		qty := contract.Qty(1 + rng.Int64N(50_0000))
		price := contract.Qty(rng.Int64N(5_000_0000))
		ln := settlement.Line{
			Class:     pick(contract.CatalogClasses),
			Quantity:  qty,
			UnitPrice: price,
			Amount:    contract.Fen((int64(qty) * int64(price)) / 1_000_000),
		}
		if ln.Class == "B" {
			ln.SelfPayRatio = rng.IntN(10001)
		}
		if rng.IntN(4) == 0 {
			ln.PriceCeiling = contract.Qty(rng.Int64N(int64(price) + 1))
		}
		c.Lines = append(c.Lines, ln)
	}
	return c
}

func TestSettleProperties(t *testing.T) {
	def, err := settlement.DefaultPolicies()
	if err != nil {
		t.Fatal(err)
	}
	sets := []*settlement.PolicySet{def, testPolicies(t)}
	rng := rand.New(rand.NewPCG(1, 2))
	n := 20000
	if testing.Short() {
		n = 2000
	}
	settled := 0
	for i := range n {
		ps := sets[i%len(sets)]
		c := randomClaim(rng, ps.Regions())
		r, err := ps.Settle(c)
		if err != nil {
			if _, ok := ps.Resolve(c.InsuredRegion); !ok {
				continue // no policy for the drawn fallback code
			}
			t.Fatalf("claim %d: %v\n%+v", i, err, c)
		}
		settled++
		fail := func(what string) { t.Fatalf("claim %d: %s\nclaim %+v\nresult %+v", i, what, c, r) }
		switch {
		case r.Total != r.Fund+r.Account+r.Cash:
			fail("Total != Fund + Account + Cash")
		case r.Total != r.FullOwnPay+r.OverCeiling+r.PreSelfPay+r.InScope:
			fail("Total != FullOwnPay + OverCeiling + PreSelfPay + InScope")
		case r.Fund < 0 || r.Account < 0 || r.Cash < 0 || r.FullOwnPay < 0 || r.OverCeiling < 0 ||
			r.PreSelfPay < 0 || r.InScope < 0 || r.Deductible < 0:
			fail("negative part")
		case r.Fund > r.InScope-r.Deductible:
			fail("fund pays more than the in-scope amount above the deductible")
		case r.Account > c.AccountBalance:
			fail("account pays more than the balance")
		case c.InsuranceType == "resident" && r.Account != 0:
			fail("resident paid from an account")
		case r.Ratio < 0 || r.Ratio > 10000:
			fail("ratio out of range")
		}
		// The cap only ever lowers the fund, and CapHit says whether it did.
		fresh := c
		fresh.FundUsedYTD = 0
		f, err := ps.SettleQuick(fresh)
		if err != nil {
			t.Fatal(err)
		}
		if r.CapHit && f.Fund <= r.Fund || !r.CapHit && f.Fund != r.Fund {
			fail("CapHit inconsistent with the fund payable without year-to-date use")
		}
		if len(r.Steps) == 0 || r.Steps[len(r.Steps)-1].Name != "cash" || r.Steps[len(r.Steps)-1].Amount != r.Cash {
			fail("steps do not end with the cash payment")
		}
		q, err := ps.SettleQuick(c)
		if err != nil {
			t.Fatal(err)
		}
		r.Steps = nil
		if !reflect.DeepEqual(q, r) {
			fail("SettleQuick differs from Settle")
		}
		// The claim settled from its line sums (the set-based recompute's
		// path) gives the same result.
		terms, err := ps.Terms(c)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range []settlement.Rounding{settlement.HalfUp, settlement.HalfEven, settlement.Down} {
			sums, err := settlement.SumLines(c.Lines, m)
			if err != nil {
				t.Fatal(err)
			}
			s, err := ps.SettleSums(c, m, sums)
			switch {
			case m != terms.Rounding && !errors.Is(err, settlement.ErrRoundingMode):
				fail(fmt.Sprintf("SettleSums took sums rounded %s for a policy rounding %s: %v", m, terms.Rounding, err))
			case m == terms.Rounding && (err != nil || !reflect.DeepEqual(s, r)):
				fail(fmt.Sprintf("SettleSums differs from Settle: %+v, %v", s, err))
			}
		}
	}
	if settled < n/2 {
		t.Fatalf("only %d of %d claims settled", settled, n)
	}
}
