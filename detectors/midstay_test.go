package detectors_test

import (
	"testing"

	"github.com/medaudit/medaudit/contract"
	"github.com/medaudit/medaudit/pipeline/pipelinetest"
)

// seSplit settles S001 honestly as one stay, then splits it in two
// settlements (中途结算): S001 covers 2025-03-02 with the bed and the lab
// line, S00B the rest of the stay with the drug line (36.00 in cash); the
// two together carry exactly the stay's money. visit is the mdtrt_id of
// both ("" for none).
func seSplit(t *testing.T, b pipelinetest.Batch, visit string) {
	r := seHonest(t, b)
	const part2 = contract.Fen(3600)
	acct, cash := r.Account, r.Cash-part2
	if cash < 0 {
		acct, cash = r.Account+cash, 0
	}
	seAmounts(b, 0, r.Total-part2, r.Fund, acct, cash)
	b.Set("settlements", 0, "discharged_at", "2025-03-02 23:59:59")
	b.Set("settlements", 0, "settled_at", "2025-03-02 23:59:59")
	b.Set("settlements", 0, "dscg_way", "")
	impAdd(b, "settlements", 0, map[string]string{"settlement_id": "S00B", "admitted_at": "2025-03-03 00:00:00",
		"discharged_at": "2025-03-04 10:00:00", "settled_at": "2025-03-04 10:30:00", "dscg_way": "1"})
	seAmounts(b, len(b["settlements"])-1, part2, 0, r.Account-acct, part2-(r.Account-acct))
	if visit != "" {
		b.Set("settlements", 0, "mdtrt_id", visit).Set("settlements", 0, "mid_setl_flag", "true")
		b.Set("settlements", len(b["settlements"])-1, "mdtrt_id", visit)
	}
	b.Set("fee_items", 1, "settlement_id", "S00B")
}

// TestMidStaySettlement: a stay settled in parts is recomputed as one claim
// (its money the sum of its settlements) and is not a split admission;
// the same two settlements without a visit id are two stays, each wrong.
func TestMidStaySettlement(t *testing.T) {
	impRun(t, "settlement.recompute_diff", []impCase{
		{name: "mid-stay settlement recomputes with its stay", change: func(b pipelinetest.Batch) { seSplit(t, b, "V001") }, not: []string{"S001", "S00B"}},
		{name: "without a visit id each part is recomputed alone", change: func(b pipelinetest.Batch) { seSplit(t, b, "") }, want: []string{"S001"}},
		{name: "a refunded settlement of the stay is left out", change: func(b pipelinetest.Batch) {
			seSplit(t, b, "V001")
			impAdd(b, "settlements", 0, map[string]string{"settlement_id": "S00X", "mdtrt_id": "V001", "settled_at": "2025-03-02 20:00:00",
				"total_amount": "500.00", "fund_paid": "500.00", "account_paid": "0.00", "cash_paid": "0.00"})
			b["settlement_refunds"] = append(b["settlement_refunds"], pipelinetest.Row{"R00X", "S00X", "P001", "H33010600001", "V001",
				"-500.00", "-500.00", "0.00", "0.00", "-500.00", "2025-03-02 20:10:00"})
		}, not: []string{"S001", "S00B", "S00X"}},
	})
	impRun(t, "other.split_admission", []impCase{
		{name: "the second part of one stay is not a readmission", change: func(b pipelinetest.Batch) { seSplit(t, b, "V001") }, not: []string{"S00B"}},
		{name: "without a visit id it is", change: func(b pipelinetest.Batch) { seSplit(t, b, "") }, want: []string{"S00B"}},
	})
}

// TestOtherCredentialNotAnIDNumber: an 18-character number of a credential
// other than the resident ID (cert_type ≠ 01) has no GB 11643 birth and
// sex digits to contradict the record.
func TestOtherCredentialNotAnIDNumber(t *testing.T) {
	impRun(t, "impersonation.id_inconsistent", []impCase{
		{name: "a resident ID whose birth digits differ", change: func(b pipelinetest.Batch) {
			b.Set("persons", 1, "id_number", pipelinetest.IDNumber("620102", "19890705", "244")).Set("persons", 1, "cert_type", "01")
		}, want: []string{"S002"}},
		{name: "the same number as another credential", change: func(b pipelinetest.Batch) {
			b.Set("persons", 1, "id_number", pipelinetest.IDNumber("620102", "19890705", "244")).Set("persons", 1, "cert_type", "06")
		}, not: []string{"S002"}},
	})
}

// TestRecomputeComparesHifpPay: when a settlement gives its fund parts, the
// recompute compares 统筹 (hifp_pay) and reports the other funds apart.
func TestRecomputeComparesHifpPay(t *testing.T) {
	withMajor := func(b pipelinetest.Batch, parts bool) {
		r := seHonest(t, b)
		const major = contract.Fen(20000) // 大病保险 paid 200.00 of the patient's share
		acct, cash := r.Account, r.Cash-major
		if cash < 0 {
			acct, cash = r.Account+cash, 0
		}
		seAmounts(b, 0, r.Total, r.Fund+major, acct, cash)
		if parts {
			b.Set("settlements", 0, "hifp_pay", r.Fund.String()).Set("settlements", 0, "hifmi_pay", major.String())
		}
	}
	impRun(t, "settlement.recompute_diff", []impCase{
		{name: "统筹 as recomputed, 大病保险 reported apart", change: func(b pipelinetest.Batch) { withMajor(b, true) }, not: []string{"S001"}},
		{name: "without the fund parts the whole fund is compared", change: func(b pipelinetest.Batch) { withMajor(b, false) }, want: []string{"S001"}},
		{name: "统筹 itself wrong", change: func(b pipelinetest.Batch) {
			withMajor(b, true)
			r := seSettle(t, seClaim("relocated_retiree"))
			b.Set("settlements", 0, "hifp_pay", (r.Fund+5000).String()).Set("settlements", 0, "hifmi_pay", "150.00")
		}, want: []string{"S001"}, evidence: []string{`"other_funds":"150.00"`, `"fund_compared":"hifp_pay 统筹基金支出"`}},
	})
}

// TestStaySettledInPartsIsOneStay: the ghost-bed detectors that count or
// time stays see a stay settled in parts as one stay.
func TestStaySettledInPartsIsOneStay(t *testing.T) {
	parts := func(b pipelinetest.Batch, visit string) {
		for i, p := range [][2]string{{"2025-05-10 09:00:00", "2025-05-13 23:59:59"}, {"2025-05-14 00:00:00", "2025-05-17 23:59:59"}, {"2025-05-18 00:00:00", "2025-05-20 10:00:00"}} {
			id := "S5" + string(rune('0'+i))
			impStay(b, id, "P001", "A12345678", "H33010600001", p[0], p[1], "J18.900")
			if visit != "" {
				b.Set("settlements", len(b["settlements"])-1, "mdtrt_id", visit)
			}
		}
	}
	impRun(t, "ghost_bed.frequent_short_stays", []impCase{
		{name: "three parts of one stay", change: func(b pipelinetest.Batch) { parts(b, "V500") }, not: []string{"S50", "S51", "S52"}},
		{name: "three stays", change: func(b pipelinetest.Batch) { parts(b, "") }, want: []string{"S50", "S51", "S52"}},
	})
}
