package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/medaudit/medaudit/pipeline/pipelinetest"
)

// tableSums is every table's row count and content checksum but the
// ingest runs and uploads (which record refused attempts).
func tableSums(t *testing.T, e *env) map[string]string {
	t.Helper()
	rows, err := e.db.Query(`SELECT table_name FROM duckdb_tables() WHERE NOT temporary AND table_name NOT IN ('ingest_runs', 'batch_uploads') ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	out := map[string]string{}
	for _, n := range names {
		var count int64
		var sum string
		if err := e.db.QueryRow(fmt.Sprintf(`SELECT count(*), coalesce(sum(hash(r)::HUGEINT), 0)::VARCHAR FROM %q AS r`, n)).Scan(&count, &sum); err != nil {
			t.Fatal(err)
		}
		out[n] = fmt.Sprintf("%d/%s", count, sum)
	}
	return out
}

// TestWriteIntoAnotherDistrictChangesNothing: an auditor of 330106 uploads
// a batch carrying an institution and a settlement of 330102: the batch is
// refused whole, its reason names the institution, and every table and the
// ledger are as they were. The same batch from an auditor of 330102 is
// refused too (it carries 330106's new fee line); from a supervisor of
// every district it loads.
func TestWriteIntoAnotherDistrictChangesNothing(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	b := pipelinetest.Valid()
	b["institutions"] = append(b["institutions"], pipelinetest.Row{"H33010200009", "上城人民医院", "hospital", "3", "330102", "300", ""})
	b["settlements"] = append(b["settlements"], pipelinetest.Row{"S003", "P002", "B87654321", "H33010200009", "inpatient", "0301", "D330102000001", "2025-03-06 09:10:00", "2025-03-16 10:00:00", "J18.900",
		"5000.00", "3000.00", "0.00", "2000.00", "620102", "330106", "", "false", "2025-03-16 10:30:00", "false", "21", "1", ""})
	b.WriteCSV(t, dir)
	body, ct := batchArchive(t, dir, "tar", "")
	clients := map[string]*tokenClient{"aud_xihu": e.token(t, "aud_xihu"), "aud_other": e.token(t, "aud_other")}
	before := tableSums(t, e)
	for _, user := range []string{"aud_xihu", "aud_other"} {
		c := clients[user]
		status, m, raw := c.call("POST", "/api/v1/batches", ct, body)
		if status != http.StatusAccepted {
			t.Fatalf("%s upload: %d %s", user, status, raw)
		}
		done := c.waitFor("/api/v1/batches/" + m["batch_id"].(string))
		if done["status"] != "failed" || !strings.Contains(mustJSON(done), "outside your districts") {
			t.Errorf("%s: cross-district batch: %s", user, mustJSON(done))
		}
		after := tableSums(t, e)
		for name, sum := range before {
			if after[name] != sum {
				t.Errorf("%s's refused upload changed table %s: %s → %s", user, name, sum, after[name])
			}
		}
	}
	if _, m, _ := clients["aud_xihu"].call("GET", "/api/v1/batches", "", nil); !strings.Contains(mustJSON(m), "H33010200009") {
		t.Error("the refusal does not name the institution in the uploader's ledger")
	}
	// Batches are scoped like the rest: 330102's auditor sees their own
	// refused upload but not 330106's batch, its status or its quarantine.
	_, m, _ := clients["aud_other"].call("GET", "/api/v1/batches", "", nil)
	if js := mustJSON(m); strings.Contains(js, e.batchID) || !strings.Contains(js, "outside your districts") {
		t.Errorf("aud_other's batch list: %.400s", js)
	}
	for _, path := range []string{"/api/v1/batches/" + e.batchID, "/api/v1/batches/" + e.batchID + "/quarantine"} {
		if status, _, _ := clients["aud_other"].call("GET", path, "", nil); status != http.StatusNotFound {
			t.Errorf("aud_other %s: %d", path, status)
		}
		if status, _, _ := clients["aud_xihu"].call("GET", path, "", nil); status != http.StatusOK {
			t.Errorf("aud_xihu %s: %d", path, status)
		}
	}
}
