package casebook_test

import (
	"context"
	"testing"

	"github.com/medaudit/medaudit/casebook"
)

// TestEscalateOverdue: a case past its due date is escalated once per
// deadline (an "overdue" event by the scheduler and the listing shows when),
// a new deadline is escalated again, and the trail stays intact.
func TestEscalateOverdue(t *testing.T) {
	ctx := context.Background()
	db, s := setup(t)
	if _, err := s.OpenCases(ctx, "system:test"); err != nil {
		t.Fatal(err)
	}
	id := casebook.CaseID("settlement", "S001")
	if _, err := db.Exec(`UPDATE cases SET due_at = '2026-02-01 00:00:00' WHERE case_id = ?`, id); err != nil {
		t.Fatal(err)
	}
	for i, want := range []int{1, 0, 0} {
		n, err := s.EscalateOverdue(ctx, "system:scheduler")
		if err != nil || n != want {
			t.Fatalf("run %d: escalated %d (%v), want %d", i, n, err, want)
		}
	}
	list, err := s.Overdue(ctx, nil)
	if err != nil || len(list) != 1 || list[0].ID != id || list[0].NoticedAt == nil || list[0].DaysOverdue < 28 {
		t.Fatalf("overdue %+v %v", list, err)
	}
	if other, _ := s.Overdue(ctx, []string{"330102"}); len(other) != 0 {
		t.Errorf("another district sees %d overdue cases", len(other))
	}
	db.Exec(`UPDATE cases SET due_at = '2026-02-15 00:00:00' WHERE case_id = ?`, id)
	if n, err := s.EscalateOverdue(ctx, "system:scheduler"); err != nil || n != 1 {
		t.Errorf("a new deadline: escalated %d (%v)", n, err)
	}
	var events int
	if err := db.QueryRow(`SELECT count(*) FROM case_events WHERE case_id = ? AND kind = 'overdue' AND actor = 'system:scheduler'`, id).Scan(&events); err != nil {
		t.Fatal(err)
	}
	if events != 2 {
		t.Errorf("%d overdue events, want 2 (one per deadline)", events)
	}
	if _, err := s.VerifyTrail(ctx); err != nil {
		t.Error(err)
	}
}

// TestOpenCasesIn: a scan by a user of other districts opens nothing here;
// one by a user of the flags' district opens them.
func TestOpenCasesIn(t *testing.T) {
	ctx := context.Background()
	db, s := setup(t)
	sum, err := s.OpenCasesIn(ctx, "user:aud_other", []string{"330102"})
	if err != nil || sum.Opened != 0 || sum.Flags != 0 {
		t.Fatalf("another district: %+v %v", sum, err)
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM cases`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("%d cases opened by a user of another district", n)
	}
	sum, err = s.OpenCasesIn(ctx, "user:aud_xihu", []string{"330106"})
	if err != nil || sum.Opened != 2 {
		t.Errorf("own district: %+v %v", sum, err)
	}
}
