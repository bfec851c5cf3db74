package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/medaudit/medaudit/casebook"
)

// TestAuditorReadsTheStoredCaseFile: an auditor's case file is the stored
// one sent as it is, byte for byte the answer assembled from the tables
// (the path every other role takes, and the auditor's when no fresh file
// is stored); an auditor of another district gets 404 either way.
func TestAuditorReadsTheStoredCaseFile(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cases := casebook.NewStore(e.db.DB, time.Now)
	f, err := cases.File(ctx, e.panelCase, false)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := cases.Stamp(ctx); err != nil {
		t.Fatal(err)
	} else if _, _, ok, err := cases.StoredFile(ctx, e.panelCase, st); !ok || err != nil {
		t.Fatalf("no fresh stored file of the panel case (%v)", err)
	}
	want, _ := json.Marshal(map[string]any{"blind": false, "case_file": f})
	aud, other := e.token(t, "aud_xihu"), e.token(t, "aud_other")
	status, _, stored := aud.call("GET", "/api/v1/cases/"+e.panelCase, "", nil)
	if status != http.StatusOK || stored != string(want) {
		t.Fatalf("stored answer %d\n%s\nwant\n%s", status, stored, want)
	}
	if status, _, _ := other.call("GET", "/api/v1/cases/"+e.panelCase, "", nil); status != http.StatusNotFound {
		t.Errorf("an auditor of another district: %d", status)
	}
	if _, err := e.db.Exec(`DELETE FROM case_files`); err != nil {
		t.Fatal(err)
	}
	status, _, assembled := aud.call("GET", "/api/v1/cases/"+e.panelCase+"?assembled=1", "", nil)
	if status != http.StatusOK || assembled != stored {
		t.Errorf("assembled answer %d\n%s\nstored answer\n%s", status, assembled, stored)
	}
	if status, _, _ := other.call("GET", "/api/v1/cases/"+e.panelCase+"?assembled=1", "", nil); status != http.StatusNotFound {
		t.Errorf("an auditor of another district, assembled: %d", status)
	}
}
