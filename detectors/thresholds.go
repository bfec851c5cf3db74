package detectors

import (
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"

	"github.com/goccy/go-yaml"
)

// A thresholds file overrides documented thresholds of detectors, by name:
//
//	# detector → threshold → value (in the threshold's unit)
//	ghost_bed.no_daily_activity:
//	  min_idle_share: 0.6
//	card_misuse.burst_at_org:
//	  min_cards: 6
//
// Every name is checked against the registry and every value against its
// unit (a share or a probability lies in 0..1, counts and durations are not
// negative); all the errors of a file are reported together.

// LoadThresholds reads and validates a thresholds file.
func LoadThresholds(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("thresholds file: %w", err)
	}
	cfg, err := ParseThresholds(b)
	if err != nil {
		return Config{}, fmt.Errorf("thresholds file %s: %w", path, err)
	}
	return cfg, nil
}

// ParseThresholds parses and validates the YAML of a thresholds file.
func ParseThresholds(b []byte) (Config, error) {
	var raw map[string]map[string]any
	if err := yaml.Unmarshal(b, &raw); err != nil {
		return Config{}, fmt.Errorf("not a map of detector → threshold → value: %w", err)
	}
	known := map[string]map[string]Threshold{}
	ds, err := Registry(Config{})
	if err != nil {
		return Config{}, err
	}
	for _, d := range ds {
		if desc, ok := d.(Describer); ok {
			known[d.Name()] = map[string]Threshold{}
			for _, t := range desc.Describe().Thresholds {
				known[d.Name()][t.Name] = t
			}
		}
	}
	cfg := Config{Params: map[string]map[string]float64{}}
	var errs []error
	for _, det := range sortedKeys(raw) {
		ths, ok := known[det]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: no such detector", det))
			continue
		}
		for _, name := range sortedKeys(raw[det]) {
			t, ok := ths[name]
			if !ok {
				errs = append(errs, fmt.Errorf("%s.%s: %s has no threshold %q (it has %v)", det, name, det, name, sortedKeys(ths)))
				continue
			}
			v, err := thresholdValue(raw[det][name], t)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s.%s: %w", det, name, err))
				continue
			}
			if cfg.Params[det] == nil {
				cfg.Params[det] = map[string]float64{}
			}
			cfg.Params[det][name] = v
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// thresholdValue checks one value against its threshold's unit.
func thresholdValue(x any, t Threshold) (float64, error) {
	var v float64
	switch n := x.(type) {
	case int64:
		v = float64(n)
	case uint64:
		v = float64(n)
	case float64:
		v = n
	case string:
		f, err := strconv.ParseFloat(n, 64)
		if err != nil {
			return 0, fmt.Errorf("value %q is not a number", n)
		}
		v = f
	default:
		return 0, fmt.Errorf("value %v is not a number", x)
	}
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return 0, fmt.Errorf("value %v is not a finite number", v)
	case v < 0:
		return 0, fmt.Errorf("value %v is negative", v)
	case (t.Unit == "share" || t.Unit == "probability" || t.Unit == "quantile" || t.Unit == "score") && v > 1:
		return 0, fmt.Errorf("value %v is a %s and must lie in 0..1", v, t.Unit)
	case t.Unit == "hour" && v > 24:
		return 0, fmt.Errorf("value %v is an hour of the day and must lie in 0..24", v)
	}
	return v, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
