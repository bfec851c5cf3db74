package detectors_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/medaudit/medaudit/detectors"
)

// TestStoreEqualsDetect: every SQL detector's flags stored straight from
// DuckDB (evidence assembled in SQL) equal the flags it returns to Go and
// the scan would have encoded: same ids, fields and evidence.
func TestStoreEqualsDetect(t *testing.T) {
	ctx := context.Background()
	db, _ := ingestSample(t)
	ds, err := detectors.Registry(detectors.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `CREATE TEMP TABLE stored (flag_id VARCHAR, detector VARCHAR, family VARCHAR, subject_type VARCHAR,
		subject_id VARCHAR, org_code VARCHAR, score DOUBLE, amount_at_risk DECIMAL(18,2), override_class VARCHAR, evidence VARCHAR)`); err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	compared := 0
	for _, d := range ds {
		sd, ok := d.(*detectors.SQLDetector)
		if !ok {
			continue
		}
		flags, err := sd.Detect(ctx, conn)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{}
		for _, f := range flags {
			ev, err := json.Marshal(f.Evidence)
			if err != nil {
				t.Fatal(err)
			}
			want[detectors.FlagID(f.Detector, f.SubjectType, f.SubjectID)] = fmt.Sprintf("%s|%s|%s|%s|%s|%g|%s|%s|%s",
				f.Detector, f.Family, f.SubjectType, f.SubjectID, f.OrgCode, f.Score, f.AmountAtRisk, f.Override, canonical(t, string(ev)))
		}
		n, err := sd.Store(ctx, conn, "stored")
		if err != nil {
			t.Fatal(err)
		}
		if int(n) != len(flags) {
			t.Errorf("%s: stored %d flags, detected %d", d.Name(), n, len(flags))
		}
		rows, err := conn.QueryContext(ctx, `SELECT flag_id, detector, family, subject_type, subject_id, org_code, score, amount_at_risk::VARCHAR,
			override_class, evidence FROM stored WHERE detector = ?`, d.Name())
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id, det, fam, st, sub, org, amount, ov, ev string
			var score float64
			if err := rows.Scan(&id, &det, &fam, &st, &sub, &org, &score, &amount, &ov, &ev); err != nil {
				t.Fatal(err)
			}
			got := fmt.Sprintf("%s|%s|%s|%s|%s|%g|%s|%s|%s", det, fam, st, sub, org, score, amount, ov, canonical(t, ev))
			if want[id] != got {
				t.Errorf("%s flag %s:\n detected %.400s\n stored   %.400s", d.Name(), id, want[id], got)
			}
			compared++
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	if compared < 100 {
		t.Errorf("only %d flags compared", compared)
	}
}

// canonical re-encodes a JSON text with sorted keys.
func canonical(t *testing.T, s string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("evidence is not JSON: %v: %.200s", err, s)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
