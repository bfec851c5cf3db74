package settlement

import (
	"bytes"
	_ "embed"
	"fmt"
	"sync"
)

//go:embed policies/default.yaml
var defaultYAML []byte

// DefaultSource is Info().Source of DefaultPolicies.
const DefaultSource = "builtin:policies/default.yaml"

// DefaultYAML returns the text of the shipped example policies, as a
// starting point for a region's own file.
func DefaultYAML() []byte { return bytes.Clone(defaultYAML) }

// DefaultPolicies returns the shipped policies (policies/default.yaml,
// embedded). They cover the insured regions used by the fixtures; the values
// of 611002 商洛商州区 follow DOMAIN §5, the others are plausible, deliberately
// different illustrations, not official rates: the file says example: true
// (示例) and scans say so in their summary. The file is parsed once per
// process and the set shared: a PolicySet does not change once loaded, and
// each of the five recompute checks asked for its own (25 ms of CPU each at
// every scan's start).
func DefaultPolicies() (*PolicySet, error) { return defaultPolicies() }

var defaultPolicies = sync.OnceValues(func() (*PolicySet, error) {
	ps, err := loadPolicies(defaultYAML, DefaultSource)
	if err != nil {
		return nil, fmt.Errorf("settlement: embedded default policies: %w", err)
	}
	return ps, nil
})
