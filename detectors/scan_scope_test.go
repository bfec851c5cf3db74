package detectors_test

import (
	"context"
	"testing"

	"github.com/medaudit/medaudit/detectors"
)

// fixedDetector raises a flag on each of its settlements: a plug-in as a
// bureau could write one, whose output the test sets between scans.
type fixedDetector struct{ flags []detectors.Flag }

func (d *fixedDetector) Name() string { return "other.scope_probe" }

func (d *fixedDetector) Detect(context.Context, detectors.Querier) ([]detectors.Flag, error) {
	return d.flags, nil
}

// TestScanScopedToDistricts: a scan started for some districts adds and
// resolves the flags of their institutions only; another district's open
// flag stays as it was.
func TestScanScopedToDistricts(t *testing.T) {
	ctx := context.Background()
	db, cfg := ingestSample(t)
	// One settlement at an institution of each of two districts.
	pick := func(not string) (district, org, settlement string) {
		t.Helper()
		if err := db.QueryRowContext(ctx, `SELECT i.region_code, s.org_code, min(s.settlement_id) FROM settlements s
			JOIN institutions i USING (org_code) WHERE i.region_code <> ? GROUP BY ALL ORDER BY 1, 2 LIMIT 1`, not).
			Scan(&district, &org, &settlement); err != nil {
			t.Fatal(err)
		}
		return
	}
	dA, orgA, sA := pick("")
	dB, orgB, sB := pick(dA)
	flag := func(org, settlement string) detectors.Flag {
		return detectors.Flag{Detector: "other.scope_probe", Family: "other", SubjectType: "settlement", SubjectID: settlement,
			OrgCode: org, Score: 0.5, AmountAtRisk: 100,
			Evidence: detectors.Evidence{Summary: "测试", Facts: map[string]any{"settlement_id": settlement}}}
	}
	d := &fixedDetector{flags: []detectors.Flag{flag(orgA, sA), flag(orgB, sB)}}
	now := cfg.Now
	status := func(settlement string) string {
		t.Helper()
		var st string
		if err := db.QueryRowContext(ctx, `SELECT coalesce(max(status), 'none') FROM flags WHERE subject_id = ?`, settlement).Scan(&st); err != nil {
			t.Fatal(err)
		}
		return st
	}
	if _, err := detectors.Scan(ctx, db.DB, []detectors.Detector{d}, now); err != nil {
		t.Fatal(err)
	}
	if status(sA) != "open" || status(sB) != "open" {
		t.Fatalf("after a full scan: %s %s", status(sA), status(sB))
	}
	// The rule no longer fires anywhere; a scan for district A resolves A's flag only.
	d.flags = nil
	sum, err := detectors.ScanWith(ctx, db.DB, []detectors.Detector{d}, now, detectors.ScanOptions{Guard: detectors.DefaultGuardConfig(), Districts: []string{dA}})
	if err != nil {
		t.Fatal(err)
	}
	if status(sA) != "resolved" || status(sB) != "open" || sum.Resolved != 1 {
		t.Fatalf("scan of %s: %s's flag %s, %s's flag %s, resolved %d", dA, dA, status(sA), dB, status(sB), sum.Resolved)
	}
	// A new flag in each district; a scan for district A adds A's only.
	var sA2 string
	if err := db.QueryRowContext(ctx, `SELECT max(settlement_id) FROM settlements WHERE org_code = ?`, orgA).Scan(&sA2); err != nil || sA2 == sA {
		t.Fatalf("a second settlement at %s: %q %v", orgA, sA2, err)
	}
	d.flags = []detectors.Flag{flag(orgA, sA2), flag(orgB, sB)}
	if err := db.QueryRowContext(ctx, `DELETE FROM flags WHERE subject_id = ? RETURNING 1`, sB).Scan(new(int)); err != nil {
		t.Fatal(err)
	}
	if sum, err = detectors.ScanWith(ctx, db.DB, []detectors.Detector{d}, now, detectors.ScanOptions{Guard: detectors.DefaultGuardConfig(), Districts: []string{dA}}); err != nil {
		t.Fatal(err)
	}
	if status(sA2) != "open" || status(sB) != "none" || sum.New != 1 {
		t.Fatalf("scan of %s added: %s %s, new %d", dA, status(sA2), status(sB), sum.New)
	}
}
