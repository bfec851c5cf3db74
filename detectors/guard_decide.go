package detectors

import (
	"sort"

	"gonum.org/v1/gonum/stat/distuv"
)

// The population-rate guard's decision, pure: given one rule's counts in one
// cell, is its flag share a convention problem spread over many
// institutions (a calibration alarm), fraud concentrated at a few
// institutions (the flags stay and those institutions are named), or
// neither (below the ceiling)?

// GuardConfig holds the guard's thresholds.
type GuardConfig struct {
	// MinCellSubjects: cells with fewer subjects are too small to judge a
	// share (a region × insurance × visit cell of 30 settlements swings by
	// chance).
	MinCellSubjects int64
	// MinCellInstitutions is MinCellSubjects for populations of
	// institutions (a share of 2 out of 13 hospitals says little).
	MinCellInstitutions int64
	// MinInstitutions: a cell above its ceiling is a convention problem only
	// when its flags are at this many institutions or more.
	MinInstitutions int
	// TopInstitutions: the share must stay above the ceiling without the
	// institutions with the most flags. DOMAIN.md §12: fraud proper sits
	// at 2–3 bad hospitals and 1–3 hub pharmacies, so 3.
	TopInstitutions int
	// MinOrgFlags: an institution needs this many flagged subjects to be
	// named as the place a rule concentrates.
	MinOrgFlags int64
	// MaxOrgP: Poisson tail of the institution's count given the rest of
	// the cell's rate must be below this.
	MaxOrgP float64
}

// DefaultGuardConfig returns the documented guard thresholds.
func DefaultGuardConfig() GuardConfig {
	return GuardConfig{MinCellSubjects: 200, MinCellInstitutions: 20, MinInstitutions: 5, TopInstitutions: 3, MinOrgFlags: 5, MaxOrgP: 0.001}
}

// cellCounts are one rule's counts in one cell: subjects and flagged
// subjects in all, and per institution.
type cellCounts struct {
	N, F       int64
	OrgN, OrgF map[string]int64
}

// verdict is the guard's reading of one cell.
type verdict struct {
	Share, RestShare float64
	Institutions     int      // institutions with flags in the cell
	Alarm            bool     // spread over many institutions: a calibration alarm
	Hot              []hotOrg // concentrated: the institutions where the rule fires
	judged           bool     // the cell was large enough and above the ceiling
}

// hotOrg is an institution where a rule fires far above the rest of its cell.
type hotOrg struct {
	Org       string
	N, F      int64
	Share     float64
	RestShare float64
	P         float64
}

func (g GuardConfig) decide(c cellCounts, ceiling float64, institutions bool) verdict {
	var v verdict
	if c.N == 0 {
		return v
	}
	v.Share = float64(c.F) / float64(c.N)
	type of struct {
		org  string
		n, f int64
	}
	var orgs []of
	for o, f := range c.OrgF {
		if f > 0 {
			orgs = append(orgs, of{o, c.OrgN[o], f})
		}
	}
	v.Institutions = len(orgs)
	sort.Slice(orgs, func(i, j int) bool {
		if orgs[i].f != orgs[j].f {
			return orgs[i].f > orgs[j].f
		}
		return orgs[i].org < orgs[j].org
	})
	restN, restF := c.N, c.F
	for i := 0; i < len(orgs) && i < g.TopInstitutions; i++ {
		restN -= orgs[i].n
		restF -= orgs[i].f
	}
	if restN > 0 && restF > 0 {
		v.RestShare = float64(restF) / float64(restN)
	}
	minN := g.MinCellSubjects
	if institutions {
		minN = g.MinCellInstitutions
	}
	if c.N < minN || v.Share <= ceiling {
		return v
	}
	v.judged = true
	if v.Institutions >= g.MinInstitutions && v.RestShare > ceiling {
		v.Alarm = true
		return v
	}
	for _, o := range orgs {
		if o.f < g.MinOrgFlags || o.n == 0 || float64(o.f)/float64(o.n) <= ceiling {
			continue
		}
		// The rest of the cell without this institution sets the rate it
		// is compared with; an empty rest counts as half a flag.
		rn, rf := c.N-o.n, float64(c.F-o.f)
		rate := 0.5 / float64(max(rn, 1))
		if rn > 0 && rf > 0 {
			rate = rf / float64(rn)
		}
		p := 1 - distuv.Poisson{Lambda: rate * float64(o.n)}.CDF(float64(o.f-1))
		if p < g.MaxOrgP {
			v.Hot = append(v.Hot, hotOrg{Org: o.org, N: o.n, F: o.f, Share: float64(o.f) / float64(o.n), RestShare: rate, P: p})
		}
	}
	return v
}
