package api

import (
	"encoding/csv"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/medaudit/medaudit/auth"
	"github.com/medaudit/medaudit/casebook"
	"github.com/medaudit/medaudit/contract"
	"github.com/medaudit/medaudit/internal/glossary"
	"github.com/medaudit/medaudit/reports"
)

// workbenchRoutes adds the auditors' page routes: the case life-cycle forms.
func (s *Server) workbenchRoutes(web *gin.RouterGroup) {
	staff := s.requireRole(auth.Auditor, auth.Supervisor, auth.Admin)
	web.POST("/cases/:id/act", s.requireRole(caseActors...), s.requireCSRF, s.caseStepForm)
	web.GET("/cases/:id/pdf", staff, s.casePDF)
	web.GET("/cases/export", staff, s.casesExport)
	s.ledgerRoutes(web)
}

// workbenchMessages are the workbench pages' strings, Chinese first.
var workbenchMessages = map[string][2]string{
	"recorded":       {"已记录", "Recorded"},
	"print":          {"打印案卷", "Print the case file"},
	"pdf":            {"下载PDF案卷", "Case file as PDF"},
	"subject":        {"对象", "Subject"},
	"opened":         {"立案时间", "Opened"},
	"decision":       {"认定结论", "Decision"},
	"recovered":      {"已追回", "Recovered"},
	"fine":           {"罚款", "Fine"},
	"evidence":       {"证据明细", "Evidence"},
	"org_stays":      {"本机构疑点住院", "Flagged stays of this institution"},
	"org_stays_note": {"点击表头排序；点击结算ID打开该住院的案件，专家组可从中抽样调阅病历。", "Click a header to sort; open a stay's case from its settlement id to read a sample of them."},
	"settlement":     {"结算ID", "Settlement"},
	"total":          {"医疗费总额", "Total"},
	"rules":          {"规则", "Rules"},
	"sample":         {"追回抽样与外推", "Recovery sample and extrapolation"},
	"method":         {"方法", "Method"},
	"seed":           {"随机种子", "Seed"},
	"seed_auto":      {"留空则随机生成并记录", "empty: random, recorded"},
	"sample_size":    {"样本量", "Sample size"},
	"drawn_at":       {"抽样时间", "Drawn"},
	"stratum":        {"分层", "Stratum"},
	"fund_account":   {"统筹+个账", "Fund + account"},
	"found":          {"核实多付金额", "Over-payment found"},
	"extrapolated":   {"外推多付金额", "Extrapolated over-payment"},
	"interval90":     {"90%置信区间", "90% interval"},
	"expert":         {"专家", "Expert"},
	"round":          {"轮次", "Round"},
	"submitted_at":   {"提交时间", "Submitted"},
	"pending":        {"待评审", "Pending"},
	"next_steps":     {"办理", "Next steps"},
	"steps_note":     {"每一步先显示将记录的内容，确认后才写入并留痕。", "Each step shows what will be recorded; nothing is written until you confirm."},
	"recover_amount": {"本次追回金额（元）", "Recovered now (yuan)"},
	"basis":          {"处罚依据", "Basis"},
	"fine_percent":   {"罚款比例（%）", "Fine (%)"},
	"time":           {"时间", "Time"},
	"actor":          {"操作人", "By"},
	"event":          {"事项", "Event"},
	"details":        {"内容", "Details"},
	"confirm_title":  {"请确认", "Please confirm"},
	"confirm_note":   {"确认后将写入案件并记入留痕，不能撤回。", "On confirming, this is recorded in the case and its audit trail; it cannot be undone."},
	"confirm":        {"确认并记录", "Confirm and record"},
	"cancel":         {"取消", "Cancel"},
	"go_back":        {"返回上一页", "Go back"},
	"go_home":        {"回到首页", "Home"},
	"progress":       {"已完成", "Done"},
	"flag_title":     {"疑点", "Flag"},
	"stay_dates":     {"住院日期", "Stay"},
	"tie_breaker":    {"第三方评审", "tie-breaker"},
	"search":         {"案件号/个人编号/卡号/结算ID", "Case, person, card or settlement id"},
	"district":       {"辖区", "District"},
	"export_csv":     {"导出CSV", "Export CSV"},
	"export_xlsx":    {"导出Excel", "Export xlsx"},
	"opened_at":      {"立案", "Opened"},
	"pages":          {"页", "Pages"},
	"quarantine":     {"隔离区", "Quarantine"},
	"q_note":         {"格式错误的行不入库，按文件、行号、列和原因列于此；原始行可能含身份证号和姓名，只能由管理员用 medaudit export quarantine 导出。", "Malformed rows are not loaded; they are listed by file, line, column and reason. Raw rows may hold ID numbers and names: an operator exports them with medaudit export quarantine."},
	"q_batches":      {"有隔离行的批次", "Batches with quarantined rows"},
	"q_counts":       {"按文件和原因统计", "By file and reason"},
	"q_rows":         {"隔离行", "Quarantined rows"},
	"file":           {"文件", "File"},
	"line":           {"行", "Line"},
	"column":         {"列", "Column"},
	"reason":         {"原因", "Reason"},
	"rows":           {"行数", "Rows"},
	"batch":          {"批次", "Batch"},
	"no_quarantine":  {"没有隔离的行。", "No quarantined rows."},
	"upload":         {"上传批次", "Upload a batch"},
	"upload_note":    {"选择一个批次的全部文件（CSV、CSV.gz、Parquet 或 Arrow），上传后在后台导入，完成后本页刷新显示台账。", "Choose all files of one batch (CSV, CSV.gz, Parquet or Arrow); it loads in the background and this page reloads with its ledger."},
	"upload_go":      {"上传并导入", "Upload and load"},
	"yuan":           {" 元", " yuan"},
	"yuan_unit":      {"元", "yuan"},
	"years":          {" 岁", " years"},
	"insured_region": {"参保地", "insured in"},
	"specialty_gap":  {"（专业缺口，内科代审）", " (no specialist free: reviewed by internal medicine)"},
}

func init() {
	for k, v := range workbenchMessages {
		messages[k] = v
	}
}

// caseRow is a case as the workbench lists and exports it.
type caseRow struct {
	casebook.Case
	InstitutionName string
	FamilyNames     string
	StateName       string
	SubjectName     string
}

// workbenchOption is one choice of a filter.
type workbenchOption struct{ Value, Name string }

// pageLink is one link of the pager.
type pageLink struct {
	Label, URL string
	Current    bool
}

// caseRows lists the cases of the filter with names for people.
func (s *Server) caseRows(c *gin.Context, f casebook.Filter) ([]caseRow, int64, error) {
	list, total, err := s.cases.List(c.Request.Context(), f)
	if err != nil {
		return nil, 0, err
	}
	l := glossary.Lang(lang(c))
	org, err := s.orgNames(c.Request.Context())
	if err != nil {
		return nil, 0, err
	}
	out := make([]caseRow, 0, len(list))
	for _, k := range list {
		r := caseRow{Case: k, InstitutionName: org(k.OrgCode), StateName: glossary.Word(string(k.State), l),
			SubjectName: glossary.Code("subject_type", k.SubjectType, l)}
		var names []string
		for _, fam := range k.Families {
			names = append(names, glossary.Code("family", fam, l))
		}
		r.FamilyNames = strings.Join(names, "、")
		out = append(out, r)
	}
	return out, total, nil
}

// casesPage is the auditors' workbench: filters with names, search by
// case, person, card or settlement id, sortable columns, pages, export.
func (s *Server) casesPage(c *gin.Context) {
	if _, ok := c.GetQuery("limit"); !ok {
		c.Request.URL.RawQuery = withParam(c.Request.URL.Query(), "limit", "50").Encode()
	}
	f, err := caseFilter(c)
	if err != nil {
		s.failPage(c, err)
		return
	}
	rows, total, err := s.caseRows(c, f)
	if err != nil {
		s.failPage(c, err)
		return
	}
	l := glossary.Lang(lang(c))
	ctx := c.Request.Context()
	q := c.Request.URL.Query()
	data := gin.H{"Cases": rows, "Total": total, "Filter": f, "Query": q, "Pages": pager(q, total, f.Limit, f.Offset),
		"SortLinks": sortLinks(q, f), "CSV": "/cases/export?" + withParam(q, "format", "csv").Encode(),
		"XLSX": "/cases/export?" + withParam(q, "format", "xlsx").Encode()}
	var states, fams, specs, orgs, districts []workbenchOption
	for _, st := range []casebook.State{casebook.Open, casebook.Triage, casebook.PanelReview, casebook.Decided, casebook.Appeal,
		casebook.Final, casebook.Recovery, casebook.Closed} {
		states = append(states, workbenchOption{string(st), glossary.Word(string(st), l)})
	}
	for _, fam := range families {
		fams = append(fams, workbenchOption{fam, glossary.Code("family", fam, l)})
	}
	for _, sp := range sortedKeys(casebook.SpecialtyNames) {
		specs = append(specs, workbenchOption{sp, glossary.Word(sp, l)})
	}
	u := currentUser(c)
	rows2, err := s.db.QueryContext(ctx, `SELECT DISTINCT c.org_code, coalesce(i.name, ''), c.district FROM cases c
		LEFT JOIN institutions i USING (org_code) WHERE c.org_code IS NOT NULL ORDER BY 1`)
	if err != nil {
		s.failPage(c, err)
		return
	}
	seenDistrict := map[string]bool{}
	for rows2.Next() {
		var code, name string
		var district *string
		if err := rows2.Scan(&code, &name, &district); err != nil {
			rows2.Close()
			s.failPage(c, err)
			return
		}
		if district == nil || !u.Sees(*district) {
			continue
		}
		orgs = append(orgs, workbenchOption{code, code + " " + name})
		if !seenDistrict[*district] {
			seenDistrict[*district] = true
			districts = append(districts, workbenchOption{*district, *district})
		}
	}
	rows2.Close()
	if err := rows2.Err(); err != nil {
		s.failPage(c, err)
		return
	}
	data["States"], data["FamilyOptions"], data["Specialties"], data["Orgs"], data["Districts"] = states, fams, specs, orgs, districts
	s.render(c, "cases.html", data)
}

// withParam is q with one parameter set (a copy).
func withParam(q url.Values, k, v string) url.Values {
	out := url.Values{}
	for kk, vs := range q {
		out[kk] = append([]string(nil), vs...)
	}
	out.Set(k, v)
	return out
}

// pager links the pages of the case listing.
func pager(q url.Values, total int64, limit, offset int) []pageLink {
	return pagerAt("/cases", q, total, limit, offset)
}

// pagerAt links the pages of a listing at path (at most 10 around the
// current one).
func pagerAt(path string, q url.Values, total int64, limit, offset int) []pageLink {
	if total <= int64(limit) {
		return nil
	}
	pages := int((total + int64(limit) - 1) / int64(limit))
	cur := offset / limit
	var out []pageLink
	for p := max(0, cur-5); p < min(pages, max(0, cur-5)+10); p++ {
		out = append(out, pageLink{Label: strconv.Itoa(p + 1), URL: path + "?" + withParam(q, "offset", strconv.Itoa(p*limit)).Encode(), Current: p == cur})
	}
	return out
}

// sortLinks are the header links of the sortable columns: a click sorts by
// the column, a second click reverses.
func sortLinks(q url.Values, f casebook.Filter) map[string]string {
	out := map[string]string{}
	for col := range casebook.SortColumns {
		dir := "desc"
		if (f.Sort == col || (f.Sort == "" && col == "priority")) && !f.Asc {
			dir = "asc"
		}
		v := withParam(q, "sort", col)
		v.Set("dir", dir)
		v.Del("offset")
		out[col] = "/cases?" + v.Encode()
	}
	return out
}

// casesExport answers GET /cases/export?format=csv|xlsx with the cases of
// the current filter and order (every page, up to 100 000).
func (s *Server) casesExport(c *gin.Context) {
	format := c.Query("format")
	if format != "csv" && format != "xlsx" {
		s.fail(c, &Error{Code: CodeInvalid, Field: "format", Message: "format must be csv or xlsx"})
		return
	}
	q := withParam(c.Request.URL.Query(), "limit", "1000")
	q.Del("offset")
	c.Request.URL.RawQuery = q.Encode()
	f, err := caseFilter(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	f.Limit = 100000
	rows, _, err := s.caseRows(c, f)
	if err != nil {
		s.fail(c, err)
		return
	}
	heads := []string{"案件 Case", "对象类型 Subject type", "对象 Subject", "机构代码 Institution", "机构名称 Institution name", "辖区 District",
		"疑点类别 Families", "状态 State", "专业 Specialty", "涉及金额 Amount at risk", "优先级 Priority", "立案时间 Opened (UTC+8)",
		"截止 Due (UTC+8)", "认定 Verdict", "违规金额 Violating amount", "已追回 Recovered", "罚款 Fine"}
	money := []bool{9: true, 14: true, 15: true, 16: true}
	var table [][]string
	l := glossary.Lang(lang(c))
	for _, r := range rows {
		due := ""
		if r.DueAt != nil {
			due = glossary.Time(*r.DueAt)
		}
		table = append(table, []string{r.ID, r.SubjectName, r.SubjectID, r.OrgCode, r.InstitutionName, r.District, r.FamilyNames, r.StateName,
			glossary.Word(r.Specialty, l), r.AmountAtRisk.String(), strconv.FormatFloat(r.Priority, 'f', 0, 64), glossary.Time(r.OpenedAt), due,
			glossary.Word(r.Verdict, l), r.ViolationAmount.String(), r.Recovered.String(), r.Fine.String()})
	}
	name := "cases-" + glossary.CST(s.now()).Format("20060102-1504")
	if format == "csv" {
		var b strings.Builder
		b.WriteString("\ufeff") // a BOM, so spreadsheet programs read the Chinese as UTF-8
		w := csv.NewWriter(&b)
		w.Write(heads)
		for _, r := range table {
			cells := make([]string, len(r))
			for i, v := range r {
				cells[i] = v
				if !money[i] {
					cells[i] = contract.SafeCell(v)
				}
			}
			w.Write(cells)
		}
		w.Flush()
		c.Header("Content-Disposition", `attachment; filename="`+name+`.csv"`)
		c.Data(http.StatusOK, "text/csv; charset=utf-8", []byte(b.String()))
		return
	}
	xlsx, err := reports.Workbook(reports.Sheet{Name: "cases", Heads: heads, Money: money[:len(heads)], Rows: table})
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Header("Content-Disposition", `attachment; filename="`+name+`.xlsx"`)
	c.Data(http.StatusOK, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", xlsx)
}
