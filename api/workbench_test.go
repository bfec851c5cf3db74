package api_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// staticName names a file the {name} of a route path may stand for.
func staticName(path string) string {
	if strings.HasPrefix(path, "/static/") {
		return "case.js"
	}
	return "monthly-2025-03.html"
}

func TestCasesWorkbench(t *testing.T) {
	e := newWorkflowEnv(t)
	aud := e.client(t).login("aud_xihu")
	// Search by case id, settlement id, person id and card number.
	for _, q := range []string{e.panelCase, "S001", "P001", "A12345678"} {
		_, body, _ := aud.do("GET", "/cases?q="+q, nil, nil)
		if !strings.Contains(body, e.panelCase) || strings.Contains(body, e.orgCase) {
			t.Errorf("search %s: the stay's case is not the only hit", q)
		}
	}
	// Sorted by amount, ascending: the smallest first.
	_, body, _ := aud.do("GET", "/cases?sort=amount&dir=asc", nil, nil)
	if i, j := strings.Index(body, e.auditorCase), strings.Index(body, e.orgCase); i < 0 || j < 0 || i > j {
		t.Errorf("ascending amount order: %d %d", i, j)
	}
	if status, _, _ := aud.do("GET", "/cases?sort=drop_table", nil, nil); status != 400 {
		t.Errorf("a bad sort: %d", status)
	}
	// Pages: two a page, links to the rest.
	_, body, _ = aud.do("GET", "/cases?limit=2", nil, nil)
	if !strings.Contains(body, `id="pager"`) || !strings.Contains(body, "offset=2") {
		t.Error("no page links with 2 cases a page")
	}
	// Institution names, and options in English under ?lang=en.
	if !strings.Contains(body, "杭州西湖第一医院") {
		t.Error("institutions without names")
	}
	_, en, _ := aud.do("GET", "/cases?lang=en", nil, nil)
	for _, want := range []string{"Ghost beds", "panel review", "internal medicine"} {
		if !strings.Contains(en, want) {
			t.Errorf("English workbench lacks %q", want)
		}
	}
	if strings.Contains(en, "挂床住院") || strings.Contains(en, "专家复审") {
		t.Error("English workbench shows Chinese options")
	}
	// Export of the current view.
	status, csv, h := aud.do("GET", "/cases/export?format=csv&family=ghost_bed&lang=zh", nil, nil)
	if status != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/csv") || !strings.Contains(csv, e.orgCase) ||
		strings.Contains(csv, e.auditorCase) || !strings.Contains(csv, "挂床住院") {
		t.Errorf("csv export: %d %s", status, csv)
	}
	lines := strings.Count(strings.TrimSpace(csv), "\n")
	var ghost int
	if err := e.db.QueryRow(`SELECT count(*) FROM cases WHERE families LIKE '%ghost_bed%'`).Scan(&ghost); err != nil {
		t.Fatal(err)
	}
	if lines != ghost {
		t.Errorf("csv has %d rows, %d ghost-bed cases", lines, ghost)
	}
	status, xlsx, h := aud.do("GET", "/cases/export?format=xlsx", nil, nil)
	if status != 200 || !strings.HasPrefix(xlsx, "PK") || !strings.Contains(h.Get("Content-Disposition"), ".xlsx") {
		t.Errorf("xlsx export: %d", status)
	}
}

// TestErrorsArePagesForPeopleAndJSONForTheAPI: a reviewer opening the
// workbench, a missing case, a refused step — HTML in Chinese (English
// under ?lang=en) with a way back; the same under /api stays JSON.
func TestErrorsArePagesForPeopleAndJSONForTheAPI(t *testing.T) {
	e := newWorkflowEnv(t)
	rev := e.client(t).login("rev_a")
	status, body, h := rev.do("GET", "/cases", nil, nil)
	if status != 403 || !strings.HasPrefix(h.Get("Content-Type"), "text/html") || !strings.Contains(body, "无权进行此操作") || !strings.Contains(body, `href="/queue"`) {
		t.Errorf("reviewer on /cases: %d %s", status, h.Get("Content-Type"))
	}
	aud := e.client(t).login("aud_xihu")
	status, body, _ = aud.do("GET", "/cases/nope?lang=en", nil, map[string]string{"Referer": e.srv.URL + "/cases?state=open"})
	if status != 404 || !strings.Contains(body, "Page or case not found") || !strings.Contains(body, `href="/cases?state=open"`) {
		t.Errorf("missing case in English: %d", status)
	}
	status, body, _ = aud.do("GET", "/no/such/page?lang=zh", nil, nil)
	if status != 404 || !strings.Contains(body, "未找到") {
		t.Errorf("no such page: %d", status)
	}
	// A step the state does not allow: 409 page, nothing recorded.
	var before int
	if err := e.db.QueryRow(`SELECT count(*) FROM case_events`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	status, body, _ = aud.do("POST", "/cases/"+e.panelCase+"/act", url.Values{"csrf": {aud.csrf}, "action": {"close"}, "confirm": {"1"}}, nil)
	if status != 403 && status != 409 || !strings.Contains(body, "<html") {
		t.Errorf("close by an auditor: %d", status)
	}
	status, body, _ = aud.do("POST", "/cases/"+e.panelCase+"/act", url.Values{"csrf": {aud.csrf}, "action": {"appeal"}, "note": {"x"}, "confirm": {"1"}}, nil)
	if status != 409 || !strings.Contains(body, "操作与案件当前状态冲突") {
		t.Errorf("appeal of a case under review: %d", status)
	}
	var after int
	if err := e.db.QueryRow(`SELECT count(*) FROM case_events`).Scan(&after); err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Errorf("refused steps wrote %d events", after-before)
	}
	status, body, h = aud.do("GET", "/api/v1/cases/nope", nil, nil)
	if status != 404 || !strings.HasPrefix(h.Get("Content-Type"), "application/json") || !strings.Contains(body, `"not_found"`) {
		t.Errorf("API 404: %d %s", status, body)
	}
	status, body, _ = rev.do("GET", "/api/v1/cases", nil, nil)
	if status != 403 || !strings.Contains(body, `"forbidden"`) {
		t.Errorf("API 403: %d %s", status, body)
	}
}

// TestAPITimesCarryTheOffset: stay times (local clock times stored
// without a zone) and instants come back as RFC 3339 with +08:00; the
// queue answers snake_case keys with the reviewer's progress.
func TestAPITimesCarryTheOffset(t *testing.T) {
	e := newWorkflowEnv(t)
	sup := e.client(t).login("sup")
	_, body, _ := sup.do("GET", "/api/v1/cases/"+e.panelCase, nil, nil)
	var f struct {
		CaseFile struct {
			Case struct {
				OpenedAt string `json:"opened_at"`
				DueAt    string `json:"due_at"`
			} `json:"case"`
			Stay struct {
				AdmittedAt   string `json:"admitted_at"`
				DischargedAt string `json:"discharged_at"`
			} `json:"stay"`
			Events []struct {
				At string `json:"at"`
			} `json:"events"`
		} `json:"case_file"`
	}
	if err := json.Unmarshal([]byte(body), &f); err != nil {
		t.Fatal(err)
	}
	cf := f.CaseFile
	if cf.Stay.AdmittedAt != "2025-03-02T09:10:00+08:00" || cf.Stay.DischargedAt != "2025-03-04T10:00:00+08:00" {
		t.Errorf("stay times %s – %s", cf.Stay.AdmittedAt, cf.Stay.DischargedAt)
	}
	for _, ts := range []string{cf.Case.OpenedAt, cf.Case.DueAt, cf.Events[0].At} {
		if !strings.HasSuffix(ts, "+08:00") {
			t.Errorf("time %q lacks +08:00", ts)
		}
	}
	var opened time.Time
	if err := e.db.QueryRow(`SELECT opened_at FROM cases WHERE case_id = ?`, e.panelCase).Scan(&opened); err != nil {
		t.Fatal(err)
	}
	if got, _ := time.Parse(time.RFC3339Nano, cf.Case.OpenedAt); !got.Equal(opened) {
		t.Errorf("opened_at %s is not the stored instant %s", cf.Case.OpenedAt, opened)
	}
	offset := regexp.MustCompile(`"(started_at|finished_at|scheduled_for)":"[^"]*"`)
	for _, path := range []string{"/api/v1/batches", "/api/v1/batches/" + e.batchID, "/api/v1/reports", "/api/v1/scans"} {
		_, body, _ := sup.do("GET", path, nil, nil)
		times := offset.FindAllString(body, -1)
		if len(times) == 0 {
			t.Errorf("%s: no times in %.200s", path, body)
		}
		for _, ts := range times {
			if !strings.HasSuffix(ts, `+08:00"`) {
				t.Errorf("%s: %s lacks +08:00", path, ts)
			}
		}
	}
	rev := e.client(t).login("rev_a")
	_, q, _ := rev.do("GET", "/api/v1/queue", nil, nil)
	for _, want := range []string{`"case_id"`, `"flag_title":"住院期间无诊疗"`, `"family_names":["挂床住院"]`, `"admitted_at":"2025-03-02T09:10:00+08:00"`, `"progress":{"done":0,"total":`} {
		if !strings.Contains(q, want) {
			t.Errorf("queue lacks %s: %s", want, q)
		}
	}
	if strings.Contains(q, `"ID"`) || strings.Contains(q, `"Institution"`) {
		t.Errorf("queue still has PascalCase keys: %s", q)
	}
}

// TestSampleAPI draws and extrapolates a recovery sample over the API.
func TestSampleAPI(t *testing.T) {
	e := newWorkflowEnv(t)
	aud := e.client(t).login("aud_xihu")
	call := func(path, body string) (int, map[string]any) {
		req, _ := http.NewRequest("POST", aud.base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-CSRF-Token", aud.csrf)
		resp, err := aud.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	if status, _ := call("/api/v1/cases/"+e.panelCase+"/sample", `{"size": 5}`); status != 409 {
		t.Errorf("a sample of a stay's case: %d", status)
	}
	status, m := call("/api/v1/cases/"+e.orgCase+"/sample", `{"size": 6, "seed": 7}`)
	if status != 200 {
		t.Fatalf("draw: %d %v", status, m)
	}
	sample := m["sample"].(map[string]any)
	claims := sample["claims"].([]any)
	if sample["seed"].(float64) != 7 || len(claims) < 6 || !strings.Contains(m["method"].(string), "Student-t 90%") {
		t.Fatalf("sample %v", m)
	}
	if status, _ := call("/api/v1/cases/"+e.orgCase+"/sample", `{"size": 6, "seed": 8}`); status != 409 {
		t.Errorf("a second draw: %d", status)
	}
	found := map[string]string{}
	for i, cl := range claims {
		found[cl.(map[string]any)["settlement_id"].(string)] = []string{"120.00", "0", "80.50"}[i%3]
	}
	b, _ := json.Marshal(map[string]any{"found": found})
	status, m = call("/api/v1/cases/"+e.orgCase+"/sample/findings", string(b))
	if status != 200 {
		t.Fatalf("findings: %d %v", status, m)
	}
	est := m["sample"].(map[string]any)["estimate"].(map[string]any)
	var dbEst string
	if err := e.db.QueryRow(`SELECT estimate::VARCHAR FROM case_samples WHERE case_id = ?`, e.orgCase).Scan(&dbEst); err != nil {
		t.Fatal(err)
	}
	if est["total"] != dbEst || est["confidence"].(float64) != 0.9 || est["low"] == nil || est["high"] == nil {
		t.Errorf("estimate %v, stored %s", est, dbEst)
	}
	// The inspection pack of the institution shows the estimate and the method.
	status, pack, _ := aud.do("GET", "/api/v1/institutions/H33010600001/inspection?quarter=2025Q1&format=html", nil, nil)
	if status != 200 || !strings.Contains(pack, "追回抽样与外推") || !strings.Contains(pack, dbEst) || !strings.Contains(pack, "分层扩张估计") {
		t.Errorf("inspection pack: %d, estimate %s shown: %v", status, dbEst, strings.Contains(pack, dbEst))
	}
	if status, m := call("/api/v1/cases/"+e.orgCase+"/sample/findings", `{"found": {"S999": "1.00"}}`); status != 400 {
		t.Errorf("a claim not drawn: %d %v", status, m)
	}
}
