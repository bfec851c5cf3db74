package casebook_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/medaudit/medaudit/casebook"
)

// bedLines is the number of bed lines charged on 2025-03-02 in f.
func bedLines(f casebook.CaseFile) int {
	for _, d := range f.Days {
		if d.Date == "2025-03-02" {
			return d.Lines["bed"]
		}
	}
	return -1
}

// TestCaseFileStoredAtWrite: opening a case and every change to it store
// its case file in the same transaction; the stored file is exactly the
// one assembled from the tables (masked, and unmasked for the roles that
// need ID numbers); after a new ingest run the stored file is stale, File
// assembles it again and the next OpenCases stores it anew.
func TestCaseFileStoredAtWrite(t *testing.T) {
	ctx := context.Background()
	db, s := setup(t)
	if _, err := s.OpenCases(ctx, "system:scan"); err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, `SELECT count(*) FROM case_files`); n != 2 {
		t.Fatalf("%d case files stored, want 2", n)
	}
	stay := casebook.CaseID("settlement", "S001")
	if err := s.Act(ctx, stay, "aud1", casebook.RoleAuditor, casebook.ActTriage, "初审"); err != nil {
		t.Fatal(err)
	}
	var body string
	if err := db.QueryRow(`SELECT file FROM case_files WHERE case_id = ?`, stay).Scan(&body); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(body, `"state":"triage"`) || !strings.Contains(body, `"Kind":"triage"`) && !strings.Contains(body, `"kind":"triage"`) {
		t.Errorf("the stored file misses the triage: %.300s", body)
	}
	for _, unmasked := range []bool{false, true} {
		stored, err := s.File(ctx, stay, unmasked)
		if err != nil {
			t.Fatal(err)
		}
		st, err := s.Stamp(ctx)
		if err != nil {
			t.Fatal(err)
		}
		raw, district, ok, err := s.StoredFile(ctx, stay, st)
		if want, _ := json.Marshal(stored); !unmasked && (err != nil || !ok || district != "330106" || string(raw) != string(want)) {
			t.Errorf("the stored JSON (%v %v, district %q)\n%s\nis not the case file\n%s", ok, err, district, raw, want)
		}
		if _, err := db.Exec(`DELETE FROM case_files WHERE case_id = ?`, stay); err != nil {
			t.Fatal(err)
		}
		assembled, err := s.File(ctx, stay, unmasked)
		if err != nil {
			t.Fatal(err)
		}
		a, _ := json.Marshal(stored)
		b, _ := json.Marshal(assembled)
		if string(a) != string(b) {
			t.Errorf("unmasked=%v: stored file\n%s\nassembled file\n%s", unmasked, a, b)
		}
		if masked := strings.Contains(stored.Stay.IDNumber, "*") && strings.HasSuffix(stored.Stay.Name, "*"); masked == unmasked {
			t.Errorf("unmasked=%v: ID number %s, name %s", unmasked, stored.Stay.IDNumber, stored.Stay.Name)
		}
		if stored.Stay.AdmittedAt.Location().String() != "Asia/Shanghai" || len(stored.Events) != 2 || len(stored.Days) != 3 {
			t.Errorf("stored file: admitted %v, %d events, %d days", stored.Stay.AdmittedAt, len(stored.Events), len(stored.Days))
		}
		if _, err := s.OpenCases(ctx, "system:scan"); err != nil { // stores the missing file again
			t.Fatal(err)
		}
	}

	// A later batch adds a bed line to the stay.
	for _, q := range []string{
		`INSERT INTO fee_items SELECT * REPLACE ('F009' AS item_id) FROM fee_items WHERE item_id = 'F001'`,
		`INSERT INTO ingest_runs SELECT max(run_id) + 1, 'later', 'later', now(), now(), 'committed', NULL FROM ingest_runs`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if st, err := s.Stamp(ctx); err != nil {
		t.Fatal(err)
	} else if _, _, ok, err := s.StoredFile(ctx, stay, st); ok || err != nil {
		t.Errorf("a file stored before the new batch is served as fresh (%v)", err)
	}
	f, err := s.File(ctx, stay, false)
	if err != nil || bedLines(f) != 2 {
		t.Fatalf("after the new batch: %d bed lines on 2 March (want 2), %v", bedLines(f), err)
	}
	if _, err := s.OpenCases(ctx, "system:scan"); err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, `SELECT count(*) FROM case_files WHERE data_run = (SELECT max(run_id) FROM ingest_runs) AND file LIKE '%"bed":2%'`); n != 1 {
		t.Errorf("OpenCases stored %d fresh files of the stay with both bed lines, want 1", n)
	}
	if _, err := s.VerifyTrail(ctx); err != nil {
		t.Error(err)
	}
}

// TestReleasedFlagsShowOpenInStoredFiles: a flag of a case held by a
// later scan's calibration alarm and then released shows open in the
// stored case file (no event names the case, the release stores it).
func TestReleasedFlagsShowOpenInStoredFiles(t *testing.T) {
	ctx := context.Background()
	db, s := setup(t)
	if _, err := s.OpenCases(ctx, "system:scan"); err != nil {
		t.Fatal(err)
	}
	stay := casebook.CaseID("settlement", "S001")
	// A second scan holds F1 under an alarm.
	for _, q := range []string{
		`INSERT INTO scans VALUES (2, now(), now(), 'done', 2, NULL)`,
		`UPDATE flags SET status = 'suppressed', scan_id = 2 WHERE flag_id = 'F1'`,
		`INSERT INTO calibration_alarms (alarm_id, detector, family, population, cell_region, cell_insurance, cell_visit_type,
			population_size, flagged, share, ceiling, institutions, rest_share, amount_at_risk, examples, breakdown, cause,
			first_scan_id, scan_id, status)
			VALUES ('A1', 'ghost_bed.no_daily_activity', 'ghost_bed', 'inpatient_stays', '*', '*', '*', 10, 5, 0.5, 0.1, 5, 0.5, 950.00,
			'[]', '[]', '测试', 2, 2, 'open')`,
		`INSERT INTO calibration_alarm_flags VALUES ('A1', 'F1')`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.OpenCases(ctx, "system:scan"); err != nil { // stores the stale files again
		t.Fatal(err)
	}
	status := func() string {
		st, err := s.Stamp(ctx)
		if err != nil {
			t.Fatal(err)
		}
		raw, _, ok, err := s.StoredFile(ctx, stay, st)
		if err != nil || !ok {
			t.Fatalf("no fresh stored file: %v", err)
		}
		var f casebook.CaseFile
		if err := json.Unmarshal(raw, &f); err != nil || len(f.Flags) != 1 {
			t.Fatalf("stored file: %v %s", err, raw)
		}
		return f.Flags[0].Status
	}
	if got := status(); got != "suppressed" {
		t.Fatalf("held flag stored as %q", got)
	}
	if _, err := s.ResolveAlarm(ctx, "A1", "aud1", casebook.RoleAuditor, casebook.ResolveReleased, "核实：确有违规"); err != nil {
		t.Fatal(err)
	}
	if got := status(); got != "open" {
		t.Errorf("released flag stored as %q", got)
	}
}
