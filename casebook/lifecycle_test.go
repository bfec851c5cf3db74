package casebook

import (
	"errors"
	"testing"
	"time"
)

func TestLifeCycle(t *testing.T) {
	// The full path of a clinical case.
	path := []struct {
		action Action
		role   string
		want   State
	}{
		{ActTriage, RoleAuditor, Triage},
		{ActToPanel, RoleAuditor, PanelReview},
		{ActDecide, RoleSystem, Decided},
		{ActAppeal, RoleAuditor, Appeal},
		{ActFinalize, RoleSupervisor, Final},
		{ActRecover, RoleAuditor, Recovery},
		{ActRecover, RoleAuditor, Recovery},
		{ActClose, RoleSupervisor, Closed},
	}
	s := Open
	for _, step := range path {
		next, err := Next(s, step.action, step.role)
		if err != nil || next != step.want {
			t.Fatalf("%s by %s from %s: %s, %v", step.action, step.role, s, next, err)
		}
		s = next
	}
	refused := []struct {
		from   State
		action Action
		role   string
		err    error
	}{
		{Open, ActDecide, RoleAuditor, ErrTransition},
		{Closed, ActTriage, RoleAuditor, ErrTransition},
		{Decided, ActFinalize, RoleAuditor, ErrRole},
		{Triage, ActToPanel, RoleReviewer, ErrRole},
		{Final, ActAppeal, RoleAuditor, ErrTransition},
	}
	for _, r := range refused {
		if _, err := Next(r.from, r.action, r.role); !errors.Is(err, r.err) {
			t.Errorf("%s by %s from %s: %v, want %v", r.action, r.role, r.from, err, r.err)
		}
	}
	if _, err := Next(Open, "explode", RoleAdmin); err == nil {
		t.Error("unknown action accepted")
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if due := DefaultLimits().Due(PanelReview, t0); !due.Equal(t0.AddDate(0, 0, 14)) {
		t.Errorf("panel due %v", due)
	}
	if due := DefaultLimits().Due(Closed, t0); !due.IsZero() {
		t.Errorf("closed due %v", due)
	}
}
