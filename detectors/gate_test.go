package detectors_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/medaudit/medaudit/detectors"
	"github.com/medaudit/medaudit/detectors/detectortest"
	"github.com/medaudit/medaudit/pipeline"
)

// gateMin is the least min(precision, recall) any family may score on the
// committed sample.
const gateMin = 0.9

// TestQualityGate is CI's precision/recall gate: it ingests the committed
// fixture sample into a fresh database, runs every detector (with the
// population-rate guard) and fails when any labelled family's
// min(precision, recall) drops below gateMin, or when the honest sample
// raises a calibration alarm.
func TestQualityGate(t *testing.T) {
	if testing.Short() {
		t.Skip("the gate scans the whole sample")
	}
	ctx := context.Background()
	db, cfg := ingestSample(t)
	ds, err := detectors.Registry(detectors.Config{})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := detectors.Scan(ctx, db.DB, ds, cfg.Now)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range sum.Alarms {
		t.Errorf("the honest sample raised a calibration alarm: %s", a.Message)
	}
	rep, err := detectors.Eval(ctx, db.DB, filepath.Join(detectortest.SampleDir(), "labels.csv"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Families) == 0 {
		t.Fatal("no family scored")
	}
	for fam, s := range rep.Families {
		t.Logf("%-18s labels %4d flagged %4d precision %.3f recall %.3f", fam, s.Labels, s.Flagged, s.Precision, s.Recall)
		if s.Labels == 0 {
			t.Errorf("%s: the sample has no labels for it", fam)
		}
		if m := min(s.Precision, s.Recall); m < gateMin {
			t.Errorf("%s: min(precision %.3f, recall %.3f) = %.3f < %.2f; misses: %v", fam, s.Precision, s.Recall, m, gateMin, rep.Misses[fam])
		}
	}
	for _, r := range rep.Rules {
		if r.Share > r.Ceiling && r.PopulationSize >= detectors.DefaultGuardConfig().MinCellSubjects {
			t.Logf("above its ceiling on the sample: %+v", r)
		}
	}
}

// ingestSample loads the committed fixture sample into a fresh in-memory
// database, as of 2026-06-30; the database closes with the test.
func ingestSample(t *testing.T) (*pipeline.DB, pipeline.Config) {
	t.Helper()
	ctx := context.Background()
	db, err := pipeline.Open(ctx, ":memory:", pipeline.DBConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	cfg := pipeline.DefaultConfig()
	cfg.Now = func() time.Time { return time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC) }
	if _, err := pipeline.Ingest(ctx, db, detectortest.SampleDir(), cfg); err != nil {
		t.Fatal(err)
	}
	return db, cfg
}
