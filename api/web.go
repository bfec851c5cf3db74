package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/medaudit/medaudit/auth"
	"github.com/medaudit/medaudit/casebook"
	"github.com/medaudit/medaudit/contract"
	"github.com/medaudit/medaudit/internal/glossary"
)

// messages are the page strings, Chinese first.
var messages = map[string][2]string{
	"app":            {"医保异地结算稽核", "Cross-region claim audit"},
	"queue":          {"我的评审队列", "My review queue"},
	"cases":          {"案件", "Cases"},
	"ledger":         {"批次台账", "Batch ledger"},
	"reports":        {"定期报告", "Scheduled reports"},
	"all":            {"全部", "All"},
	"family":         {"疑点类别", "Family"},
	"filter":         {"筛选", "Filter"},
	"matching":       {"符合条件的案件：", "Matching cases:"},
	"reports_note":   {"月度稽核报告、季度检查包和年度考核报告按计划自动生成；HTML 可直接打印，xlsx 可筛选。", "Monthly audit reports, quarterly inspection packs and annual scores are generated on schedule; print the HTML, filter the xlsx."},
	"report_job":     {"报告", "Report"},
	"report_for":     {"计划时间", "Scheduled for"},
	"report_files":   {"文件", "Files"},
	"report_done":    {"已完成", "Done"},
	"report_running": {"生成中", "Running"},
	"report_failed":  {"失败（将重试）", "Failed (will be redone)"},
	"no_reports":     {"暂无报告。", "No reports yet."},
	"logout":         {"退出", "Sign out"},
	"case":           {"案件", "Case"},
	"priority":       {"优先级", "Priority"},
	"due":            {"截止", "Due"},
	"state":          {"状态", "State"},
	"institution":    {"医疗机构", "Institution"},
	"specialty":      {"专业", "Specialty"},
	"amount":         {"涉及金额", "Amount at risk"},
	"record":         {"病历摘要", "Medical record summary"},
	"timeline":       {"住院每日费用时间轴", "Day-by-day charges of the stay"},
	"outside":        {"院外活动", "Activity elsewhere"},
	"flags":          {"疑点及证据", "Flags and evidence"},
	"caveats":        {"可能的合理解释", "Possible innocent explanations"},
	"thresholds":     {"判定阈值", "Thresholds"},
	"verdict":        {"评审意见", "Verdict"},
	"violation":      {"违规", "Violation"},
	"no_violation":   {"未见违规", "No violation"},
	"needs_record":   {"需调取病历", "Needs records"},
	"viol_amount":    {"违规金额（元）", "Violating amount (yuan)"},
	"comment":        {"说明", "Comment"},
	"submit":         {"提交评审意见", "Submit verdict"},
	"blind":          {"盲审：提交前看不到另一位专家的意见和系统评分。", "Blind review: the other reviewer's verdict and the system score are hidden until you submit."},
	"submitted":      {"已提交", "Submitted"},
	"empty_queue":    {"队列为空，暂无待评审案件。", "Your queue is empty."},
	"person":         {"参保人", "Insured person"},
	"sex_age":        {"性别/年龄", "Sex / age"},
	"diagnosis":      {"主诊断", "Main diagnosis"},
	"admitted":       {"入院", "Admitted"},
	"discharged":     {"出院", "Discharged"},
	"los":            {"住院天数", "Length of stay"},
	"paid":           {"费用（总额/统筹/个账/现金）", "Total / fund / account / cash"},
	"reviews":        {"评审记录", "Reviews"},
	"trail":          {"操作留痕", "Audit trail"},
	"score":          {"系统评分", "System score"},
	"keys":           {"快捷键：1 违规 · 2 未见违规 · 3 需调取病历 · Ctrl+Enter 提交", "Keys: 1 violation · 2 no violation · 3 needs records · Ctrl+Enter submit"},
	"login":          {"登录", "Sign in"},
	"user":           {"用户名", "User"},
	"password":       {"密码", "Password"},
	"bad_login":      {"用户名或密码错误。", "Wrong user name or password."},
	"rate_login":     {"登录尝试过于频繁，请稍后再试（见 Retry-After）。", "Too many sign-in attempts; try again shortly (see Retry-After)."},
}

var funcs = template.FuncMap{
	"add": func(a, b int64) int64 { return a + b },
	"inc": func(i int) int { return i + 1 },
	"kindName": func(k any) string {
		return map[string]string{"hospital": "医院", "clinic": "诊所", "pharmacy": "药店",
			"monthly_scan": "月度稽核报告", "quarterly_inspection": "季度检查包", "annual_scoring": "年度考核",
			"overdue_escalation": "逾期案件升级", "backup": "夜间备份"}[fmt.Sprint(k)]
	},
	"familyName": func(f string) string { return familyNames[f] },
	"kb":         func(n int64) string { return strconv.FormatInt((n+1023)/1024, 10) + " KB" },
	"yuan":       func(f contract.Fen) string { return f.String() },
	"pct":        func(x float64) string { return strconv.FormatFloat(x*100, 'f', 0, 64) + "%" },
}

// families lists the fraud families in display order, with their names.
var (
	families = []string{contract.FamilyGhostBed, contract.FamilyImpersonation, contract.FamilyDrugSubstitution,
		contract.FamilyCardMisuse, contract.FamilySettlement, contract.FamilyOther}
	familyNames = map[string]string{contract.FamilyGhostBed: "挂床住院", contract.FamilyImpersonation: "冒名住院",
		contract.FamilyDrugSubstitution: "串换药品", contract.FamilyCardMisuse: "违规刷卡", contract.FamilySettlement: "结算差错",
		contract.FamilyOther: "其他违规"}
)

// lang is the page language: ?lang= sets it in a cookie; Chinese by default.
func lang(c *gin.Context) int {
	l := c.Query("lang")
	if l == "zh" || l == "en" {
		c.SetCookie(langCookie, l, 365*24*3600, "/", "", false, true)
	} else if v, err := c.Cookie(langCookie); err == nil {
		l = v
	}
	if l == "en" {
		return 1
	}
	return 0
}

func (s *Server) render(c *gin.Context, page string, data gin.H) {
	c.Header("Content-Type", "text/html; charset=utf-8")
	c.Header("Cache-Control", "no-store")
	if err := s.renderTo(c.Writer, c, page, data); err != nil {
		slog.Error("render page", "page", page, "err", err)
	}
}

// renderTo writes a page in the user's language to w.
func (s *Server) renderTo(w io.Writer, c *gin.Context, page string, data gin.H) error {
	l := lang(c)
	t := map[string]string{}
	for k, v := range messages {
		t[k] = v[l]
	}
	data["T"], data["Lang"], data["User"] = t, [2]string{"zh-CN", "en"}[l], currentUser(c)
	data["Nonce"] = nonce(c)
	data["L"], data["ZoneNote"] = [2]string{"zh", "en"}[l], glossary.ZoneNote.In(glossary.Lang(l))
	return s.pages.ExecuteTemplate(w, page, data)
}

// caseFor loads the case file the current user may see, or not found: a
// reviewer only their assigned cases (blind until they have voted), staff
// only cases of their districts.
func (s *Server) caseFor(c *gin.Context) (casebook.CaseFile, bool, error) {
	u := currentUser(c)
	ctx := c.Request.Context()
	id := c.Param("id")
	notFound := &Error{Code: CodeNotFound, Message: "no such case"}
	st, err := s.caseFileStamp(ctx)
	if err != nil {
		return casebook.CaseFile{}, false, err
	}
	f, err := s.cases.FileAt(ctx, id, u.NeedsIDNumbers(), st)
	if errors.Is(err, casebook.ErrNotFound) {
		return f, false, notFound
	}
	if err != nil {
		return f, false, err
	}
	if u.Role != auth.Reviewer {
		if !u.Sees(f.Case.District) {
			return f, false, notFound
		}
		return f, false, nil
	}
	view, err := s.cases.ReviewerView(ctx, id, u.ExpertID)
	if errors.Is(err, casebook.ErrNotAssigned) {
		return f, false, notFound
	}
	if err != nil {
		return f, false, err
	}
	f.Reviews = view.Reviews
	f.Events = nil // the trail names the other reviewers' votes
	if err := s.sec.masker.file(ctx, s.db.DB, &f); err != nil {
		return f, false, err
	}
	if !view.ScoreVisible {
		f.Case.Priority = 0
		for i := range f.Flags {
			f.Flags[i].Score = 0
			f.Flags[i].Evidence = stripScore(f.Flags[i].Evidence)
		}
		return f, true, nil
	}
	return f, false, nil
}

// stripScore removes the score parts from evidence shown to a blind reviewer.
func stripScore(ev json.RawMessage) json.RawMessage {
	var m map[string]any
	if json.Unmarshal(ev, &m) != nil {
		return ev
	}
	delete(m, "score_parts")
	out, _ := json.Marshal(m)
	return out
}

func (s *Server) caseJSON(c *gin.Context) {
	if s.storedCaseJSON(c) {
		return
	}
	f, blind, err := s.caseFor(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"case_file": f, "blind": blind})
}

// storedCaseJSON answers an auditor with the case file as it is stored
// (masked, as auditors read it), not decoded and encoded again; false when
// the user is of another role or the stored file is missing or stale.
func (s *Server) storedCaseJSON(c *gin.Context) bool {
	u := currentUser(c)
	if u.Role != auth.Auditor {
		return false
	}
	ctx := c.Request.Context()
	st, err := s.caseFileStamp(ctx)
	if err != nil {
		return false
	}
	raw, district, ok, err := s.cases.StoredFile(ctx, c.Param("id"), st)
	if err != nil || !ok {
		return false
	}
	if !u.Sees(district) {
		s.fail(c, &Error{Code: CodeNotFound, Message: "no such case"})
		return true
	}
	body := make([]byte, 0, len(raw)+32)
	body = append(append(append(body, `{"blind":false,"case_file":`...), raw...), '}')
	c.Data(http.StatusOK, "application/json; charset=utf-8", body)
	return true
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// verdictInput is a reviewer's verdict.
type verdictInput struct {
	Verdict string `form:"verdict" json:"verdict"`
	Amount  string `form:"amount" json:"amount"` // yuan, up to 2 decimals
	Comment string `form:"comment" json:"comment"`
}

// submitVerdict records the verdict; the caller has checked that the user
// may see the case.
func (s *Server) submitVerdict(c *gin.Context, in verdictInput) (casebook.Outcome, error) {
	u := currentUser(c)
	v := casebook.Verdict(in.Verdict)
	if !v.Valid() {
		return casebook.Outcome{}, &Error{Code: CodeInvalid, Field: "verdict", Message: "verdict must be violation, no_violation or needs_records"}
	}
	var amount int64
	if v == casebook.Violation {
		var err error
		if amount, err = contract.ParseDecimal(strings.TrimSpace(in.Amount), 2); err != nil || amount <= 0 {
			return casebook.Outcome{}, &Error{Code: CodeInvalid, Field: "amount", Message: "a violation needs the violating amount in yuan (e.g. 1234.50)"}
		}
	}
	out, err := s.cases.SubmitVerdict(c.Request.Context(), c.Param("id"), u.ExpertID, v, contract.Fen(amount), in.Comment)
	switch {
	case errors.Is(err, casebook.ErrAlreadySubmitted), errors.Is(err, casebook.ErrTransition):
		return out, &Error{Code: CodeConflict, Message: "the verdict was already submitted or the case is no longer under review"}
	case errors.Is(err, casebook.ErrAmount):
		return out, &Error{Code: CodeInvalid, Field: "amount", Message: "the violating amount must be positive and at most the amount at risk"}
	}
	return out, err
}

func (s *Server) verdictForm(c *gin.Context) {
	if _, _, err := s.caseFor(c); err != nil {
		s.failPage(c, err)
		return
	}
	var in verdictInput
	c.ShouldBind(&in)
	if _, err := s.submitVerdict(c, in); err != nil {
		s.failPage(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/queue?msg=submitted")
}

func (s *Server) verdictJSON(c *gin.Context) {
	// Access first: a case the user may not see is not found, whatever the body.
	if _, _, err := s.caseFor(c); err != nil {
		s.fail(c, err)
		return
	}
	var in verdictInput
	if err := c.ShouldBindJSON(&in); err != nil {
		s.fail(c, &Error{Code: CodeInvalid, Message: "body must be JSON {verdict, amount, comment}"})
		return
	}
	out, err := s.submitVerdict(c, in)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"outcome": out.String(), "done": out.Done, "needs_third": out.NeedsThird})
}

// timelineSVG draws the stay day by day: one row per fee category, one
// column per day, each cell shaded by the day's amount in that category,
// and a row marking activity at other institutions during the stay.
func timelineSVG(f casebook.CaseFile, l int) template.HTML {
	const left, cell, rowH, top = 96, 34, 22, 24
	days := f.Days
	var cats []struct{ Key, Name string }
	peak := map[string]contract.Fen{}
	for _, cat := range casebook.Categories {
		for _, d := range days {
			if a := d.Amount[cat.Key]; a > 0 {
				peak[cat.Key] = maxFen(peak[cat.Key], a)
			}
		}
		if peak[cat.Key] > 0 {
			cats = append(cats, cat)
		}
	}
	rows := len(cats) + 1
	w, h := max(left+cell*len(days)+10, 640), top+rowH*rows+30
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" id="timeline" role="img" aria-label="%s" width="%d" height="%d" viewBox="0 0 %d %d" font-size="12">`,
		template.HTMLEscapeString(messages["timeline"][l]), w, h, w, h)
	index := map[string]int{}
	for i, d := range days {
		index[d.Date] = i
		x := left + i*cell
		fmt.Fprintf(&b, `<text x="%d" y="16" text-anchor="middle">%s</text>`, x+cell/2, template.HTMLEscapeString(d.Date[5:]))
	}
	for r, cat := range cats {
		y := top + r*rowH
		name := glossary.Code("category", cat.Key, glossary.Lang(l))
		fmt.Fprintf(&b, `<text x="4" y="%d">%s</text>`, y+15, template.HTMLEscapeString(name))
		for i, d := range days {
			a := d.Amount[cat.Key]
			fill := "#f1f5f9"
			if a > 0 {
				shade := 0.25 + 0.75*float64(a)/float64(peak[cat.Key])
				fill = fmt.Sprintf("rgba(37,99,235,%.2f)", shade)
			}
			fmt.Fprintf(&b, `<rect class="cell" data-day="%s" data-category="%s" x="%d" y="%d" width="%d" height="%d" fill="%s" stroke="#fff"><title>%s %s: %s 元 (%d)</title></rect>`,
				d.Date, cat.Key, left+i*cell, y, cell-2, rowH-2, fill, d.Date, template.HTMLEscapeString(cat.Name), a, d.Lines[cat.Key])
		}
	}
	y := top + len(cats)*rowH
	fmt.Fprintf(&b, `<text x="4" y="%d" fill="#b91c1c">%s</text>`, y+15, template.HTMLEscapeString(messages["outside"][l]))
	for _, e := range f.Outside {
		i, ok := index[e.At.Format("2006-01-02")]
		if !ok {
			continue
		}
		fmt.Fprintf(&b, `<circle class="outside" cx="%d" cy="%d" r="7" fill="#dc2626"><title>%s %s %s %s %s 元</title></circle>`,
			left+i*cell+cell/2, y+rowH/2, glossary.Time(e.At), template.HTMLEscapeString(e.OrgName),
			template.HTMLEscapeString(e.OrgCode), template.HTMLEscapeString(glossary.Code("kind", e.Kind, glossary.Lang(l))), e.Amount)
	}
	fmt.Fprintf(&b, `<text x="4" y="%d" fill="#64748b">%s</text></svg>`, h-8,
		template.HTMLEscapeString(map[int]string{0: "颜色越深金额越高；红点为同期在其他机构的结算或刷卡", 1: "Darker = higher amount; red dots = settlements or swipes elsewhere"}[l]))
	return template.HTML(b.String())
}

func maxFen(a, b contract.Fen) contract.Fen {
	if a > b {
		return a
	}
	return b
}
