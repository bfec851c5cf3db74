package detectors_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medaudit/medaudit/detectors"
)

func TestThresholdsFile(t *testing.T) {
	good := []byte("ghost_bed.no_daily_activity:\n  min_idle_share: 0.6\ncard_misuse.burst_at_org:\n  min_cards: 6\n")
	cfg, err := detectors.ParseThresholds(good)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := detectors.Registry(cfg)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, d := range ds {
		if p, ok := d.(interface{ Param(string) float64 }); ok {
			switch d.Name() {
			case "ghost_bed.no_daily_activity":
				got["idle"] = p.Param("min_idle_share")
			case "card_misuse.burst_at_org":
				got["cards"] = p.Param("min_cards")
			case "ghost_bed.no_daily_charges":
				got["other"] = p.Param("max_coverage")
			}
		}
	}
	if got["idle"] != 0.6 || got["cards"] != 6 || got["other"] != 0.7 {
		t.Errorf("thresholds in force: %v", got)
	}

	bad := []byte(`ghost_bed.no_such_rule:
  x: 1
ghost_bed.no_daily_activity:
  min_idle_shar: 0.5
  min_idle_share: 1.5
card_misuse.burst_at_org:
  min_cards: many
  window_minutes: -3
`)
	_, err = detectors.ParseThresholds(bad)
	if err == nil {
		t.Fatal("a bad file was accepted")
	}
	for _, want := range []string{"ghost_bed.no_such_rule: no such detector", `no threshold "min_idle_shar"`,
		"min_idle_share: value 1.5 is a share", `min_cards: value "many" is not a number`, "window_minutes: value -3 is negative"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	path := filepath.Join(t.TempDir(), "thresholds.yaml")
	if err := os.WriteFile(path, []byte("- a list\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := detectors.LoadThresholds(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("a list loaded: %v", err)
	}
}
