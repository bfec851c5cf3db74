package detectors_test

import (
	"testing"

	"github.com/medaudit/medaudit/contract"
	"github.com/medaudit/medaudit/pipeline/pipelinetest"
	"github.com/medaudit/medaudit/settlement"
)

// seClaim is the claim of the base stay S001 of pipelinetest.Valid() (P001,
// employee retiree of 611002, relocated, tier-3 hospital in 330106, first
// admission, account balance 3000.00), with optional extra lines.
func seClaim(kind string, extra ...settlement.Line) settlement.Claim {
	lines := []settlement.Line{
		{Class: "A", Quantity: 20_000, UnitPrice: 500_000, Amount: 10_000},
		{Class: "B", Quantity: 30_000, UnitPrice: 120_000, Amount: 3_600, SelfPayRatio: 1000, PriceCeiling: 120_000},
		{Class: "A", Quantity: 10_000, UnitPrice: 8_640_000, Amount: 86_400},
	}
	return settlement.Claim{InsuredRegion: "611002", TreatmentRegion: "330106", InsuranceType: "employee", Retiree: true,
		VisitType: "inpatient", HospitalLevel: 3, Registration: kind, NthAdmission: 1,
		Lines: append(lines, extra...), AccountBalance: 300_000}
}

func seSettle(t *testing.T, c settlement.Claim) settlement.Result {
	t.Helper()
	ps, err := settlement.DefaultPolicies()
	if err != nil {
		t.Fatal(err)
	}
	res, err := ps.SettleQuick(c)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// seAmounts writes amounts on settlement row i.
func seAmounts(b pipelinetest.Batch, i int, total, fund, account, cash contract.Fen) {
	b.Set("settlements", i, "total_amount", total.String())
	b.Set("settlements", i, "fund_paid", fund.String())
	b.Set("settlements", i, "account_paid", account.String())
	b.Set("settlements", i, "cash_paid", cash.String())
}

// seHonest sets S001 and S002 to what the engine computes for them.
func seHonest(t *testing.T, b pipelinetest.Batch) settlement.Result {
	res := seSettle(t, seClaim("relocated_retiree"))
	seAmounts(b, 0, res.Total, res.Fund, res.Account, res.Cash)
	pharm := seSettle(t, settlement.Claim{InsuredRegion: "620102", TreatmentRegion: "330106", InsuranceType: "resident",
		VisitType: "pharmacy", Lines: []settlement.Line{{Class: "B", Quantity: 30_000, UnitPrice: 120_000, Amount: 3_600,
			SelfPayRatio: 1000, PriceCeiling: 120_000}}})
	seAmounts(b, 1, pharm.Total, pharm.Fund, pharm.Account, pharm.Cash)
	return res
}

func TestSettlementRecomputeDiff(t *testing.T) {
	impRun(t, "settlement.recompute_diff", []impCase{
		{name: "honest settlements recompute", change: func(b pipelinetest.Batch) { seHonest(t, b) }, not: []string{"S001", "S002"}},
		{name: "fund paid 50 yuan too much", change: func(b pipelinetest.Batch) {
			r := seHonest(t, b)
			seAmounts(b, 0, r.Total, r.Fund+5000, r.Account, r.Cash-5000)
		}, want: []string{"S001"}, not: []string{"S002"}, evidence: []string{`"differences":{"account":"0.00","cash":"-50.00","fund":"50.00"}`, `"label":"起付线"`, `"registration_kind":"relocated_retiree"`, `"nth_admission":1`}},
		{name: "a second admission carries the lower deductible", change: func(b pipelinetest.Batch) {
			first := seHonest(t, b)
			impAdd(b, "settlements", 0, map[string]string{"settlement_id": "S009", "admitted_at": "2025-01-06 09:00:00",
				"discharged_at": "2025-01-08 10:00:00", "settled_at": "2025-01-08 10:30:00"})
			impAdd(b, "fee_items", 2, map[string]string{"item_id": "F009", "settlement_id": "S009", "charged_at": "2025-01-07 10:00:00"})
			c := settlement.Claim{InsuredRegion: "611002", TreatmentRegion: "330106", InsuranceType: "employee", Retiree: true,
				VisitType: "inpatient", HospitalLevel: 3, Registration: "relocated_retiree", NthAdmission: 1,
				Lines: []settlement.Line{{Class: "A", Quantity: 10_000, UnitPrice: 8_640_000, Amount: 86_400}}, AccountBalance: 300_000}
			r0 := seSettle(t, c)
			seAmounts(b, len(b["settlements"])-1, r0.Total, r0.Fund, r0.Account, r0.Cash)
			c2 := seClaim("relocated_retiree")
			c2.NthAdmission, c2.FundUsedYTD, c2.AccountBalance = 2, r0.Fund, 300_000-r0.Account
			r := seSettle(t, c2)
			if r.Fund == first.Fund {
				t.Fatal("the second admission should settle differently")
			}
			seAmounts(b, 0, r.Total, r.Fund, r.Account, r.Cash)
		}, not: []string{"S001", "S009"}},
		{name: "a refund of a capped first admission gives its fund back", change: func(b pipelinetest.Batch) {
			seRefundedFirst(t, b, "2025-01-09 10:00:00")
		}, not: []string{"S001", "S009"}},
		{name: "a refund dated after the second admission gives nothing back to it", change: func(b pipelinetest.Batch) {
			seRefundedFirst(t, b, "2025-03-10 10:00:00")
		}, want: []string{"S001"}, not: []string{"S009"}, evidence: []string{"年度封顶线"}},
	})
}

// seRefundedFirst gives P001 a first admission, S009, whose fund reaches
// the year's cap, refunded in part (a refund swipe) at refundAt, and
// settles S001 as the second admission of a year in which S009's fund and
// account payment were given back: right when the refund comes before
// S001, else the cap leaves S001 no fund.
func seRefundedFirst(t *testing.T, b pipelinetest.Batch, refundAt string) {
	t.Helper()
	impAdd(b, "settlements", 0, map[string]string{"settlement_id": "S009", "admitted_at": "2025-01-06 09:00:00",
		"discharged_at": "2025-01-08 10:00:00", "settled_at": "2025-01-08 10:30:00"})
	impAdd(b, "fee_items", 2, map[string]string{"item_id": "F009", "settlement_id": "S009", "charged_at": "2025-01-07 10:00:00",
		"unit_price": "400000.0000", "amount": "400000.00"})
	first := settlement.Claim{InsuredRegion: "611002", TreatmentRegion: "330106", InsuranceType: "employee", Retiree: true,
		VisitType: "inpatient", HospitalLevel: 3, Registration: "relocated_retiree", NthAdmission: 1,
		Lines: []settlement.Line{{Class: "A", Quantity: 10_000, UnitPrice: 4_000_000_000, Amount: 40_000_000}}, AccountBalance: 300_000}
	r0 := seSettle(t, first)
	if !r0.CapHit {
		t.Fatalf("the first admission should reach the annual cap: %+v", r0)
	}
	seAmounts(b, len(b["settlements"])-1, r0.Total, r0.Fund, r0.Account, r0.Cash)
	impAdd(b, "card_swipes", 0, map[string]string{"swipe_id": "W009R", "swiped_at": refundAt, "amount": "-100.00",
		"kind": "refund", "settlement_id": "S009"})
	second := seClaim("relocated_retiree")
	second.NthAdmission = 2
	r := seSettle(t, second)
	capped := second
	capped.FundUsedYTD, capped.AccountBalance = r0.Fund, second.AccountBalance-r0.Account
	if rc := seSettle(t, capped); rc.Fund == r.Fund {
		t.Fatalf("the cap should change the second admission's fund: %s either way", r.Fund)
	}
	seAmounts(b, 0, r.Total, r.Fund, r.Account, r.Cash)
}

func TestSettlementWrongKind(t *testing.T) {
	impRun(t, "settlement.wrong_kind", []impCase{
		{name: "temporary on file, settled as relocated", change: func(b pipelinetest.Batch) {
			seHonest(t, b)
			b.Set("registrations", 0, "kind", "temporary")
		}, want: []string{"S001"}, evidence: []string{"其他临时外出", "异地安置退休", "kinds_reproducing_settled_fund"}},
		{name: "settled with its own kind", change: func(b pipelinetest.Batch) { seHonest(t, b) }, not: []string{"S001"}},
	})
}

func TestSettlementDeductibleSkipped(t *testing.T) {
	impRun(t, "settlement.deductible_skipped", []impCase{
		{name: "the fund paid the deductible", change: func(b pipelinetest.Batch) {
			r := seHonest(t, b)
			extra := min(contract.Fen(int64(r.Deductible)*int64(r.Ratio)/10_000), r.Cash+r.Account)
			from := min(extra, r.Cash)
			seAmounts(b, 0, r.Total, r.Fund+extra, r.Account-(extra-from), r.Cash-from)
		}, want: []string{"S001"}, evidence: []string{`"deductible_due":"600.00"`}},
		{name: "an over-payment that is not the deductible", change: func(b pipelinetest.Batch) {
			r := seHonest(t, b)
			seAmounts(b, 0, r.Total, r.Fund+1234, r.Account, r.Cash-1234)
		}, not: []string{"S001"}},
	})
}

func TestSettlementCClassPaid(t *testing.T) {
	meal := settlement.Line{Class: "C", Quantity: 10_000, UnitPrice: 300_000, Amount: 30_000}
	addMeal := func(b pipelinetest.Batch, class string) {
		impAdd(b, "fee_items", 0, map[string]string{"item_id": "F090", "item_code": "001106000010000", "item_name": "住院伙食费",
			"category": "meal", "catalog_class": class, "quantity": "1.0000", "unit_price": "300.0000", "amount": "300.00"})
	}
	impRun(t, "settlement.c_class_paid", []impCase{
		{name: "the fund paid a class C line", change: func(b pipelinetest.Batch) {
			addMeal(b, "C")
			r := seSettle(t, seClaim("relocated_retiree", meal))
			m := min(r.FullOwnPay, r.Cash+r.Account)
			from := min(m, r.Cash)
			seAmounts(b, 0, r.Total, r.Fund+m, r.Account-(m-from), r.Cash-from)
		}, want: []string{"S001"}, evidence: []string{"住院伙食费", "统筹基金支付了全自费"}},
		{name: "a class C line written as class A", change: func(b pipelinetest.Batch) {
			addMeal(b, "A")
			b["catalog"] = append(b["catalog"], pipelinetest.Row{"001106000010000", "住院伙食费", "meal", "C", "", "", "", "2024-01-01", ""})
			written := meal
			written.Class = "A"
			r := seSettle(t, seClaim("relocated_retiree", written))
			seAmounts(b, 0, r.Total, r.Fund, r.Account, r.Cash)
		}, want: []string{"S001"}, evidence: []string{`"class_on_line":"A"`, `"class_in_catalogue":"C"`, "记为甲/乙类"}},
		{name: "a class C line paid in cash", change: func(b pipelinetest.Batch) {
			addMeal(b, "C")
			r := seSettle(t, seClaim("relocated_retiree", meal))
			seAmounts(b, 0, r.Total, r.Fund, r.Account, r.Cash)
		}, not: []string{"S001"}},
	})
}

func TestSettlementCapExceeded(t *testing.T) {
	prior := func(b pipelinetest.Batch) {
		impAdd(b, "settlements", 0, map[string]string{"settlement_id": "S000", "admitted_at": "2025-01-06 09:00:00",
			"discharged_at": "2025-02-20 10:00:00", "settled_at": "2025-02-20 10:30:00", "total_amount": "300000.00",
			"fund_paid": "279900.00", "account_paid": "0.00", "cash_paid": "20100.00"})
	}
	impRun(t, "settlement.cap_exceeded", []impCase{
		{name: "the fund paid past the annual cap", change: func(b pipelinetest.Batch) {
			seHonest(t, b)
			prior(b)
			c := seClaim("relocated_retiree")
			c.NthAdmission = 2
			r := seSettle(t, c)
			seAmounts(b, 0, r.Total, r.Fund, r.Account, r.Cash)
		}, want: []string{"S001"}, evidence: []string{`"fund_used_ytd":"279900.00"`}},
		{name: "the cap respected", change: func(b pipelinetest.Batch) {
			seHonest(t, b)
			prior(b)
			c := seClaim("relocated_retiree")
			c.NthAdmission, c.FundUsedYTD = 2, 27_990_000
			r := seSettle(t, c)
			seAmounts(b, 0, r.Total, r.Fund, r.Account, r.Cash)
		}, not: []string{"S001"}},
	})
}

func TestSettlementResidentAccount(t *testing.T) {
	impRun(t, "settlement.resident_account", []impCase{
		{name: "a resident paid from an account", change: func(b pipelinetest.Batch) {
			seAmounts(b, 1, 3600, 0, 1000, 2600)
		}, want: []string{"S002"}, evidence: []string{"居民医保", `"account_paid":"10.00"`}},
		{name: "an employee's account", change: func(b pipelinetest.Batch) {}, not: []string{"S001", "S002"}},
	})
}

func TestSettlementNoRegistration(t *testing.T) {
	reg := func(b pipelinetest.Batch, area, from, to string) {
		impAdd(b, "registrations", 0, map[string]string{"registration_id": "R002", "person_id": "P002", "insured_region": "620102",
			"treatment_region": area, "kind": "temporary", "valid_from": from, "valid_to": to})
	}
	stay := func(b pipelinetest.Batch) {
		impStay(b, "S100", "P002", "B87654321", "H33010600001", "2025-06-02 09:00:00", "2025-06-10 10:00:00", "J18.900")
		b.Set("settlements", len(b["settlements"])-1, "insured_region", "620102")
		b.Set("settlements", len(b["settlements"])-1, "registration_id", "")
	}
	impRun(t, "settlement.no_registration", []impCase{
		{name: "cross-region purchase without registration", change: func(b pipelinetest.Batch) {},
			want: []string{"S002"}, not: []string{"S001"}, evidence: []string{"620102", "西湖大药房", `"registrations_of_person":[]`}},
		{name: "emergency counts as registered", change: func(b pipelinetest.Batch) {
			b.Set("settlements", 1, "emergency", "true")
		}, not: []string{"S002"}},
		{name: "registration filed during the stay, before discharge", change: func(b pipelinetest.Batch) {
			stay(b)
			reg(b, "330100", "2025-06-06", "2025-12-06")
		}, not: []string{"S100"}},
		{name: "registration filed after discharge", change: func(b pipelinetest.Batch) {
			stay(b)
			reg(b, "330100", "2025-06-20", "2025-12-20")
		}, want: []string{"S100"}, evidence: []string{"R002"}},
		{name: "registration for another province", change: func(b pipelinetest.Batch) {
			stay(b)
			reg(b, "440000", "2025-01-01", "")
		}, want: []string{"S100"}},
		{name: "registration covering the province", change: func(b pipelinetest.Batch) {
			stay(b)
			reg(b, "330000", "2025-01-01", "")
		}, not: []string{"S100"}},
		{name: "registration expired before admission", change: func(b pipelinetest.Batch) {
			stay(b)
			reg(b, "330106", "2024-06-01", "2025-05-31")
		}, want: []string{"S100"}},
		{name: "a local visit needs no registration", change: func(b pipelinetest.Batch) {
			b.Set("persons", 1, "insured_region", "330106")
			b.Set("settlements", 1, "insured_region", "330106")
		}, not: []string{"S002"}},
	})
}
