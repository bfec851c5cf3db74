package api_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/medaudit/medaudit/api"
	"github.com/medaudit/medaudit/auth"
	"github.com/medaudit/medaudit/casebook"
	"github.com/medaudit/medaudit/pipeline"
	"github.com/medaudit/medaudit/pipeline/pipelinetest"
)

// tokenClient calls the JSON API with a bearer token.
type tokenClient struct {
	t    *testing.T
	base string
	tok  string
}

func (e *env) token(t *testing.T, user string) *tokenClient {
	t.Helper()
	tok, err := auth.NewStore(e.db.DB, time.Now, auth.DefaultConfig()).CreateToken(context.Background(), user, "test")
	if err != nil {
		t.Fatal(err)
	}
	return &tokenClient{t: t, base: e.srv.URL, tok: tok}
}

// call sends body (a JSON value, or raw bytes with contentType) and decodes
// the JSON answer into a generic map.
func (c *tokenClient) call(method, path, contentType string, body any) (int, map[string]any, string) {
	c.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		r, contentType = bytes.NewReader(j), "application/json"
	}
	req, _ := http.NewRequest(method, c.base+path, r)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Authorization", "Bearer "+c.tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	json.Unmarshal(raw, &m)
	return resp.StatusCode, m, string(raw)
}

// waitFor polls path until its "status" is no longer "running".
func (c *tokenClient) waitFor(path string) map[string]any {
	c.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		status, m, raw := c.call("GET", path, "", nil)
		if status != 200 {
			c.t.Fatalf("GET %s: %d %s", path, status, raw)
		}
		if m["status"] != "running" {
			return m
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatalf("%s still running after 60 s", path)
	return nil
}

// batchArchive packs the files of dir as a tar (gzip-compressed if gz), a
// zip or a multipart body, each entry under prefix.
func batchArchive(t *testing.T, dir, kind, prefix string) ([]byte, string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	var tw *tar.Writer
	var zw *zip.Writer
	var mw *multipart.Writer
	var gz *gzip.Writer
	contentType := ""
	switch kind {
	case "tar":
		tw, contentType = tar.NewWriter(&buf), "application/x-tar"
	case "tar.gz":
		gz = gzip.NewWriter(&buf)
		tw, contentType = tar.NewWriter(gz), "application/gzip"
	case "zip":
		zw, contentType = zip.NewWriter(&buf), "application/zip"
	case "multipart":
		mw = multipart.NewWriter(&buf)
		contentType = mw.FormDataContentType()
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		name := prefix + e.Name()
		var w io.Writer
		switch {
		case tw != nil:
			tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg})
			w = tw
		case zw != nil:
			w, _ = zw.Create(name)
		default:
			w, _ = mw.CreateFormFile("files", name)
		}
		w.Write(b)
	}
	switch {
	case tw != nil:
		tw.Close()
		if gz != nil {
			gz.Close()
		}
	case zw != nil:
		zw.Close()
	default:
		mw.Close()
	}
	return buf.Bytes(), contentType
}

// tarOf builds a tar from hand-made headers, for hostile archives.
func tarOf(t *testing.T, entries ...tar.Header) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range entries {
		body := bytes.Repeat([]byte("x"), int(h.Size))
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		tw.Write(body)
	}
	tw.Close()
	return buf.Bytes()
}

// TestUploadBatch: a batch folder uploaded as multipart, tar, tar.gz and
// zip loads in the background with its ledger; the same files again are
// unchanged rows under the same batch id; hostile archives are refused
// with the field and reason, and nothing is written outside the staging
// folder.
func TestUploadBatch(t *testing.T) {
	e := newEnv(t)
	aud := e.token(t, "aud_xihu")
	dir := t.TempDir()
	b := pipelinetest.Valid()
	b["institutions"] = append(b["institutions"], pipelinetest.Row{"H33010600009", "西湖新院", "hospital", "2", "330106", "300", ""})
	b.WriteCSV(t, dir)
	var batchID string
	for i, kind := range []string{"multipart", "tar", "tar.gz", "zip"} {
		prefix := ""
		if kind == "tar" || kind == "zip" {
			prefix = "march-batch/"
		}
		body, ct := batchArchive(t, dir, kind, prefix)
		status, m, raw := aud.call("POST", "/api/v1/batches", ct, body)
		if status != http.StatusAccepted {
			t.Fatalf("%s upload: %d %s", kind, status, raw)
		}
		if batchID == "" {
			batchID, _ = m["batch_id"].(string)
		} else if m["batch_id"] != batchID {
			t.Errorf("%s: batch id %v, want %s (same files)", kind, m["batch_id"], batchID)
		}
		done := aud.waitFor("/api/v1/batches/" + batchID)
		if done["status"] != "committed" {
			t.Fatalf("%s: batch status %v", kind, done)
		}
		runs := done["runs"].([]any)
		if len(runs) != i+1 {
			t.Fatalf("%s: %d runs, want %d", kind, len(runs), i+1)
		}
		var loaded, unchanged, read float64
		for _, f := range runs[0].(map[string]any)["files"].([]any) {
			fm := f.(map[string]any)
			loaded += fm["loaded"].(float64)
			unchanged += fm["unchanged"].(float64)
			read += fm["read"].(float64)
		}
		// New: the institution, and the fee line the fixture's batch had
		// quarantined (its amount did not add up there).
		if i == 0 && (loaded != 2 || unchanged != read-2) {
			t.Errorf("first upload: loaded %v unchanged %v of %v, want 2 new rows", loaded, unchanged, read)
		}
		if i > 0 && (loaded != 0 || unchanged != read) {
			t.Errorf("%s re-upload: loaded %v unchanged %v of %v", kind, loaded, unchanged, read)
		}
	}
	var n int
	if err := e.db.QueryRow(`SELECT count(*) FROM institutions WHERE org_code = 'H33010600009'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("the uploaded institution is stored %d times", n)
	}

	outside := filepath.Join(filepath.Dir(t.TempDir()), "evil.csv")
	hostile := []struct {
		name        string
		contentType string
		body        []byte
		status      int
		want        string
	}{
		{"traversal", "application/x-tar", tarOf(t, tar.Header{Name: "../evil.csv", Size: 3, Mode: 0o644, Typeflag: tar.TypeReg}), 400, "path leaves the batch folder"},
		{"absolute", "application/x-tar", tarOf(t, tar.Header{Name: outside, Size: 3, Mode: 0o644, Typeflag: tar.TypeReg}), 400, "absolute path"},
		{"deep", "application/x-tar", tarOf(t, tar.Header{Name: "a/b/settlements.csv", Size: 3, Mode: 0o644, Typeflag: tar.TypeReg}), 400, "a batch is flat"},
		{"symlink", "application/x-tar", tarOf(t, tar.Header{Name: "settlements.csv", Linkname: "/etc/passwd", Mode: 0o777, Typeflag: tar.TypeSymlink}), 400, "only regular files"},
		{"twice", "application/x-tar", tarOf(t, tar.Header{Name: "persons.csv", Size: 3, Mode: 0o644, Typeflag: tar.TypeReg},
			tar.Header{Name: "x/persons.csv", Size: 3, Mode: 0o644, Typeflag: tar.TypeReg}), 400, "appears twice"},
		{"no contract files", "application/x-tar", tarOf(t, tar.Header{Name: "readme.txt", Size: 3, Mode: 0o644, Typeflag: tar.TypeReg}), 400, "no contract files"},
		{"not a tar", "application/x-tar", []byte("settlements,but not a tar archive at all, just text that goes on and on for a while ...................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................."), 400, `"field":"body"`},
		{"not gzip", "application/gzip", []byte("plain"), 400, "not a gzip stream"},
		{"not zip", "application/zip", []byte("plain"), 400, "not a readable zip"},
		{"text", "text/plain", []byte("hello"), 415, `"field":"Content-Type"`},
		{"no boundary", "multipart/form-data", []byte("hello"), 400, "without a boundary"},
	}
	for _, h := range hostile {
		status, _, raw := aud.call("POST", "/api/v1/batches", h.contentType, h.body)
		if status != h.status || !strings.Contains(raw, h.want) {
			t.Errorf("%s: %d %s, want %d %q", h.name, status, raw, h.status, h.want)
		}
	}
	if _, err := os.Stat(outside); err == nil {
		t.Error("an archive entry was written outside the staging folder")
	}
	if status, _, _ := aud.call("GET", "/api/v1/batches/bnope", "", nil); status != 404 {
		t.Errorf("unknown batch: %d", status)
	}
	rev := e.token(t, "rev_a")
	if status, _, _ := rev.call("POST", "/api/v1/batches", "application/x-tar", tarOf(t)); status != 403 {
		t.Errorf("reviewer upload: %d", status)
	}
}

// TestUploadBombs: a server with small limits stops gzip and zip bombs and
// oversized uploads at the limit (413), and caps the number of entries.
func TestUploadBombs(t *testing.T) {
	e := newEnv(t)
	aud := e.token(t, "aud_xihu")
	_, aud.base = e.server(t, api.WithUploads(t.TempDir(), api.UploadLimits{MaxBytes: 64 << 10, MaxFiles: 3}))

	// 64 MiB of zeros inside a ~64 KiB tar.gz.
	var bomb bytes.Buffer
	gz := gzip.NewWriter(&bomb)
	tw := tar.NewWriter(gz)
	tw.WriteHeader(&tar.Header{Name: "fee_items.csv", Size: 64 << 20, Mode: 0o644, Typeflag: tar.TypeReg})
	zero := make([]byte, 1<<20)
	for range 64 {
		tw.Write(zero)
	}
	tw.Close()
	gz.Close()
	var zbomb bytes.Buffer
	zw := zip.NewWriter(&zbomb)
	w, _ := zw.Create("fee_items.csv")
	for range 64 {
		w.Write(zero)
	}
	zw.Close()
	for _, tc := range []struct {
		name, contentType string
		body              []byte
		status            int
	}{
		{"gzip bomb", "application/gzip", bomb.Bytes(), 413},
		{"zip bomb", "application/zip", zbomb.Bytes(), 413},
		{"plain too large", "application/x-tar", tarOf(t, tar.Header{Name: "persons.csv", Size: 1 << 20, Mode: 0o644, Typeflag: tar.TypeReg}), 413},
		{"too many files", "application/x-tar", tarOf(t, tar.Header{Name: "a.txt", Typeflag: tar.TypeReg}, tar.Header{Name: "b.txt", Typeflag: tar.TypeReg},
			tar.Header{Name: "c.txt", Typeflag: tar.TypeReg}, tar.Header{Name: "d.txt", Typeflag: tar.TypeReg}), 400},
	} {
		status, _, raw := aud.call("POST", "/api/v1/batches", tc.contentType, tc.body)
		if status != tc.status {
			t.Errorf("%s: %d %s, want %d", tc.name, status, raw, tc.status)
		}
	}
	var runs int
	if err := e.db.QueryRow(`SELECT count(*) FROM ingest_runs`).Scan(&runs); err != nil {
		t.Fatal(err)
	}
	if runs != 1 {
		t.Errorf("%d ingest runs, want only the fixture's", runs)
	}
}

// TestScanOverAPI: a scan starts in the background and its status, timings
// and per-family summary (scoped to the user's districts) can be followed;
// a second long write while one runs is refused with 409.
func TestScanOverAPI(t *testing.T) {
	e := newEnv(t)
	aud := e.token(t, "aud_xihu")
	other := e.token(t, "aud_other")
	for _, tc := range []struct {
		path, body string
		status     int
		want       string
	}{
		{"/api/v1/scans", `{"detectors":["no_such_family"]}`, 400, `"field":"detectors"`},
		{"/api/v1/scans", `{"detectors":`, 400, `"field":"body"`},
	} {
		if status, _, raw := aud.call("POST", tc.path, "application/json", []byte(tc.body)); status != tc.status || !strings.Contains(raw, tc.want) {
			t.Errorf("POST %s %s: %d %s", tc.path, tc.body, status, raw)
		}
	}
	// The fixture's scan 1: its ghost-bed flag is in 330106.
	_, m, _ := aud.call("GET", "/api/v1/scans/1", "", nil)
	if fams := m["families"].([]any); len(fams) != 1 || fams[0].(map[string]any)["amount_at_risk"] != "950.00" {
		t.Errorf("scan 1 for 330106: %v", m["families"])
	}
	if _, m, _ := other.call("GET", "/api/v1/scans/1", "", nil); len(m["families"].([]any)) != 0 {
		t.Errorf("scan 1 for 330102 shows another district's flags: %v", m["families"])
	}
	for path, want := range map[string]int{"/api/v1/scans/abc": 400, "/api/v1/scans/999": 404, "/api/v1/scans?limit=0": 400} {
		if status, _, _ := aud.call("GET", path, "", nil); status != want {
			t.Errorf("GET %s: %d, want %d", path, status, want)
		}
	}

	status, m, raw := aud.call("POST", "/api/v1/scans", "application/json", []byte(`{"detectors":["ghost_bed","settlement"]}`))
	if status != http.StatusAccepted || m["scan_id"] != 2.0 {
		t.Fatalf("start scan: %d %s", status, raw)
	}
	done := aud.waitFor("/api/v1/scans/2")
	if done["status"] != "done" || done["scan"].(map[string]any)["status"] != "done" || len(done["detectors"].([]any)) == 0 || done["cases"] == nil {
		t.Errorf("scan 2: %v", done)
	}
	// The settlement recompute ran: the scan names its policy file (the
	// built-in examples) and their coverage.
	if p, ok := done["policy"].(map[string]any); !ok || p["policies"].(map[string]any)["example"] != true ||
		!strings.HasPrefix(p["text"].(string), "政策覆盖率：") {
		t.Errorf("scan 2 policy: %v", done["policy"])
	}
	if _, m, _ := aud.call("GET", "/api/v1/scans/1", "", nil); m["policy"] != nil {
		t.Errorf("scan 1 ran no recompute but has a policy: %v", m["policy"])
	}
	if _, m, _ := aud.call("GET", "/api/v1/scans", "", nil); len(m["scans"].([]any)) != 2 {
		t.Errorf("scans listed: %v", m["scans"])
	}
	if sc, ok := done["scope"].(map[string]any); !ok || sc["mode"] != "full" {
		t.Errorf("scan 2 scope: %v", done["scope"])
	}
	// An incremental scan asked for by this district auditor cannot build
	// on scan 2, which changed the flags of their district only: it runs
	// in full and says why.
	if status, _, raw := aud.call("POST", "/api/v1/scans", "application/json", []byte(`{"detectors":["ghost_bed","settlement"],"incremental":true}`)); status != http.StatusAccepted {
		t.Fatalf("start incremental scan: %d %s", status, raw)
	}
	third := aud.waitFor("/api/v1/scans/3")
	sc, _ := third["scope"].(map[string]any)
	if reason, _ := sc["reason"].(string); third["status"] != "done" || sc["mode"] != "full" || !strings.Contains(reason, "部分统筹区") {
		t.Errorf("scan 3 (incremental on a district scan): %v %v", third["status"], third["scope"])
	}
	// Per-detector flag counts are the user's districts' too: 330102 has
	// no data, so none of scan 2's flags.
	_, m, _ = other.call("GET", "/api/v1/scans/2", "", nil)
	for _, d := range m["detectors"].([]any) {
		if n := d.(map[string]any)["flags"]; n != 0.0 {
			t.Errorf("scan 2 for 330102: %v", d)
		}
	}
}

// TestWriterBusy: while another writer (an ingest, a scheduled report)
// holds the database, uploads and scans are refused with 409 naming it.
func TestWriterBusy(t *testing.T) {
	e := newEnv(t)
	aud := e.token(t, "aud_xihu")
	var s *api.Server
	s, aud.base = e.server(t)
	if _, ok := s.Writer().TryAcquire("monthly report"); !ok {
		t.Fatal("writer busy at start")
	}
	status, _, raw := aud.call("POST", "/api/v1/scans", "", nil)
	if status != 409 || !strings.Contains(raw, "monthly report") {
		t.Errorf("scan while busy: %d %s", status, raw)
	}
	dir := t.TempDir()
	pipelinetest.Valid().WriteCSV(t, dir)
	body, ct := batchArchive(t, dir, "tar", "")
	if status, _, raw := aud.call("POST", "/api/v1/batches", ct, body); status != 409 {
		t.Errorf("upload while busy: %d %s", status, raw)
	}
	s.Writer().Release()
	if status, _, raw := aud.call("POST", "/api/v1/batches", ct, body); status != 202 {
		t.Errorf("upload once free: %d %s", status, raw)
	}
}

// TestCaseWorkflowOverAPI: an auditor's case from triage to closing over
// the API, each refusal with its reason, and the audit log that records it.
func TestCaseWorkflowOverAPI(t *testing.T) {
	e := newEnv(t)
	if _, err := e.db.Exec(`INSERT INTO flags VALUES ('F2', 1, 1, 'card_misuse.no_visit_swipe', 'card_misuse', 'card', 'A12345678', 'H33010600001',
		0.9, 400.00, 'absolute', '{"summary":"无就诊刷卡"}', 'open', NULL)`); err != nil {
		t.Fatal(err)
	}
	if _, err := casebook.NewStore(e.db.DB, time.Now).OpenCases(context.Background(), "system:test"); err != nil {
		t.Fatal(err)
	}
	if err := auth.NewStore(e.db.DB, time.Now, auth.DefaultConfig()).CreateUser(context.Background(),
		auth.User{ID: "admin_all", Role: auth.Admin, Districts: []string{"*"}}, password); err != nil {
		t.Fatal(err)
	}
	id := casebook.CaseID("card", "A12345678")
	aud, sup, admin := e.token(t, "aud_xihu"), e.token(t, "sup"), e.token(t, "admin_all")
	other := e.token(t, "aud_other")

	_, m, _ := aud.call("GET", "/api/v1/cases?state=open", "", nil)
	if m["total"] != 1.0 || !strings.Contains(mustJSON(m), id) {
		t.Errorf("open cases: %v", m)
	}
	for q, want := range map[string]int{"?state=bogus": 400, "?district=33": 400, "?limit=5000": 400} {
		if status, _, _ := aud.call("GET", "/api/v1/cases"+q, "", nil); status != want {
			t.Errorf("cases%s: %d", q, status)
		}
	}
	if _, m, _ := other.call("GET", "/api/v1/cases", "", nil); m["total"] != 0.0 {
		t.Errorf("another district lists %v cases", m["total"])
	}
	if _, m, _ := aud.call("GET", "/api/v1/cases?district=330102", "", nil); m["total"] != 0.0 {
		t.Errorf("asking for another district lists %v cases", m["total"])
	}

	base := "/api/v1/cases/" + id
	steps := []struct {
		who    *tokenClient
		path   string
		body   string
		status int
		want   string
	}{
		{aud, "/decision", `{"verdict":"violation","amount":"5.00"}`, 409, "not possible"},
		{aud, "/actions", `{"action":"explode"}`, 400, `"field":"action"`},
		{aud, "/actions", `{"action":"triage","note":"took it"}`, 200, `"state":"triage"`},
		{aud, "/assign", ``, 400, "no clinical flag"},
		{aud, "/decision", `{"verdict":"violation","amount":"abc"}`, 400, `"field":"amount"`},
		{aud, "/decision", `{"verdict":"violation","amount":"9999.00"}`, 400, `"field":"amount"`},
		{aud, "/decision", `{"verdict":"violation","amount":"300.00","note":"no visit that day"}`, 200, `"state":"decided"`},
		{aud, "/appeal", `{"note":""}`, 400, `"field":"note"`},
		{aud, "/appeal", `{"note":"机构称当日有门诊记录"}`, 200, `"state":"appeal"`},
		{aud, "/actions", `{"action":"finalize"}`, 403, "role"},
		{sup, "/actions", `{"action":"finalize"}`, 200, `"state":"final"`},
		{aud, "/recovery", `{"amount":"100.00","basis":"art99","percent":100}`, 400, `"field":"basis"`},
		{aud, "/recovery", `{"amount":"100.00","basis":"art38","percent":50}`, 400, "100%–200%"},
		{aud, "/recovery", `{"amount":"400.00","basis":"art38","percent":100}`, 400, "at most the violating amount"},
		{aud, "/recovery", `{"amount":"300.00","basis":"art38","percent":150}`, 200, `"recovered":"300.00"`},
		{other, "/actions", `{"action":"close"}`, 404, "no such case"},
		{admin, "/actions", `{"action":"close"}`, 403, "role"},
		{sup, "/actions", `{"action":"close"}`, 200, `"state":"closed"`},
	}
	for i, st := range steps {
		status, _, raw := st.who.call("POST", base+st.path, "application/json", []byte(st.body))
		if status != st.status || !strings.Contains(raw, st.want) {
			t.Errorf("step %d %s %s: %d %s, want %d %q", i, st.path, st.body, status, raw, st.status, st.want)
		}
	}
	if _, m, _ := aud.call("GET", "/api/v1/cases/"+id, "", nil); !strings.Contains(mustJSON(m), `"fine":"450.00"`) {
		t.Errorf("case after recovery: %v", m)
	}

	_, m, _ = aud.call("GET", "/api/v1/audit?case_id="+id, "", nil)
	var kinds []string
	for _, ev := range m["events"].([]any) {
		kinds = append(kinds, ev.(map[string]any)["kind"].(string))
	}
	if got := strings.Join(kinds, ","); got != "opened,triage,decide,appeal,finalize,record_recovery,close" {
		t.Errorf("audit trail of the case: %s", got)
	}
	if _, m, _ := other.call("GET", "/api/v1/audit", "", nil); m["total"] != 0.0 || m["chain"] != nil {
		t.Errorf("another district's audit log: %v", m)
	}
	if _, m, _ := admin.call("GET", "/api/v1/audit?limit=1", "", nil); m["chain"].(map[string]any)["verified"] != true {
		t.Errorf("admin audit log: %v", m)
	}
	if status, _, _ := aud.call("GET", "/api/v1/audit?since=yesterday", "", nil); status != 400 {
		t.Errorf("bad since: %d", status)
	}
	// The panel case is already under review: assigning it again conflicts.
	if status, _, raw := aud.call("POST", "/api/v1/cases/"+e.panelCase+"/assign", "", nil); status != 409 {
		t.Errorf("re-assign: %d %s", status, raw)
	}
	// A new clinical case goes to two reviewers of its specialty, never the
	// one from the flagged institution's district.
	if _, err := e.db.Exec(`INSERT INTO flags VALUES ('F3', 1, 1, 'impersonation.after_death', 'impersonation', 'settlement', 'S002', 'H33010600001',
		0.7, 36.00, 'clinical', '{"summary":"冒名"}', 'open', NULL)`); err != nil {
		t.Fatal(err)
	}
	if _, err := casebook.NewStore(e.db.DB, time.Now).OpenCases(context.Background(), "system:test"); err != nil {
		t.Fatal(err)
	}
	id3 := casebook.CaseID("settlement", "S002")
	if status, _, raw := aud.call("POST", "/api/v1/cases/"+id3+"/assign", "", nil); status != 200 || !strings.Contains(raw, `"state":"panel_review"`) {
		t.Fatalf("assign: %d %s", status, raw)
	}
	var experts string
	if err := e.db.QueryRow(`SELECT string_agg(expert_id, ',' ORDER BY expert_id) FROM assignments WHERE case_id = ?`, id3).Scan(&experts); err != nil {
		t.Fatal(err)
	}
	if experts != "dr_a,dr_b" {
		t.Errorf("assigned reviewers %q, want dr_a,dr_b (dr_home works in the district)", experts)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestInstitutions: listing, profile, peer comparison and annual score,
// each scoped to the user's districts.
func TestInstitutions(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	b := pipelinetest.Valid()
	b["institutions"] = append(b["institutions"], pipelinetest.Row{"H33010200009", "上城人民医院", "hospital", "3", "330102", "300", ""})
	b["settlements"] = append(b["settlements"], pipelinetest.Row{"S003", "P002", "B87654321", "H33010200009", "inpatient", "0301", "D330102000001", "2025-03-06 09:10:00", "2025-03-16 10:00:00", "J18.900",
		"5000.00", "3000.00", "0.00", "2000.00", "620102", "330106", "", "false", "2025-03-16 10:30:00", "false", "21", "1", ""})
	b.WriteCSV(t, dir)
	if _, err := pipeline.Ingest(context.Background(), e.db, dir, pipeline.DefaultConfig()); err != nil {
		t.Fatal(err)
	}
	aud, other := e.token(t, "aud_xihu"), e.token(t, "aud_other")
	_, m, _ := aud.call("GET", "/api/v1/institutions", "", nil)
	if js := mustJSON(m); !strings.Contains(js, "H33010600001") || strings.Contains(js, "H33010200009") {
		t.Errorf("institutions of 330106: %s", js)
	}
	if _, m, _ := aud.call("GET", "/api/v1/institutions?kind=pharmacy", "", nil); len(m["institutions"].([]any)) != 1 {
		t.Errorf("pharmacies: %v", m)
	}
	_, m, _ = aud.call("GET", "/api/v1/institutions/H33010600001", "", nil)
	if js := mustJSON(m); !strings.Contains(js, `{"amount":"1000.00","count":1,"key":"inpatient"}`) || !strings.Contains(js, `{"amount":"950.00","count":1,"key":"ghost_bed"}`) {
		t.Errorf("profile: %s", js)
	}
	_, m, _ = aud.call("GET", "/api/v1/institutions/H33010600001/peers", "", nil)
	metrics := map[string]map[string]any{}
	for _, x := range m["metrics"].([]any) {
		mm := x.(map[string]any)
		metrics[mm["metric"].(string)] = mm
	}
	// Own stay: 2 days, 1000 yuan; the one peer: 10 days, 5000 yuan.
	if los := metrics["avg_los_days"]; los == nil || los["value"] != 2.0 || los["peer_median"] != 10.0 || los["peers"] != 1.0 {
		t.Errorf("length-of-stay comparison: %v", m["metrics"])
	}
	if cost := metrics["inpatient_cost_yuan"]; cost == nil || cost["value"] != 1000.0 || cost["peer_median"] != 5000.0 {
		t.Errorf("cost comparison: %v", m["metrics"])
	}
	if js := mustJSON(m); strings.Contains(js, "H33010200009") {
		t.Error("the peer comparison names another district's institution")
	}
	if status, m, raw := aud.call("GET", "/api/v1/institutions/H33010600001/score?year=2025", "", nil); status != 200 || m["score"].(map[string]any)["total"] == nil {
		t.Errorf("score: %d %s", status, raw)
	}
	if status, _, _ := aud.call("GET", "/api/v1/institutions/H33010600001/score?year=1900", "", nil); status != 400 {
		t.Errorf("bad year: %d", status)
	}
	for _, path := range []string{"/api/v1/institutions/H33010600001", "/api/v1/institutions/H33010600001/peers", "/api/v1/institutions/nope"} {
		if status, _, raw := other.call("GET", path, "", nil); status != 404 || strings.Contains(raw, "西湖") {
			t.Errorf("%s from another district: %d %s", path, status, raw)
		}
	}
}

// TestReportsOverAPI: report runs listed and downloaded by the users of
// their districts only; inspection packs rendered on demand as HTML or xlsx.
func TestReportsOverAPI(t *testing.T) {
	e := newEnv(t)
	aud, other := e.token(t, "aud_xihu"), e.token(t, "aud_other")
	if _, m, _ := aud.call("GET", "/api/v1/reports", "", nil); len(m["reports"].([]any)) != 1 {
		t.Errorf("reports of 330106: %v", m)
	}
	if _, m, _ := other.call("GET", "/api/v1/reports", "", nil); len(m["reports"].([]any)) != 0 {
		t.Errorf("another district lists 330106's reports: %v", m)
	}
	req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/reports/1/files/monthly-2025-03.html", nil)
	req.Header.Set("Authorization", "Bearer "+aud.tok)
	for range 2 { // the second answer comes from the cache: same headers
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" ||
			!strings.HasPrefix(resp.Header.Get("Content-Disposition"), "inline") || string(body) != "<p>西湖区月度报告</p>" {
			t.Errorf("report file: %d %v %q", resp.StatusCode, resp.Header, body)
		}
	}
	for path, want := range map[string]int{
		"/api/v1/reports/1/files/nope.html":                                      404,
		"/api/v1/reports/x/files/a":                                              400,
		"/api/v1/reports/2/files/monthly-2025-03.html":                           404,
		"/api/v1/institutions/H33010600001/inspection":                           400,
		"/api/v1/institutions/H33010600001/inspection?quarter=2025Q5":            400,
		"/api/v1/institutions/H33010600001/inspection?quarter=2025Q1&format=pdf": 400,
	} {
		if status, _, raw := aud.call("GET", path, "", nil); status != want {
			t.Errorf("%s: %d %s, want %d", path, status, raw, want)
		}
	}
	if status, _, _ := other.call("GET", "/api/v1/reports/1/files/monthly-2025-03.html", "", nil); status != 404 {
		t.Errorf("another district's report file: %d", status)
	}
	status, _, html := aud.call("GET", "/api/v1/institutions/H33010600001/inspection?quarter=2025Q1", "", nil)
	if status != 200 || !strings.Contains(html, "杭州西湖第一医院") || !strings.Contains(html, "<canvas") {
		t.Errorf("inspection pack HTML: %d %.300s", status, html)
	}
	status, _, xlsx := aud.call("GET", "/api/v1/institutions/H33010600001/inspection?quarter=2025Q1&format=xlsx", "", nil)
	if status != 200 || !strings.HasPrefix(xlsx, "PK") {
		t.Errorf("inspection pack xlsx: %d", status)
	}
	page := e.client(t).login("aud_xihu")
	if status, body, _ := page.do("GET", "/reports", nil, nil); status != 200 || !strings.Contains(body, "月度稽核报告") || !strings.Contains(body, "/api/v1/reports/1/files/monthly-2025-03.html") {
		t.Errorf("reports page: %d", status)
	}
}

// server starts a second server over the test database, with options;
// it returns the server and its base URL.
func (e *env) server(t *testing.T, opts ...api.Option) (*api.Server, string) {
	t.Helper()
	s, err := api.New(e.db, time.Now, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return s, srv.URL
}
