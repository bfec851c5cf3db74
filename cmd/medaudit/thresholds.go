package main

import (
	"github.com/spf13/cobra"

	"github.com/medaudit/medaudit/detectors"
)

// thresholdsFlag is --thresholds FILE, a YAML file overriding documented
// detector thresholds by name (detectors.LoadThresholds), and --policies
// FILE, the insured-region policy table the recompute checks use.
type thresholdsFlag struct{ path, policies string }

func (f *thresholdsFlag) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.path, "thresholds", "", "YAML file of detector thresholds (detector → threshold → value) overriding the documented defaults")
	policiesFlag(cmd, &f.policies)
}

// config is the detectors' configuration: the file's overrides (or none)
// and the policy table (or the built-in examples).
func (f *thresholdsFlag) config() (detectors.Config, error) {
	cfg := detectors.Config{}
	if f.path != "" {
		var err error
		if cfg, err = detectors.LoadThresholds(f.path); err != nil {
			return cfg, err
		}
	}
	ps, err := loadPolicies(f.policies)
	if err != nil {
		return cfg, err
	}
	cfg.Policies = ps
	return cfg, nil
}

// registry returns every detector configured by the file.
func (f *thresholdsFlag) registry() ([]detectors.Detector, error) {
	cfg, err := f.config()
	if err != nil {
		return nil, err
	}
	return detectors.Registry(cfg)
}

// source names the thresholds in a scan's record.
func (f *thresholdsFlag) source() string {
	if f.path == "" {
		return "defaults"
	}
	return f.path
}
