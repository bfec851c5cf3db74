package settlement

import (
	"bytes"
	_ "embed"
	"fmt"
)

//go:embed policies/default.yaml
var defaultYAML []byte

// DefaultPolicies returns the shipped policies (policies/default.yaml,
// embedded). They cover the insured regions used by the fixtures; the values
// of 611002 商洛商州区 follow DOMAIN §5, the others are plausible, deliberately
// different illustrations, not official rates.
func DefaultPolicies() (*PolicySet, error) {
	ps, err := LoadPolicies(bytes.NewReader(defaultYAML))
	if err != nil {
		return nil, fmt.Errorf("settlement: embedded default policies: %w", err)
	}
	return ps, nil
}
