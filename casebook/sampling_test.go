package casebook

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/medaudit/medaudit/contract"
)

// population is an institution's claims: a few strata, over-payment
// concentrated in some claims (long-tailed, as in real recoveries).
func population(seed uint64) ([]Unit, map[string]contract.Fen, contract.Fen) {
	rng := rand.New(rand.NewPCG(seed, 1))
	var frame []Unit
	truth := map[string]contract.Fen{}
	var total contract.Fen
	for i := 0; i < 1200; i++ {
		stratum, rate, size := "outpatient", 0.05, 20_000
		switch {
		case i%6 == 0:
			stratum, rate, size = "inpatient/≥10k", 0.3, 1_500_000
		case i%3 == 0:
			stratum, rate, size = "inpatient/<10k", 0.2, 300_000
		}
		id := fmt.Sprintf("S%05d", i)
		frame = append(frame, Unit{ID: id, Stratum: stratum})
		if rng.Float64() < rate {
			v := contract.Fen(rng.Int64N(int64(size)))
			truth[id] = v
			total += v
		}
	}
	return frame, truth, total
}

func TestSamplingReproducible(t *testing.T) {
	frame, _, _ := population(1)
	a, err := StratifiedSample(frame, 120, 42)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := StratifiedSample(frame, 120, 42)
	c, _ := StratifiedSample(frame, 120, 43)
	if !reflect.DeepEqual(a.Selected, b.Selected) {
		t.Error("the same seed drew different claims")
	}
	if reflect.DeepEqual(a.Selected, c.Selected) {
		t.Error("another seed drew the same claims")
	}
	if len(a.Selected) != 120 || a.Drawn["inpatient/≥10k"] != 20 || a.Strata["outpatient"] != 800 {
		t.Errorf("allocation %v of %v (%d drawn)", a.Drawn, a.Strata, len(a.Selected))
	}
}

// TestIntervalCoverage: over many simulated institutions and samples, the
// 90 % interval covers the true total in about 90 % of the cases.
func TestIntervalCoverage(t *testing.T) {
	const sims = 2000
	covered := 0
	for sim := uint64(0); sim < sims; sim++ {
		frame, truth, total := population(sim)
		s, err := StratifiedSample(frame, 300, 1000+sim)
		if err != nil {
			t.Fatal(err)
		}
		found := map[string]contract.Fen{}
		for _, id := range s.Selected {
			if v := truth[id]; v > 0 {
				found[id] = v
			}
		}
		est, err := Extrapolate(s, found, 0.9)
		if err != nil {
			t.Fatal(err)
		}
		if est.Low > est.Total || est.Total > est.High {
			t.Fatalf("interval %+v does not contain its estimate", est)
		}
		if est.Low <= total && total <= est.High {
			covered++
		}
	}
	rate := float64(covered) / sims
	t.Logf("90%% interval coverage over %d simulations: %.3f", sims, rate)
	if rate < 0.85 || rate > 0.95 {
		t.Errorf("coverage %.3f, want about 0.90", rate)
	}
}

func TestExtrapolateRejects(t *testing.T) {
	frame, _, _ := population(2)
	s, _ := StratifiedSample(frame, 50, 7)
	if _, err := Extrapolate(s, map[string]contract.Fen{"nope": 1}, 0.9); err == nil {
		t.Error("a claim that was not drawn was accepted")
	}
	if _, err := Extrapolate(s, nil, 1.5); err == nil {
		t.Error("confidence 1.5 accepted")
	}
}

func TestFine(t *testing.T) {
	tests := []struct {
		amount  contract.Fen
		basis   Basis
		percent int
		want    contract.Fen
		ok      bool
	}{
		{100_00, Art38, 150, 150_00, true},
		{100_01, Art38, 150, 150_02, true}, // 15001.5 fen rounds half up
		{100_00, Art38, 250, 0, false},
		{100_00, Art40, 200, 200_00, true},
		{100_00, Art41, 500, 500_00, true},
		{100_00, Art41, 100, 0, false},
		{100_00, "art99", 100, 0, false},
	}
	for _, tc := range tests {
		got, err := Fine(tc.amount, tc.basis, tc.percent)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("Fine(%s, %s, %d) = %s, %v", tc.amount, tc.basis, tc.percent, got, err)
		}
	}
}
