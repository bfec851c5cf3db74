package api

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"strconv"
	"strings"

	"github.com/medaudit/medaudit/casebook"
	"github.com/medaudit/medaudit/contract"
	"github.com/medaudit/medaudit/internal/glossary"
)

// caseStep is one life-cycle step, taken the same way by the API and by the
// case page's forms: checkStep validates it and says what will be recorded,
// doStep records it through the casebook (which checks the state and the
// role again inside its transaction and writes the audit event).
type caseStep struct {
	Action  string
	Note    string
	Verdict string
	Amount  string // yuan
	Basis   string
	Percent int
	Size    int
	Seed    uint64
	Found   map[string]string // sampled settlement id → over-payment found, yuan
}

// Steps the pages and the API offer.
const (
	stepToPanel  = "send_to_panel"
	stepTriage   = "triage"
	stepDismiss  = "dismiss"
	stepDecide   = "decide"
	stepAppeal   = "appeal"
	stepRecovery = "recovery"
	stepFinalize = "finalize"
	stepClose    = "close"
	stepSample   = "sample"
	stepFindings = "findings"
)

// stepOrder is the order the case page offers the steps in.
var stepOrder = []string{stepToPanel, stepTriage, stepDecide, stepDismiss, stepSample, stepFindings, stepAppeal, stepFinalize, stepRecovery, stepClose}

// stepActions maps steps to the casebook action whose transition they take.
var stepActions = map[string]casebook.Action{
	stepToPanel: casebook.ActToPanel, stepTriage: casebook.ActTriage, stepDismiss: casebook.ActDismiss, stepDecide: casebook.ActDecide,
	stepAppeal: casebook.ActAppeal, stepRecovery: casebook.ActRecover, stepFinalize: casebook.ActFinalize, stepClose: casebook.ActClose,
}

// stepNames are the steps' names on buttons and confirmations.
var stepNames = map[string]glossary.Entry{
	stepToPanel: {Zh: "送专家复审", En: "Send to the panel"}, stepTriage: {Zh: "初审受理", En: "Triage"},
	stepDismiss: {Zh: "不予立案", En: "Dismiss"}, stepDecide: {Zh: "认定", En: "Decide"},
	stepAppeal: {Zh: "登记机构申诉", En: "Record the appeal"}, stepRecovery: {Zh: "登记追回及罚款", En: "Record recovery and fine"},
	stepFinalize: {Zh: "终审", En: "Finalize"}, stepClose: {Zh: "结案", En: "Close"},
	stepSample: {Zh: "抽取追回样本", En: "Draw the recovery sample"}, stepFindings: {Zh: "登记样本核查结果", En: "Record the sample findings"},
}

// stepPlan is what a step will record, shown before it is confirmed.
type stepPlan struct {
	Step, Name string
	From, To   string // state names; To empty when the state does not change
	Lines      []kv
}

// allowedSteps lists the steps role may take on k now.
func allowedSteps(k casebook.Case, role string, sample *casebook.CaseSample) []string {
	var out []string
	for _, st := range stepOrder {
		if _, err := planStep(k, role, sample, caseStep{Action: st}, glossary.Zh, true); err == nil {
			out = append(out, st)
		}
	}
	return out
}

// planStep checks a step against the case's state, the role and the
// inputs, and describes what will be recorded. stateOnly skips the inputs
// (for deciding which forms to offer).
func planStep(k casebook.Case, role string, sample *casebook.CaseSample, st caseStep, l glossary.Lang, stateOnly bool) (stepPlan, error) {
	name, ok := stepNames[st.Action]
	if !ok {
		return stepPlan{}, &Error{Code: CodeInvalid, Field: "action", Message: "action must be one of " + strings.Join(stepOrder, ", ")}
	}
	p := stepPlan{Step: st.Action, Name: name.In(l), From: glossary.Word(string(k.State), l)}
	line := func(zh, en, v string) { p.Lines = append(p.Lines, kv{glossary.Entry{Zh: zh, En: en}.In(l), v}) }
	if a, ok := stepActions[st.Action]; ok {
		from := k.State
		if st.Action == stepToPanel {
			if k.Route != "panel" {
				return p, &Error{Code: CodeInvalid, Message: "this case has no clinical flag: it is decided by the auditors"}
			}
			if from == casebook.Open { // the page and the API triage an open case on the way
				next, err := casebook.Next(from, casebook.ActTriage, role)
				if err != nil {
					return p, caseError(err)
				}
				from = next
			}
		}
		if st.Action == stepDecide && k.State == casebook.PanelReview {
			return p, caseError(casebook.ErrTransition)
		}
		next, err := casebook.Next(from, a, role)
		if err != nil {
			return p, caseError(err)
		}
		p.To = glossary.Word(string(next), l)
	}
	if (st.Action == stepSample || st.Action == stepFindings) && k.State == casebook.Closed {
		return p, caseError(casebook.ErrTransition)
	}
	switch st.Action {
	case stepSample:
		if k.SubjectType != contract.SubjectInstitution || sample != nil {
			return p, &Error{Code: CodeConflict, Message: "a recovery sample is drawn once, for an institution case"}
		}
	case stepFindings:
		if sample == nil {
			return p, &Error{Code: CodeConflict, Message: "draw the recovery sample first"}
		}
	}
	if stateOnly {
		return p, nil
	}
	switch st.Action {
	case stepDecide:
		v := casebook.Verdict(st.Verdict)
		if v != casebook.Violation && v != casebook.NoViolation {
			return p, &Error{Code: CodeInvalid, Field: "verdict", Message: "verdict must be violation or no_violation"}
		}
		line("认定结论", "Verdict", glossary.Word(st.Verdict, l))
		if v == casebook.Violation {
			a, err := yuan(st.Amount, "amount")
			if err != nil {
				return p, err
			}
			if a > k.AmountAtRisk {
				return p, caseError(casebook.ErrAmount)
			}
			line("违规金额", "Violating amount", a.String()+" "+glossary.Entry{Zh: "元", En: "yuan"}.In(l))
		}
	case stepAppeal:
		if strings.TrimSpace(st.Note) == "" {
			return p, &Error{Code: CodeInvalid, Field: "note", Message: "an appeal needs the institution's grounds in note"}
		}
	case stepRecovery:
		a, err := yuan(st.Amount, "amount")
		if err != nil {
			return p, err
		}
		if _, _, ok := casebook.FineRange(casebook.Basis(st.Basis)); !ok {
			return p, &Error{Code: CodeInvalid, Field: "basis", Message: "basis must be art38, art40 or art41 (医疗保障基金使用监督管理条例)"}
		}
		fine, err := casebook.Fine(k.ViolationAmount, casebook.Basis(st.Basis), st.Percent)
		if err != nil {
			return p, &Error{Code: CodeInvalid, Field: "percent", Message: err.Error()}
		}
		if k.Recovered+a > k.ViolationAmount {
			return p, &Error{Code: CodeInvalid, Field: "amount", Message: "recovered amounts must total at most the violating amount " + k.ViolationAmount.String()}
		}
		y := " " + glossary.Entry{Zh: "元", En: "yuan"}.In(l)
		line("本次追回", "Recovered now", a.String()+y)
		line("累计追回", "Recovered in all", (k.Recovered+a).String()+y)
		line("处罚依据", "Basis", glossary.Word(st.Basis, l))
		line("罚款", "Fine", fine.String()+y+" ("+k.ViolationAmount.String()+" × "+itoa(st.Percent)+"%)")
	case stepSample:
		if st.Size < 2 || st.Size > 1000 {
			return p, &Error{Code: CodeInvalid, Field: "size", Message: "size must be a whole number from 2 to 1000"}
		}
		line("样本量", "Sample size", itoa(st.Size))
		line("随机种子", "Seed", utoa(st.Seed))
		line("机构", "Institution", k.SubjectID)
	case stepFindings:
		total := contract.Fen(0)
		for _, cl := range sample.Claims {
			a, err := foundAmount(st.Found[cl.SettlementID], cl.SettlementID)
			if err != nil {
				return p, err
			}
			total += a
		}
		for id := range st.Found {
			if !sampled(sample, id) {
				return p, &Error{Code: CodeInvalid, Field: "found", Message: "claim " + id + " was not drawn in the sample"}
			}
		}
		line("核查的样本", "Claims reviewed", itoa(len(sample.Claims)))
		line("样本中核实的多付金额", "Over-payment found in the sample", total.String()+" "+glossary.Entry{Zh: "元", En: "yuan"}.In(l))
	}
	if note := strings.TrimSpace(st.Note); note != "" {
		line("说明", "Note", note)
	}
	return p, nil
}

func sampled(s *casebook.CaseSample, id string) bool {
	for _, cl := range s.Claims {
		if cl.SettlementID == id {
			return true
		}
	}
	return false
}

// foundAmount parses an over-payment found in a sampled claim: empty is 0.
func foundAmount(v, id string) (contract.Fen, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, nil
	}
	a, err := contract.ParseDecimal(v, 2)
	if err != nil || a < 0 {
		return 0, &Error{Code: CodeInvalid, Field: "found", Message: "the amount found in claim " + id + " must be an amount in yuan, e.g. 120.50"}
	}
	return contract.Fen(a), nil
}

// doStep records a checked step through the casebook.
func (s *Server) doStep(ctx context.Context, k casebook.Case, actor, role string, st caseStep) error {
	cb := s.cases
	switch st.Action {
	case stepToPanel:
		if k.State == casebook.Open {
			if err := cb.Act(ctx, k.ID, actor, role, casebook.ActTriage, "送专家复审时一并受理"); err != nil {
				return caseError(err)
			}
		}
		return caseError(cb.SendToPanel(ctx, k.ID, actor, role))
	case stepTriage, stepDismiss, stepFinalize, stepClose, stepAppeal:
		return caseError(cb.Act(ctx, k.ID, actor, role, stepActions[st.Action], st.Note))
	case stepDecide:
		var amount contract.Fen
		if casebook.Verdict(st.Verdict) == casebook.Violation {
			amount, _ = yuan(st.Amount, "amount")
		}
		return caseError(cb.Decide(ctx, k.ID, actor, role, casebook.Verdict(st.Verdict), amount, st.Note))
	case stepRecovery:
		amount, _ := yuan(st.Amount, "amount")
		return caseError(cb.RecordRecovery(ctx, k.ID, actor, role, amount, casebook.Basis(st.Basis), st.Percent))
	case stepSample:
		_, err := cb.DrawSample(ctx, k.ID, actor, st.Size, st.Seed)
		return caseError(err)
	case stepFindings:
		found := map[string]contract.Fen{}
		for id, v := range st.Found {
			a, _ := foundAmount(v, id)
			found[id] = a
		}
		_, err := cb.RecordSampleFindings(ctx, k.ID, actor, found)
		return caseError(err)
	}
	return &Error{Code: CodeInvalid, Field: "action", Message: "unknown action"}
}

// takeStep checks and records a step for the current user on the case in
// the path (after the district check); the API's case routes and the case
// page's forms both end here.
func (s *Server) takeStep(ctx context.Context, k casebook.Case, actor, role string, st caseStep) error {
	if st.Action == stepSample && st.Seed == 0 {
		st.Seed = newSeed()
	}
	sample, err := s.cases.SampleOf(ctx, k.ID)
	if err != nil {
		return err
	}
	if _, err := planStep(k, role, sample, st, glossary.Zh, false); err != nil {
		return err
	}
	return s.doStep(ctx, k, actor, role, st)
}

// newSeed is a random sample seed; it is stored with the sample, so anyone
// can redraw the same claims.
func newSeed() uint64 {
	var b [8]byte
	rand.Read(b[:])
	return binary.BigEndian.Uint64(b[:]) >> 11 // fits a JSON number exactly
}

func itoa(n int) string    { return strconv.Itoa(n) }
func utoa(n uint64) string { return strconv.FormatUint(n, 10) }
