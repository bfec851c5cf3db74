package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/medaudit/medaudit/api"
	"github.com/medaudit/medaudit/auth"
	"github.com/medaudit/medaudit/casebook"
	"github.com/medaudit/medaudit/pipeline"
	"github.com/medaudit/medaudit/pipeline/pipelinetest"
)

const password = "correct horse battery"

// env is a running server over a database with one batch, two flagged
// stays in district 330106, a panel and one user per role.
type env struct {
	srv       *httptest.Server
	db        *pipeline.DB
	batchID   string
	panelCase string
	reviewers []string // the two reviewers assigned to panelCase
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	db, err := pipeline.Open(ctx, ":memory:", pipeline.DBConfig{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	dir := t.TempDir()
	pipelinetest.Valid().Set("fee_items", 3, "amount", "99.00").WriteCSV(t, dir)
	sum, err := pipeline.Ingest(ctx, db, dir, pipeline.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO scans VALUES (1, now(), now(), 'done', 2, NULL)`,
		`INSERT INTO report_runs VALUES (1, 'monthly', 'monthly_scan', '2025-04-01 02:00:00', now(), now(), 'done', NULL, '330106', NULL)`,
		`INSERT INTO report_files VALUES (1, 'monthly-2025-03.html', 'text/html; charset=utf-8', encode('<p>西湖区月度报告</p>'), 'x', 11)`,
		`INSERT INTO flags VALUES ('F1', 1, 1, 'ghost_bed.no_daily_activity', 'ghost_bed', 'settlement', 'S001', 'H33010600001',
			0.8, 950.00, 'clinical', '{"title":"住院期间无诊疗","summary":"住院3天中2天只有床位费","facts":{"idle_days":2},"score_parts":{"idle":0.8},"thresholds":{"min_idle_share":0.5}}', 'open', NULL)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	now := func() time.Time { return time.Now().UTC() }
	cases := casebook.NewStore(db.DB, now)
	users := auth.NewStore(db.DB, now, auth.DefaultConfig())
	for i, e := range []casebook.Expert{
		{ID: "dr_a", Name: "专家甲", Specialties: []string{casebook.Internal}, HomeOrg: "H33010200001", District: "330102", WeeklyCapacity: 20},
		{ID: "dr_b", Name: "专家乙", Specialties: []string{casebook.Internal}, HomeOrg: "H33010500001", District: "330105", WeeklyCapacity: 20},
		{ID: "dr_home", Name: "本院专家", Specialties: []string{casebook.Internal}, HomeOrg: "H33010600001", District: "330106", WeeklyCapacity: 20},
	} {
		if err := cases.AddExpert(ctx, "admin", e); err != nil {
			t.Fatal(err)
		}
		if err := users.CreateUser(ctx, auth.User{ID: []string{"rev_a", "rev_b", "rev_home"}[i], Role: auth.Reviewer, Districts: []string{"*"}, ExpertID: e.ID}, password); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []auth.User{
		{ID: "aud_xihu", Name: "西湖稽核", Role: auth.Auditor, Districts: []string{"330106"}},
		{ID: "aud_other", Name: "上城稽核", Role: auth.Auditor, Districts: []string{"330102"}},
		{ID: "sup", Name: "科长", Role: auth.Supervisor, Districts: []string{"330106"}},
	} {
		if err := users.CreateUser(ctx, u, password); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cases.OpenCases(ctx, "system:test"); err != nil {
		t.Fatal(err)
	}
	id := casebook.CaseID("settlement", "S001")
	if err := cases.Act(ctx, id, "aud_xihu", casebook.RoleAuditor, casebook.ActTriage, ""); err != nil {
		t.Fatal(err)
	}
	if err := cases.SendToPanel(ctx, id, "aud_xihu", casebook.RoleAuditor); err != nil {
		t.Fatal(err)
	}
	s, err := api.New(db, now)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	t.Cleanup(s.Close) // first: background scans and ingests stop before the database closes
	return &env{srv: srv, db: db, batchID: sum.BatchID, panelCase: id, reviewers: []string{"rev_a", "rev_b"}}
}

// client is a browser-like client: a cookie jar, no automatic redirects.
type client struct {
	t    *testing.T
	base string
	hc   *http.Client
	csrf string
}

func (e *env) client(t *testing.T) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: e.srv.URL, hc: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (c *client) do(method, path string, form url.Values, headers map[string]string) (int, string, http.Header) {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, c.base+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// login signs in and picks up the session's CSRF token from a page.
func (c *client) login(user string) *client {
	c.t.Helper()
	status, _, h := c.do("POST", "/login", url.Values{"user": {user}, "password": {password}}, nil)
	if status != http.StatusSeeOther || h.Get("Location") != "/" {
		c.t.Fatalf("login %s: %d %s", user, status, h.Get("Location"))
	}
	_, page, _ := c.do("GET", "/login", nil, nil)
	_ = page
	_, home, _ := c.do("GET", "/cases/nope", nil, nil)
	if i := strings.Index(home, `name="csrf" value="`); i >= 0 {
		rest := home[i+len(`name="csrf" value="`):]
		c.csrf = rest[:strings.Index(rest, `"`)]
	}
	if c.csrf == "" {
		c.t.Fatalf("no csrf token for %s", user)
	}
	return c
}

func TestLoginAndPages(t *testing.T) {
	e := newEnv(t)
	anon := e.client(t)
	if status, _, h := anon.do("GET", "/", nil, nil); status != http.StatusSeeOther || h.Get("Location") != "/login" {
		t.Errorf("anonymous home: %d %s", status, h.Get("Location"))
	}
	if status, body, _ := anon.do("GET", "/login", nil, nil); status != 200 || !strings.Contains(body, "登录") {
		t.Errorf("login page %d", status)
	}
	if status, _, h := anon.do("POST", "/login", url.Values{"user": {"aud_xihu"}, "password": {"wrong password!"}}, nil); status != http.StatusSeeOther || h.Get("Location") != "/login?error=bad" {
		t.Errorf("bad login: %d %s", status, h.Get("Location"))
	}
	aud := e.client(t).login("aud_xihu")
	if status, body, _ := aud.do("GET", "/", nil, nil); status != 200 || !strings.Contains(body, "批次导入台账") {
		t.Errorf("auditor home %d", status)
	}
	if status, body, _ := aud.do("GET", "/cases", nil, nil); status != 200 || !strings.Contains(body, e.panelCase) {
		t.Errorf("auditor cases %d", status)
	}
	if _, body, _ := aud.do("GET", "/cases?state=panel_review&family=ghost_bed", nil, nil); !strings.Contains(body, e.panelCase) || !strings.Contains(body, "挂床住院") {
		t.Error("filtered case list lacks the panel case")
	}
	if _, body, _ := aud.do("GET", "/cases?state=closed", nil, nil); strings.Contains(body, e.panelCase) {
		t.Error("the closed-cases filter shows a case under review")
	}
	// ID numbers and names are masked for auditors.
	status, body, _ := aud.do("GET", "/cases/"+e.panelCase, nil, nil)
	if status != 200 || !strings.Contains(body, "611002********1232") || strings.Contains(body, "611002195603121232") || !strings.Contains(body, "张**") {
		t.Errorf("case page for an auditor: %d, masked id present=%v", status, strings.Contains(body, "611002********1232"))
	}
	if !strings.Contains(body, `id="timeline"`) || !strings.Contains(body, "住院期间无诊疗") || !strings.Contains(body, "J18.900") {
		t.Error("case page lacks the timeline or the evidence")
	}
	sup := e.client(t).login("sup")
	if _, body, _ := sup.do("GET", "/cases/"+e.panelCase, nil, nil); !strings.Contains(body, "611002195603121232") {
		t.Error("a supervisor should see the full ID number")
	}
	// Another district's auditor: not found, never data.
	other := e.client(t).login("aud_other")
	if status, body, _ := other.do("GET", "/cases/"+e.panelCase, nil, nil); status != 404 || strings.Contains(body, "J18.900") {
		t.Errorf("other district: %d", status)
	}
	if status, _, _ := other.do("GET", "/queue", nil, nil); status != 403 {
		t.Errorf("auditor on the reviewer queue: %d", status)
	}
	// Logout needs the CSRF token.
	if status, _, _ := aud.do("POST", "/logout", url.Values{}, nil); status != 403 {
		t.Errorf("logout without csrf: %d", status)
	}
	if status, _, _ := aud.do("POST", "/logout", url.Values{"csrf": {aud.csrf}}, nil); status != http.StatusSeeOther {
		t.Errorf("logout: %d", status)
	}
	if status, _, _ := aud.do("GET", "/cases", nil, nil); status != http.StatusSeeOther {
		t.Errorf("after logout: %d", status)
	}
}

// TestBlindReviewOverHTTP proves the second reviewer cannot read the first
// verdict (nor the score) before submitting their own.
func TestBlindReviewOverHTTP(t *testing.T) {
	e := newEnv(t)
	var assigned []string
	rows, err := e.db.Query(`SELECT u.user_id FROM assignments a JOIN users u ON u.expert_id = a.expert_id WHERE a.case_id = ? ORDER BY u.user_id`, e.panelCase)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			t.Fatal(err)
		}
		assigned = append(assigned, u)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if strings.Join(assigned, ",") != "rev_a,rev_b" {
		t.Fatalf("assigned %v: the home-district reviewer must be excluded", assigned)
	}
	home := e.client(t).login("rev_home")
	if status, _, _ := home.do("GET", "/api/v1/cases/"+e.panelCase, nil, nil); status != 404 {
		t.Errorf("unassigned reviewer read the case: %d", status)
	}
	a, b := e.client(t).login("rev_a"), e.client(t).login("rev_b")
	_, q, _ := a.do("GET", "/api/v1/queue", nil, nil)
	if !strings.Contains(q, e.panelCase) || strings.Contains(q, "priority") {
		t.Errorf("queue of rev_a: %s", q)
	}
	if status, _, _ := a.do("POST", "/api/v1/cases/"+e.panelCase+"/verdict", nil, map[string]string{"Content-Type": "application/json"}); status != 403 {
		t.Errorf("verdict without csrf: %d", status)
	}
	req := func(c *client, body string) (int, string) {
		req, _ := http.NewRequest("POST", c.base+"/api/v1/cases/"+e.panelCase+"/verdict", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-CSRF-Token", c.csrf)
		resp, err := c.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(out)
	}
	if status, body := req(a, `{"verdict":"violation","amount":"abc"}`); status != 400 || !strings.Contains(body, `"field":"amount"`) {
		t.Errorf("bad amount: %d %s", status, body)
	}
	if status, body := req(a, `{"verdict":"violation","amount":"900.00","comment":"挂床"}`); status != 200 {
		t.Fatalf("rev_a verdict: %d %s", status, body)
	}
	_, view, _ := b.do("GET", "/api/v1/cases/"+e.panelCase, nil, nil)
	var v struct {
		Blind    bool `json:"blind"`
		CaseFile struct {
			Reviews []struct{ ExpertID, Verdict string }
			Flags   []struct {
				Score    float64
				Evidence map[string]any
			}
		} `json:"case_file"`
	}
	json.Unmarshal([]byte(view), &v)
	if !v.Blind || len(v.CaseFile.Reviews) != 1 || v.CaseFile.Reviews[0].ExpertID != "dr_b" || strings.Contains(view, `"Verdict":"violation"`) ||
		v.CaseFile.Flags[0].Score != 0 || v.CaseFile.Flags[0].Evidence["score_parts"] != nil {
		t.Fatalf("rev_b sees before voting: %s", view)
	}
	if _, page, _ := b.do("GET", "/cases/"+e.panelCase, nil, nil); !strings.Contains(page, `id="blind-note"`) || strings.Contains(page, "挂床") {
		t.Error("rev_b's page is not blind")
	}
	if status, body := req(b, `{"verdict":"violation","amount":"800.00"}`); status != 200 || !strings.Contains(body, `"done":true`) {
		t.Fatalf("rev_b verdict: %d %s", status, body)
	}
	if status, _ := req(b, `{"verdict":"violation","amount":"800.00"}`); status != 409 {
		t.Errorf("second submission: %d", status)
	}
	_, view, _ = b.do("GET", "/api/v1/cases/"+e.panelCase, nil, nil)
	json.Unmarshal([]byte(view), &v)
	if v.Blind || len(v.CaseFile.Reviews) != 2 {
		t.Errorf("after voting rev_b sees both: %s", view)
	}
}

func TestAPIAccess(t *testing.T) {
	e := newEnv(t)
	anon := e.client(t)
	if status, body, _ := anon.do("GET", "/api/v1/batches", nil, nil); status != 401 || !strings.Contains(body, `"unauthorized"`) {
		t.Errorf("anonymous API: %d %s", status, body)
	}
	ctx := context.Background()
	users := auth.NewStore(e.db.DB, time.Now, auth.DefaultConfig())
	tok, err := users.CreateToken(ctx, "aud_xihu", "test")
	if err != nil {
		t.Fatal(err)
	}
	bearer := map[string]string{"Authorization": "Bearer " + tok}
	if status, body, _ := anon.do("GET", "/api/v1/batches", nil, bearer); status != 200 || !strings.Contains(body, e.batchID) {
		t.Errorf("token: %d %s", status, body)
	}
	if status, body, _ := anon.do("GET", "/api/v1/batches/"+e.batchID+"/quarantine", nil, bearer); status != 200 || strings.Contains(body, `"raw"`) || !strings.Contains(body, "amount 99.00") {
		t.Errorf("quarantine: %d %s", status, body)
	}
	if status, body, _ := anon.do("GET", "/api/v1/batches?limit=abc", nil, bearer); status != 400 || !strings.Contains(body, `"field":"limit"`) {
		t.Errorf("bad limit: %d %s", status, body)
	}
	revTok, _ := users.CreateToken(ctx, "rev_a", "test")
	if status, _, _ := anon.do("GET", "/api/v1/batches", nil, map[string]string{"Authorization": "Bearer " + revTok}); status != 403 {
		t.Errorf("reviewer on batches: %d", status)
	}
	if status, _, _ := anon.do("GET", "/api/v1/batches", nil, map[string]string{"Authorization": "Bearer mda_forged"}); status != 401 {
		t.Errorf("forged token: %d", status)
	}
	if status, _, _ := anon.do("GET", "/healthz", nil, nil); status != 200 {
		t.Error("healthz")
	}
	if status, _, _ := anon.do("GET", "/api/v1/nothing", nil, bearer); status != 404 {
		t.Error("unknown route")
	}
}

// TestQuote: the worked example A of DOMAIN §5.6 through the API, bad input
// naming its field, and the roles that may quote.
func TestQuote(t *testing.T) {
	e := newEnv(t)
	exampleA := `{"insured_region":"611002","treatment_region":"330106","insurance_type":"resident","visit_type":"inpatient",
		"hospital_level":3,"registration":"temporary","nth_admission":1,"lines":[
		{"class":"A","quantity":"1","unit_price":"11900","amount":"11900.00"},
		{"class":"C","quantity":"1","unit_price":"1200","amount":"1200.00"},
		{"class":"A","quantity":"1","unit_price":"900","price_ceiling":"600","amount":"900.00"},
		{"class":"B","quantity":"1","unit_price":"6000","amount":"6000.00","selfpay_ratio":"0.1000"}]}`
	post := func(c *client, body string) (int, string) {
		req, _ := http.NewRequest("POST", c.base+"/api/v1/settlement/quote", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-CSRF-Token", c.csrf)
		resp, err := c.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(out)
	}
	aud := e.client(t).login("aud_xihu")
	status, body := post(aud, exampleA)
	if status != 200 || !strings.Contains(body, `"fund":"9570.00"`) || !strings.Contains(body, `"cash":"10430.00"`) ||
		!strings.Contains(body, `"ratio":"55.00%"`) || !strings.Contains(body, "起付线") {
		t.Fatalf("example A: %d %s", status, body)
	}
	bad := strings.Replace(exampleA, `"amount":"1200.00"`, `"amount":"1200.001"`, 1)
	if status, body := post(aud, bad); status != 400 || !strings.Contains(body, `"field":"lines[1].amount"`) {
		t.Errorf("bad amount: %d %s", status, body)
	}
	if status, body := post(aud, strings.Replace(exampleA, "611002", "999999", 1)); status != 400 || !strings.Contains(body, `"field":"insured_region"`) {
		t.Errorf("bad region: %d %s", status, body)
	}
	if status, _ := post(aud, `{"insured_region":"611002","lines":[]}`); status != 400 {
		t.Errorf("no lines: %d", status)
	}
	rev := e.client(t).login("rev_a")
	if status, _ := post(rev, exampleA); status != 403 {
		t.Errorf("reviewer quote: %d", status)
	}
	if status, _ := post(e.client(t), exampleA); status != 401 {
		t.Errorf("anonymous quote: %d", status)
	}
}

func TestListFlags(t *testing.T) {
	e := newEnv(t)
	if _, err := e.db.Exec(`INSERT INTO institutions VALUES ('H33010200009', '上城医院', 'hospital', 2, '330102', 100, NULL, 'x', 1, 99, 0, NULL)`); err != nil {
		t.Fatal(err)
	}
	e.db.Exec(`INSERT INTO flags VALUES ('F9', 1, 1, 'card_misuse.off_hours', 'card_misuse', 'card', 'K9', 'H33010200009',
		0.6, 10.00, 'clinical', '{"summary":"夜间刷卡"}', 'open', NULL)`)
	aud := e.client(t).login("aud_xihu")
	other := e.client(t).login("aud_other")
	tests := []struct {
		c         *client
		query     string
		status    int
		want, not string
	}{
		{aud, "", 200, `"flag_id":"F1"`, `"F9"`},
		{aud, "?family=ghost_bed&min_score=0.5", 200, `"total":1`, `"F9"`},
		{aud, "?family=ghost_bed' OR '1'='1", 200, `"total":0`, `"F1"`},
		{aud, "?min_score=2", 400, `"field":"min_score"`, ""},
		{aud, "?from=2025-03-01&to=2025-03-31", 200, `"total":1`, ""},
		{aud, "?from=2025-04-01", 200, `"total":0`, ""},
		{aud, "?to=March", 400, `"field":"to"`, ""},
		{aud, "?status=deleted", 400, `"field":"status"`, ""},
		{aud, "?limit=0", 400, `"field":"limit"`, ""},
		{other, "", 200, `"F9"`, `"F1"`},
		{other, "?org_code=H33010600001", 200, `"total":0`, `"F1"`},
	}
	for _, tc := range tests {
		status, body, _ := tc.c.do("GET", "/api/v1/flags"+strings.ReplaceAll(tc.query, " ", "%20"), nil, nil)
		if status != tc.status || !strings.Contains(body, tc.want) || (tc.not != "" && strings.Contains(body, tc.not)) {
			t.Errorf("%q: %d %s", tc.query, status, body)
		}
	}
	rev := e.client(t).login("rev_a")
	if status, _, _ := rev.do("GET", "/api/v1/flags", nil, nil); status != 403 {
		t.Errorf("reviewer: %d", status)
	}
}

// TestOpenAPIMatchesRoutes: the served OpenAPI document lists exactly the
// routes the router has.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	e := newEnv(t)
	status, body, _ := e.client(t).do("GET", "/api/v1/openapi.json", nil, nil)
	if status != 200 {
		t.Fatalf("openapi.json: %d", status)
	}
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil || !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("not an OpenAPI 3 document: %v", err)
	}
	var documented []string
	for path, ops := range doc.Paths {
		for method := range ops {
			documented = append(documented, strings.ToUpper(method)+" "+path)
		}
	}
	sort.Strings(documented)
	s, err := api.New(e.db, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(s.Routes(), "\n"); got != strings.Join(documented, "\n") {
		t.Errorf("routes and document differ:\nrouter:\n%s\ndocument:\n%s", got, strings.Join(documented, "\n"))
	}
}
