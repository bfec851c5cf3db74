package api

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/medaudit/medaudit/auth"
	"github.com/medaudit/medaudit/casebook"
	"github.com/medaudit/medaudit/contract"
	"github.com/medaudit/medaudit/internal/glossary"
)

// flagView is a flag as the case page shows it: every key labelled from the
// glossary, values rounded, lists as tables.
type flagView struct {
	Title, Summary, Detector, Override, Basis string
	Score                                     float64
	Amount                                    contract.Fen
	Facts                                     []glossary.Fact
	Tables                                    []glossary.Table
	Thresholds                                []glossary.Fact
	Caveats                                   []string
}

type kv struct{ K, V string }

func flagViews(f casebook.CaseFile, l glossary.Lang, org func(string) string) []flagView {
	var out []flagView
	for _, fl := range f.Flags {
		var ev struct {
			Title, Summary string
			Basis          string             `json:"rule_basis"`
			Facts          map[string]any     `json:"facts"`
			Thresholds     map[string]float64 `json:"thresholds"`
			Caveats        []string           `json:"caveats"`
		}
		json.Unmarshal(fl.Evidence, &ev)
		v := flagView{Title: ev.Title, Summary: ev.Summary, Detector: fl.Detector, Basis: ev.Basis, Score: fl.Score,
			Amount: fl.Amount, Caveats: ev.Caveats, Override: overrideNames[fl.Override].In(l)}
		v.Facts, v.Tables = glossary.Facts(ev.Facts, l, org)
		for _, k := range sortedKeys(ev.Thresholds) {
			v.Thresholds = append(v.Thresholds, glossary.Threshold(k, ev.Thresholds[k], l))
		}
		out = append(out, v)
	}
	return out
}

var overrideNames = map[string]glossary.Entry{
	"absolute": {Zh: "绝对性规则（无需病历）", En: "absolute rule (no record needed)"},
	"clinical": {Zh: "临床性规则（病历可推翻）", En: "clinical rule (a record may overturn it)"},
}

// eventView is an audit-trail event in words.
type eventView struct {
	Seq                     int64
	At, Actor, Kind, Detail string
}

func eventViews(evs []casebook.Event, l glossary.Lang) []eventView {
	out := make([]eventView, 0, len(evs))
	for _, e := range evs {
		out = append(out, eventView{Seq: e.Seq, At: glossary.Time(e.At), Actor: glossary.Actor(e.Actor, l),
			Kind: glossary.EventKind(e.Kind, l), Detail: glossary.Payload(e.Payload, l)})
	}
	return out
}

// orgNames returns a lookup of institution names by code.
func (s *Server) orgNames(ctx context.Context) (func(string) string, error) {
	names := map[string]string{}
	rows, err := s.db.QueryContext(ctx, `SELECT org_code, name FROM institutions`)
	if err != nil {
		return nil, fmt.Errorf("institution names: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var v sql.NullString
		if err := rows.Scan(&k, &v); err != nil {
			return nil, fmt.Errorf("institution names: %w", err)
		}
		names[k] = v.String
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("institution names: %w", err)
	}
	return func(code string) string { return names[code] }, nil
}

// orgStay is one flagged stay of an institution, for the panel to pick a
// sample of them to read.
type orgStay struct {
	SettlementID, CaseID, Diagnosis, Rules string
	Admitted, Discharged                   string
	LOS                                    int
	Total                                  contract.Fen
}

// institutionStays lists the flagged stays of an institution case's
// institution, with the case of each stay when one is open.
func (s *Server) institutionStays(ctx context.Context, org string) ([]orgStay, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT s.settlement_id, coalesce(c.case_id, ''), coalesce(s.diagnosis_code, ''),
		string_agg(DISTINCT coalesce(f.evidence->>'title', f.detector), '；'), s.admitted_at, s.discharged_at, s.total_amount::VARCHAR
		FROM flags f JOIN settlements s ON s.settlement_id = f.subject_id
		LEFT JOIN cases c ON c.subject_type = 'settlement' AND c.subject_id = s.settlement_id
		WHERE f.subject_type = 'settlement' AND f.org_code = ? AND s.visit_type = 'inpatient'
		GROUP BY ALL ORDER BY s.admitted_at, s.settlement_id`, org)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []orgStay
	for rows.Next() {
		var st orgStay
		var adm time.Time
		var dis *time.Time
		var total string
		if err := rows.Scan(&st.SettlementID, &st.CaseID, &st.Diagnosis, &st.Rules, &adm, &dis, &total); err != nil {
			return nil, err
		}
		st.Admitted, st.LOS = glossary.Time(glossary.Local(adm)), 1
		if dis != nil {
			st.Discharged = glossary.Time(glossary.Local(*dis))
			st.LOS = int(dis.Truncate(24*time.Hour).Sub(adm.Truncate(24*time.Hour)).Hours()/24) + 1
		}
		st.Diagnosis = glossary.Value("diagnosis_code", st.Diagnosis, glossary.Zh, nil)
		v, _ := contract.ParseDecimal(total, 2)
		st.Total = contract.Fen(v)
		out = append(out, st)
	}
	return out, rows.Err()
}

// sampleView is the recovery sample as the case page shows it.
type sampleView struct {
	S      *casebook.CaseSample
	Strata []kv
	Method string
}

func newSampleView(smp *casebook.CaseSample, l glossary.Lang) *sampleView {
	if smp == nil {
		return nil
	}
	v := &sampleView{S: smp, Method: glossary.SampleMethod.In(l)}
	for _, st := range smp.Strata {
		v.Strata = append(v.Strata, kv{glossary.Stratum(st.Name, l), strconv.Itoa(st.Drawn) + " / " + strconv.Itoa(st.Frame)})
	}
	return v
}

// casePage shows the case file, with the steps the user may take.
func (s *Server) casePage(c *gin.Context) {
	data, err := s.caseData(c)
	if err != nil {
		s.failPage(c, err)
		return
	}
	s.render(c, "case.html", data)
}

// caseData is what the case page and the PDF case file show.
func (s *Server) caseData(c *gin.Context) (gin.H, error) {
	f, blind, err := s.caseFor(c)
	if err != nil {
		return nil, err
	}
	ctx := c.Request.Context()
	l := glossary.Lang(lang(c))
	u := currentUser(c)
	canVote := false
	for _, r := range f.Reviews {
		if r.ExpertID == u.ExpertID && !r.Submitted() && f.Case.State == casebook.PanelReview {
			canVote = true
		}
	}
	org, err := s.orgNames(ctx)
	if err != nil {
		return nil, err
	}
	data := gin.H{"F": f, "Blind": blind, "CanVote": canVote, "Flags": flagViews(f, l, org),
		"State": glossary.Word(string(f.Case.State), l), "Specialty": glossary.Word(f.Case.Specialty, l),
		"Message": c.Query("msg"), "Events": eventViews(f.Events, l), "Sample": newSampleView(f.Sample, l)}
	if f.Stay != nil {
		data["Timeline"] = timelineSVG(f, lang(c))
		data["Sex"] = glossary.Code("sex", strconv.Itoa(f.Stay.Sex), l)
	}
	if u.Role != auth.Reviewer {
		data["Steps"] = allowedSteps(f.Case, u.Role, f.Sample)
		data["StepNames"] = stepNameMap(l)
		data["PDF"] = true
		remaining := f.Case.ViolationAmount - f.Case.Recovered
		if f.Sample != nil && f.Sample.Estimate != nil {
			remaining = min(remaining, f.Sample.Estimate.Total)
		}
		if remaining > 0 {
			data["RecoverDefault"] = remaining.String()
		}
	}
	if f.Case.SubjectType == contract.SubjectInstitution {
		stays, err := s.institutionStays(ctx, f.Case.SubjectID)
		if err != nil {
			return nil, err
		}
		data["Stays"] = stays
	}
	return data, nil
}

func stepNameMap(l glossary.Lang) map[string]string {
	out := map[string]string{}
	for k, v := range stepNames {
		out[k] = v.In(l)
	}
	return out
}

// stepFromForm reads a life-cycle step from the case page's form.
func stepFromForm(c *gin.Context) caseStep {
	st := caseStep{Action: c.PostForm("action"), Note: strings.TrimSpace(c.PostForm("note")), Verdict: c.PostForm("verdict"),
		Amount: c.PostForm("amount"), Basis: c.PostForm("basis")}
	st.Percent, _ = strconv.Atoi(c.PostForm("percent"))
	st.Size, _ = strconv.Atoi(c.PostForm("size"))
	st.Seed, _ = strconv.ParseUint(c.PostForm("seed"), 10, 64)
	if err := c.Request.ParseForm(); err == nil {
		for k, vs := range c.Request.PostForm {
			if id, ok := strings.CutPrefix(k, "found_"); ok && len(vs) > 0 {
				if st.Found == nil {
					st.Found = map[string]string{}
				}
				st.Found[id] = vs[0]
			}
		}
	}
	return st
}

// caseStepForm answers POST /cases/{id}/act: without confirm=1 it shows
// what the step will record and asks to confirm; with it, it records the
// step exactly as the API does and goes back to the case page.
func (s *Server) caseStepForm(c *gin.Context) {
	k, err := s.staffCase(c)
	if err != nil {
		s.failPage(c, err)
		return
	}
	ctx := c.Request.Context()
	u := currentUser(c)
	l := glossary.Lang(lang(c))
	st := stepFromForm(c)
	if st.Action == stepSample && st.Seed == 0 {
		st.Seed = newSeed() // fixed now, so the confirmation shows the seed that will be stored
	}
	sample, err := s.cases.SampleOf(ctx, k.ID)
	if err != nil {
		s.failPage(c, err)
		return
	}
	plan, err := planStep(k, u.Role, sample, st, l, false)
	if err != nil {
		s.failPage(c, err)
		return
	}
	if c.PostForm("confirm") != "1" {
		hidden := url.Values{}
		c.Request.ParseForm()
		for key, vs := range c.Request.PostForm {
			if key != "csrf" && key != "confirm" && key != "seed" {
				hidden[key] = vs
			}
		}
		if st.Action == stepSample {
			hidden.Set("seed", strconv.FormatUint(st.Seed, 10))
		}
		s.render(c, "confirm.html", gin.H{"Case": k, "Plan": plan, "Hidden": hidden})
		return
	}
	if err := s.takeStep(ctx, k, "user:"+u.ID, u.Role, st); err != nil {
		s.failPage(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/cases/"+url.PathEscape(k.ID)+"?msg="+url.QueryEscape(st.Action))
}

// timeFuncs format times for people: Asia/Shanghai, to the minute.
var timeFuncs = template.FuncMap{
	"cst": func(t any) string {
		switch x := t.(type) {
		case time.Time:
			return glossary.Time(x)
		case *time.Time:
			if x != nil {
				return glossary.Time(*x)
			}
		}
		return ""
	},
	"cstDate": func(t any) string {
		switch x := t.(type) {
		case time.Time:
			return glossary.Date(x)
		case *time.Time:
			if x != nil {
				return glossary.Date(*x)
			}
		}
		return ""
	},
	"word":    func(w any, l string) string { return glossary.Word(toString(w), langOf(l)) },
	"code":    func(key string, v any, l string) string { return glossary.Code(key, fmt.Sprint(v), langOf(l)) },
	"deref":   func(f *contract.Fen) contract.Fen { return *f },
	"stratum": func(name string, l string) string { return glossary.Stratum(name, langOf(l)) },
}

func toString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case casebook.State:
		return string(x)
	case casebook.Verdict:
		return string(x)
	}
	return ""
}

func langOf(htmlLang string) glossary.Lang {
	if htmlLang == "en" {
		return glossary.En
	}
	return glossary.Zh
}
