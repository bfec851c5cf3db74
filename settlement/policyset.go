package settlement

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"time"

	"github.com/medaudit/medaudit/contract"
)

// PolicySet holds the policies of every insured region. It is immutable after
// loading and safe for concurrent use.
type PolicySet struct {
	byCode map[uint32][]*regionPolicy // region code as a number → its versions, by valid_from
	codes  []contract.RegionCode      // sorted
	info   Info
}

// Info describes where a PolicySet came from, for the scan's record and
// the summary.
type Info struct {
	Title    string `json:"title"`    // the file's title, e.g. "示例政策表（非官方费率） Example policies"
	Revision string `json:"revision"` // the file's own revision label (free text, e.g. "2025-07"), "" when none
	Example  bool   `json:"example"`  // the file says its values are examples (示例), not official rates
	SHA256   string `json:"sha256"`   // hex SHA-256 of the file's bytes
	Source   string `json:"source"`   // file path, or "builtin:default.yaml"
}

// Info returns where the policies came from.
func (ps *PolicySet) Info() Info { return ps.info }

// Covers reports whether a policy version covers the insured region at the
// date (zero: any version), by the same lookup as Settle.
func (ps *PolicySet) Covers(insured contract.RegionCode, date time.Time) bool {
	return ps.lookup(insured, date) != nil
}

// Errors returned by Settle, wrapped with the detail.
var (
	ErrNoPolicy     = errors.New("settlement: no policy covers the insured region")
	ErrInvalidClaim = errors.New("settlement: invalid claim")
)

// Limits that keep every intermediate product inside int64.
const (
	maxLineAmount  = 1_000_000_000_000 // fen (10 billion yuan) per line
	maxClaimAmount = 100_000_000_000_000
)

// Regions lists the region codes that have their own policy, sorted.
func (ps *PolicySet) Regions() []contract.RegionCode {
	return append([]contract.RegionCode(nil), ps.codes...)
}

// Resolve returns the code of the policy that applies to an insured region
// (at its latest version): the region itself, else its city (NNMM00), else
// its province (NN0000).
func (ps *PolicySet) Resolve(insured contract.RegionCode) (contract.RegionCode, bool) {
	if p := ps.lookup(insured, time.Time{}); p != nil {
		return p.code, true
	}
	return "", false
}

// regionNumber parses a 6-digit region code without allocating.
func regionNumber(r contract.RegionCode) (uint32, bool) {
	if len(r) != 6 {
		return 0, false
	}
	var n uint32
	for i := 0; i < 6; i++ {
		c := r[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint32(c-'0')
	}
	return n, true
}

// lookup finds the policy version in force at date for region r: the
// region's own, else its city's, else its province's. A zero date takes
// each code's latest version.
func (ps *PolicySet) lookup(r contract.RegionCode, date time.Time) *regionPolicy {
	n, ok := regionNumber(r)
	if !ok {
		return nil
	}
	day := civilDay(date)
	for _, code := range [3]uint32{n, n / 100 * 100, n / 10000 * 10000} {
		if p := inForce(ps.byCode[code], day, date.IsZero()); p != nil {
			return p
		}
	}
	return nil
}

// inForce returns the version valid on day (the last one when latest).
func inForce(versions []*regionPolicy, day int64, latest bool) *regionPolicy {
	if latest {
		if len(versions) == 0 {
			return nil
		}
		return versions[len(versions)-1]
	}
	for _, p := range versions {
		if p.from <= day && day <= p.to {
			return p
		}
	}
	return nil
}

// civilDay numbers the calendar day of t in its own location (days since
// 1970-01-01), without allocating.
func civilDay(t time.Time) int64 {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

// Settle computes what the fund, the personal account and the patient pay
// for one visit, with Steps explaining each term. It returns an error
// wrapping ErrNoPolicy if no policy covers c.InsuredRegion and one wrapping
// ErrInvalidClaim if the claim is malformed.
func (ps *PolicySet) Settle(c Claim) (Result, error) {
	var r Result
	err := ps.settle(&c, &r, true)
	return r, err
}

// SettleQuick is Settle without Steps (Result.Steps is nil). It does not
// allocate on success, for bulk recomputation of a batch.
func (ps *PolicySet) SettleQuick(c Claim) (Result, error) {
	var r Result
	err := ps.settle(&c, &r, false)
	return r, err
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidClaim, fmt.Sprintf(format, args...))
}

// divRound returns num/den rounded to an integer with mode (den > 0).
func divRound(num, den int64, mode Rounding) int64 {
	neg := num < 0
	if neg {
		num = -num
	}
	q, rem := num/den, num%den
	switch mode {
	case HalfUp:
		if 2*rem >= den {
			q++
		}
	case HalfEven:
		if 2*rem > den || (2*rem == den && q%2 == 1) {
			q++
		}
	}
	if neg {
		return -q
	}
	return q
}

// share returns x × s / 10,000 rounded to the fen.
func share(x contract.Fen, s int64, mode Rounding) contract.Fen {
	return contract.Fen(divRound(int64(x)*s, 10000, mode))
}

// overCeiling returns max(0, price − ceiling) × qty in fen, limited to the
// line amount and carrying its sign. Qty × Qty is 1/10^8 yuan, so the
// product is divided by 10^6 in 128 bits.
func overCeiling(ln *Line, mode Rounding) contract.Fen {
	if ln.PriceCeiling == 0 || ln.UnitPrice <= ln.PriceCeiling || ln.Quantity == 0 || ln.Amount == 0 {
		return 0
	}
	amt := int64(ln.Amount)
	neg := amt < 0
	if neg {
		amt = -amt
	}
	q := int64(ln.Quantity)
	if q < 0 {
		q = -q
	}
	hi, lo := bits.Mul64(uint64(ln.UnitPrice-ln.PriceCeiling), uint64(q))
	var over int64
	const den = 1_000_000
	if hi >= den {
		over = amt
	} else {
		quo, rem := bits.Div64(hi, lo, den)
		if quo > math.MaxInt64/2 {
			over = amt
		} else {
			over = int64(quo)
			switch mode {
			case HalfUp:
				if 2*rem >= den {
					over++
				}
			case HalfEven:
				if 2*rem > den || (2*rem == den && over%2 == 1) {
					over++
				}
			}
			over = min(over, amt)
		}
	}
	if neg {
		over = -over
	}
	return contract.Fen(over)
}

func isLocal(s scope, a, b contract.RegionCode) bool {
	switch s {
	case scopeCounty:
		return a == b
	case scopeProvince:
		return contract.SameProvince(a, b)
	}
	return contract.SameCity(a, b)
}

// effectiveKind decides which reduction applies (README "Registration and
// reductions"): none for local care; a long-term registration keeps its own
// (normally no) reduction even in an emergency; an emergency otherwise uses
// the emergency reduction, also over a temporary or referral registration;
// otherwise the registration's kind, or unregistered when there is none.
func effectiveKind(local bool, c *Claim) (kindIdx, bool) {
	if local {
		return 0, false
	}
	k, hasReg := kindIndex(c.Registration)
	switch {
	case hasReg && k <= kPostedWorker:
		return k, true
	case c.Emergency:
		return kEmergency, true
	case hasReg:
		return k, true
	}
	return kUnregistered, true
}

// LineSums are the sums over a claim's fee lines that the policy applies
// to, for one rounding mode (the per-line over-ceiling and class B shares
// are rounded line by line). Amounts in fen.
type LineSums struct {
	Total       contract.Fen // all lines
	FullOwnPay  contract.Fen // class C lines after their over-ceiling part
	OverCeiling contract.Fen // over-ceiling parts of all lines
	PreSelfPay  contract.Fen // class B 先行自付 shares
	InScope     contract.Fen // class A and B lines after over-ceiling and 先行自付
}

// ErrRoundingMode is returned by SettleSums when the sums were rounded
// with another mode than the policy in force rounds with.
var ErrRoundingMode = errors.New("settlement: line sums rounded with another mode than the policy's")

// SettleSums is SettleQuick for a claim given by its line sums instead of
// its lines (c.Lines is ignored): sums are the lines summed under mode,
// which must be the rounding of the policy in force (PolicyVersions). It
// validates the claim as Settle does, except for the checks of single
// lines, which the caller made when it summed them; the result equals
// SettleQuick's on the lines.
func (ps *PolicySet) SettleSums(c Claim, mode Rounding, sums LineSums) (Result, error) {
	var r Result
	pc, err := ps.prepare(&c)
	if err != nil {
		return r, err
	}
	if mode != pc.rp.rounding {
		return r, fmt.Errorf("%w: %s, the policy of %s rounds %s", ErrRoundingMode, mode, pc.rp.code, pc.rp.rounding)
	}
	if err := checkTotal(sums.Total); err != nil {
		return r, err
	}
	pc.finish(&c, &r, &lineSums{LineSums: sums}, false)
	return r, nil
}

// PolicyVersion is the rounding of one policy version, for callers that
// sum the lines themselves (SettleSums): the policy of an insured region
// is its own version in force, else its city's (NNMM00), else its
// province's (NN0000), as Settle looks them up.
type PolicyVersion struct {
	Region   contract.RegionCode
	From, To time.Time // first and last day in force (UTC dates); zero when open
	Rounding Rounding
}

// PolicyVersions lists every version of every region's policy.
func (ps *PolicySet) PolicyVersions() []PolicyVersion {
	var out []PolicyVersion
	day := func(d int64, open int64) time.Time {
		if d == open {
			return time.Time{}
		}
		return time.Unix(d*86400, 0).UTC()
	}
	for _, code := range ps.codes {
		n, _ := regionNumber(code)
		for _, v := range ps.byCode[n] {
			out = append(out, PolicyVersion{Region: code, From: day(v.from, math.MinInt64), To: day(v.to, math.MaxInt64), Rounding: v.rounding})
		}
	}
	return out
}

// SumLines is the first step of Settle: the sums of the lines under mode.
func SumLines(lines []Line, mode Rounding) (LineSums, error) {
	ls, err := sumLines(lines, mode)
	return ls.LineSums, err
}

// lineSums are LineSums with what Steps report about class B lines.
type lineSums struct {
	LineSums
	classB contract.Fen // class B lines after over-ceiling
	bRatio int          // 先行自付 share of the last class B line, -1 when none
	bMixed bool         // class B lines have different shares
}

// sumLines validates and sums the lines (就医地 catalogue): over-ceiling,
// class C, class B pre-self-pay.
func sumLines(lines []Line, mode Rounding) (lineSums, error) {
	ls := lineSums{bRatio: -1}
	for i := range lines {
		ln := &lines[i]
		if ln.Amount > maxLineAmount || ln.Amount < -maxLineAmount {
			return ls, invalid("line %d: amount %d fen out of range", i, ln.Amount)
		}
		if ln.PriceCeiling < 0 {
			return ls, invalid("line %d: negative price ceiling", i)
		}
		o := overCeiling(ln, mode)
		base := ln.Amount - o
		ls.Total += ln.Amount
		ls.OverCeiling += o
		switch ln.Class {
		case "A":
			ls.InScope += base
		case "B":
			if ln.SelfPayRatio < 0 || ln.SelfPayRatio > 10000 {
				return ls, invalid("line %d: self-pay ratio %d outside 0..10000", i, ln.SelfPayRatio)
			}
			p := share(base, int64(ln.SelfPayRatio), mode)
			ls.PreSelfPay += p
			ls.InScope += base - p
			ls.classB += base
			if ls.bRatio >= 0 && ls.bRatio != ln.SelfPayRatio {
				ls.bMixed = true
			}
			ls.bRatio = ln.SelfPayRatio
		case "C":
			ls.FullOwnPay += base
		default:
			return ls, invalid("line %d: catalogue class %q (want A, B or C)", i, ln.Class)
		}
	}
	return ls, checkTotal(ls.Total)
}

func checkTotal(total contract.Fen) error {
	if total > maxClaimAmount || total < -maxClaimAmount {
		return invalid("total %d fen out of range", total)
	}
	return nil
}

// prepared is a validated claim with the policy terms that apply to it.
type prepared struct {
	rp  *regionPolicy
	vp  *visitPolicy
	lp  *levelPolicy
	ins int
}

func (ps *PolicySet) settle(c *Claim, r *Result, steps bool) error {
	pc, err := ps.prepare(c)
	if err != nil {
		return err
	}
	ls, err := sumLines(c.Lines, pc.rp.rounding)
	if err != nil {
		return err
	}
	pc.finish(c, r, &ls, steps)
	return nil
}

// prepare validates the claim's own fields and finds its policy terms.
func (ps *PolicySet) prepare(c *Claim) (prepared, error) {
	rp := ps.lookup(c.InsuredRegion, c.Date)
	if rp == nil {
		if _, ok := regionNumber(c.InsuredRegion); !ok {
			return prepared{}, invalid("insured region %q is not a 6-digit code", c.InsuredRegion)
		}
		return prepared{}, fmt.Errorf("%w: %s", ErrNoPolicy, c.InsuredRegion)
	}
	if _, ok := regionNumber(c.TreatmentRegion); !ok {
		return prepared{}, invalid("treatment region %q is not a 6-digit code", c.TreatmentRegion)
	}
	var ins, vis int
	switch c.InsuranceType {
	case "employee":
		ins = 0
	case "resident":
		ins = 1
	default:
		return prepared{}, invalid("insurance type %q (want employee or resident)", c.InsuranceType)
	}
	switch c.VisitType {
	case "inpatient":
		vis = 0
	case "outpatient":
		vis = 1
	case "pharmacy":
		vis = 2
	default:
		return prepared{}, invalid("visit type %q (want inpatient, outpatient or pharmacy)", c.VisitType)
	}
	if c.HospitalLevel < 0 || c.HospitalLevel > 3 {
		return prepared{}, invalid("hospital level %d (want 0..3)", c.HospitalLevel)
	}
	if c.Registration != "" {
		if k, ok := kindIndex(c.Registration); !ok || k > kTemporary {
			return prepared{}, invalid("registration kind %q (want one of contract.RegistrationKind or empty)", c.Registration)
		}
	}
	if c.NthAdmission < 0 {
		return prepared{}, invalid("nth admission %d is negative", c.NthAdmission)
	}
	if c.FundUsedYTD < 0 || c.DeductibleUsedYTD < 0 || c.AccountBalance < 0 {
		return prepared{}, invalid("negative year-to-date amount or account balance")
	}
	vp := &rp.visits[ins][vis]
	return prepared{rp: rp, vp: vp, lp: &vp.levels[c.HospitalLevel], ins: ins}, nil
}

// finish applies the policy to the line sums: reduction, deductible,
// bands, cap and account.
func (pc *prepared) finish(c *Claim, r *Result, ls *lineSums, steps bool) {
	rp, vp, lp, mode := pc.rp, pc.vp, pc.lp, pc.rp.rounding
	total, fullOwn, over := ls.Total, ls.FullOwnPay, ls.OverCeiling
	pre, inScope := ls.PreSelfPay, ls.InScope
	classPre := pre

	// Registration (参保地 policy): which reduction applies.
	kind, cross := effectiveKind(isLocal(rp.local, c.InsuredRegion, c.TreatmentRegion), c)
	var red reduction
	if cross {
		red = vp.reduce[kind]
	}
	var adv contract.Fen
	if red.typ == ReduceAdvanceSelfPay && inScope > 0 {
		adv = share(inScope, red.value, mode)
		pre += adv
		inScope -= adv
	}

	// Deductible.
	var dedStd, dedLeft contract.Fen
	if vp.basis == basisAnnual {
		dedStd = contract.Fen(lp.ded.amount)
		dedLeft = max(dedStd-c.DeductibleUsedYTD, 0)
	} else {
		dedStd = contract.Fen(lp.ded.forAdmission(c.NthAdmission))
		dedLeft = dedStd
	}
	ded := max(min(inScope, dedLeft), 0)
	above := max(inScope-ded, 0)

	// Bands.
	var fund0 contract.Fen
	ratio := -1
	for i := range lp.bands {
		b := &lp.bands[i]
		er := effRatio(b.ratio, c.Retiree, vp.bonus, red)
		if ratio < 0 {
			ratio = int(er)
		}
		if int64(above) <= b.from {
			break
		}
		portion := contract.Fen(min(int64(above), b.to) - b.from)
		f := share(portion, er, mode)
		fund0 += f
		ratio = int(er)
	}

	// Annual cap.
	capLeft := max(contract.Fen(vp.cap)-c.FundUsedYTD, 0)
	fund := min(fund0, capLeft)

	personal := total - fund
	var account contract.Fen
	var eligible contract.Fen
	if pc.ins == 0 {
		eligible = personal
		if !rp.acctClassC {
			eligible -= fullOwn
		}
		if !rp.acctOver {
			eligible -= over
		}
		eligible = max(min(eligible, personal), 0)
		account = min(eligible, c.AccountBalance)
	}

	*r = Result{
		Total: total, FullOwnPay: fullOwn, OverCeiling: over, PreSelfPay: pre, InScope: inScope,
		Deductible: ded, Fund: fund, Account: account, Cash: personal - account,
		Ratio: ratio, CapHit: fund0 > capLeft,
	}
	if steps {
		r.Steps = explain(c, rp, vp, lp, r, explainInput{
			classB: ls.classB, classPre: classPre, bRatio: ls.bRatio, bMixed: ls.bMixed,
			kind: kind, cross: cross, red: red, adv: adv,
			dedStd: dedStd, dedLeft: dedLeft, above: above,
			fund0: fund0, capLeft: capLeft,
			personal: personal, eligible: eligible,
		})
	}
}

// effRatio is a band's ratio after the retiree bonus (capped at 100 %) and a
// points or factor reduction (floored at 0). A factor is rounded half-up to
// 1/10,000: it is a ratio, not money.
func effRatio(base int64, retiree bool, bonus int64, red reduction) int64 {
	r := base
	if retiree {
		r = min(r+bonus, 10000)
	}
	switch red.typ {
	case ReducePoints:
		r = max(r-red.value, 0)
	case ReduceFactor:
		r = divRound(r*red.value, 10000, HalfUp)
	}
	return r
}
