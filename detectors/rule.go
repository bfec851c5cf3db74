package detectors

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/medaudit/medaudit/contract"
)

// Rule holds what every detector has: its description and the values of its
// thresholds. Detectors written in Go embed it; SQLDetector does too.
type Rule struct {
	info   Info
	params map[string]float64
}

// NewRule sets the thresholds of info to their defaults, overridden by
// params (by threshold name); an unknown name is an error. The family is
// the name's part before the dot ("family.rule"); an Info that names
// another family is an error.
func NewRule(info Info, params map[string]float64) (Rule, error) {
	family, _, ok := strings.Cut(info.Name, ".")
	if !ok || family == "" {
		return Rule{}, fmt.Errorf("detector name %q is not family.rule", info.Name)
	}
	if info.Family != "" && info.Family != family {
		return Rule{}, fmt.Errorf("%s: family %q differs from its name", info.Name, info.Family)
	}
	info.Family = family
	r := Rule{info: info, params: map[string]float64{}}
	for _, t := range info.Thresholds {
		r.params[t.Name] = t.Default
	}
	for k, v := range params {
		if _, ok := r.params[k]; !ok {
			return Rule{}, fmt.Errorf("%s has no threshold %q", info.Name, k)
		}
		r.params[k] = v
	}
	return r, nil
}

// Name implements Detector.
func (r Rule) Name() string { return r.info.Name }

// Describe implements Describer.
func (r Rule) Describe() Info { return r.info }

// Param returns the value in force of a threshold; it panics on a name the
// rule does not declare (a programming error caught by the tests).
func (r Rule) Param(name string) float64 {
	v, ok := r.params[name]
	if !ok {
		panic(fmt.Sprintf("%s: undeclared threshold %q", r.info.Name, name))
	}
	return v
}

// Flag builds a flag of this rule with the standard evidence frame (rule,
// title, basis, thresholds in force, caveats, amount) around the facts.
func (r Rule) Flag(subject, org string, score float64, amount contract.Fen, summary string, facts map[string]any, parts map[string]float64) Flag {
	th := make(map[string]float64, len(r.params))
	for k, v := range r.params {
		th[k] = v
	}
	return Flag{
		Detector: r.info.Name, Family: r.info.Family, SubjectType: r.info.SubjectType, SubjectID: subject,
		OrgCode: org, Score: min(max(score, 0), 1), AmountAtRisk: amount, Override: r.info.Override,
		Evidence: Evidence{
			Rule: r.info.Name, Title: r.info.Title, Basis: r.info.Basis, Summary: summary, Facts: facts,
			Thresholds: th, ScoreParts: parts, Amount: amount.String(), Caveats: r.info.Caveats,
		},
	}
}

// WithVariables prefixes query with SET VARIABLE statements for the rule's
// thresholds in force, in name order, so the query's
// coalesce(getvariable('name'), default) reads the configured values.
func (r Rule) WithVariables(query string) string {
	names := make([]string, 0, len(r.params))
	for n := range r.params {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "SET VARIABLE %s = %s;\n", n, strconv.FormatFloat(r.params[n], 'g', -1, 64))
	}
	b.WriteString(query)
	return b.String()
}
