package detectors_test

import (
	"math"
	"testing"

	"github.com/medaudit/medaudit/detectors"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestStats(t *testing.T) {
	peers := []float64{1, 2, 3, 4, 100}
	if m := detectors.Median(peers); m != 3 {
		t.Errorf("median %g", m)
	}
	if m := detectors.MAD(peers); m != 1 {
		t.Errorf("mad %g", m)
	}
	if z, _, _ := detectors.RobustZ(5, peers); !near(z, 0.6745*2) {
		t.Errorf("robust z %g", z)
	}
	if z, _, _ := detectors.RobustZ(9, []float64{5, 5, 5, 5}); z != 10 {
		t.Errorf("robust z with zero spread %g", z)
	}
	// P(X ≥ 3 | λ = 1) = 1 − e^-1 (1 + 1 + 1/2)
	if p := detectors.PoissonTail(3, 1); !near(p, 1-math.Exp(-1)*2.5) {
		t.Errorf("poisson tail %g", p)
	}
	if p := detectors.PoissonTail(0, 5); p != 1 {
		t.Errorf("poisson tail at 0 %g", p)
	}
	if d := detectors.JensenShannon([]float64{1, 0}, []float64{0, 1}); !near(d, 1) {
		t.Errorf("js disjoint %g", d)
	}
	if d := detectors.JensenShannon([]float64{2, 2}, []float64{1, 1}); !near(d, 0) {
		t.Errorf("js equal %g", d)
	}
	r := detectors.ChangeRatios([]float64{4, 5, 4, 5, 4, 5, 40}, 6)
	if !near(r[6], 40/4.5) || r[0] != 0 {
		t.Errorf("change ratios %v", r)
	}
	if s := detectors.Logistic(0, 1); s != 0.5 {
		t.Errorf("logistic %g", s)
	}
}
