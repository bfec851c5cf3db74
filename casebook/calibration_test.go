package casebook_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/medaudit/medaudit/casebook"
	"github.com/medaudit/medaudit/detectors"
	"github.com/medaudit/medaudit/detectors/detectortest"
	"github.com/medaudit/medaudit/pipeline"
)

// loadSample loads the committed fixture sample into a fresh database the
// test may change.
func loadSample(t *testing.T) *pipeline.DB {
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
	return db
}

func scanOnly(t *testing.T, db *pipeline.DB, now func() time.Time, prefixes ...string) detectors.ScanSummary {
	t.Helper()
	ds, err := detectors.Registry(detectors.Config{})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := detectors.Scan(context.Background(), db.DB, detectors.Select(ds, prefixes), now)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

func count(t *testing.T, db *pipeline.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func share(sum detectors.ScanSummary, rule string) detectors.RuleShare {
	for _, r := range sum.Rules {
		if r.Rule == rule {
			return r
		}
	}
	return detectors.RuleShare{}
}

// TestConventionChangeRaisesOneAlarm: a batch whose system codes sex the
// other way round (1 female, 2 male) makes every ID number contradict its
// person: impersonation.id_inconsistent fires on about half of all
// settlements at every institution. That is one calibration alarm, its
// flags are held (no case, no review panel) until an auditor releases
// them, and the release is an event of the audit trail.
func TestConventionChangeRaisesOneAlarm(t *testing.T) {
	ctx := context.Background()
	db := loadSample(t)
	if _, err := db.Exec(`UPDATE persons SET sex = 3 - sex`); err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)}
	sum := scanOnly(t, db, clk.now, "impersonation")
	const rule = "impersonation.id_inconsistent"
	if r := share(sum, rule); r.Share < 0.3 || r.Share <= r.Ceiling {
		t.Fatalf("the changed convention should flag most settlements: %+v", r)
	}
	if len(sum.Alarms) != 1 {
		t.Fatalf("want one alarm, got %d: %+v", len(sum.Alarms), sum.Alarms)
	}
	a := sum.Alarms[0]
	if a.Rule != rule || a.Cell.Region != "*" || a.Institutions < 5 || a.Status != detectors.AlarmOpen || a.Cause == "" || a.Message == "" || len(a.Breakdown) == 0 {
		t.Errorf("alarm %+v", a)
	}
	held := count(t, db, `SELECT count(*) FROM flags WHERE detector = ? AND status = 'suppressed'`, rule)
	if held == 0 || held != sum.Suppressed || count(t, db, `SELECT count(*) FROM flags WHERE detector = ? AND status = 'open'`, rule) != 0 {
		t.Fatalf("held %d, summary %d", held, sum.Suppressed)
	}
	if sum.Flags["impersonation"] >= held {
		t.Errorf("the summary counts held flags as open: %v", sum.Flags)
	}
	store := casebook.NewStore(db.DB, clk.now)
	if _, err := store.OpenCases(ctx, "test"); err != nil {
		t.Fatal(err)
	}
	inCases := `SELECT count(*) FROM case_flags cf JOIN flags f USING (flag_id) WHERE f.detector = ?`
	if n := count(t, db, inCases, rule); n != 0 {
		t.Fatalf("held flags opened %d cases", n)
	}
	if n := count(t, db, `SELECT count(*) FROM assignments`); n != 0 {
		t.Fatalf("held flags reached the review panel: %d assignments", n)
	}
	// A reviewer may not resolve; an auditor must say why.
	if _, err := store.ResolveAlarm(ctx, a.ID, "rev01", "reviewer", casebook.ResolveReleased, "x"); !errors.Is(err, casebook.ErrRole) {
		t.Errorf("reviewer resolved: %v", err)
	}
	if _, err := store.ResolveAlarm(ctx, a.ID, "aud1", "auditor", casebook.ResolveReleased, " "); !errors.Is(err, casebook.ErrInvalid) {
		t.Errorf("resolved without a note: %v", err)
	}
	res, err := store.ResolveAlarm(ctx, a.ID, "aud1", "auditor", casebook.ResolveReleased, "核实：这些身份证号与性别确实不符")
	if err != nil || res.Released != held {
		t.Fatalf("release: %+v %v", res, err)
	}
	if _, err := store.ResolveAlarm(ctx, a.ID, "aud1", "auditor", casebook.ResolveFixed, "again"); !errors.Is(err, casebook.ErrTransition) {
		t.Errorf("a resolved alarm resolved again: %v", err)
	}
	if _, err := store.OpenCases(ctx, "test"); err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, inCases, rule); n != held {
		t.Errorf("released flags in cases: %d of %d", n, held)
	}
	if n := count(t, db, `SELECT count(*) FROM case_events WHERE case_id = ? AND kind = 'calibration_resolved' AND actor = 'aud1'`, a.ID); n != 1 {
		t.Errorf("resolution events: %d", n)
	}
	if _, err := store.VerifyTrail(ctx); err != nil {
		t.Error(err)
	}
	// A released cell is not held again.
	again := scanOnly(t, db, clk.now, "impersonation")
	if len(again.Alarms) != 0 || again.Suppressed != 0 {
		t.Errorf("re-scan after release: %d alarms, %d held", len(again.Alarms), again.Suppressed)
	}
}

// TestConcentratedRuleStaysFlagged: one pharmacy where 40 % of the cards
// carry cash-out swipes (purchases that no settlement backs) while its
// peers are quiet takes the rule above its ceiling for the whole batch —
// but the excess sits at one institution: fraud-shaped. No alarm; the card
// flags stay open and open cases, and the pharmacy gets an institution
// flag.
func TestConcentratedRuleStaysFlagged(t *testing.T) {
	ctx := context.Background()
	db := loadSample(t)
	var org string
	var cards int
	if err := db.QueryRow(`SELECT w.org_code, count(DISTINCT w.card_no) FROM card_swipes w JOIN institutions i USING (org_code)
		WHERE i.kind = 'pharmacy' GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1`).Scan(&org, &cards); err != nil {
		t.Fatal(err)
	}
	// Cash-out: 40 % of the pharmacy's cards get a 300-yuan purchase swipe
	// with no settlement, at 10:00 on a working day.
	if _, err := db.Exec(`INSERT INTO card_swipes (swipe_id, card_no, person_id, org_code, swiped_at, amount, kind, settlement_id,
			terminal_id, batch_id, run_id, src_line, row_hash)
		SELECT 'CASHOUT' || row_number() OVER (ORDER BY card_no), card_no, person_id, org_code,
		       TIMESTAMP '2025-05-06 10:00:00' + to_minutes(17 * row_number() OVER (ORDER BY card_no)), 300.00, 'purchase', NULL,
		       'T1', 'test', 0, 0, 0
		FROM (SELECT card_no, any_value(person_id) AS person_id, any_value(org_code) AS org_code FROM card_swipes
		      WHERE org_code = ? GROUP BY card_no ORDER BY hash(card_no) LIMIT ?)`, org, cards*4/10); err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)}
	sum := scanOnly(t, db, clk.now, "card_misuse")
	const rule = "card_misuse.swipe_without_settlement"
	r := share(sum, rule)
	if r.Share <= r.Ceiling {
		t.Fatalf("the setup must take the rule above its ceiling for the batch (else the guard is not exercised): %+v", r)
	}
	for _, a := range sum.Alarms {
		if a.Rule == rule {
			t.Fatalf("a concentrated rule raised an alarm: %+v", a)
		}
	}
	if n := count(t, db, `SELECT count(*) FROM flags WHERE detector = ? AND status = 'suppressed'`, rule); n != 0 {
		t.Fatalf("%d flags held", n)
	}
	cashout := `SELECT count(DISTINCT f.flag_id) FROM flags f JOIN card_swipes w ON w.card_no = f.subject_id
		WHERE f.detector = ? AND f.status = 'open' AND w.swipe_id LIKE 'CASHOUT%'`
	if n := count(t, db, cashout, rule); n < cards*4/10 {
		t.Fatalf("cash-out cards flagged: %d of %d", n, cards*4/10)
	}
	if n := count(t, db, `SELECT count(*) FROM flags WHERE detector = 'card_misuse.rule_concentration' AND subject_id = ? AND status = 'open'`, org); n != 1 {
		t.Fatalf("institution flag of %s: %d", org, n)
	}
	if _, err := casebook.NewStore(db.DB, clk.now).OpenCases(ctx, "test"); err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, `SELECT count(DISTINCT cf.case_id) FROM case_flags cf JOIN flags f USING (flag_id)
		JOIN card_swipes w ON w.card_no = f.subject_id WHERE f.detector = ? AND w.swipe_id LIKE 'CASHOUT%'`, rule); n < cards*4/10 {
		t.Errorf("cases of cash-out cards: %d", n)
	}
	if n := count(t, db, `SELECT count(*) FROM cases WHERE subject_type = 'institution' AND subject_id = ?`, org); n != 1 {
		t.Errorf("institution case of %s: %d", org, n)
	}
}

// regionRule is a test rule that flags every pharmacy settlement of the
// employees insured in one region: what a wrong policy table for that
// region does to the recompute.
type regionRule struct {
	detectors.Rule
	region string
}

func (r regionRule) Detect(ctx context.Context, q detectors.Querier) ([]detectors.Flag, error) {
	rows, err := q.QueryContext(ctx, `SELECT s.settlement_id, s.org_code FROM settlements s JOIN persons p USING (person_id)
		WHERE s.insured_region = ? AND p.insurance_type = 'employee' AND s.visit_type = 'pharmacy' ORDER BY 1`, r.region)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []detectors.Flag
	for rows.Next() {
		var id, org string
		if err := rows.Scan(&id, &org); err != nil {
			return nil, err
		}
		out = append(out, r.Flag(id, org, 0.9, 100, "重算与结算不符", map[string]any{"settlement_id": id}, nil))
	}
	return out, rows.Err()
}

// TestRegionCellAlarm: a rule flagging every employee pharmacy settlement
// insured in one region — below its ceiling over the whole batch, all of
// that cell at many institutions — raises one alarm for that cell alone.
func TestRegionCellAlarm(t *testing.T) {
	db := loadSample(t)
	var region string
	var n int
	// The largest employee pharmacy cell whose settlements are under 5 % of the batch.
	if err := db.QueryRow(`SELECT s.insured_region, count(*) FROM settlements s JOIN persons p USING (person_id)
		WHERE p.insurance_type = 'employee' AND s.visit_type = 'pharmacy' GROUP BY 1
		HAVING count(*) >= 200 AND count(*) < 0.045 * (SELECT count(*) FROM settlements) ORDER BY 2 DESC, 1 LIMIT 1`).Scan(&region, &n); err != nil {
		t.Fatal(err)
	}
	r, err := detectors.NewRule(detectors.Info{Name: "settlement.test_region", Family: "settlement", SubjectType: "settlement",
		Override: detectors.Absolute, Title: "测试规则"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)}
	sum, err := detectors.Scan(context.Background(), db.DB, []detectors.Detector{regionRule{r, region}}, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Alarms) != 1 {
		t.Fatalf("want one alarm, got %+v", sum.Alarms)
	}
	a := sum.Alarms[0]
	want := detectors.Cell{Region: region, Insurance: "employee", VisitType: "pharmacy"}
	if a.Cell != want || a.Flagged != int64(n) || a.Share != 1 || sum.Suppressed != n || sum.Rules[0].Share >= sum.Rules[0].Ceiling {
		t.Errorf("alarm %+v (summary %+v)", a, sum.Rules)
	}
	if !strings.Contains(a.Message, "参保地 "+region+" · 险种 职工医保 · 药店购药") {
		t.Errorf("message %q", a.Message)
	}
}
