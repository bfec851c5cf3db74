package casebook

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/medaudit/medaudit/contract"
)

// Unit is one claim in the sampling frame of an institution.
type Unit struct {
	ID      string       // settlement id
	Stratum string       // e.g. "inpatient/≥10k"
	Paid    contract.Fen // fund + account paid, for reference
}

// Sample is a seeded stratified sample of claims to pull records for. The
// seed and the frame are stored with the case, so the same sample can be
// drawn again by anyone.
type Sample struct {
	Seed     uint64
	Strata   map[string]int // stratum → units in the frame (N_h)
	Drawn    map[string]int // stratum → units drawn (n_h)
	Selected []string       // drawn unit ids, sorted
	stratum  map[string]string
}

// StratifiedSample draws n units: each stratum gets a share proportional to
// its size, at least 2 where it has them (so its variance can be estimated),
// and units are drawn without replacement by a PCG generator seeded with seed.
func StratifiedSample(frame []Unit, n int, seed uint64) (Sample, error) {
	if n < 1 {
		return Sample{}, errors.New("sample size must be positive")
	}
	groups := map[string][]Unit{}
	for _, u := range frame {
		groups[u.Stratum] = append(groups[u.Stratum], u)
	}
	names := make([]string, 0, len(groups))
	for s, us := range groups {
		names = append(names, s)
		sort.Slice(us, func(i, j int) bool { return us[i].ID < us[j].ID })
	}
	sort.Strings(names)
	s := Sample{Seed: seed, Strata: map[string]int{}, Drawn: map[string]int{}, stratum: map[string]string{}}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	for _, name := range names {
		us := groups[name]
		k := int(math.Round(float64(n) * float64(len(us)) / float64(len(frame))))
		k = min(max(k, 2), len(us))
		perm := rng.Perm(len(us))
		s.Strata[name], s.Drawn[name] = len(us), k
		for _, i := range perm[:k] {
			s.Selected = append(s.Selected, us[i].ID)
			s.stratum[us[i].ID] = name
		}
	}
	sort.Strings(s.Selected)
	return s, nil
}

// Estimate is an extrapolated recovery with its confidence interval.
type Estimate struct {
	Total      contract.Fen `json:"total"`
	Low        contract.Fen `json:"low"`
	High       contract.Fen `json:"high"`
	Confidence float64      `json:"confidence"`
}

// Extrapolate estimates the institution's total over-payment from the
// over-payment found in each drawn claim (missing = 0): the stratified
// expansion estimator Σ N_h·ȳ_h with variance Σ N_h²(1 − n_h/N_h)s_h²/n_h and
// a Student-t interval with Σ(n_h − 1) degrees of freedom. The statistics run
// in float64 and are rounded half-up to the fen; Low is never below the
// amount actually found.
func Extrapolate(s Sample, found map[string]contract.Fen, confidence float64) (Estimate, error) {
	if confidence <= 0 || confidence >= 1 {
		return Estimate{}, fmt.Errorf("confidence %g must be between 0 and 1", confidence)
	}
	for id := range found {
		if _, ok := s.stratum[id]; !ok {
			return Estimate{}, fmt.Errorf("claim %s was not drawn", id)
		}
	}
	ys := map[string][]float64{}
	var observed contract.Fen
	for _, id := range s.Selected {
		ys[s.stratum[id]] = append(ys[s.stratum[id]], float64(found[id]))
		observed += found[id]
	}
	var total, variance float64
	df := 0
	for name, N := range s.Strata {
		y := ys[name]
		n := float64(len(y))
		var mean float64
		for _, v := range y {
			mean += v
		}
		mean /= n
		var ss float64
		for _, v := range y {
			ss += (v - mean) * (v - mean)
		}
		total += float64(N) * mean
		if len(y) > 1 {
			variance += float64(N) * float64(N) * (1 - n/float64(N)) * ss / (n - 1) / n
			df += len(y) - 1
		}
	}
	half := 0.0
	if df > 0 {
		half = distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(df)}.Quantile(0.5+confidence/2) * math.Sqrt(variance)
	}
	fen := func(x float64) contract.Fen { return contract.Fen(math.Floor(x + 0.5)) }
	return Estimate{Total: fen(total), Low: max(fen(total-half), observed), High: fen(total + half), Confidence: confidence}, nil
}
