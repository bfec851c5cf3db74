package detectors_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/medaudit/medaudit/detectors"
)

// TestHospitalRateWordingFollowsTheSign: a hospital flagged for admitting
// far more patients per approved bed than its peers, while its share of
// short stays is far below theirs, must not be headlined as having short
// stays far above its peers.
func TestHospitalRateWordingFollowsTheSign(t *testing.T) {
	w := newWorld()
	for h := range 5 {
		code := fmt.Sprintf("H3301060002%d", h)
		beds := "50"
		if h == 4 {
			beds = "4"
		}
		w.org(code, fmt.Sprintf("一级医院%d", h), "hospital", 1, "330106", beds, "")
		for i := range 24 {
			los := 7 + i%3
			if h != 4 && i < 6+h%2 {
				los = 3
			}
			w.stay(fmt.Sprintf("S%d%02d", h, i), fmt.Sprintf("P%d%02d", h, i), code, time.Date(2025, 1, 6+i*5, 9, 0, 0, 0, time.UTC).Format(ts), los, "J18.900").
				drug(time.Date(2025, 1, 6+i*5, 10, 0, 0, 0, time.UTC)).save()
		}
	}
	f, ok := detect(t, w, "ghost_bed.hospital_rate")["H33010600024"]
	if !ok {
		t.Fatal("the hospital with 6 admissions per bed is not flagged")
	}
	feats := f.Evidence.Facts["features"].(map[string]any)
	z := feats["short_stay_share"].(map[string]any)["robust_z"].(float64)
	if z >= 0 {
		t.Fatalf("the setup must give a negative short-stay z, got %.1f", z)
	}
	if strings.Contains(f.Evidence.Title, "短期住院") || !strings.Contains(f.Evidence.Title, "床位") {
		t.Errorf("headline %q", f.Evidence.Title)
	}
	if !strings.Contains(f.Evidence.Summary, "2–4天短期住院占比远低于同类机构") || strings.Contains(f.Evidence.Summary, "短期住院占比远高于") {
		t.Errorf("summary %q (short-stay z %.1f)", f.Evidence.Summary, z)
	}
}

// TestPharmacyBurstIsNotClinical: cards swiped together at a pharmacy
// counter are judged by the auditors; no medical record explains them.
func TestPharmacyBurstIsNotClinical(t *testing.T) {
	w := newDCWorld()
	w.daytime("P33010600001", 60, "2025-01-01")
	for i := range 6 {
		w.sale(dcSale{id: fmt.Sprintf("B%d", i), org: "P33010600001", card: fmt.Sprintf("CBURST%d", i), terminal: "TBURST",
			at: fmt.Sprintf("2025-03-05 20:%02d:00", 5+i)})
	}
	f, ok := dcDetect(t, w, "card_misuse.burst_at_org", nil)["CBURST0"]
	if !ok {
		t.Fatal("the burst is not flagged")
	}
	if f.Override != detectors.Absolute {
		t.Errorf("a pharmacy burst has override class %q", f.Override)
	}
}
