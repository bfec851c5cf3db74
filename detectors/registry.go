package detectors

import (
	"embed"
	"fmt"
	"sort"
	"strings"

	"github.com/medaudit/medaudit/settlement"
)

//go:embed queries/*.sql
var queries embed.FS

// factory builds one detector from its threshold overrides.
type factory func(params map[string]float64) (Detector, error)

// rule is the one way to define a detector read from a query file: its
// description, its query (queries/<file>) and, for a rule whose logic goes
// on in Go after the query, what builds it from the rule in force and the
// query text. A nil build makes a SQL detector: the query is the whole rule.
func rule(info Info, file string, build func(Rule, string) Detector) factory {
	return func(params map[string]float64) (Detector, error) {
		q, err := queries.ReadFile("queries/" + file)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", info.Name, err)
		}
		if build == nil {
			return NewSQL(info, string(q), params)
		}
		r, err := NewRule(info, params)
		if err != nil {
			return nil, err
		}
		return build(r, string(q)), nil
	}
}

// families lists every detector, family by family. Each family's list is in
// its own file (ghostbed.go, impersonation.go, …).
func families() [][]factory {
	return [][]factory{ghostBed, impersonation, drugSubstitution, cardMisuse, settlementFamily, other}
}

// Config configures the detectors.
type Config struct {
	// Params overrides thresholds: detector name → threshold name → value.
	Params map[string]map[string]float64
	// Policies are the insured regions' settlement policies the recompute
	// detectors use (settlement.LoadPoliciesFile); nil = the built-in
	// examples (settlement.DefaultPolicies).
	Policies *settlement.PolicySet
}

// PolicyUser is the optional capability of a detector that recomputes
// settlements under a policy set; Scan records the set and its coverage.
type PolicyUser interface {
	Policies() *settlement.PolicySet
}

// Registry returns every detector in a fixed order. It fails on a duplicate
// name or on a parameter for a detector or threshold that does not exist.
func Registry(cfg Config) ([]Detector, error) {
	var out []Detector
	seen := map[string]bool{}
	for _, fam := range families() {
		for _, f := range fam {
			d, err := f(nil)
			if err != nil {
				return nil, err
			}
			if p, ok := cfg.Params[d.Name()]; ok {
				if d, err = f(p); err != nil {
					return nil, err
				}
			}
			if u, ok := d.(*recomputeDetector); ok && cfg.Policies != nil {
				u.ps = cfg.Policies
			}
			if seen[d.Name()] {
				return nil, fmt.Errorf("detector name %s is used twice", d.Name())
			}
			seen[d.Name()] = true
			out = append(out, d)
		}
	}
	var unknown []string
	for name := range cfg.Params {
		if !seen[name] {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, fmt.Errorf("parameters for unknown detectors: %v", unknown)
	}
	return out, nil
}

// Select keeps the detectors whose names start with one of the prefixes.
func Select(ds []Detector, prefixes []string) []Detector {
	var out []Detector
	for _, d := range ds {
		for _, p := range prefixes {
			if strings.HasPrefix(d.Name(), p) {
				out = append(out, d)
				break
			}
		}
	}
	return out
}
