package settlement

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/medaudit/medaudit/contract"
)

// Terms are the policy terms that apply to one claim: what a fitted
// suggestion varies (the first band's ratio and the deductible) and what it
// keeps (retiree bonus, registration reduction, rounding).
type Terms struct {
	Region         contract.RegionCode // code of the policy used (after the city/province fallback)
	Ratio          int                 // first band's ratio before bonus and reduction, 1/10,000
	Bands          int                 // number of ratio bands of the level
	Deductible     contract.Fen        // the level's deductible: annual amount, or the first admission's
	Annual         bool                // deductible_basis annual (else per admission)
	FirstAdmission bool                // per admission: the claim is the year's first admission (its deductible is Deductible)
	Bonus          int                 // retiree bonus that applies to this claim (0 for non-retirees), 1/10,000
	Reduction      ReductionType       // registration reduction that applies to this claim
	ReductionValue int                 // its value, 1/10,000
	Rounding       Rounding
}

// Terms returns the policy terms that apply to c, or an error as Settle
// would (ErrNoPolicy, ErrInvalidClaim).
func (ps *PolicySet) Terms(c Claim) (Terms, error) {
	var r Result
	if err := ps.settle(&c, &r, false); err != nil {
		return Terms{}, err
	}
	rp := ps.lookup(c.InsuredRegion, c.Date)
	vp := &rp.visits[insuranceIdx[c.InsuranceType]][visitIdx[c.VisitType]]
	lp := &vp.levels[c.HospitalLevel]
	kind, cross := effectiveKind(isLocal(rp.local, c.InsuredRegion, c.TreatmentRegion), &c)
	t := Terms{Region: rp.code, Ratio: int(lp.bands[0].ratio), Bands: len(lp.bands), Deductible: contract.Fen(lp.ded.amount),
		Annual: vp.basis == basisAnnual, FirstAdmission: c.NthAdmission <= 1, Rounding: rp.rounding}
	if c.Retiree {
		t.Bonus = int(vp.bonus)
	}
	if cross {
		t.Reduction, t.ReductionValue = vp.reduce[kind].typ, int(vp.reduce[kind].value)
	}
	return t, nil
}

// FitObs is one settlement of a policy cell as settled.
type FitObs struct {
	InScope contract.Fen // in-scope amount the deductible and ratio apply to (after any advance self-pay)
	Fund    contract.Fen // basic fund as settled
	Tol     contract.Fen // tolerance of the comparison (0.01 yuan per rounding step)
	Terms   Terms        // the policy terms of the claim under the table
	Date    time.Time    // settlement date (FitChange splits by it)
	// Year identifies the person's calendar year for an annual deductible:
	// the settlements with the same Year share one deductible, met in slice
	// order. "" = the settlement stands alone.
	Year string
}

// Fit is the single-band ratio and deductible that the most settlements of
// a cell fit, beside the table's.
type Fit struct {
	N               int          `json:"n"`           // settlements with an in-scope amount (those the fit is judged on)
	Ratio           int          `json:"ratio"`       // fitted base ratio, 1/10,000
	Deductible      contract.Fen `json:"deductible"`  // fitted deductible (annual, or first admission)
	Fits            int          `json:"fits"`        // settlements the fitted terms reproduce within their tolerance
	TableRatio      int          `json:"table_ratio"` // the table's
	TableDeductible contract.Fen `json:"table_deductible"`
	TableFits       int          `json:"table_fits"` // settlements the table's terms reproduce (same one-band model)
}

// ratioStep is the grid of candidate ratios: half a percentage point.
const ratioStep = 50

// FitCell finds the base ratio and deductible that reproduce the most
// settled fund amounts of one cell (insured region × insurance type × visit
// type × hospital level), each settlement keeping its own retiree bonus and
// registration reduction. The model is one band: fund = round(eff × (s −
// d)) where eff is the candidate ratio after bonus and reduction, s the
// in-scope amount and d the deductible taken: min(s, D) on a year's first
// admission (per-admission basis; later admissions are left out, their
// deductible schedule is not fitted), and on an annual deductible what is
// left of D after the same person's earlier settlements of the year in the
// cell (FitObs.Year), as the platform counts it.
//
// It counts exact fits rather than minimising squared error: a settlement
// either reproduces to the fen or does not, and a minority settled under
// other rules (a wrong registration kind, a fraud, a partly met deductible)
// must not pull the estimate. Candidates are every ratio on a 0.5 % grid
// from 0 (a region that pays nothing from the pool for this care),
// and for each the deductibles implied by the fund-paying settlements
// (D = s − f / eff, to the yuan), the most frequent first, with 0 and the
// table's; ties prefer the table's values, then the smaller change.
func FitCell(obs []FitObs) Fit {
	var use []FitObs
	for _, o := range obs {
		if o.InScope > 0 && (o.Terms.Annual || o.Terms.FirstAdmission) {
			use = append(use, o)
		}
	}
	f := Fit{N: len(use)}
	if len(use) == 0 {
		return f
	}
	t := use[0].Terms
	f.TableRatio, f.TableDeductible = t.Ratio, t.Deductible
	f.TableFits = countFits(use, t.Ratio, t.Deductible)
	f.Ratio, f.Deductible, f.Fits = t.Ratio, t.Deductible, f.TableFits
	better := func(r int, d contract.Fen, n int) bool {
		if n != f.Fits {
			return n > f.Fits
		}
		// Equal fits: the smaller departure from the table.
		return abs(r-t.Ratio)+int(absF(d-t.Deductible)/100) < abs(f.Ratio-t.Ratio)+int(absF(f.Deductible-t.Deductible)/100)
	}
	for r := 0; r <= 10000; r += ratioStep {
		for _, d := range candidateDeductibles(use, r, t.Deductible) {
			if n := countFits(use, r, d); better(r, d, n) {
				f.Ratio, f.Deductible, f.Fits = r, d, n
			}
		}
	}
	return f
}

// candidateDeductibles are 0, the table's, and the three deductibles (to
// the yuan) most often implied by the fund-paying settlements at ratio r.
func candidateDeductibles(obs []FitObs, r int, table contract.Fen) []contract.Fen {
	count := map[contract.Fen]int{}
	for _, o := range obs {
		eff := effRatio(int64(r), o.Terms.Bonus > 0, int64(o.Terms.Bonus), reduction{o.Terms.Reduction, int64(o.Terms.ReductionValue)})
		if o.Fund <= 0 || eff <= 0 {
			continue
		}
		d := o.InScope - contract.Fen(int64(o.Fund)*10000/eff)
		if d <= 0 {
			continue
		}
		count[(d+50)/100*100]++
	}
	type kv struct {
		d contract.Fen
		n int
	}
	var top []kv
	for d, n := range count {
		top = append(top, kv{d, n})
	}
	slices.SortFunc(top, func(a, b kv) int {
		if c := cmp.Compare(b.n, a.n); c != 0 {
			return c
		}
		return cmp.Compare(a.d, b.d)
	})
	out := []contract.Fen{0, table}
	for i := 0; i < len(top) && i < 3; i++ {
		out = append(out, top[i].d)
	}
	return out
}

// countFits counts the settlements that ratio r and deductible d reproduce.
func countFits(obs []FitObs, r int, d contract.Fen) int {
	n := 0
	used := map[string]contract.Fen{}
	for _, o := range obs {
		t := &o.Terms
		eff := effRatio(int64(r), t.Bonus > 0, int64(t.Bonus), reduction{t.Reduction, int64(t.ReductionValue)})
		left := d
		if t.Annual && o.Year != "" {
			left = max(d-used[o.Year], 0)
		}
		ded := min(o.InScope, left)
		used[o.Year] += ded
		if absF(share(o.InScope-ded, eff, t.Rounding)-o.Fund) <= o.Tol {
			n++
		}
	}
	return n
}

// Change is a change of terms inside a cell: the settlements before From
// fit one ratio and deductible, those from From on another (a policy
// revised in the middle of the year).
type Change struct {
	From   time.Time `json:"from"` // first day of the later terms
	Before Fit       `json:"before"`
	After  Fit       `json:"after"`
}

// FitChange fits the cell's settlements before and from each first day of
// a month separately (FitCell on each part) and returns the split whose two
// fits reproduce the most settlements together; false when no split leaves
// settlements on both sides or both parts fit the same terms.
func FitChange(obs []FitObs) (Change, bool) {
	var best Change
	found := false
	months := map[time.Time]bool{}
	for _, o := range obs {
		y, m, _ := o.Date.Date()
		months[time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)] = true
	}
	splits := make([]time.Time, 0, len(months))
	for m := range months {
		splits = append(splits, m)
	}
	slices.SortFunc(splits, func(a, b time.Time) int { return a.Compare(b) })
	for _, from := range splits {
		var before, after []FitObs
		for _, o := range obs {
			if civilDay(o.Date) < civilDay(from) {
				before = append(before, o)
			} else {
				after = append(after, o)
			}
		}
		if len(before) == 0 || len(after) == 0 {
			continue
		}
		c := Change{From: from, Before: FitCell(before), After: FitCell(after)}
		if c.Before.Ratio == c.After.Ratio && c.Before.Deductible == c.After.Deductible {
			continue
		}
		if !found || c.Before.Fits+c.After.Fits > best.Before.Fits+best.After.Fits {
			best, found = c, true
		}
	}
	return best, found
}

// String is the change in words, zh-CN first.
func (c Change) String() string {
	from := c.From.Format(time.DateOnly)
	return fmt.Sprintf("自 %s 起结算更符合比例 %s、起付线 %s（此前 %s / %s；前后共 %d/%d 笔吻合），政策表为 %s / %s（%d 笔吻合）; from %s settlements fit ratio %s, deductible %s (before: %s / %s; %d of %d fit) better than the table's %s / %s (%d)",
		from, pct(int64(c.After.Ratio)), c.After.Deductible, pct(int64(c.Before.Ratio)), c.Before.Deductible,
		c.Before.Fits+c.After.Fits, c.Before.N+c.After.N, pct(int64(c.Before.TableRatio)), c.Before.TableDeductible, c.Before.TableFits+c.After.TableFits,
		from, pct(int64(c.After.Ratio)), c.After.Deductible, pct(int64(c.Before.Ratio)), c.Before.Deductible,
		c.Before.Fits+c.After.Fits, c.Before.N+c.After.N, pct(int64(c.Before.TableRatio)), c.Before.TableDeductible, c.Before.TableFits+c.After.TableFits)
}

// String is the suggestion in words, zh-CN first.
func (f Fit) String() string {
	if f.Ratio == 0 {
		return fmt.Sprintf("结算更符合统筹基金不支付（比例 0%%，起付线无从判断；%d/%d 笔在容差（每取整步 0.01 元）内吻合），政策表为 %s / %s（%d 笔吻合）; settlements fit no pooled-fund payment (ratio 0%%, deductible undetermined) better than the table's %s / %s (%d vs %d of %d within 0.01 yuan per rounding step)",
			f.Fits, f.N, pct(int64(f.TableRatio)), f.TableDeductible, f.TableFits, pct(int64(f.TableRatio)), f.TableDeductible, f.Fits, f.TableFits, f.N)
	}
	return fmt.Sprintf("结算更符合比例 %s、起付线 %s（%d/%d 笔在容差（每取整步 0.01 元）内吻合），政策表为 %s / %s（%d 笔吻合）; settlements fit ratio %s, deductible %s better than the table's %s / %s (%d vs %d of %d within 0.01 yuan per rounding step)",
		pct(int64(f.Ratio)), f.Deductible, f.Fits, f.N, pct(int64(f.TableRatio)), f.TableDeductible, f.TableFits,
		pct(int64(f.Ratio)), f.Deductible, pct(int64(f.TableRatio)), f.TableDeductible, f.Fits, f.TableFits, f.N)
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func absF(x contract.Fen) contract.Fen {
	if x < 0 {
		return -x
	}
	return x
}
