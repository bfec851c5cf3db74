package settlement_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/medaudit/medaudit/contract"
	"github.com/medaudit/medaudit/settlement"
)

// Amounts below are written yuan_fen: 8_648_00 is 8,648.00 yuan.
const tenK = 10_000_00

// claim builds a claim from a base and a list of modifiers.
func claim(base settlement.Claim, mods ...func(*settlement.Claim)) settlement.Claim {
	base.Lines = append([]settlement.Line(nil), base.Lines...)
	for _, m := range mods {
		m(&base)
	}
	return base
}

func lines(ls ...settlement.Line) func(*settlement.Claim) {
	return func(c *settlement.Claim) { c.Lines = ls }
}
func nth(n int) func(*settlement.Claim) { return func(c *settlement.Claim) { c.NthAdmission = n } }
func retiree(c *settlement.Claim)       { c.Retiree = true }
func emergency(c *settlement.Claim)     { c.Emergency = true }
func resident(c *settlement.Claim)      { c.InsuranceType = "resident" }
func reg(kind string) func(*settlement.Claim) {
	return func(c *settlement.Claim) { c.Registration = kind }
}
func treated(r string) func(*settlement.Claim) {
	return func(c *settlement.Claim) { c.TreatmentRegion = contract.RegionCode(r) }
}
func insured(r string) func(*settlement.Claim) {
	return func(c *settlement.Claim) { c.InsuredRegion = contract.RegionCode(r) }
}
func visit(v string) func(*settlement.Claim) { return func(c *settlement.Claim) { c.VisitType = v } }
func level(l int) func(*settlement.Claim)    { return func(c *settlement.Claim) { c.HospitalLevel = l } }
func balance(f contract.Fen) func(*settlement.Claim) {
	return func(c *settlement.Claim) { c.AccountBalance = f }
}
func fundYTD(f contract.Fen) func(*settlement.Claim) {
	return func(c *settlement.Claim) { c.FundUsedYTD = f }
}
func dedYTD(f contract.Fen) func(*settlement.Claim) {
	return func(c *settlement.Claim) { c.DeductibleUsedYTD = f }
}

// Base claims: a local tier-3 admission with one class A line of 10,000.00.
var (
	shangluo = settlement.Claim{InsuredRegion: "611002", TreatmentRegion: "611002", InsuranceType: "employee",
		VisitType: "inpatient", HospitalLevel: 3, NthAdmission: 1, Lines: []settlement.Line{lineA(tenK)}}
	hangzhou = claim(shangluo, insured("330102"), treated("330106")) // falls back to 330100
	shandong = claim(shangluo, insured("370302"), treated("370305")) // falls back to 370000
	suzhou   = claim(shangluo, insured("320506"), treated("320505")) // falls back to 320500
)

func TestSettleElements(t *testing.T) {
	ps := testPolicies(t)
	// want lists every number of the result; Steps are tested elsewhere.
	type want struct {
		Total, FullOwnPay, OverCeiling, PreSelfPay, InScope, Deductible, Fund, Account, Cash contract.Fen
		Ratio                                                                                int
		CapHit                                                                               bool
	}
	// plain is the usual shape: one in-scope amount, no exclusions, no account.
	plain := func(inScope, ded, fund contract.Fen, ratio int) want {
		return want{Total: inScope, InScope: inScope, Deductible: ded, Fund: fund, Cash: inScope - fund, Ratio: ratio}
	}
	tests := []struct {
		name  string
		claim settlement.Claim
		want  want
	}{
		// Deductible per admission: explicit list 600/460/320, last repeats.
		{"deductible/list/1st", shangluo, plain(tenK, 600_00, 8_648_00, 9200)},
		{"deductible/list/2nd", claim(shangluo, nth(2)), plain(tenK, 460_00, 8_776_80, 9200)},
		{"deductible/list/3rd", claim(shangluo, nth(3)), plain(tenK, 320_00, 8_905_60, 9200)},
		{"deductible/list/5th repeats last", claim(shangluo, nth(5)), plain(tenK, 320_00, 8_905_60, 9200)},
		{"deductible/nth 0 counts as 1st", claim(shangluo, nth(0)), plain(tenK, 600_00, 8_648_00, 9200)},
		// Percentage step: resident 500, −20 % per further admission, floor 60 %.
		{"deductible/step/1st", claim(shangluo, resident), plain(tenK, 500_00, 6_650_00, 7000)},
		{"deductible/step/2nd", claim(shangluo, resident, nth(2)), plain(tenK, 400_00, 6_720_00, 7000)},
		{"deductible/step/3rd hits floor", claim(shangluo, resident, nth(3)), plain(tenK, 300_00, 6_790_00, 7000)},
		{"deductible/step/6th stays at floor", claim(shangluo, resident, nth(6)), plain(tenK, 300_00, 6_790_00, 7000)},
		{"deductible/in-scope below deductible", claim(shangluo, lines(lineA(300_00))), plain(300_00, 300_00, 0, 9200)},
		// Outpatient annual deductible 200.00 at 60 %, accumulated via DeductibleUsedYTD.
		{"deductible/annual/fresh", claim(shangluo, visit("outpatient"), lines(lineA(500_00))), plain(500_00, 200_00, 180_00, 6000)},
		{"deductible/annual/partly met", claim(shangluo, visit("outpatient"), lines(lineA(500_00)), dedYTD(150_00)), plain(500_00, 50_00, 270_00, 6000)},
		{"deductible/annual/met", claim(shangluo, visit("outpatient"), lines(lineA(500_00)), dedYTD(300_00)), plain(500_00, 0, 300_00, 6000)},
		{"deductible/annual/pharmacy", claim(shangluo, visit("pharmacy"), level(0), lines(lineA(500_00))), plain(500_00, 200_00, 180_00, 6000)},

		// Bands: 0–10,000.00 at 85 %, above at 92 % (tier 3, deductible 1,000.00).
		{"bands/first only", claim(hangzhou, lines(lineA(5_000_00))), plain(5_000_00, 1_000_00, 3_400_00, 8500)},
		{"bands/exactly at the boundary", claim(hangzhou, lines(lineA(11_000_00))), plain(11_000_00, 1_000_00, 8_500_00, 8500)},
		{"bands/two", claim(hangzhou, lines(lineA(30_000_00))), plain(30_000_00, 1_000_00, 25_980_00, 9200)},
		{"bands/lower level single band", claim(hangzhou, level(1)), plain(tenK, 500_00, 8_550_00, 9000)},
		// Retiree bonus: +2 points (single band), +3 points on every band.
		{"retiree/single band", claim(shangluo, retiree), plain(tenK, 600_00, 8_836_00, 9400)},
		{"retiree/two bands", claim(hangzhou, retiree, lines(lineA(30_000_00))), plain(30_000_00, 1_000_00, 26_850_00, 9500)},

		// Points reductions, cross-province (商洛 treated in 杭州).
		{"points/temporary −15", claim(shangluo, treated("330106"), reg("temporary")), plain(tenK, 600_00, 7_238_00, 7700)},
		{"points/referral −10", claim(shangluo, treated("330106"), reg("referral")), plain(tenK, 600_00, 7_708_00, 8200)},
		{"points/temporary with retiree bonus", claim(shangluo, treated("330106"), reg("temporary"), retiree), plain(tenK, 600_00, 7_426_00, 7900)},
		{"points/relocated_retiree none", claim(shangluo, treated("330106"), reg("relocated_retiree")), plain(tenK, 600_00, 8_648_00, 9200)},
		{"points/long_term_resident none", claim(shangluo, treated("330106"), reg("long_term_resident")), plain(tenK, 600_00, 8_648_00, 9200)},
		{"points/posted_worker none", claim(shangluo, treated("330106"), reg("posted_worker")), plain(tenK, 600_00, 8_648_00, 9200)},
		{"emergency/unregistered −10", claim(shangluo, treated("330106"), emergency), plain(tenK, 600_00, 7_708_00, 8200)},
		{"emergency/over temporary registration −10", claim(shangluo, treated("330106"), reg("temporary"), emergency), plain(tenK, 600_00, 7_708_00, 8200)},
		{"emergency/long-term registration keeps none", claim(shangluo, treated("330106"), reg("relocated_retiree"), emergency), plain(tenK, 600_00, 8_648_00, 9200)},
		{"unregistered/cross-province −25", claim(shangluo, treated("330106")), plain(tenK, 600_00, 6_298_00, 6700)},
		{"unregistered/same province other city −25", claim(shangluo, treated("610102")), plain(tenK, 600_00, 6_298_00, 6700)},
		{"local/same city other county", claim(shangluo, treated("611025")), plain(tenK, 600_00, 8_648_00, 9200)},
		{"local/registration ignored", claim(shangluo, treated("611025"), reg("temporary")), plain(tenK, 600_00, 8_648_00, 9200)},

		// Factor reductions (苏州-style), rounding down; deductible 1,000.00, 90 %.
		{"factor/local none", suzhou, plain(tenK, 1_000_00, 8_100_00, 9000)},
		{"factor/temporary ×0.8", claim(suzhou, treated("110105"), reg("temporary")), plain(tenK, 1_000_00, 6_480_00, 7200)},
		{"factor/referral ×0.9", claim(suzhou, treated("110105"), reg("referral")), plain(tenK, 1_000_00, 7_290_00, 8100)},
		{"factor/emergency ×0.9", claim(suzhou, treated("110105"), emergency), plain(tenK, 1_000_00, 7_290_00, 8100)},
		{"factor/ratio rounds half-up (90.55 % × 0.9 = 81.495 %)", claim(suzhou, treated("110105"), reg("referral"), retiree), plain(tenK, 1_000_00, 7_335_00, 8150)},
		{"factor/unregistered 100 points: no fund", claim(suzhou, treated("110105")), plain(tenK, 1_000_00, 0, 0)},

		// Advance self-pay (临沂-style) on the in-scope amount; deductible 1,000.00, 90 %.
		{"advance/local none", shandong, plain(tenK, 1_000_00, 8_100_00, 9000)},
		{"advance/temporary 10 %", claim(shandong, treated("440304"), reg("temporary")),
			want{Total: tenK, PreSelfPay: 1_000_00, InScope: 9_000_00, Deductible: 1_000_00, Fund: 7_200_00, Cash: 2_800_00, Ratio: 9000}},
		{"advance/referral 5 %", claim(shandong, treated("440304"), reg("referral")),
			want{Total: tenK, PreSelfPay: 500_00, InScope: 9_500_00, Deductible: 1_000_00, Fund: 7_650_00, Cash: 2_350_00, Ratio: 9000}},
		{"advance/unregistered 20 %", claim(shandong, treated("440304")),
			want{Total: tenK, PreSelfPay: 2_000_00, InScope: 8_000_00, Deductible: 1_000_00, Fund: 6_300_00, Cash: 3_700_00, Ratio: 9000}},
		{"advance/emergency none", claim(shandong, treated("440304"), emergency), plain(tenK, 1_000_00, 8_100_00, 9000)},
		{"advance/after class B self-pay", claim(shandong, treated("440304"), reg("temporary"), lines(lineB(tenK, 1000))),
			want{Total: tenK, PreSelfPay: 1_900_00, InScope: 8_100_00, Deductible: 1_000_00, Fund: 6_390_00, Cash: 3_610_00, Ratio: 9000}},

		// Annual cap 280,000.00 with FundUsedYTD.
		{"cap/partly left", claim(shangluo, fundYTD(275_000_00)),
			want{Total: tenK, InScope: tenK, Deductible: 600_00, Fund: 5_000_00, Cash: 5_000_00, Ratio: 9200, CapHit: true}},
		{"cap/exhausted", claim(shangluo, fundYTD(280_000_00)),
			want{Total: tenK, InScope: tenK, Deductible: 600_00, Fund: 0, Cash: tenK, Ratio: 9200, CapHit: true}},
		{"cap/already over", claim(shangluo, fundYTD(300_000_00)),
			want{Total: tenK, InScope: tenK, Deductible: 600_00, Fund: 0, Cash: tenK, Ratio: 9200, CapHit: true}},
		{"cap/exactly reaches the cap", claim(shangluo, fundYTD(280_000_00-8_648_00)), plain(tenK, 600_00, 8_648_00, 9200)},
		{"cap/outpatient", claim(shangluo, visit("outpatient")),
			want{Total: tenK, InScope: tenK, Deductible: 200_00, Fund: 3_000_00, Cash: 7_000_00, Ratio: 6000, CapHit: true}},

		// Catalogue classes and price ceilings.
		{"class B 10 % self-pay", claim(shangluo, lines(lineB(tenK, 1000))),
			want{Total: tenK, PreSelfPay: 1_000_00, InScope: 9_000_00, Deductible: 600_00, Fund: 7_728_00, Cash: 2_272_00, Ratio: 9200}},
		{"class B self-pay rounds half-up (333.33 × 15.5 % = 51.666)", claim(shangluo, lines(lineB(333_33, 1550))),
			want{Total: 333_33, PreSelfPay: 51_67, InScope: 281_66, Deductible: 281_66, Cash: 333_33, Ratio: 9200}},
		{"class C full self-pay", claim(shangluo, lines(lineA(tenK), lineC(1_000_00))),
			want{Total: 11_000_00, FullOwnPay: 1_000_00, InScope: tenK, Deductible: 600_00, Fund: 8_648_00, Cash: 2_352_00, Ratio: 9200}},
		{"ceiling/over-ceiling A line", claim(shangluo, lines(lineA(tenK),
			settlement.Line{Class: "A", Quantity: 2_0000, UnitPrice: 600_0000, PriceCeiling: 450_0000, Amount: 1_200_00})),
			want{Total: 11_200_00, OverCeiling: 300_00, InScope: 10_900_00, Deductible: 600_00, Fund: 9_476_00, Cash: 1_724_00, Ratio: 9200}},
		{"ceiling/over-ceiling C line", claim(shangluo, lines(lineA(tenK),
			settlement.Line{Class: "C", Quantity: 1_0000, UnitPrice: 100_0000, PriceCeiling: 80_0000, Amount: 100_00})),
			want{Total: 10_100_00, FullOwnPay: 80_00, OverCeiling: 20_00, InScope: tenK, Deductible: 600_00, Fund: 8_648_00, Cash: 1_452_00, Ratio: 9200}},
		{"ceiling/over-ceiling B line then self-pay share", claim(shangluo, lines(
			settlement.Line{Class: "B", Quantity: 1_0000, UnitPrice: 12_000_0000, PriceCeiling: 10_000_0000, Amount: 12_000_00, SelfPayRatio: 1000})),
			want{Total: 12_000_00, OverCeiling: 2_000_00, PreSelfPay: 1_000_00, InScope: 9_000_00, Deductible: 600_00, Fund: 7_728_00, Cash: 4_272_00, Ratio: 9200}},
		{"ceiling/limited to the line amount", claim(shangluo, lines(
			settlement.Line{Class: "A", Quantity: 10_0000, UnitPrice: 50_0000, PriceCeiling: 10_0000, Amount: 100_00})),
			want{Total: 100_00, OverCeiling: 100_00, Cash: 100_00, Ratio: 9200}},
		{"ceiling/price under the ceiling", claim(shangluo, lines(
			settlement.Line{Class: "A", Quantity: 1_0000, UnitPrice: 100_0000, PriceCeiling: 200_0000, Amount: 100_00})),
			want{Total: 100_00, InScope: 100_00, Deductible: 100_00, Cash: 100_00, Ratio: 9200}},

		// Personal account.
		{"account/class C excluded", claim(shangluo, lines(lineA(tenK), lineC(1_000_00)), balance(10_000_00)),
			want{Total: 11_000_00, FullOwnPay: 1_000_00, InScope: tenK, Deductible: 600_00, Fund: 8_648_00, Account: 1_352_00, Cash: 1_000_00, Ratio: 9200}},
		{"account/class C allowed by policy", claim(hangzhou, lines(lineA(tenK), lineC(1_000_00)), balance(10_000_00)),
			want{Total: 11_000_00, FullOwnPay: 1_000_00, InScope: tenK, Deductible: 1_000_00, Fund: 7_650_00, Account: 3_350_00, Ratio: 8500}},
		{"account/over-ceiling excluded", claim(hangzhou, balance(10_000_00), lines(lineA(tenK),
			settlement.Line{Class: "A", Quantity: 1_0000, UnitPrice: 200_0000, PriceCeiling: 150_0000, Amount: 200_00})),
			want{Total: 10_200_00, OverCeiling: 50_00, InScope: 10_150_00, Deductible: 1_000_00, Fund: 7_777_50, Account: 2_372_50, Cash: 50_00, Ratio: 8500}},
		{"account/limited by balance", claim(shangluo, balance(500_00)),
			want{Total: tenK, InScope: tenK, Deductible: 600_00, Fund: 8_648_00, Account: 500_00, Cash: 852_00, Ratio: 9200}},
		{"account/resident never", claim(shangluo, resident, balance(10_000_00)), plain(tenK, 500_00, 6_650_00, 7000)},

		// Rounding modes: 1.01 × 50 % = 0.505, 1.03 × 50 % = 0.515.
		{"rounding/half_up .5 up", claim(shangluo, resident, visit("outpatient"), lines(lineA(1_01))), plain(1_01, 0, 51, 5000)},
		{"rounding/half_up .5 up (odd)", claim(shangluo, resident, visit("outpatient"), lines(lineA(1_03))), plain(1_03, 0, 52, 5000)},
		{"rounding/half_even .5 to even (down)", claim(hangzhou, visit("outpatient"), lines(lineA(1_01))), plain(1_01, 0, 50, 5000)},
		{"rounding/half_even .5 to even (up)", claim(hangzhou, visit("outpatient"), lines(lineA(1_03))), plain(1_03, 0, 52, 5000)},
		{"rounding/down truncates", claim(suzhou, visit("outpatient"), lines(lineA(1_03))), plain(1_03, 0, 51, 5000)},

		// Fallback lookup: exact, city, province.
		{"lookup/exact", claim(shangluo, insured("611002")), plain(tenK, 600_00, 8_648_00, 9200)},
		{"lookup/city", claim(hangzhou, insured("330108")), plain(tenK, 1_000_00, 7_650_00, 8500)},
		{"lookup/province", claim(shandong, insured("371302"), treated("371302")), plain(tenK, 1_000_00, 8_100_00, 9000)},

		// Refunds net out; an empty claim settles to zero.
		{"refund line nets out", claim(shangluo, lines(lineA(tenK), lineA(-1_000_00))), plain(9_000_00, 600_00, 7_728_00, 9200)},
		{"no lines", claim(shangluo, lines()), want{Ratio: 9200}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ps.Settle(tt.claim)
			if err != nil {
				t.Fatal(err)
			}
			got := want{r.Total, r.FullOwnPay, r.OverCeiling, r.PreSelfPay, r.InScope, r.Deductible, r.Fund, r.Account, r.Cash, r.Ratio, r.CapHit}
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
			sums(t, r)
			q, err := ps.SettleQuick(tt.claim)
			if err != nil {
				t.Fatal(err)
			}
			r.Steps = nil
			if q.Steps != nil || !reflect.DeepEqual(q, r) {
				t.Errorf("SettleQuick = %+v, Settle = %+v", q, r)
			}
		})
	}
}

func TestSettleErrors(t *testing.T) {
	ps := testPolicies(t)
	tests := []struct {
		name  string
		claim settlement.Claim
		want  error
	}{
		{"no policy for region", claim(shangluo, insured("120101")), settlement.ErrNoPolicy},
		{"insured region not a code", claim(shangluo, insured("6110")), settlement.ErrInvalidClaim},
		{"treatment region not a code", claim(shangluo, treated("")), settlement.ErrInvalidClaim},
		{"insurance type", claim(shangluo, func(c *settlement.Claim) { c.InsuranceType = "commercial" }), settlement.ErrInvalidClaim},
		{"visit type", claim(shangluo, visit("home")), settlement.ErrInvalidClaim},
		{"hospital level", claim(shangluo, level(4)), settlement.ErrInvalidClaim},
		{"registration kind", claim(shangluo, reg("vacation")), settlement.ErrInvalidClaim},
		{"emergency is a flag, not a registration kind", claim(shangluo, reg("emergency")), settlement.ErrInvalidClaim},
		{"negative nth admission", claim(shangluo, nth(-1)), settlement.ErrInvalidClaim},
		{"negative fund YTD", claim(shangluo, fundYTD(-1)), settlement.ErrInvalidClaim},
		{"negative deductible YTD", claim(shangluo, dedYTD(-1)), settlement.ErrInvalidClaim},
		{"negative balance", claim(shangluo, balance(-1)), settlement.ErrInvalidClaim},
		{"line class", claim(shangluo, lines(settlement.Line{Class: "D", Amount: 1})), settlement.ErrInvalidClaim},
		{"self-pay ratio", claim(shangluo, lines(lineB(100, 10001))), settlement.ErrInvalidClaim},
		{"negative ceiling", claim(shangluo, lines(settlement.Line{Class: "A", Amount: 1, PriceCeiling: -1})), settlement.ErrInvalidClaim},
		{"line amount out of range", claim(shangluo, lines(lineA(2_000_000_000_000))), settlement.ErrInvalidClaim},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ps.Settle(tt.claim)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if _, err := ps.SettleQuick(tt.claim); !errors.Is(err, tt.want) {
				t.Fatalf("SettleQuick err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestResolve(t *testing.T) {
	ps := testPolicies(t)
	def, err := settlement.DefaultPolicies()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		ps       *settlement.PolicySet
		insured  contract.RegionCode
		want     contract.RegionCode
		resolved bool
	}{
		{"exact", ps, "611002", "611002", true},
		{"no city or province policy", ps, "611025", "", false},
		{"city", ps, "330106", "330100", true},
		{"city itself", ps, "330100", "330100", true},
		{"province", ps, "370302", "370000", true},
		{"other province", ps, "120101", "", false},
		{"not a code", ps, "33010", "", false},
		{"defaults/exact", def, "620102", "620102", true},
		{"defaults/city", def, "611025", "611000", true},
		{"defaults/municipality", def, "500233", "500000", true},
		{"defaults/beijing district", def, "110108", "110000", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.ps.Resolve(tt.insured)
			if got != tt.want || ok != tt.resolved {
				t.Errorf("Resolve(%s) = %q, %v; want %q, %v", tt.insured, got, ok, tt.want, tt.resolved)
			}
		})
	}
	if got := ps.Regions(); len(got) != 4 || got[0] != "320500" || got[3] != "611002" {
		t.Errorf("Regions() = %v", got)
	}
}
