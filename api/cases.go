package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/medaudit/medaudit/auth"
	"github.com/medaudit/medaudit/casebook"
	"github.com/medaudit/medaudit/contract"
)

// caseFilter reads the case listing's query parameters, scoped to the
// user's districts.
func caseFilter(c *gin.Context) (casebook.Filter, error) {
	limit, offset, err := paging(c, 100, 1000)
	if err != nil {
		return casebook.Filter{}, err
	}
	f := casebook.Filter{State: casebook.State(c.Query("state")), OrgCode: c.Query("org_code"), Family: c.Query("family"),
		Specialty: c.Query("specialty"), Query: c.Query("q"), Sort: c.Query("sort"), Asc: c.Query("dir") == "asc", Limit: limit, Offset: offset}
	if _, ok := casebook.SortColumns[f.Sort]; f.Sort != "" && !ok {
		return f, &Error{Code: CodeInvalid, Field: "sort", Message: "sort must be priority, amount, due or opened"}
	}
	if _, ok := casebook.StateNames[f.State]; f.State != "" && !ok {
		return f, &Error{Code: CodeInvalid, Field: "state", Message: "state must be one of open, triage, panel_review, decided, appeal, final, recovery, closed"}
	}
	u := currentUser(c)
	if d := c.Query("district"); d != "" {
		if !contract.ValidRegionCode(d) {
			return f, &Error{Code: CodeInvalid, Field: "district", Message: "district must be a 6-digit region code"}
		}
		f.Districts = []string{}
		if u.Sees(d) {
			f.Districts = []string{d}
		}
	} else if !u.Sees("*") {
		f.Districts = u.Districts
	}
	return f, nil
}

// listCases answers GET /api/v1/cases.
func (s *Server) listCases(c *gin.Context) {
	f, err := caseFilter(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	list, total, err := s.cases.List(c.Request.Context(), f)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"total": total, "limit": f.Limit, "offset": f.Offset, "cases": list})
}

// staffCase loads the case named in the path if it is in the user's
// districts, else not found.
func (s *Server) staffCase(c *gin.Context) (casebook.Case, error) {
	k, err := s.cases.Get(c.Request.Context(), c.Param("id"))
	if errors.Is(err, casebook.ErrNotFound) || (err == nil && !currentUser(c).Sees(k.District)) {
		return k, &Error{Code: CodeNotFound, Message: "no such case"}
	}
	return k, err
}

// caseError maps the casebook's refusals to API errors.
func caseError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, casebook.ErrTransition):
		return &Error{Code: CodeConflict, Message: "this action is not possible in the case's current state"}
	case errors.Is(err, casebook.ErrRole):
		return &Error{Code: CodeForbidden, Message: "your role may not take this action"}
	case errors.Is(err, casebook.ErrNoReviewer):
		return &Error{Code: CodeConflict, Message: "no eligible reviewer is free: add reviewers or wait for capacity"}
	case errors.Is(err, casebook.ErrAmount):
		return &Error{Code: CodeInvalid, Field: "amount", Message: "the violating amount must be positive and at most the amount at risk"}
	case errors.Is(err, casebook.ErrInvalid):
		return &Error{Code: CodeInvalid, Message: strings.TrimPrefix(err.Error(), casebook.ErrInvalid.Error()+": ")}
	}
	return err
}

// caseAction runs fn on the case named in the path after the district
// check and answers with the case as it now stands.
func (s *Server) caseAction(c *gin.Context, in any, fn func(k casebook.Case, actor, role string) error) {
	s.caseActionWith(c, in, fn, func(k casebook.Case) { c.JSON(http.StatusOK, gin.H{"case": k}) })
}

// caseActionWith is caseAction with its own answer.
func (s *Server) caseActionWith(c *gin.Context, in any, fn func(k casebook.Case, actor, role string) error, answer func(casebook.Case)) {
	k, err := s.staffCase(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	if in != nil {
		if err := c.ShouldBindJSON(in); err != nil {
			s.fail(c, &Error{Code: CodeInvalid, Field: "body", Message: "the body must be a JSON object (see the OpenAPI document)"})
			return
		}
	}
	u := currentUser(c)
	if err := caseError(fn(k, "user:"+u.ID, u.Role)); err != nil {
		s.fail(c, err)
		return
	}
	k, err = s.cases.Get(c.Request.Context(), k.ID)
	if err != nil {
		s.fail(c, err)
		return
	}
	answer(k)
}

// noteInput is an action that takes only a note.
type noteInput struct {
	Action string `json:"action"`
	Note   string `json:"note"`
}

// plainActions are the actions POST /cases/{id}/actions takes.
var plainActions = map[string]casebook.Action{
	"triage": casebook.ActTriage, "dismiss": casebook.ActDismiss, "finalize": casebook.ActFinalize, "close": casebook.ActClose,
}

func (s *Server) actOnCase(c *gin.Context) {
	var in noteInput
	s.caseAction(c, &in, func(k casebook.Case, actor, role string) error {
		if _, ok := plainActions[in.Action]; !ok {
			return &Error{Code: CodeInvalid, Field: "action", Message: "action must be triage, dismiss, finalize or close"}
		}
		return s.takeStep(c.Request.Context(), k, actor, role, caseStep{Action: in.Action, Note: in.Note})
	})
}

// assignCase sends a case to the review panel: two independent reviewers
// of its specialty, none from the flagged institution or its district.
func (s *Server) assignCase(c *gin.Context) {
	s.caseAction(c, nil, func(k casebook.Case, actor, role string) error {
		return s.takeStep(c.Request.Context(), k, actor, role, caseStep{Action: stepToPanel})
	})
}

func (s *Server) appealCase(c *gin.Context) {
	var in noteInput
	s.caseAction(c, &in, func(k casebook.Case, actor, role string) error {
		return s.takeStep(c.Request.Context(), k, actor, role, caseStep{Action: stepAppeal, Note: in.Note})
	})
}

// decisionInput is an auditor's decision on a case that is not for the panel.
type decisionInput struct {
	Verdict string `json:"verdict"`
	Amount  string `json:"amount"` // yuan
	Note    string `json:"note"`
}

func (s *Server) decideCase(c *gin.Context) {
	var in decisionInput
	s.caseAction(c, &in, func(k casebook.Case, actor, role string) error {
		return s.takeStep(c.Request.Context(), k, actor, role, caseStep{Action: stepDecide, Verdict: in.Verdict, Amount: in.Amount, Note: in.Note})
	})
}

// recoveryInput records money recovered and the fine.
type recoveryInput struct {
	Amount  string `json:"amount"`  // yuan recovered this time
	Basis   string `json:"basis"`   // art38 | art40 | art41
	Percent int    `json:"percent"` // the fine as a percentage of the violating amount
}

func (s *Server) recordRecovery(c *gin.Context) {
	var in recoveryInput
	s.caseAction(c, &in, func(k casebook.Case, actor, role string) error {
		return s.takeStep(c.Request.Context(), k, actor, role, caseStep{Action: stepRecovery, Amount: in.Amount, Basis: in.Basis, Percent: in.Percent})
	})
}

// yuan parses a positive amount in yuan with up to two decimals.
func yuan(s, field string) (contract.Fen, error) {
	v, err := contract.ParseDecimal(strings.TrimSpace(s), 2)
	if err != nil || v <= 0 {
		return 0, &Error{Code: CodeInvalid, Field: field, Message: field + " must be a positive amount in yuan, e.g. 1234.50"}
	}
	return contract.Fen(v), nil
}

// staffRoles act on cases; admins manage users, not cases.
var caseActors = []string{auth.Auditor, auth.Supervisor}
