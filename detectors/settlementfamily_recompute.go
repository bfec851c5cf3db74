package detectors

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/medaudit/medaudit/contract"
	"github.com/medaudit/medaudit/settlement"
)

// recomputed is one settlement as settled and as the settlement engine
// recomputes it under the insured region's policy, with the running totals
// of the person's year that went into the claim.
type recomputed struct {
	ID, Person, Org, OrgName string
	OrgLevel                 int
	VisitType                string
	Admitted, Settled        time.Time
	Insurance                string
	RegKind, RegUsed, RegID  string // kind and id of the covering registration; the id the settlement names
	Emergency                bool
	Total, Fund, Account     contract.Fen // as settled; Fund is 统筹 (hifp_pay) when the settlement gives its fund parts
	// OtherFunds is what the other funds paid (大病保险, 大额补助, 公务员补助,
	// 医疗救助 …: fund_paid − hifp_pay) when the fund parts are given; they
	// are reported, not recomputed.
	OtherFunds contract.Fen
	FundParts  bool // hifp_pay was given
	Cash       contract.Fen
	Claim      settlement.Claim
	Res        settlement.Result // recomputed (SettleQuick)
	Tol        contract.Fen      // 0.01 × rounding steps
	Steps      int               // rounding steps the tolerance allows for
	LineClass  []settlement.Line // the lines with the class written on them, when any differs from the catalogue
	Mismatched []lineRef         // lines whose written class differs from the catalogue's
	ClassC     []lineRef         // class C lines (catalogue)
}

// lineRef names a fee line in evidence.
type lineRef struct {
	ItemID, Code, Name string
	Written, Catalogue string // class on the line and in the catalogue
	Amount             contract.Fen
}

// recomputeStream runs the recompute over every settlement in person and
// settlement-time order and calls visit for each (the struct is reused:
// visit must copy what it keeps). One query streams settlements with their
// lines; the running totals of each person's calendar year are carried in
// memory: fund used and annual deductible met per visit type (each visit
// type has its own cap and deductible in the policies), the n-th admission,
// and the account balance from persons.account_balance (balance at the
// start of the year) less the account payments as settled. Refunds give
// back the settled fund, account and deductible at the refund's time.
// Settlements whose insured region has no policy in force at the
// settlement date are skipped: they are unknown, not wrong (Coverage counts
// them).
func recomputeStream(ctx context.Context, q Querier, ps *settlement.PolicySet, visit func(*recomputed) error) error {
	refunds, err := loadRefunds(ctx, q)
	if err != nil {
		return err
	}
	text, err := queries.ReadFile("queries/settlement_recompute.sql")
	if err != nil {
		return err
	}
	buckets, err := recomputeBuckets(ctx, q)
	if err != nil {
		return err
	}

	var (
		cur     recomputed
		have    bool
		st      personYear
		balance contract.Fen
		n       int
	)
	flush := func() error {
		if !have {
			return nil
		}
		have = false
		st.applyRefunds(cur.Settled, &balance)
		ok, err := st.settle(ps, &cur, balance)
		if err != nil {
			return err
		}
		if ok {
			if err := visit(&cur); err != nil {
				return err
			}
		}
		vt := visitIdx(cur.VisitType)
		st.fund[vt] += cur.Fund
		ded := countedDeductible(ps, &cur)
		if cur.VisitType != visitInpatient {
			st.ded[vt] += ded
		} else {
			st.nAdm++
		}
		if cur.Insurance == insuranceEmployee {
			balance -= cur.Account
		}
		for _, t := range refunds[cur.ID] {
			st.pending = append(st.pending, refund{at: t, vt: vt, fund: cur.Fund, account: cur.Account,
				ded: ded * contract.Fen(boolInt(cur.VisitType != visitInpatient)), employee: cur.Insurance == insuranceEmployee})
		}
		return nil
	}

	var (
		sid, person, org, orgName, visitType, insured, treatment, insurance   string
		regKind, regUsed, regID, itemID, itemCode, itemName, lineClass, class string
		level, selfpay                                                        int
		admitted, settled                                                     time.Time
		retiree, emergency                                                    bool
		balance0, total, fund, account, cash, ceiling, qty, price, amount     int64
		stay, curStay, lastSID                                                string
		hifp                                                                  sql.NullInt64
	)
	// basic splits a settlement's fund into 统筹 (hifp_pay) and the other
	// funds when it gives its fund parts.
	basic := func(fund int64) (contract.Fen, contract.Fen, bool) {
		if hifp.Valid {
			return contract.Fen(hifp.Int64), contract.Fen(fund - hifp.Int64), true
		}
		return contract.Fen(fund), 0, false
	}
	consume := func(rows *sql.Rows) error {
		for rows.Next() {
			if err := rows.Scan(&sid, &person, &org, &orgName, &level, &visitType, &admitted, &settled, &insured, &treatment,
				&insurance, &retiree, &balance0, &emergency, &regKind, &regUsed, &regID, &total, &fund, &account, &cash,
				&itemID, &itemCode, &itemName, &lineClass, &class, &selfpay, &ceiling, &qty, &price, &amount, &stay, &hifp); err != nil {
				return fmt.Errorf("recompute scan: %w", err)
			}
			if have && stay == curStay && sid != lastSID {
				// The next settlement of a stay settled in parts (中途结算):
				// one claim whose money is the sum of the stay's settlements;
				// the settlement that closes the stay is the subject.
				lastSID = sid
				cur.ID, cur.Settled = sid, settled
				cur.Total += contract.Fen(total)
				b, o, parts := basic(fund)
				cur.Fund += b
				cur.OtherFunds += o
				cur.FundParts = cur.FundParts || parts
				cur.Account += contract.Fen(account)
				cur.Cash += contract.Fen(cash)
			}
			if !have || stay != curStay {
				curStay, lastSID = stay, sid
				if err := flush(); err != nil {
					return err
				}
				if n++; n%4096 == 0 {
					if err := ctx.Err(); err != nil {
						return err
					}
				}
				if person != cur.Person || settled.Year() != st.year {
					if person != cur.Person {
						balance = contract.Fen(balance0)
					}
					st.reset(settled.Year())
				}
				cur = recomputed{
					ID: sid, Person: person, Org: org, OrgName: orgName, OrgLevel: level, VisitType: visitType,
					Admitted: admitted, Settled: settled, Insurance: insurance, RegKind: regKind, RegUsed: regUsed, RegID: regID,
					Emergency: emergency, Total: contract.Fen(total), Account: contract.Fen(account),
					Cash: contract.Fen(cash),
					Claim: settlement.Claim{
						InsuredRegion: contract.RegionCode(insured), TreatmentRegion: contract.RegionCode(treatment), Date: settled,
						InsuranceType: insurance, Retiree: retiree, VisitType: visitType, HospitalLevel: level,
						Registration: regKind, Emergency: emergency, Lines: cur.Claim.Lines[:0],
					},
					LineClass: cur.LineClass[:0], Mismatched: cur.Mismatched[:0], ClassC: cur.ClassC[:0],
				}
				cur.Fund, cur.OtherFunds, cur.FundParts = basic(fund)
				have = true
			}
			if itemID == "" {
				continue
			}
			ln := settlement.Line{Class: class, Quantity: contract.Qty(qty), UnitPrice: contract.Qty(price),
				Amount: contract.Fen(amount), PriceCeiling: contract.Qty(ceiling)}
			if class == "B" {
				ln.SelfPayRatio = selfpay
			}
			cur.Claim.Lines = append(cur.Claim.Lines, ln)
			written := ln
			written.Class = lineClass
			if lineClass == "B" && written.SelfPayRatio == 0 {
				written.SelfPayRatio = defaultSelfPay
			}
			cur.LineClass = append(cur.LineClass, written)
			ref := lineRef{ItemID: itemID, Code: itemCode, Name: itemName, Written: lineClass, Catalogue: class, Amount: contract.Fen(amount)}
			if lineClass != class {
				cur.Mismatched = append(cur.Mismatched, ref)
			}
			if class == "C" {
				cur.ClassC = append(cur.ClassC, ref)
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("recompute query: %w", err)
		}
		return flush()
	}
	// The query runs once per bucket of persons (each person, with all their
	// settlements, is in one bucket): the driver materialises a result, and a
	// bucket's stays small however large the database grows.
	for b := 0; b < buckets; b++ {
		rows, err := q.QueryContext(ctx, fmt.Sprintf("SET VARIABLE recompute_buckets = %d;\nSET VARIABLE recompute_bucket = %d;\n%s", buckets, b, text))
		if err != nil {
			return fmt.Errorf("recompute query: %w", err)
		}
		err = consume(rows)
		rows.Close()
		if err != nil {
			return err
		}
	}
	return ctx.Err()
}

// recomputeLinesPerBucket bounds the rows one recompute query returns (a
// variable so that a test can force many buckets).
var recomputeLinesPerBucket = 1_000_000

// recomputeBuckets is how many person buckets the recompute runs in.
func recomputeBuckets(ctx context.Context, q Querier) (int, error) {
	rows, err := q.QueryContext(ctx, `SELECT count(*) FROM fee_items`)
	if err != nil {
		return 0, fmt.Errorf("count fee lines: %w", err)
	}
	defer rows.Close()
	var lines int
	for rows.Next() {
		if err := rows.Scan(&lines); err != nil {
			return 0, err
		}
	}
	return max(1, (lines+recomputeLinesPerBucket-1)/recomputeLinesPerBucket), rows.Err()
}

// countedDeductible is the annual deductible the platform counted as met
// by a settlement. A platform that settled a line with the class written on
// it (a class C line written as A or B) counted the deductible of that
// computation, whatever else was wrong with the settlement; using it keeps
// one wrong settlement from making the person's later, correct ones look
// wrong too.
func countedDeductible(ps *settlement.PolicySet, r *recomputed) contract.Fen {
	if len(r.Mismatched) == 0 {
		return r.Res.Deductible
	}
	res, err := ps.SettleQuick(withLines(r.Claim, r.LineClass))
	if err != nil {
		return r.Res.Deductible
	}
	return res.Deductible
}

// defaultSelfPay is the class B 先行自付 share assumed for a line written as
// class B whose catalogue row gives none (DOMAIN §5.5: commonly 5–20 %).
const defaultSelfPay = 1000

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// visitIdx indexes per-visit-type running totals.
func visitIdx(visitType string) int {
	switch visitType {
	case visitInpatient:
		return 0
	case visitOutpatient:
		return 1
	}
	return 2
}

// refund is a pending refund of a person's settlement.
type refund struct {
	at                 time.Time
	vt                 int
	fund, account, ded contract.Fen
	employee           bool
}

// personYear is the running state of one person in one calendar year.
type personYear struct {
	year    int
	fund    [3]contract.Fen // fund paid this year, per visit type
	ded     [3]contract.Fen // annual deductible met, per visit type
	nAdm    int             // admissions settled this year
	pending []refund
}

func (s *personYear) reset(year int) {
	*s = personYear{year: year, pending: s.pending[:0]}
}

// applyRefunds gives back the refunds dated up to t.
func (s *personYear) applyRefunds(t time.Time, balance *contract.Fen) {
	keep := s.pending[:0]
	for _, r := range s.pending {
		if r.at.After(t) {
			keep = append(keep, r)
			continue
		}
		s.fund[r.vt] -= r.fund
		s.ded[r.vt] -= r.ded
		if r.employee {
			*balance += r.account
		}
	}
	s.pending = keep
}

// settle fills the running totals into the claim and recomputes it; false
// when the insured region has no policy or the claim is not settleable.
func (s *personYear) settle(ps *settlement.PolicySet, r *recomputed, balance contract.Fen) (bool, error) {
	vt := visitIdx(r.VisitType)
	c := &r.Claim
	c.FundUsedYTD = max(s.fund[vt], 0)
	c.DeductibleUsedYTD = max(s.ded[vt], 0)
	if r.VisitType == visitInpatient {
		c.NthAdmission = s.nAdm + 1
	}
	if r.Insurance == insuranceEmployee {
		c.AccountBalance = max(balance, 0)
	}
	res, err := ps.SettleQuick(*c)
	if err != nil {
		return false, nil
	}
	r.Res = res
	r.Steps = 3 // deductible, bands, account
	for _, ln := range c.Lines {
		if ln.Class == "B" {
			r.Steps++
		}
		if ln.PriceCeiling > 0 && ln.UnitPrice > ln.PriceCeiling {
			r.Steps++
		}
	}
	r.Tol = contract.Fen(r.Steps)
	return true, nil
}

// with returns the recomputation of r's claim under a change.
func (r *recomputed) with(ps *settlement.PolicySet, change func(*settlement.Claim)) (settlement.Result, bool) {
	c := r.Claim
	change(&c)
	res, err := ps.SettleQuick(c)
	return res, err == nil
}

// diffCache keeps the settlements whose recomputation differs from the
// settled amounts, for the data it was computed on: the five recompute
// detectors of one scan share one pass over the data. The key is a content
// fingerprint of every table the recompute reads (the xor of the ingest's
// row hashes and the row counts), so new or corrected data recomputes, and
// the policy file's hash, so another policy table does too.
var diffCache struct {
	sync.Mutex
	key   string
	diffs []*recomputed
}

// recomputeDiffs returns the settlements (with their claims) whose settled
// fund or account differs from the recomputation, in settlement-id order.
// Those that agree cannot fail any recompute check.
func recomputeDiffs(ctx context.Context, q Querier, ps *settlement.PolicySet) ([]*recomputed, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	key, err := dataFingerprint(ctx, q)
	if err != nil {
		return nil, err
	}
	key += "/" + ps.Info().SHA256
	diffCache.Lock()
	defer diffCache.Unlock()
	if key == diffCache.key {
		return diffCache.diffs, nil
	}
	var diffs []*recomputed
	err = recomputeStream(ctx, q, ps, func(r *recomputed) error {
		if r.Fund == r.Res.Fund && r.Account == r.Res.Account {
			return nil
		}
		c := *r
		c.Claim.Lines = slices.Clone(r.Claim.Lines)
		c.LineClass = slices.Clone(r.LineClass)
		c.Mismatched = slices.Clone(r.Mismatched)
		c.ClassC = slices.Clone(r.ClassC)
		diffs = append(diffs, &c)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(diffs, func(i, j int) bool { return diffs[i].ID < diffs[j].ID })
	diffCache.key, diffCache.diffs = key, diffs
	return diffs, nil
}

// dataFingerprint identifies the content of the tables the recompute reads.
func dataFingerprint(ctx context.Context, q Querier) (string, error) {
	rows, err := q.QueryContext(ctx, `SELECT concat_ws('/',
		(SELECT count(*) || ':' || coalesce(bit_xor(row_hash), 0) FROM settlements),
		(SELECT count(*) || ':' || coalesce(bit_xor(row_hash), 0) FROM fee_items),
		(SELECT count(*) || ':' || coalesce(bit_xor(row_hash), 0) FROM persons),
		(SELECT count(*) || ':' || coalesce(bit_xor(row_hash), 0) FROM registrations),
		(SELECT count(*) || ':' || coalesce(bit_xor(row_hash), 0) FROM institutions),
		(SELECT count(*) || ':' || coalesce(bit_xor(row_hash), 0) FROM catalog),
		(SELECT count(*) || ':' || coalesce(bit_xor(row_hash), 0) FROM card_swipes WHERE kind = 'refund'))`)
	if err != nil {
		return "", fmt.Errorf("fingerprint: %w", err)
	}
	defer rows.Close()
	var key string
	for rows.Next() {
		if err := rows.Scan(&key); err != nil {
			return "", err
		}
	}
	return key, rows.Err()
}

// loadRefunds reads the refund swipes: settlement id → refund times.
func loadRefunds(ctx context.Context, q Querier) (map[string][]time.Time, error) {
	text, err := queries.ReadFile("queries/settlement_refunds.sql")
	if err != nil {
		return nil, err
	}
	rows, err := q.QueryContext(ctx, string(text))
	if err != nil {
		return nil, fmt.Errorf("refunds query: %w", err)
	}
	defer rows.Close()
	out := map[string][]time.Time{}
	for rows.Next() {
		var sid string
		var at time.Time
		if err := rows.Scan(&sid, &at); err != nil {
			return nil, err
		}
		out[sid] = append(out[sid], at)
	}
	return out, rows.Err()
}

// stepsEvidence is the recomputed decomposition beside the settled amounts.
func stepsEvidence(ps *settlement.PolicySet, r *recomputed) map[string]any {
	full, err := ps.Settle(r.Claim)
	steps := []map[string]any{}
	if err == nil {
		for _, s := range full.Steps {
			steps = append(steps, map[string]any{"name": s.Name, "label": s.Label, "amount": s.Amount.String(), "detail": s.Detail})
		}
	}
	kind := r.RegKind
	if kind == "" {
		kind = "（无有效备案）"
	}
	// Which table the recompute used: a flag under the example table (示例)
	// or a stale revision says more about the table than about the claim.
	in := ps.Info()
	policy := map[string]any{"source": in.Source, "title": in.Title, "revision": in.Revision, "example": in.Example, "sha256": in.SHA256}
	if t, err := ps.Terms(r.Claim); err == nil {
		policy["policy_region"] = string(t.Region)
	}
	settled := map[string]string{"total": r.Total.String(), "fund": r.Fund.String(), "account": r.Account.String(), "cash": r.Cash.String()}
	if r.FundParts {
		// 统筹 is compared; the other funds are reported as settled.
		settled["fund_compared"] = "hifp_pay 统筹基金支出"
		settled["other_funds"] = r.OtherFunds.String()
	}
	return map[string]any{
		"policy":      policy,
		"settled":     settled,
		"recomputed":  map[string]string{"total": r.Res.Total.String(), "fund": r.Res.Fund.String(), "account": r.Res.Account.String(), "cash": r.Res.Cash.String(), "in_scope": r.Res.InScope.String(), "deductible": r.Res.Deductible.String(), "full_own_pay": r.Res.FullOwnPay.String(), "pre_self_pay": r.Res.PreSelfPay.String(), "over_ceiling": r.Res.OverCeiling.String(), "ratio": fmt.Sprintf("%.2f%%", float64(r.Res.Ratio)/100)},
		"differences": map[string]string{"fund": (r.Fund - r.Res.Fund).String(), "account": (r.Account - r.Res.Account).String(), "cash": (r.Cash - r.Res.Cash).String()},
		"steps":       steps,
		"claim": map[string]any{
			"insured_region": string(r.Claim.InsuredRegion), "treatment_region": string(r.Claim.TreatmentRegion),
			"insurance_type": r.Insurance, "retiree": r.Claim.Retiree, "visit_type": r.VisitType, "hospital_level": r.OrgLevel,
			"registration_kind": kind, "registration_used": r.RegUsed, "registration_on_settlement": r.RegID,
			"emergency": r.Emergency, "nth_admission": r.Claim.NthAdmission,
			"fund_used_ytd": r.Claim.FundUsedYTD.String(), "deductible_used_ytd": r.Claim.DeductibleUsedYTD.String(),
			"account_balance_before": r.Claim.AccountBalance.String(), "lines": len(r.Claim.Lines),
		},
		"tolerance":      r.Tol.String(),
		"rounding_steps": r.Steps,
		"visit": map[string]any{"settlement_id": r.ID, "person_id": r.Person, "visit_type": r.VisitType,
			"admitted_at": r.Admitted.Format(time.DateTime), "settled_at": r.Settled.Format(time.DateTime)},
		"org": map[string]any{"org_code": r.Org, "name": r.OrgName, "level": r.OrgLevel},
	}
}

// absFen is |x|.
func absFen(x contract.Fen) contract.Fen {
	if x < 0 {
		return -x
	}
	return x
}

// sortFlags orders flags by subject for deterministic output.
func sortFlags(fs []Flag) {
	sort.Slice(fs, func(i, j int) bool { return fs[i].SubjectID < fs[j].SubjectID })
}

// Contract enum values the recompute branches on.
const (
	visitInpatient    = "inpatient"
	visitOutpatient   = "outpatient"
	insuranceEmployee = "employee"
)
