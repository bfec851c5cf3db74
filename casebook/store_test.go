package casebook_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/medaudit/medaudit/casebook"
	"github.com/medaudit/medaudit/contract"
	"github.com/medaudit/medaudit/pipeline"
	"github.com/medaudit/medaudit/pipeline/pipelinetest"
)

// clock is a test clock that advances a minute per reading.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { c.t = c.t.Add(time.Minute); return c.t }

func setup(t testing.TB) (*pipeline.DB, *casebook.Store) {
	t.Helper()
	ctx := context.Background()
	db, err := pipeline.Open(ctx, ":memory:", pipeline.DBConfig{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	dir := t.TempDir()
	pipelinetest.Valid().WriteCSV(t, dir)
	if _, err := pipeline.Ingest(ctx, db, dir, pipeline.DefaultConfig()); err != nil {
		t.Fatal(err)
	}
	// Two flags: a clinical ghost-bed flag on the inpatient stay S001 at
	// H33010600001 (district 330106) and an absolute one on S002.
	for _, q := range []string{
		`INSERT INTO scans VALUES (1, now(), now(), 'done', 2, NULL)`,
		`INSERT INTO flags VALUES ('F1', 1, 1, 'ghost_bed.no_daily_activity', 'ghost_bed', 'settlement', 'S001', 'H33010600001',
			0.8, 950.00, 'clinical', '{"summary":"x"}', 'open', NULL)`,
		`INSERT INTO flags VALUES ('F2', 1, 1, 'impersonation.after_death', 'impersonation', 'settlement', 'S002', 'P33010600002',
			0.95, 36.00, 'absolute', '{"summary":"y"}', 'open', NULL)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	c := &clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	s := casebook.NewStore(db.DB, c.now)
	experts := []casebook.Expert{
		{ID: "dr_home", Name: "本院专家", Specialties: []string{casebook.Internal}, HomeOrg: "H33010600001", District: "330106", WeeklyCapacity: 20},
		{ID: "dr_district", Name: "同区专家", Specialties: []string{casebook.Internal}, HomeOrg: "H33010600077", District: "330106", WeeklyCapacity: 20},
		{ID: "dr_a", Name: "专家甲", Specialties: []string{casebook.Internal}, HomeOrg: "H33010200001", District: "330102", WeeklyCapacity: 20},
		{ID: "dr_b", Name: "专家乙", Specialties: []string{casebook.Internal, casebook.Surgery}, HomeOrg: "H33010500001", District: "330105", WeeklyCapacity: 20},
		{ID: "dr_c", Name: "专家丙", Specialties: []string{casebook.Internal}, HomeOrg: "H33010800001", District: "330108", WeeklyCapacity: 20},
	}
	for _, e := range experts {
		if err := s.AddExpert(ctx, "admin1", e); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddExpert(ctx, "admin1", casebook.Expert{ID: "bad", Name: "x", Specialties: []string{"magic"}, District: "330102", WeeklyCapacity: 1}); err == nil {
		t.Error("unknown specialty accepted")
	}
	return db, s
}

func TestCaseLifeCycleWithBlindDoubleReview(t *testing.T) {
	ctx := context.Background()
	db, s := setup(t)
	sum, err := s.OpenCases(ctx, "system:scan")
	if err != nil || sum.Opened != 2 || sum.Flags != 2 {
		t.Fatalf("open cases: %+v %v", sum, err)
	}
	if again, _ := s.OpenCases(ctx, "system:scan"); again.Opened+again.Updated != 0 {
		t.Errorf("flags opened twice: %+v", again)
	}
	stay := casebook.CaseID("settlement", "S001")
	c, err := s.Get(ctx, stay)
	if err != nil || c.Route != "panel" || c.Specialty != casebook.Internal || c.District != "330106" || c.AmountAtRisk != 95000 {
		t.Fatalf("case %+v %v", c, err)
	}
	// The absolute case goes to the auditors and cannot be sent to the panel.
	abs := casebook.CaseID("settlement", "S002")
	if err := s.Act(ctx, abs, "aud1", casebook.RoleAuditor, casebook.ActTriage, ""); err != nil {
		t.Fatal(err)
	}
	if err := s.SendToPanel(ctx, abs, "aud1", casebook.RoleAuditor); err == nil {
		t.Error("absolute case sent to the panel")
	}
	if err := s.Decide(ctx, abs, "aud1", casebook.RoleAuditor, casebook.Violation, 3600, "死亡后就医"); err != nil {
		t.Fatal(err)
	}

	if err := s.Act(ctx, stay, "aud1", casebook.RoleAuditor, casebook.ActTriage, "初审"); err != nil {
		t.Fatal(err)
	}
	if err := s.SendToPanel(ctx, stay, "aud1", casebook.RoleReviewer); !errors.Is(err, casebook.ErrRole) {
		t.Errorf("reviewer sent a case to the panel: %v", err)
	}
	if err := s.SendToPanel(ctx, stay, "aud1", casebook.RoleAuditor); err != nil {
		t.Fatal(err)
	}
	// Conflict of interest: neither the home-hospital nor the same-district expert.
	var assigned []string
	rows, err := db.Query(`SELECT expert_id FROM assignments WHERE case_id = ? ORDER BY expert_id`, stay)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		assigned = append(assigned, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if len(assigned) != 2 || strings.Contains(strings.Join(assigned, ","), "dr_home") || strings.Contains(strings.Join(assigned, ","), "dr_district") {
		t.Fatalf("assigned %v", assigned)
	}
	first, second := assigned[0], assigned[1]
	if q, _ := s.Queue(ctx, first); len(q) != 1 || q[0].ID != stay || q[0].Priority != 0 {
		t.Errorf("queue of %s: %+v", first, q)
	}
	if _, err := s.ReviewerView(ctx, stay, "dr_home"); !errors.Is(err, casebook.ErrNotAssigned) {
		t.Errorf("an unassigned expert read the case: %v", err)
	}
	if _, err := s.SubmitVerdict(ctx, stay, first, casebook.Violation, 90000, "挂床：无每日诊疗"); err != nil {
		t.Fatal(err)
	}
	// Blindness: the second reviewer sees neither the first verdict nor the score.
	view, err := s.ReviewerView(ctx, stay, second)
	if err != nil || len(view.Reviews) != 1 || view.Reviews[0].ExpertID != second || view.ScoreVisible || view.Case.Priority != 0 {
		t.Fatalf("second reviewer's view %+v %v", view, err)
	}
	out, err := s.SubmitVerdict(ctx, stay, second, casebook.NoViolation, 0, "病历支持住院")
	if err != nil || !out.NeedsThird {
		t.Fatalf("disagreement: %+v %v", out, err)
	}
	if view, _ := s.ReviewerView(ctx, stay, second); len(view.Reviews) != 3 || !view.ScoreVisible {
		t.Errorf("after both verdicts the second reviewer sees them: %+v", view)
	}
	var third string
	if err := db.QueryRow(`SELECT expert_id FROM assignments WHERE case_id = ? AND round = 2`, stay).Scan(&third); err != nil {
		t.Fatal(err)
	}
	if third == "" || third == first || third == second || third == "dr_home" || third == "dr_district" {
		t.Fatalf("third reviewer %q", third)
	}
	if view, _ := s.ReviewerView(ctx, stay, third); len(view.Reviews) != 1 || view.ScoreVisible || view.Case.Priority != 0 {
		t.Errorf("the tie-breaker sees the first verdicts before voting: %+v", view)
	}
	out, err = s.SubmitVerdict(ctx, stay, third, casebook.Violation, 80000, "")
	if err != nil || !out.Done || out.Verdict != casebook.Violation || out.Amount != 80000 {
		t.Fatalf("third verdict: %+v %v", out, err)
	}
	if c, _ := s.Get(ctx, stay); c.State != casebook.Decided || c.ViolationAmount != 80000 {
		t.Fatalf("decided case %+v", c)
	}
	steps := []struct {
		role string
		a    casebook.Action
	}{{casebook.RoleAuditor, casebook.ActAppeal}, {casebook.RoleSupervisor, casebook.ActFinalize}}
	for _, st := range steps {
		if err := s.Act(ctx, stay, "u", st.role, st.a, ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RecordRecovery(ctx, stay, "aud1", casebook.RoleAuditor, 90000, casebook.Art38, 150); err == nil {
		t.Error("recovered more than the violating amount")
	}
	if err := s.RecordRecovery(ctx, stay, "aud1", casebook.RoleAuditor, 80000, casebook.Art38, 150); err != nil {
		t.Fatal(err)
	}
	if err := s.Act(ctx, stay, "sup1", casebook.RoleSupervisor, casebook.ActClose, "结案"); err != nil {
		t.Fatal(err)
	}
	c, _ = s.Get(ctx, stay)
	if c.State != casebook.Closed || c.Recovered != 80000 || c.Fine != 120000 {
		t.Errorf("closed case %+v", c)
	}
	prec, n, err := s.RulePrecision(ctx)
	if err != nil || prec["ghost_bed.no_daily_activity"] != 1 || n["impersonation.after_death"] != 1 {
		t.Errorf("rule precision %v %v %v", prec, n, err)
	}
	bySpec, _, err := s.Agreement(ctx)
	if err != nil || len(bySpec) != 1 {
		t.Errorf("kappa %v %v", bySpec, err)
	}
	scores, err := s.AnnualScores(ctx, 2026, []string{"330106"}, 1000, casebook.DefaultScoringRules())
	if err != nil || len(scores) != 2 {
		t.Fatalf("annual scores %+v %v", scores, err)
	}
	for _, a := range scores {
		want := 100
		if a.OrgCode == "H33010600001" {
			want = 95 // one confirmed ghost bed: 服务管理 −5
		}
		if a.Total != want || a.Payout != a.Deposit {
			t.Errorf("%s scored %d (deposit %s, payout %s), want %d", a.OrgCode, a.Total, a.Deposit, a.Payout, want)
		}
	}
	if n, err := s.VerifyTrail(ctx); err != nil || n < 15 {
		t.Errorf("trail: %d events, %v", n, err)
	}
}

func TestTrailTamperDetected(t *testing.T) {
	ctx := context.Background()
	tampers := []struct {
		name string
		sql  string
	}{
		{"edit", `UPDATE case_events SET actor = 'mallory' WHERE seq = 3`},
		{"delete", `DELETE FROM case_events WHERE seq = 4`},
		{"delete tail", `DELETE FROM case_events WHERE seq = (SELECT max(seq) FROM case_events)`},
		{"reorder", `UPDATE case_events SET seq = CASE seq WHEN 2 THEN 3 WHEN 3 THEN 2 END WHERE seq IN (2, 3)`},
	}
	for _, tc := range tampers {
		t.Run(tc.name, func(t *testing.T) {
			db, s := setup(t)
			if _, err := s.OpenCases(ctx, "system:scan"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.VerifyTrail(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(tc.sql); err != nil {
				t.Fatal(err)
			}
			var ce *casebook.ChainError
			if _, err := s.VerifyTrail(ctx); !errors.As(err, &ce) {
				t.Errorf("tampering not detected: %v", err)
			}
		})
	}
}

func TestShadowDetectorsOpenNoCases(t *testing.T) {
	ctx := context.Background()
	db, s := setup(t)
	db.Exec(`INSERT INTO rule_settings VALUES ('ghost_bed.no_daily_activity', 'shadow')`)
	sum, err := s.OpenCases(ctx, "system:scan")
	if err != nil || sum.Opened != 1 {
		t.Fatalf("%+v %v", sum, err)
	}
	if _, err := s.Get(ctx, casebook.CaseID("settlement", "S001")); !errors.Is(err, casebook.ErrNotFound) {
		t.Errorf("shadow flag opened a case: %v", err)
	}
}

func TestInstitutionSample(t *testing.T) {
	ctx := context.Background()
	db, s := setup(t)
	db.Exec(`INSERT INTO flags VALUES ('F3', 1, 1, 'drug_substitution.sales_exceed_stock', 'drug_substitution', 'institution', 'H33010600001', 'H33010600001',
		0.9, 100.00, 'clinical', '{"summary":"z"}', 'open', NULL)`)
	if _, err := s.OpenCases(ctx, "system:scan"); err != nil {
		t.Fatal(err)
	}
	id := casebook.CaseID("institution", "H33010600001")
	if _, err := s.DrawSample(ctx, casebook.CaseID("settlement", "S001"), "aud1", 5, 1); err == nil {
		t.Error("a sample drawn for a settlement case")
	}
	sample, err := s.DrawSample(ctx, id, "aud1", 5, 42)
	if err != nil || len(sample.Selected) != 1 || sample.Selected[0] != "S001" {
		t.Fatalf("sample %+v %v", sample, err)
	}
	var seed uint64
	if err := db.QueryRow(`SELECT seed FROM case_samples WHERE case_id = ?`, id).Scan(&seed); err != nil {
		t.Fatal(err)
	}
	if seed != 42 {
		t.Errorf("stored seed %d", seed)
	}
	est, err := s.RecordSampleFindings(ctx, id, "aud1", map[string]contract.Fen{"S001": 30000})
	if err != nil || est.Total != 30000 {
		t.Errorf("estimate %+v %v", est, err)
	}
	if _, err := s.VerifyTrail(ctx); err != nil {
		t.Error(err)
	}
}
