package casebook

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// State is where a case stands.
type State string

// The life cycle: open → triage → panel_review → decided → appeal → final →
// recovery → closed (DOMAIN.md §11: 初审 → 复审 → institution appeal →
// decision, each with a time limit).
const (
	Open        State = "open"
	Triage      State = "triage"
	PanelReview State = "panel_review"
	Decided     State = "decided"
	Appeal      State = "appeal"
	Final       State = "final"
	Recovery    State = "recovery"
	Closed      State = "closed"
)

// StateNames are the Chinese names of the states.
var StateNames = map[State]string{
	Open: "待分拣", Triage: "初审", PanelReview: "专家复审", Decided: "已认定", Appeal: "机构申诉",
	Final: "终审", Recovery: "追回中", Closed: "已结案",
}

// Roles of the people who act on cases.
const (
	RoleAuditor    = "auditor"    // 稽核人员
	RoleReviewer   = "reviewer"   // 评审专家
	RoleSupervisor = "supervisor" // 科室负责人
	RoleAdmin      = "admin"
	RoleSystem     = "system" // the scheduler and the panel's automatic outcome
)

// Action moves a case from one state to another.
type Action string

// Actions.
const (
	ActTriage   Action = "triage"        // an auditor takes the case
	ActToPanel  Action = "send_to_panel" // clinical flags: two reviewers are assigned
	ActDecide   Action = "decide"        // violation or not, with the amount
	ActDismiss  Action = "dismiss"       // no case to answer
	ActAppeal   Action = "appeal"        // the institution appeals the decision
	ActFinalize Action = "finalize"      // the decision (after any appeal) becomes final
	ActRecover  Action = "record_recovery"
	ActClose    Action = "close"
)

type transition struct {
	from  []State
	to    State
	roles []string
}

var transitions = map[Action]transition{
	ActTriage:   {[]State{Open}, Triage, []string{RoleAuditor, RoleSupervisor, RoleSystem}},
	ActToPanel:  {[]State{Triage}, PanelReview, []string{RoleAuditor, RoleSupervisor, RoleSystem}},
	ActDecide:   {[]State{Triage, PanelReview}, Decided, []string{RoleAuditor, RoleSupervisor, RoleSystem}},
	ActDismiss:  {[]State{Open, Triage}, Closed, []string{RoleAuditor, RoleSupervisor}},
	ActAppeal:   {[]State{Decided}, Appeal, []string{RoleAuditor, RoleSupervisor}},
	ActFinalize: {[]State{Decided, Appeal}, Final, []string{RoleSupervisor}},
	ActRecover:  {[]State{Final, Recovery}, Recovery, []string{RoleAuditor, RoleSupervisor}},
	ActClose:    {[]State{Final, Recovery}, Closed, []string{RoleSupervisor}},
}

// Life-cycle errors.
var (
	ErrTransition = errors.New("this action is not possible in the case's state")
	ErrRole       = errors.New("this role may not take this action")
)

// Next returns the state after action, or why the action is refused.
func Next(s State, a Action, role string) (State, error) {
	t, ok := transitions[a]
	if !ok {
		return s, fmt.Errorf("unknown action %q", a)
	}
	if !slices.Contains(t.from, s) {
		return s, fmt.Errorf("%w: %s from %s", ErrTransition, a, s)
	}
	if !slices.Contains(t.roles, role) {
		return s, fmt.Errorf("%w: %s may not %s", ErrRole, role, a)
	}
	return t.to, nil
}

// Limits are the time limits of the states that wait on someone.
type Limits map[State]time.Duration

// DefaultLimits: 5 days to triage, 14 for the panel, 10 for the institution
// to appeal a decision, 15 to settle an appeal, 30 to recover, 5 to close.
func DefaultLimits() Limits {
	d := 24 * time.Hour
	return Limits{Open: 5 * d, Triage: 5 * d, PanelReview: 14 * d, Decided: 10 * d, Appeal: 15 * d, Final: 5 * d, Recovery: 30 * d}
}

// Due is when a case entering s at t must move on (zero for no limit).
func (l Limits) Due(s State, t time.Time) time.Time {
	if d, ok := l[s]; ok {
		return t.Add(d)
	}
	return time.Time{}
}
