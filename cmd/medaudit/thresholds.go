package main

import (
	"github.com/spf13/cobra"

	"github.com/medaudit/medaudit/detectors"
)

// thresholdsFlag is --thresholds FILE: a YAML file overriding documented
// detector thresholds by name (detectors.LoadThresholds).
type thresholdsFlag struct{ path string }

func (f *thresholdsFlag) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.path, "thresholds", "", "YAML file of detector thresholds (detector → threshold → value) overriding the documented defaults")
}

// config is the detectors' configuration: the file's overrides, or none.
func (f *thresholdsFlag) config() (detectors.Config, error) {
	if f.path == "" {
		return detectors.Config{}, nil
	}
	return detectors.LoadThresholds(f.path)
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
