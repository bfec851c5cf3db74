package settlement

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
	"slices"
	"strconv"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/medaudit/medaudit/contract"
)

// The file schema. Every field is documented with its unit in README.md.
// Amounts are integer fen; ratios, shares and points are 1/10,000.

type regionDoc struct {
	Name       string         `yaml:"name"`
	ValidFrom  string         `yaml:"valid_from"` // YYYY-MM-DD, first day in force; "" = since ever
	ValidTo    string         `yaml:"valid_to"`   // YYYY-MM-DD, last day in force (inclusive); "" = open
	Rounding   string         `yaml:"rounding" policy:"required"`
	LocalScope string         `yaml:"local_scope"`
	Account    *accountDoc    `yaml:"account"`
	Reductions []reductionDoc `yaml:"reductions" policy:"required"`
	Employee   *insuranceDoc  `yaml:"employee" policy:"required"`
	Resident   *insuranceDoc  `yaml:"resident" policy:"required"`
}

type accountDoc struct {
	ClassC      bool `yaml:"class_c"`
	OverCeiling bool `yaml:"over_ceiling"`
}

type reductionDoc struct {
	Key   string `yaml:"-"`
	Type  string `yaml:"type" policy:"required"`
	Value int64  `yaml:"value"`
}

type insuranceDoc struct {
	Inpatient  *visitDoc `yaml:"inpatient" policy:"required"`
	Outpatient *visitDoc `yaml:"outpatient" policy:"required"`
	Pharmacy   *visitDoc `yaml:"pharmacy" policy:"required"`
}

type visitDoc struct {
	DeductibleBasis string         `yaml:"deductible_basis" policy:"required"`
	AnnualCapFen    int64          `yaml:"annual_cap_fen" policy:"required"`
	RetireeBonus    int64          `yaml:"retiree_bonus"`
	Reductions      []reductionDoc `yaml:"reductions"`
	Levels          []levelDoc     `yaml:"levels" policy:"required"`
}

type levelDoc struct {
	Key        string         `yaml:"-"`
	Deductible *deductibleDoc `yaml:"deductible" policy:"required"`
	Bands      []bandDoc      `yaml:"bands" policy:"required"`
}

type deductibleDoc struct {
	AmountFen      *int64  `yaml:"amount_fen"`
	ByAdmissionFen []int64 `yaml:"by_admission_fen"`
	StepPercent    *int64  `yaml:"step"`
	FloorPercent   *int64  `yaml:"floor"`
}

type bandDoc struct {
	FromFen *int64 `yaml:"from_fen" policy:"required"`
	ToFen   *int64 `yaml:"to_fen"`
	Ratio   *int64 `yaml:"ratio" policy:"required"`
}

// Compiled policy, laid out for allocation-free lookup.

// Rounding is how a product of an amount and a 1/10,000 share is rounded to
// the fen.
type Rounding uint8

const (
	HalfUp   Rounding = iota // half away from zero (四舍五入)
	HalfEven                 // banker's rounding
	Down                     // truncate toward zero (舍去分以下)
)

var roundingNames = map[string]Rounding{"half_up": HalfUp, "half_even": HalfEven, "down": Down}

// String returns the policy-file name of r.
func (r Rounding) String() string {
	for k, v := range roundingNames {
		if v == r {
			return k
		}
	}
	return "Rounding(" + strconv.Itoa(int(r)) + ")"
}

type scope uint8

const (
	scopeCity scope = iota
	scopeCounty
	scopeProvince
)

var scopeNames = map[string]scope{"city": scopeCity, "county": scopeCounty, "province": scopeProvince}

// ReductionType is how a registration kind lowers the benefit.
type ReductionType uint8

const (
	ReduceNone           ReductionType = iota // no reduction
	ReducePoints                              // ratio − Value (percentage points ×100)
	ReduceFactor                              // ratio × Value / 10,000
	ReduceAdvanceSelfPay                      // Value/10,000 of the in-scope amount moves to 先行自付 first
)

var reductionNames = map[string]ReductionType{
	"none": ReduceNone, "points": ReducePoints, "factor": ReduceFactor, "advance_selfpay": ReduceAdvanceSelfPay,
}

// Reduction kinds: the five contract registration kinds plus the two
// situations without a usable registration.
const (
	KindEmergency    = "emergency"    // 急诊抢救 without (or instead of a temporary) registration
	KindUnregistered = "unregistered" // cross-region, no registration, no emergency
)

type kindIdx uint8

const (
	kRelocatedRetiree kindIdx = iota
	kLongTermResident
	kPostedWorker
	kReferral
	kTemporary
	kEmergency
	kUnregistered
	numKinds
)

var kindNames = [numKinds]string{"relocated_retiree", "long_term_resident", "posted_worker", "referral", "temporary", KindEmergency, KindUnregistered}

func kindIndex(s string) (kindIdx, bool) {
	for i, n := range kindNames {
		if n == s {
			return kindIdx(i), true
		}
	}
	return 0, false
}

// requiredKinds must appear in a region's reductions; the long-term kinds
// default to no reduction.
var requiredKinds = []kindIdx{kReferral, kTemporary, kEmergency, kUnregistered}

type reduction struct {
	typ   ReductionType
	value int64
}

// maxBand is the upper bound of the open last band.
const maxBand = math.MaxInt64

type band struct {
	from, to int64 // fen above the deductible; the last band's to is MaxInt64 (open)
	ratio    int64 // 1/10,000
}

type deductible struct {
	amount      int64   // fen, first admission (or annual)
	byAdmission []int64 // fen for the 1st, 2nd, … admission; the last repeats
	step, floor int64   // share of amount removed per further admission and its floor, 1/10,000
}

func (d *deductible) forAdmission(n int) int64 {
	if n < 1 {
		n = 1
	}
	if len(d.byAdmission) > 0 {
		return d.byAdmission[min(n, len(d.byAdmission))-1]
	}
	if d.step == 0 || n == 1 {
		return d.amount
	}
	share := max(10000-d.step*int64(n-1), d.floor, 0)
	return d.amount * share / 10000 // exact for round amounts; truncation is the conservative (lower) deductible
}

type levelPolicy struct {
	ded   deductible
	bands []band
}

const (
	basisAdmission = iota
	basisAnnual
)

type visitPolicy struct {
	basis   int
	cap     int64 // fen
	bonus   int64 // retiree ratio bonus, 1/10,000
	reduce  [numKinds]reduction
	levels  [4]levelPolicy
	present bool
}

type regionPolicy struct {
	code       contract.RegionCode
	name       string
	from, to   int64 // days since 1970-01-01 in force, inclusive (MinInt64/MaxInt64 when open)
	rounding   Rounding
	local      scope
	acctClassC bool
	acctOver   bool
	visits     [2][3]visitPolicy // [insurance][visit type]
}

var (
	insuranceIdx = map[string]int{"employee": 0, "resident": 1}
	visitIdx     = map[string]int{"inpatient": 0, "outpatient": 1, "pharmacy": 2}
)

// LoadPolicies reads a YAML policy file (format: README.md). It reports every
// problem of the file at once, joined with errors.Join; each is a
// *FieldError naming the line, the region and the field path.
func LoadPolicies(r io.Reader) (*PolicySet, error) {
	src, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("settlement: read policies: %w", err)
	}
	return loadPolicies(src, "")
}

// LoadPoliciesFile reads the policy file at path; Info().Source is path.
func LoadPoliciesFile(path string) (*PolicySet, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("settlement: read policies: %w", err)
	}
	ps, err := loadPolicies(src, path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ps, nil
}

func loadPolicies(src []byte, source string) (*PolicySet, error) {
	var root any
	if err := yaml.NewDecoder(bytes.NewReader(src), yaml.UseOrderedMap()).Decode(&root); err != nil {
		return nil, fmt.Errorf("settlement: parse policies: %w", err)
	}
	var errs []error
	l := errList{errs: &errs}
	sum := sha256.Sum256(src)
	ps := &PolicySet{byCode: map[uint32][]*regionPolicy{}, info: Info{SHA256: hex.EncodeToString(sum[:]), Source: source}}

	m, ok := root.(yaml.MapSlice)
	if !ok {
		return nil, &FieldError{Msg: "policy file must be a mapping with version and regions"}
	}
	var version, regions any
	var haveVersion, haveRegions bool
	for _, it := range m {
		switch k := fmt.Sprint(it.Key); k {
		case "version":
			version, haveVersion = it.Value, true
		case "regions":
			regions, haveRegions = it.Value, true
		case "title":
			decode(l, k, it.Value, reflect.ValueOf(&ps.info.Title).Elem())
		case "revision":
			decode(l, k, it.Value, reflect.ValueOf(&ps.info.Revision).Elem())
		case "example":
			decode(l, k, it.Value, reflect.ValueOf(&ps.info.Example).Elem())
		default:
			l.add(k, "unknown field")
		}
	}
	switch {
	case !haveVersion:
		l.add("version", "missing (required)")
	case version != uint64(1):
		l.add("version", "must be 1, got %s", describe(version))
	}
	rm, ok := regions.(yaml.MapSlice)
	switch {
	case !haveRegions:
		l.add("regions", "missing (required)")
	case !ok:
		l.add("regions", "must be a mapping of region code to policy (or to a list of dated versions), got %s", describe(regions))
	case len(rm) == 0:
		l.add("regions", "must not be empty")
	}
	for _, it := range rm {
		code := fmt.Sprint(it.Key)
		n, codeOK := regionNumber(contract.RegionCode(code))
		if !codeOK || !contract.ValidRegionCode(code) {
			l.forRegion(code).add("", "not a 6-digit GB/T 2260 region code")
		}
		// A region is one policy, or a list of versions with valid_from/valid_to.
		docs, keys := []any{it.Value}, []string{code}
		if list, ok := it.Value.([]any); ok {
			if len(list) == 0 {
				l.forRegion(code).add("", "must not be an empty list of versions")
			}
			docs, keys = list, make([]string, len(list))
			for i := range list {
				keys[i] = fmt.Sprintf("%s[%d]", code, i)
			}
		}
		var versions []*regionPolicy
		var dated []bool // the version's period is valid: its overlaps can be checked
		for i, doc := range docs {
			rl := l.forRegion(keys[i])
			var d regionDoc
			decode(rl, "", doc, reflect.ValueOf(&d).Elem())
			rp := compileRegion(rl, contract.RegionCode(code), &d)
			var okFrom, okTo bool
			rp.from, okFrom = parseDay(rl, "valid_from", d.ValidFrom, math.MinInt64)
			rp.to, okTo = parseDay(rl, "valid_to", d.ValidTo, math.MaxInt64)
			if okFrom && okTo && rp.from > rp.to {
				rl.add("valid_to", "must not be before valid_from (%s), got %s", d.ValidFrom, d.ValidTo)
				okTo = false
			}
			versions = append(versions, rp)
			dated = append(dated, okFrom && okTo)
		}
		checkPeriods(l, code, keys, versions, dated)
		if codeOK && len(versions) > 0 {
			if ps.byCode[n] == nil {
				ps.codes = append(ps.codes, contract.RegionCode(code))
			}
			ps.byCode[n] = versions
		}
	}
	if len(errs) > 0 {
		addLines(src, errs)
		return nil, errors.Join(errs...)
	}
	slices.Sort(ps.codes)
	return ps, nil
}

// parseDay reads a YYYY-MM-DD date as days since 1970-01-01; open when "".
func parseDay(l errList, path, s string, open int64) (int64, bool) {
	if s == "" {
		return open, true
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		l.add(path, "must be a date YYYY-MM-DD, got %q", s)
		return open, false
	}
	return civilDay(t), true
}

// checkPeriods sorts a region's versions by valid_from and reports
// overlapping periods among those with valid dates (ok): on any day at most
// one version may be in force.
func checkPeriods(l errList, code string, keys []string, vs []*regionPolicy, ok []bool) {
	idx := make([]int, len(vs))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(vs[a].from, vs[b].from) })
	prev := -1
	for _, i := range idx {
		if !ok[i] {
			continue
		}
		if prev >= 0 && vs[i].from <= vs[prev].to {
			l.forRegion(keys[i]).add("valid_from", "overlaps the period of %s (valid_to %s); versions of region %s must not overlap",
				keys[prev], dayString(vs[prev].to), code)
		}
		if prev < 0 || vs[i].to > vs[prev].to {
			prev = i
		}
	}
	sorted := make([]*regionPolicy, len(vs))
	for j, i := range idx {
		sorted[j] = vs[i]
	}
	copy(vs, sorted)
}

func dayString(d int64) string {
	if d == math.MaxInt64 {
		return "open"
	}
	return time.Unix(d*86400, 0).UTC().Format(time.DateOnly)
}

func checkRatio(l errList, path string, v int64) {
	if v < 0 || v > 10000 {
		l.add(path, "must be within 0..10000 (1/10,000), got %d", v)
	}
}

func checkFen(l errList, path string, v int64) {
	if v < 0 {
		l.add(path, "must not be negative, got %d fen", v)
	}
}

func compileRegion(l errList, code contract.RegionCode, d *regionDoc) *regionPolicy {
	rp := &regionPolicy{code: code, name: d.Name}
	if d.Rounding != "" {
		r, ok := roundingNames[d.Rounding]
		if !ok {
			l.add("rounding", "must be half_up, half_even or down, got %q", d.Rounding)
		}
		rp.rounding = r
	}
	if d.LocalScope != "" {
		s, ok := scopeNames[d.LocalScope]
		if !ok {
			l.add("local_scope", "must be county, city or province, got %q", d.LocalScope)
		}
		rp.local = s
	}
	if d.Account != nil {
		rp.acctClassC, rp.acctOver = d.Account.ClassC, d.Account.OverCeiling
	}
	var base [numKinds]reduction
	seen := compileReductions(l, "reductions", d.Reductions, &base)
	if d.Reductions != nil {
		for _, k := range requiredKinds {
			if !seen[k] {
				l.add(join("reductions", kindNames[k]), "missing (required)")
			}
		}
	}
	for ii, ins := range []*insuranceDoc{d.Employee, d.Resident} {
		if ins == nil {
			continue
		}
		insName := [...]string{"employee", "resident"}[ii]
		for vi, v := range []*visitDoc{ins.Inpatient, ins.Outpatient, ins.Pharmacy} {
			if v == nil {
				continue
			}
			path := insName + "." + [...]string{"inpatient", "outpatient", "pharmacy"}[vi]
			rp.visits[ii][vi] = compileVisit(l, path, v, base)
		}
	}
	return rp
}

func compileReductions(l errList, path string, docs []reductionDoc, into *[numKinds]reduction) [numKinds]bool {
	var seen [numKinds]bool
	for _, r := range docs {
		p := join(path, r.Key)
		k, ok := kindIndex(r.Key)
		if !ok {
			l.add(p, "unknown registration kind (want one of %v)", kindNames)
			continue
		}
		seen[k] = true
		t, ok := reductionNames[r.Type]
		if r.Type != "" && !ok {
			l.add(join(p, "type"), "must be none, points, factor or advance_selfpay, got %q", r.Type)
		}
		checkRatio(l, join(p, "value"), r.Value)
		if ok && t == ReduceNone && r.Value != 0 {
			l.add(join(p, "value"), "must be 0 (or omitted) for type none, got %d", r.Value)
		}
		into[k] = reduction{typ: t, value: r.Value}
	}
	return seen
}

func compileVisit(l errList, path string, d *visitDoc, base [numKinds]reduction) visitPolicy {
	vp := visitPolicy{cap: d.AnnualCapFen, bonus: d.RetireeBonus, reduce: base, present: true}
	switch d.DeductibleBasis {
	case "per_admission":
		vp.basis = basisAdmission
	case "annual":
		vp.basis = basisAnnual
	case "":
	default:
		l.add(join(path, "deductible_basis"), "must be per_admission or annual, got %q", d.DeductibleBasis)
	}
	if d.AnnualCapFen <= 0 {
		l.add(join(path, "annual_cap_fen"), "must be positive, got %d fen", d.AnnualCapFen)
	}
	checkRatio(l, join(path, "retiree_bonus"), d.RetireeBonus)
	compileReductions(l, join(path, "reductions"), d.Reductions, &vp.reduce)
	if d.Levels == nil {
		return vp
	}
	var have [4]bool
	for _, ld := range d.Levels {
		lp := join(path, "levels."+ld.Key)
		n, err := strconv.Atoi(ld.Key)
		if err != nil || n < 0 || n > 3 {
			l.add(lp, "unknown hospital level (want 0, 1, 2 or 3)")
			continue
		}
		have[n] = true
		vp.levels[n] = compileLevel(l, lp, &ld, d.DeductibleBasis == "annual")
	}
	for n, ok := range have {
		if !ok {
			l.add(join(path, "levels."+strconv.Itoa(n)), "missing hospital level (levels 0..3 are all required)")
		}
	}
	return vp
}

func compileLevel(l errList, path string, d *levelDoc, annual bool) levelPolicy {
	var lp levelPolicy
	if dd := d.Deductible; dd != nil {
		dp := join(path, "deductible")
		switch {
		case dd.AmountFen == nil && dd.ByAdmissionFen == nil:
			l.add(dp, "needs amount_fen or by_admission_fen")
		case dd.AmountFen != nil && dd.ByAdmissionFen != nil:
			l.add(dp, "amount_fen and by_admission_fen are exclusive")
		}
		if dd.AmountFen != nil {
			lp.ded.amount = *dd.AmountFen
			checkFen(l, join(dp, "amount_fen"), *dd.AmountFen)
		}
		if dd.ByAdmissionFen != nil {
			if len(dd.ByAdmissionFen) == 0 {
				l.add(join(dp, "by_admission_fen"), "must not be empty")
			}
			for i, v := range dd.ByAdmissionFen {
				checkFen(l, fmt.Sprintf("%s.by_admission_fen[%d]", dp, i), v)
			}
			lp.ded.byAdmission = dd.ByAdmissionFen
			if len(dd.ByAdmissionFen) > 0 {
				lp.ded.amount = dd.ByAdmissionFen[0]
			}
		}
		if dd.StepPercent != nil || dd.FloorPercent != nil {
			if dd.AmountFen == nil {
				l.add(dp, "step and floor need amount_fen")
			}
			if dd.StepPercent == nil {
				l.add(join(dp, "step"), "missing (floor given)")
			} else {
				lp.ded.step = *dd.StepPercent
				checkRatio(l, join(dp, "step"), lp.ded.step)
			}
			if dd.FloorPercent != nil {
				lp.ded.floor = *dd.FloorPercent
				checkRatio(l, join(dp, "floor"), lp.ded.floor)
			}
		}
		if annual && (dd.ByAdmissionFen != nil || dd.StepPercent != nil) {
			l.add(dp, "by_admission_fen and step need deductible_basis per_admission")
		}
	}
	if d.Bands != nil && len(d.Bands) == 0 {
		l.add(join(path, "bands"), "must not be empty")
	}
	var prevTo int64
	for i, b := range d.Bands {
		bp := fmt.Sprintf("%s.bands[%d]", path, i)
		last := i == len(d.Bands)-1
		var nb band
		if b.Ratio != nil {
			nb.ratio = *b.Ratio
			checkRatio(l, join(bp, "ratio"), nb.ratio)
		}
		if b.FromFen != nil {
			nb.from = *b.FromFen
			checkFen(l, join(bp, "from_fen"), nb.from)
			switch {
			case i == 0 && nb.from != 0:
				l.add(join(bp, "from_fen"), "the first band must start at 0, got %d", nb.from)
			case i > 0 && nb.from < prevTo:
				l.add(join(bp, "from_fen"), "overlaps or is out of order with the band before (which ends at %d), got %d", prevTo, nb.from)
			case i > 0 && nb.from > prevTo:
				l.add(join(bp, "from_fen"), "leaves a gap after the band before (which ends at %d), got %d", prevTo, nb.from)
			}
		}
		switch {
		case b.ToFen == nil && !last:
			l.add(join(bp, "to_fen"), "missing: only the last band may be open-ended")
		case b.ToFen != nil && last:
			l.add(join(bp, "to_fen"), "the last band must be open-ended (omit to_fen; the annual cap limits the fund)")
		case b.ToFen != nil && *b.ToFen <= nb.from:
			l.add(join(bp, "to_fen"), "must be greater than from_fen (%d), got %d", nb.from, *b.ToFen)
		}
		if b.ToFen != nil {
			nb.to = *b.ToFen
			prevTo = nb.to
		}
		if last {
			nb.to = maxBand
		}
		lp.bands = append(lp.bands, nb)
	}
	return lp
}
