package api_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/medaudit/medaudit/auth"
	"github.com/medaudit/medaudit/casebook"
	"github.com/medaudit/medaudit/internal/browsertest"
	"github.com/medaudit/medaudit/pipeline/pipelinetest"
)

// workflowEnv extends env with an institution case the panel can review and
// a recovery can be sampled for: 24 more inpatient stays at H33010600001
// (with flags of their own), an institution-level ghost-bed flag, a third
// reviewer for tie-breaks and a pharmacy-settlement case the auditors decide.
type workflowEnv struct {
	*env
	orgCase, auditorCase, cardCase string
}

func newWorkflowEnv(t *testing.T) *workflowEnv {
	e := newEnv(t)
	ctx := context.Background()
	for _, q := range []string{
		`INSERT INTO settlements BY NAME SELECT s.* REPLACE ('S1' || lpad(i::VARCHAR, 2, '0') AS settlement_id,
			admitted_at + INTERVAL (i) DAY AS admitted_at, discharged_at + INTERVAL (i + i % 5) DAY AS discharged_at,
			settled_at + INTERVAL (i + i % 5) DAY AS settled_at,
			(300 + i * 517 % 12000)::DECIMAL(18,2) AS total_amount, (240 + i * 517 % 12000 - 60)::DECIMAL(18,2) AS fund_paid,
			60::DECIMAL(18,2) AS account_paid, 60::DECIMAL(18,2) AS cash_paid)
			FROM settlements s, range(1, 25) t(i) WHERE s.settlement_id = 'S001'`,
		`INSERT INTO flags SELECT 'FS' || i, 1, 1, 'ghost_bed.no_daily_charges', 'ghost_bed', 'settlement', 'S1' || lpad(i::VARCHAR, 2, '0'),
			'H33010600001', 0.6, 100.00, 'clinical', '{"title":"住院期间无每日床位费","facts":{"coverage":0.3333}}', 'open', NULL FROM range(1, 7) t(i)`,
		`INSERT INTO flags VALUES ('FI', 1, 1, 'ghost_bed.hospital_rate', 'ghost_bed', 'institution', 'H33010600001', 'H33010600001',
			0.9, 6000.00, 'clinical', '{"title":"本院挂床住院比例异常","summary":"6次住院疑似挂床，显著高于同类医院","facts":{"stays":6,
			"org":{"org_code":"H33010600001","level":3},"features":{"short_stay_share":{"value":0.0256,"peer_median":0.2674,"robust_z":-6.00623831768162}},
			"lines":[{"settlement_id":"S101","category":"bed","amount":"50.00","charged_at":"2025-03-03 12:00:00"},{"settlement_id":"S102","category":"bed","amount":"45.00","charged_at":"2025-03-04 12:00:00"}]},
			"thresholds":{"min_share":0.04000000000000001,"min_z":3.5}}', 'open', NULL)`,
		`INSERT INTO flags VALUES ('FP', 1, 1, 'settlement.c_class_paid', 'settlement', 'settlement', 'S002', 'P33010600002',
			0.9, 36.00, 'absolute', '{"title":"丙类项目纳入支付","summary":"丙类项目由统筹支付","facts":{"class_c_amount":"36.00","claim":{"visit_type":"pharmacy","hospital_level":0}}}', 'open', NULL)`,
		`INSERT INTO flags VALUES ('FC', 1, 1, 'card_misuse.round_amounts', 'card_misuse', 'card', 'B87654321', 'P33010600002',
			0.5, 36.00, 'absolute', '{"title":"整数金额刷卡","facts":{"round_swipes":7,"round_share":1}}', 'open', NULL)`,
	} {
		if _, err := e.db.Exec(q); err != nil {
			t.Fatalf("%v\n%s", err, q)
		}
	}
	now := func() time.Time { return time.Now().UTC() }
	cases := casebook.NewStore(e.db.DB, now)
	users := auth.NewStore(e.db.DB, now, auth.DefaultConfig())
	if err := cases.AddExpert(ctx, "admin", casebook.Expert{ID: "dr_c", Name: "专家丙", Specialties: []string{casebook.Internal},
		HomeOrg: "H33010800001", District: "330108", WeeklyCapacity: 20}); err != nil {
		t.Fatal(err)
	}
	if err := users.CreateUser(ctx, auth.User{ID: "rev_c", Role: auth.Reviewer, Districts: []string{"*"}, ExpertID: "dr_c"}, password); err != nil {
		t.Fatal(err)
	}
	if _, err := cases.OpenCases(ctx, "system:test"); err != nil {
		t.Fatal(err)
	}
	return &workflowEnv{env: e, orgCase: casebook.CaseID("institution", "H33010600001"),
		auditorCase: casebook.CaseID("settlement", "S002"), cardCase: casebook.CaseID("card", "B87654321")}
}

// walker drives one browser through the pages as one person at a time.
type walker struct {
	name  string // screenshots are out/artifacts/<name>-NN-<page>.png
	t     *testing.T
	ctx   context.Context
	base  string
	shots int
}

func (w *walker) must(err error) {
	w.t.Helper()
	if err != nil {
		w.t.Fatal(err)
	}
}

// nav runs steps that load a new page and checks its status.
func (w *walker) nav(want int, steps ...chromedp.Action[chromedp.Void]) {
	w.t.Helper()
	resp, err := chromedp.RunResponse(w.ctx, steps...)
	w.must(err)
	if int(resp.Status) != want {
		body, _ := chromedp.Run(w.ctx, chromedp.Text(chromedp.CSS(`main`)))
		w.t.Fatalf("%s: HTTP %d, want %d: %s", resp.URL, resp.Status, want, body)
	}
	w.checkPage()
}

func (w *walker) open(path string) { w.t.Helper(); w.nav(200, chromedp.Navigate(w.base+path)) }

func (w *walker) login(user string) {
	w.t.Helper()
	w.open("/login")
	w.must(chromedp.Do(w.ctx, chromedp.SendKeys(chromedp.CSS(`#user`), user), chromedp.SendKeys(chromedp.CSS(`#password`), password)))
	w.nav(200, chromedp.Click(chromedp.CSS(`#login`)))
}

// click clicks a button or link that loads a page answering 200.
func (w *walker) click(sel string) { w.t.Helper(); w.nav(200, chromedp.Click(chromedp.CSS(sel))) }

func (w *walker) text(sel string) string {
	w.t.Helper()
	s, err := chromedp.Run(w.ctx, chromedp.Text(chromedp.CSS(sel)))
	w.must(err)
	return s
}

func (w *walker) fill(sel, v string) {
	w.t.Helper()
	w.must(chromedp.Do(w.ctx, chromedp.SetValue(chromedp.CSS(sel), v)))
}

// shot keeps a full-page screenshot in out/artifacts.
func (w *walker) shot(name string) {
	w.t.Helper()
	png, err := chromedp.Run(w.ctx, chromedp.FullScreenshot(100))
	w.must(err)
	w.shots++
	w.must(os.WriteFile(filepath.Join(artifactDir(w.t), fmt.Sprintf("%s-%02d-%s.png", w.name, w.shots, name)), png, 0o644))
}

var shownTime = regexp.MustCompile(`^(\d{4}-\d{2}-\d{2}( \d{2}:\d{2})?( – \d{4}-\d{2}-\d{2})?)?$`)

// checkPage holds on every page: no evidence key without a dictionary
// label, the time zone stated once, every time cell a Beijing-time date or
// minute (no UTC marks).
func (w *walker) checkPage() {
	w.t.Helper()
	raw, err := chromedp.Run(w.ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('.untranslated')).map(e => e.getAttribute('data-key') || e.textContent)`))
	w.must(err)
	if len(raw) > 0 {
		w.t.Errorf("untranslated evidence keys on the page: %v", raw)
	}
	notes, err := chromedp.Run(w.ctx, chromedp.Evaluate[int](`document.querySelectorAll('#zone-note').length`))
	w.must(err)
	times, err := chromedp.Run(w.ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('.time')).map(e => e.textContent.trim())`))
	w.must(err)
	if len(times) > 0 && notes != 1 {
		w.t.Errorf("a page with %d times states the time zone %d times", len(times), notes)
	}
	for _, s := range times {
		if !shownTime.MatchString(s) {
			w.t.Errorf("a displayed time is not a Beijing-time date or minute: %q", s)
		}
	}
	body, err := chromedp.Run(w.ctx, chromedp.Text(chromedp.CSS(`body`)))
	w.must(err)
	if strings.Contains(body, " UTC") || regexp.MustCompile(`\d{2}:\d{2}(:\d{2})?Z`).MatchString(body) {
		w.t.Error("a page shows a UTC time")
	}
}

// step fills nothing more, clicks the step's button, checks the
// confirmation shows what will be recorded, confirms and comes back.
func (w *walker) step(caseID, action string, confirmWants ...string) {
	w.t.Helper()
	w.click(`#step-` + action)
	plan := w.text(`#confirm-plan`)
	for _, s := range confirmWants {
		if !strings.Contains(plan, s) {
			w.t.Errorf("confirmation of %s lacks %q: %s", action, s, plan)
		}
	}
	w.shot("confirm-" + action)
	w.click(`#confirm`)
	if got := w.text(`#step-done`); !strings.Contains(got, "已记录") {
		w.t.Errorf("after %s: %q", action, got)
	}
}

func state(t *testing.T, db *sql.DB, id string) (st, verdict, viol, recovered, fine string) {
	t.Helper()
	if err := db.QueryRow(`SELECT state, coalesce(verdict, ''), coalesce(violation_amount, 0)::VARCHAR, recovered::VARCHAR, fine::VARCHAR
		FROM cases WHERE case_id = ?`, id).Scan(&st, &verdict, &viol, &recovered, &fine); err != nil {
		t.Fatal(err)
	}
	return
}

func expectState(t *testing.T, db *sql.DB, id, want string) {
	t.Helper()
	if st, _, _, _, _ := state(t, db, id); st != want {
		t.Fatalf("case %s is %s, want %s", id, st, want)
	}
}

// reviewerOf is the user of the expert assigned to a case in a round.
func reviewersOf(t *testing.T, db *sql.DB, id string, round int) []string {
	t.Helper()
	rows, err := db.Query(`SELECT u.user_id FROM assignments a JOIN users u ON u.expert_id = a.expert_id
		WHERE a.case_id = ? AND a.round = ? ORDER BY u.user_id`, id, round)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			t.Fatal(err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestWholeCaseInBrowser walks an institution case through its whole life
// in the pages, as three kinds of people: the auditor sends it to the
// panel; two reviewers give opposite verdicts blind; the tie-breaker
// decides; the auditor draws the recovery sample, records its findings
// (extrapolated with a 90 % interval) and the institution's appeal; the
// supervisor finalizes; the auditor records the recovery with the fine; the
// supervisor closes. The stored state is checked after every step, and
// every page is kept as a screenshot.
func TestWholeCaseInBrowser(t *testing.T) {
	e := newWorkflowEnv(t)
	w := &walker{name: "workflow", t: t, ctx: browsertest.Start(t, 5*time.Minute), base: e.srv.URL}
	db := e.db.DB

	// The auditor: the workbench, then the institution case to the panel.
	w.login("aud_xihu")
	w.open("/cases")
	w.shot("auditor-cases")
	w.open("/cases/" + e.orgCase)
	if n := w.text(`#org-stays`); !strings.Contains(n, "S101") || !strings.Contains(n, "S106") {
		t.Errorf("the institution case does not list its flagged stays: %s", n)
	}
	flags := w.text(`#flags`)
	for _, want := range []string{"指标 · 短期住院占比 · 本机构值", "2.6%", "-6.0", "稳健Z值", "占比下限 4%", "S101"} {
		if !strings.Contains(flags, want) {
			t.Errorf("evidence lacks %q", want)
		}
	}
	w.shot("auditor-institution-case")
	w.step(e.orgCase, "send_to_panel", "专家复审")
	expectState(t, db, e.orgCase, "panel_review")
	first := reviewersOf(t, db, e.orgCase, 1)
	if len(first) != 2 {
		t.Fatalf("first-round reviewers %v", first)
	}

	// Two reviewers, blind, opposite verdicts.
	for i, verdict := range []string{"violation", "no_violation"} {
		w.login(first[i])
		w.shot("reviewer-queue-" + first[i])
		if q := w.text(`#queue`); !strings.Contains(q, e.orgCase) || !strings.Contains(q, "挂床住院") || !strings.Contains(q, "本院挂床住院比例异常") {
			t.Errorf("queue of %s: %s", first[i], q)
		}
		w.open("/cases/" + e.orgCase)
		if blind := w.text(`#blind-note`); blind == "" {
			t.Error("the reviewer is not told the review is blind")
		}
		w.shot("reviewer-case-" + first[i])
		if verdict == "violation" {
			w.must(chromedp.Do(w.ctx, chromedp.Click(chromedp.CSS(`#v-violation`))))
			w.fill(`#amount`, "3000.00")
		} else {
			w.must(chromedp.Do(w.ctx, chromedp.Click(chromedp.CSS(`#v-no`))))
		}
		w.fill(`#comment`, "评审意见 "+verdict)
		w.click(`#submit-verdict`)
		var got string
		if err := db.QueryRow(`SELECT a.verdict FROM assignments a JOIN users u ON u.expert_id = a.expert_id WHERE a.case_id = ? AND u.user_id = ?`,
			e.orgCase, first[i]).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != verdict {
			t.Fatalf("stored verdict of %s: %q", first[i], got)
		}
	}
	expectState(t, db, e.orgCase, "panel_review")
	third := reviewersOf(t, db, e.orgCase, 2)
	if len(third) != 1 || third[0] == first[0] || third[0] == first[1] {
		t.Fatalf("tie-breaker %v after %v", third, first)
	}

	// The tie-breaker decides.
	w.login(third[0])
	if q := w.text(`#queue`); !strings.Contains(q, "第三方评审") {
		t.Errorf("the tie-breaker's queue does not say so: %s", q)
	}
	w.open("/cases/" + e.orgCase)
	w.must(chromedp.Do(w.ctx, chromedp.Click(chromedp.CSS(`#v-violation`))))
	w.fill(`#amount`, "2500.00")
	w.fill(`#comment`, "同意违规")
	w.click(`#submit-verdict`)
	if st, verdict, viol, _, _ := state(t, db, e.orgCase); st != "decided" || verdict != "violation" || viol != "2500.00" {
		t.Fatalf("after the tie-break: %s %s %s", st, verdict, viol)
	}

	// The auditor: the recovery sample, its findings, the appeal.
	w.login("aud_xihu")
	w.open("/cases/" + e.orgCase)
	if d := w.text(`#decision`); !strings.Contains(d, "违规") || !strings.Contains(d, "2500.00") {
		t.Errorf("the decision shown: %q", d)
	}
	w.fill(`#sample-size`, "8")
	w.fill(`#sample-seed-input`, "20261205")
	w.step(e.orgCase, "sample", "20261205", "8")
	var seed uint64
	var size int
	if err := db.QueryRow(`SELECT seed, size FROM case_samples WHERE case_id = ?`, e.orgCase).Scan(&seed, &size); err != nil || seed != 20261205 || size != 8 {
		t.Fatalf("stored sample: seed %d size %d err %v", seed, size, err)
	}
	claims, err := chromedp.Run(w.ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('#findings-table input.found')).map(e => e.name)`))
	w.must(err)
	rows, err := chromedp.Run(w.ctx, chromedp.Evaluate[int](`document.querySelectorAll('#sample-claims tbody tr').length`))
	w.must(err)
	if len(claims) < 8 || len(claims) != rows {
		t.Fatalf("%d finding inputs for %d sampled claims", len(claims), rows)
	}
	for i, name := range claims {
		if i%2 == 0 {
			w.fill(`input[name="`+name+`"]`, fmt.Sprintf("%d.50", 100+i*40))
		}
	}
	w.step(e.orgCase, "findings", "样本中核实的多付金额")
	var est, low, high string
	if err := db.QueryRow(`SELECT estimate::VARCHAR, low::VARCHAR, high::VARCHAR FROM case_samples WHERE case_id = ?`, e.orgCase).Scan(&est, &low, &high); err != nil {
		t.Fatal(err)
	}
	shown := w.text(`#estimate`)
	if !strings.Contains(shown, est) || !strings.Contains(shown, low) || !strings.Contains(shown, high) || !strings.Contains(shown, "90%") {
		t.Errorf("estimate %s [%s, %s] shown as %q", est, low, high, shown)
	}
	if m := w.text(`#sample-method`); !strings.Contains(m, "分层") {
		t.Errorf("method: %q", m)
	}
	w.shot("auditor-sample")
	w.fill(`#note-appeal`, "机构对认定金额提出申诉")
	w.step(e.orgCase, "appeal", "机构申诉", "机构对认定金额提出申诉")
	expectState(t, db, e.orgCase, "appeal")

	// The supervisor finalizes.
	w.login("sup")
	w.open("/cases/" + e.orgCase)
	w.step(e.orgCase, "finalize", "终审")
	expectState(t, db, e.orgCase, "final")

	// The auditor records the recovery with the fine.
	w.login("aud_xihu")
	w.open("/cases/" + e.orgCase)
	w.fill(`#recovery-amount`, "2000.00")
	w.fill(`#recovery-percent`, "150")
	w.step(e.orgCase, "recovery", "2000.00", "3750.00", "条例第38条")
	if st, _, _, rec, fine := state(t, db, e.orgCase); st != "recovery" || rec != "2000.00" || fine != "3750.00" {
		t.Fatalf("after the recovery: %s recovered %s fine %s", st, rec, fine)
	}

	// The supervisor closes.
	w.login("sup")
	w.open("/cases/" + e.orgCase)
	w.step(e.orgCase, "close", "已结案")
	expectState(t, db, e.orgCase, "closed")
	w.shot("supervisor-closed-case")
	trail := w.text(`#trail`)
	for _, want := range []string{"送专家复审", "专家评审意见", "认定", "抽取样本", "样本核查结果与外推", "机构申诉", "终审", "追回及罚款", "结案"} {
		if !strings.Contains(trail, want) {
			t.Errorf("the audit trail lacks %q", want)
		}
	}
	if strings.Contains(trail, `"from"`) || strings.Contains(trail, "send_to_panel") {
		t.Error("the audit trail shows raw event names or JSON")
	}
	if n, err := casebook.NewStore(db, time.Now).VerifyTrail(context.Background()); err != nil || n == 0 {
		t.Errorf("audit trail: %d events, %v", n, err)
	}

	// The auditors' own decisions: triage and decide one case, dismiss another.
	w.login("aud_xihu")
	w.open("/cases/" + e.auditorCase)
	w.step(e.auditorCase, "triage", "初审")
	w.must(chromedp.Do(w.ctx, chromedp.Click(chromedp.CSS(`#decide-violation`))))
	w.fill(`#decide-amount`, "36.00")
	w.step(e.auditorCase, "decide", "违规", "36.00")
	if st, verdict, viol, _, _ := state(t, db, e.auditorCase); st != "decided" || verdict != "violation" || viol != "36.00" {
		t.Errorf("auditor's decision stored as %s %s %s", st, verdict, viol)
	}
	w.open("/cases/" + e.cardCase)
	w.step(e.cardCase, "dismiss", "已结案")
	expectState(t, db, e.cardCase, "closed")

	// A closed case offers no step.
	w.open("/cases/" + e.orgCase)
	if n, _ := chromedp.Run(w.ctx, chromedp.Evaluate[int](`document.querySelectorAll('#steps form').length`)); n != 0 {
		t.Errorf("a closed case offers %d steps", n)
	}

	// The same case file in English.
	w.open("/cases/" + e.orgCase + "?lang=en")
	w.shot("auditor-case-english")
	for sel, want := range map[string]string{`#decision`: "violation", `#trail`: "sent to the panel", `#zone-note`: "Beijing time", `#flags`: "Short-stay share"} {
		if got := w.text(sel); !strings.Contains(got, want) {
			t.Errorf("English %s lacks %q: %.200s", sel, want, got)
		}
	}
}

// TestLedgerUploadInBrowser: an auditor uploads a batch with one malformed
// row from the ledger page, watches it load, and finds the row in the
// quarantine page, counted by file and reason.
func TestLedgerUploadInBrowser(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	pipelinetest.Valid().Set("settlements", 0, "settlement_id", "S900").Set("settlements", 1, "total_amount", "abc").WriteCSV(t, dir)
	files, _ := filepath.Glob(filepath.Join(dir, "*.csv"))
	w := &walker{name: "ledger", t: t, ctx: browsertest.Start(t, 2*time.Minute), base: e.srv.URL}
	var before int
	if err := e.db.QueryRow(`SELECT count(*) FROM ingest_runs`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	w.login("aud_xihu")
	w.open("/")
	w.must(chromedp.Do(w.ctx, chromedp.SetUploadFiles(chromedp.CSS(`#upload-files`), files)))
	w.must(chromedp.Do(w.ctx, chromedp.Click(chromedp.CSS(`#upload-go`)), chromedp.WaitReady(chromedp.CSS(`#upload-status[data-batch]`))))
	status := w.text(`#upload-status`)
	if !strings.Contains(status, "导入完成") {
		t.Fatalf("upload status: %q", status)
	}
	w.shot("ledger-upload")
	var after, quarantined int
	if err := e.db.QueryRow(`SELECT count(*) FROM ingest_runs`).Scan(&after); err != nil {
		t.Fatal(err)
	}
	if err := e.db.QueryRow(`SELECT count(*) FROM quarantine`).Scan(&quarantined); err != nil {
		t.Fatal(err)
	}
	if after != before+1 || quarantined == 0 {
		t.Fatalf("ingest runs %d → %d, quarantined rows %d", before, after, quarantined)
	}
	w.click(`#to-quarantine`)
	if rows := w.text(`#q-rows`); !strings.Contains(rows, "settlements.csv") || !strings.Contains(rows, "total_amount") {
		t.Errorf("quarantine rows: %s", rows)
	}
	if counts := w.text(`#q-counts`); !strings.Contains(counts, "settlements.csv") {
		t.Errorf("quarantine counts: %s", counts)
	}
	w.shot("quarantine")
}
