package reports

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/medaudit/medaudit/casebook"
	"github.com/medaudit/medaudit/detectors"
	"github.com/medaudit/medaudit/internal/glossary"
)

// builder renders the reports of one run.
type builder struct {
	db        *sql.DB
	now       func() time.Time
	titles    map[string]string // detector name → zh-CN title
	generator string
	meta      [][2]string // run facts shown under every title (run, scan)
}

func newBuilder(db *sql.DB, now func() time.Time, ds []detectors.Detector) builder {
	titles := map[string]string{}
	for _, d := range ds {
		if desc, ok := d.(detectors.Describer); ok {
			titles[d.Name()] = desc.Describe().Title
		}
	}
	return builder{db: db, now: now, titles: titles, generator: generatorVersion()}
}

func districtLabel(districts []string) string {
	if len(districts) == 0 {
		return "全部 All"
	}
	return strings.Join(districts, ", ")
}

func (b builder) header(p period, districts []string, extra ...[2]string) [][2]string {
	m := [][2]string{
		{"报告期 Period", fmt.Sprintf("%s（%s 至 %s）", p.Label, p.Start.Format(time.DateOnly), p.End.AddDate(0, 0, -1).Format(time.DateOnly))},
		{"辖区 Districts", districtLabel(districts)},
	}
	m = append(m, extra...)
	m = append(m, b.meta...)
	return append(m, [2]string{"生成时间 Generated", glossary.CST(b.now()).Format("2006-01-02 15:04:05") + " 北京时间 Beijing time (UTC+8)"})
}

// files renders a document and its workbook as name.html and name.xlsx.
func (b builder) files(name string, doc document, sheets []*table) ([]File, error) {
	doc.Generator = b.generator
	html, err := doc.render()
	if err != nil {
		return nil, fmt.Errorf("render %s.html: %w", name, err)
	}
	xlsx, err := workbook(sheets)
	if err != nil {
		return nil, fmt.Errorf("write %s.xlsx: %w", name, err)
	}
	return []File{newFile(name+".html", MediaHTML, html), newFile(name+".xlsx", MediaXLSX, xlsx)}, nil
}

// monthly is the monthly report on the month p: every open flag in the
// districts, with the trend over the 12 months ending with p.
func (b builder) monthly(ctx context.Context, p period, districts []string) ([]File, error) {
	ds := strings.Join(districts, ",")
	all := scope{Districts: ds, From: allFrom, To: allTo}
	ms := months(p.Start, 12)
	trendScope := scope{Districts: ds, From: p.Start.AddDate(0, -11, 0).Format(time.DateOnly), To: p.End.Format(time.DateOnly)}
	summary, err := familySummary(ctx, b.db, p.scope(ds), "")
	if err != nil {
		return nil, err
	}
	trend, byCount, byAmount, err := familyTrend(ctx, b.db, trendScope, ms)
	if err != nil {
		return nil, err
	}
	orgs, orgChart, err := topInstitutions(ctx, b.db, all, 15)
	if err != nil {
		return nil, err
	}
	prec, precChart, err := precision(ctx, b.db, b.titles, b.now)
	if err != nil {
		return nil, err
	}
	queue, queueChart, err := backlog(ctx, b.db, all, b.now().UTC().Format(time.DateTime))
	if err != nil {
		return nil, err
	}
	review, reviewChart, err := reviewTime(ctx, b.db, trendScope, ms)
	if err != nil {
		return nil, err
	}
	flags, err := flagList(ctx, b.db, all, "", b.titles)
	if err != nil {
		return nil, err
	}
	cases, err := caseList(ctx, b.db, all, "")
	if err != nil {
		return nil, err
	}
	alarms, err := calibrationAlarms(ctx, b.db, all)
	if err != nil {
		return nil, err
	}
	ranking, err := inspectionRanking(ctx, b.db, all, 20)
	if err != nil {
		return nil, err
	}
	overdue, err := overdueList(ctx, b, districts)
	if err != nil {
		return nil, err
	}
	doc := document{
		Title: "医保基金稽核月报", TitleEN: "Monthly audit report",
		Meta: b.header(p, districts),
		Sections: []section{
			{ID: "summary", Title: "疑点概况", TitleEN: "Open flags by family", Table: summary,
				Note: "当前所有未解除疑点；“本期疑点”按被标记结算的结算日期（其他对象按首次扫描日期）计入本报告期。 All open flags; “in period” counts those dated in the report's month."},
			{ID: "trend-flags", Title: "疑点数量趋势", TitleEN: "Flags per month", Chart: byCount, Table: trend,
				Note: "按被标记结算的结算月份（其他对象按首次扫描月份），近12个月。 By month of the flagged settlement (or of the first scan), last 12 months."},
			{ID: "trend-amount", Title: "涉及金额趋势", TitleEN: "Amount at risk per month", Chart: byAmount,
				Note: "数字见上表。 The numbers are in the table above."},
			{ID: "calibration", Title: "校准告警", TitleEN: "Calibration alarms", Table: alarms,
				Note: "同一规则在大量机构普遍触发、超过其总体上限：更像是政策表、计量单位或报送口径与数据不符，而不是欺诈；这些疑点暂不立案、不送专家评审，待稽核人员修正口径或确认后释放。 A rule above its population ceiling across many institutions points at our model of the data, not at fraud: its flags are held until an auditor fixes the table or releases them."},
			{ID: "ranking", Title: "检查选点排名", TitleEN: "Inspection targeting", Table: ranking,
				Note: "按未解除疑点的预期可追回金额（每个对象只按最大金额计一次，乘以疑点分数）排序，并按疑点密度相对同类机构的稳健z加权；无疑点机构按基金支付额排列。 Ranked by expected recovery from open flags (each subject once, at its largest amount, times its score), weighted by the flag density's robust z against peers of the same kind; institutions without flags follow by exposure."},
			{ID: "institutions", Title: "重点机构", TitleEN: "Top institutions by amount at risk", Chart: orgChart, Table: orgs},
			{ID: "precision", Title: "规则精度", TitleEN: "Rule precision from panel and auditor decisions", Chart: precChart, Table: prec,
				Note: "精度 = 认定违规案件 ÷ 已决案件（含该规则疑点的案件）。 Precision = violations ÷ decided cases carrying the rule's flags."},
			{ID: "backlog", Title: "案件队列", TitleEN: "Case backlog by state", Chart: queueChart, Table: queue},
			{ID: "review-time", Title: "专家评审时长", TitleEN: "Panel review time (days from sent to panel to decision)", Chart: reviewChart, Table: review},
			{ID: "overdue", Title: "逾期案件", TitleEN: "Overdue cases (past their due date, not closed)", Table: overdue,
				Note: "由计划任务每日升级并记入操作留痕（每个截止日期一次）。 Escalated daily by the scheduler and recorded in the audit trail (once per deadline)."},
		},
	}
	return b.files("monthly-"+p.Key, doc, []*table{summary, trend, flags, cases, alarms, ranking, orgs, prec, queue, review, overdue})
}

// metricNames are the peer-comparison metrics of peers.sql.
var metricNames = map[string]string{
	"flagged_per_1000": "每千结算疑点数 Flagged settlements per 1,000",
	"at_risk_per_100":  "每百元基金支付涉及金额(元) At risk per 100 yuan paid",
	"mean_los":         "平均住院日 Mean length of stay (days)",
	"inpatient_pct":    "住院结算占比(%) Inpatient share (%)",
}

// inspection is the inspection pack of one institution for the quarter p.
func (b builder) inspection(ctx context.Context, org string, p period, districts []string) ([]File, error) {
	var name, kind, region string
	var level int
	err := b.db.QueryRowContext(ctx, `SELECT name, kind, level, region_code FROM institutions WHERE org_code = ?`, org).Scan(&name, &kind, &level, &region)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: institution %q", ErrNotFound, org)
	}
	if err != nil {
		return nil, fmt.Errorf("institution %s: %w", org, err)
	}
	ds := strings.Join(districts, ",")
	q := p.scope(ds)
	summary, err := familySummary(ctx, b.db, q, org)
	if err != nil {
		return nil, err
	}
	peers, peerChart, err := b.peers(ctx, q, org, kind, level)
	if err != nil {
		return nil, err
	}
	items, itemChart, err := topItems(ctx, b.db, q, org)
	if err != nil {
		return nil, err
	}
	flags, err := flagList(ctx, b.db, q, org, b.titles)
	if err != nil {
		return nil, err
	}
	cases, err := caseList(ctx, b.db, q, org)
	if err != nil {
		return nil, err
	}
	samples, err := recoverySamples(ctx, b.db, org)
	if err != nil {
		return nil, err
	}
	doc := document{
		Title: "飞行检查资料包：" + name, TitleEN: "Inspection pack",
		Meta: b.header(p, districts,
			[2]string{"机构 Institution", fmt.Sprintf("%s（%s）", name, org)},
			[2]string{"类型与等级 Kind and level", fmt.Sprintf("%s，%d级 %s, level %d", orgKind(kind), level, kind, level)},
			[2]string{"所在区划 Region", region}),
		Sections: []section{
			{ID: "summary", Title: "疑点概况", TitleEN: "Open flags by family", Table: summary,
				Note: "本机构当前所有未解除疑点；“本期疑点”为本季度内的。 All open flags of the institution; “in period”: dated in the quarter."},
			{ID: "peers", Title: "同级同类机构比较", TitleEN: "Comparison with institutions of the same kind and level", Chart: peerChart, Table: peers,
				Note: "稳健Z = (本机构 − 中位数) ÷ (1.4826 × MAD)；|Z| ≥ 3 值得关注。 Robust z = (value − median) ÷ (1.4826 × MAD); |z| ≥ 3 stands out."},
			{ID: "items", Title: "疑点结算的主要收费项目", TitleEN: "Top items on flagged settlements", Chart: itemChart, Table: items},
			{ID: "flags", Title: "本季度疑点", TitleEN: "Flags of the quarter", Table: flags},
			{ID: "cases", Title: "相关案件", TitleEN: "Cases carrying these flags", Table: cases},
			{ID: "samples", Title: "追回抽样与外推", TitleEN: "Recovery samples and extrapolation", Table: samples,
				Note: "对机构案件抽取的分层随机样本、逐例核查的多付金额外推至全部结算，给出90%置信区间。 A stratified sample of the institution's claims, reviewed claim by claim and extrapolated to all of them with a 90% interval."},
		},
	}
	return b.files(fmt.Sprintf("inspection-%s-%s", p.Key, org), doc, []*table{summary, peers, items, flags, cases, samples})
}

func (b builder) peers(ctx context.Context, sc scope, org, kind string, level int) (*table, *chart, error) {
	t := &table{Sheet: "同级比较", Columns: []column{
		{Head: "指标 Metric", Width: 40}, {Head: "本机构 This institution", Kind: rateCol}, {Head: "同级中位数 Peer median", Kind: rateCol},
		{Head: "MAD", Kind: rateCol}, {Head: "稳健Z Robust z", Kind: rateCol}, {Head: "同级机构数 Peers", Kind: intCol},
	}}
	c := &chart{Type: "bar", Labels: []string{}, Datasets: []dataset{{Label: "本机构 This institution", Data: []string{}}, {Label: "同级中位数 Peer median", Data: []string{}}}}
	nan := func(v sql.NullFloat64) float64 {
		if !v.Valid {
			return nanValue
		}
		return v.Float64
	}
	err := queryRows(ctx, b.db, "peers", sc.args(sql.Named("org", org), sql.Named("kind", kind), sql.Named("level", level)), func(r *sql.Rows) error {
		var metric string
		var value, med, mad sql.NullFloat64
		var n int64
		if err := r.Scan(&metric, &value, &med, &mad, &n); err != nil {
			return err
		}
		z := nanValue
		if value.Valid && med.Valid && mad.Valid && mad.Float64 > 0 {
			z = (value.Float64 - med.Float64) / (1.4826 * mad.Float64)
		}
		label := metricNames[metric]
		t.add(label, rate(nan(value)), rate(nan(med)), rate(nan(mad)), rate(z), itoa(n))
		c.Labels = append(c.Labels, label)
		c.Datasets[0].Data = append(c.Datasets[0].Data, rate(nan(value)))
		c.Datasets[1].Data = append(c.Datasets[1].Data, rate(nan(med)))
		return nil
	})
	return t, c, err
}

func topItems(ctx context.Context, db *sql.DB, sc scope, org string) (*table, *chart, error) {
	t := &table{Sheet: "项目", Columns: []column{
		{Head: "项目编码 Item code", Width: 22}, {Head: "项目名称 Item", Width: 30}, {Head: "类别 Category", Width: 12},
		{Head: "明细数 Lines", Kind: intCol}, {Head: "数量 Quantity", Kind: rateCol}, {Head: "金额(元) Amount", Kind: moneyCol, Width: 16},
	}}
	c := &chart{Type: "bar", Horizontal: true, Y: "金额(元) Amount (yuan)", Labels: []string{}, Datasets: []dataset{{Label: "金额 Amount", Data: []string{}}}}
	err := queryRows(ctx, db, "top_items", sc.args(sql.Named("org", org), sql.Named("limit", 15)), func(r *sql.Rows) error {
		var code, name, cat, qty string
		var lines int64
		var amount sql.NullString
		if err := r.Scan(&code, &name, &cat, &lines, &qty, &amount); err != nil {
			return err
		}
		a, err := fen(amount)
		if err != nil {
			return err
		}
		t.add(code, name, cat, itoa(lines), qty, money(a))
		c.Labels = append(c.Labels, name)
		c.Datasets[0].Data = append(c.Datasets[0].Data, money(a))
		return nil
	})
	return t, c, err
}

// hospitals lists the hospitals of the districts with settlements in p.
func (b builder) hospitals(ctx context.Context, p period, districts []string) ([]string, error) {
	var out []string
	err := queryRows(ctx, b.db, "hospitals", p.scope(strings.Join(districts, ",")).args(), func(r *sql.Rows) error {
		var org string
		if err := r.Scan(&org); err != nil {
			return err
		}
		out = append(out, org)
		return nil
	})
	return out, err
}

// annual scores every institution of the districts for the year p.
func (b builder) annual(ctx context.Context, p period, districts []string, withheld int) ([]File, error) {
	scope := districts
	if len(scope) == 0 {
		scope = []string{"*"}
	}
	scores, err := casebook.NewStore(b.db, b.now).AnnualScores(ctx, p.Start.Year(), scope, withheld, casebook.DefaultScoringRules())
	if err != nil {
		return nil, err
	}
	totals := &table{Sheet: "年度评分", Columns: []column{
		{Head: "机构代码 Org code", Width: 16}, {Head: "机构名称 Institution", Width: 30}, {Head: "类型 Kind", Width: 8},
		{Head: "总分 Score", Kind: intCol}, {Head: "保证金(元) Deposit", Kind: moneyCol, Width: 16}, {Head: "返还(元) Payout", Kind: moneyCol, Width: 16},
	}}
	items := &table{Sheet: "评分明细", Columns: []column{
		{Head: "机构代码 Org code", Width: 16}, {Head: "机构名称 Institution", Width: 30}, {Head: "项目 Item", Width: 14},
		{Head: "满分 Max", Kind: intCol}, {Head: "得分 Score", Kind: intCol}, {Head: "扣分次数 Deductions", Kind: intCol},
	}}
	c := &chart{Type: "bar", Y: "机构数 Institutions", Labels: []string{"<60", "60–69", "70–79", "80–89", "90–100"},
		Datasets: []dataset{{Label: "机构数 Institutions", Data: zeros(5)}}}
	bands := make([]int64, 5)
	for _, s := range scores {
		totals.add(s.OrgCode, s.Name, orgKind(s.Kind), itoa(int64(s.Total)), money(s.Deposit), money(s.Payout))
		for _, it := range s.Items {
			items.add(s.OrgCode, s.Name, it.Name, itoa(int64(it.Max)), itoa(int64(it.Score)), itoa(int64(it.Deductions)))
		}
		bands[min(max(s.Total-50, 0)/10, 4)]++
	}
	for i, n := range bands {
		c.Datasets[0].Data[i] = itoa(n)
	}
	bandTable := &table{Sheet: "分数段", Columns: []column{{Head: "分数段 Score band"}, {Head: "机构数 Institutions", Kind: intCol}}}
	for i, l := range c.Labels {
		bandTable.add(l, itoa(bands[i]))
	}
	doc := document{
		Title: "定点医药机构年度考核评分", TitleEN: "Annual institution scoring",
		Meta: b.header(p, districts, [2]string{"保证金比例 Withheld rate", fmt.Sprintf("%d‱", withheld)}),
		Sections: []section{
			{ID: "bands", Title: "分数分布", TitleEN: "Score distribution", Chart: c, Table: bandTable},
			{ID: "scores", Title: "机构得分与保证金返还", TitleEN: "Scores and deposit payouts", Table: totals,
				Note: "按当年认定且已终审的违规案件扣分。 Points are deducted for violations decided and final in the year."},
		},
	}
	return b.files("annual-"+p.Key, doc, []*table{totals, items, bandTable})
}

// Pack is an inspection pack: the HTML report and the workbook.
type Pack struct {
	HTML []byte
	XLSX []byte
}

// InspectionPack renders, on demand, the inspection pack of institution org
// for quarter ("2025Q4" or "2025-Q4", in Asia/Shanghai) as the quarterly job
// would, over every district, without storing it. An unknown institution
// is an error wrapping ErrNotFound.
func InspectionPack(ctx context.Context, db *sql.DB, org, quarter string, now time.Time) (Pack, error) {
	p, err := parseQuarter(quarter, shanghai)
	if err != nil {
		return Pack{}, err
	}
	ds, err := detectors.Registry(detectors.Config{})
	if err != nil {
		return Pack{}, err
	}
	files, err := newBuilder(db, func() time.Time { return now }, ds).inspection(ctx, org, p, nil)
	if err != nil {
		return Pack{}, err
	}
	return Pack{HTML: files[0].Content, XLSX: files[1].Content}, nil
}
