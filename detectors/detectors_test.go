package detectors_test

import (
	"testing"

	"github.com/medaudit/medaudit/detectors"
	"github.com/medaudit/medaudit/detectors/detectortest"
)

// TestConformance runs the shared suite over every registered detector.
func TestConformance(t *testing.T) {
	ds, err := detectors.Registry(detectors.Config{})
	if err != nil {
		t.Fatal(err)
	}
	db := detectortest.Sample(t)
	for _, d := range ds {
		t.Run(d.Name(), func(t *testing.T) { detectortest.Run(t, d, db) })
	}
}

func TestRegistryConfig(t *testing.T) {
	if _, err := detectors.Registry(detectors.Config{Params: map[string]map[string]float64{"nope.rule": {"x": 1}}}); err == nil {
		t.Error("unknown detector accepted")
	}
	if _, err := detectors.Registry(detectors.Config{Params: map[string]map[string]float64{"impersonation.after_death": {"nope": 1}}}); err == nil {
		t.Error("unknown threshold accepted")
	}
	ds, err := detectors.Registry(detectors.Config{Params: map[string]map[string]float64{"impersonation.after_death": {"after_death_grace_days": 3}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		if d.Name() == "impersonation.after_death" && d.(*detectors.SQLDetector).Param("after_death_grace_days") != 3 {
			t.Error("override not applied")
		}
	}
}

func TestNoisyOR(t *testing.T) {
	if got := detectors.NoisyOR(0.5, 0.5); got != 0.75 {
		t.Errorf("NoisyOR(.5,.5) = %g", got)
	}
	if got := detectors.NoisyOR(); got != 0 {
		t.Errorf("NoisyOR() = %g", got)
	}
	if got := detectors.NoisyOR(1.5, -1); got != 1 {
		t.Errorf("NoisyOR clamps: %g", got)
	}
}
