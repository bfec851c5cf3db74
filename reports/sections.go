package reports

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"time"

	"github.com/medaudit/medaudit/casebook"
	"github.com/medaudit/medaudit/internal/glossary"
)

// The tables shared by the report kinds. Each returns the table (a workbook
// sheet) and, where the report draws one, the chart of its numbers.

func familySummary(ctx context.Context, db *sql.DB, sc scope, org string) (*table, error) {
	t := &table{Sheet: "概览", Columns: []column{
		{Head: "类别 Family", Width: 26}, {Head: "疑点数 Flags", Kind: intCol}, {Head: "涉及金额(元) Amount at risk", Kind: moneyCol, Width: 20},
		{Head: "涉及机构 Institutions", Kind: intCol}, {Head: "本期疑点 In period", Kind: intCol},
	}}
	got := map[string][]string{}
	totalRow := []string{"合计 Total", "0", money(0), "0", "0"}
	err := queryRows(ctx, db, "family_summary", sc.args(sql.Named("org", org)), func(r *sql.Rows) error {
		var fam string
		var n, orgs, in int64
		var amount sql.NullString
		if err := r.Scan(&fam, &n, &amount, &orgs, &in); err != nil {
			return err
		}
		a, err := fen(amount)
		if err != nil {
			return err
		}
		if fam == "" { // the total: each subject counted once over all families
			totalRow = []string{"合计 Total", itoa(n), money(a), itoa(orgs), itoa(in)}
			return nil
		}
		got[fam] = []string{familyName(fam), itoa(n), money(a), itoa(orgs), itoa(in)}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, f := range familyOrder {
		if row, ok := got[f]; ok {
			t.add(row...)
			delete(got, f)
		}
	}
	rest := make([]string, 0, len(got))
	for k := range got {
		rest = append(rest, k)
	}
	sort.Strings(rest)
	for _, k := range rest {
		t.add(got[k]...)
	}
	t.add(totalRow...)
	return t, nil
}

// familyTrend is flags and amount at risk per month and family, for the
// months given (YYYY-MM, ascending).
func familyTrend(ctx context.Context, db *sql.DB, sc scope, months []string) (*table, *chart, *chart, error) {
	t := &table{Sheet: "趋势", Columns: []column{
		{Head: "月份 Month", Width: 10}, {Head: "类别 Family", Width: 26}, {Head: "疑点数 Flags", Kind: intCol},
		{Head: "涉及金额(元) Amount at risk", Kind: moneyCol, Width: 20},
	}}
	idx := map[string]int{}
	for i, m := range months {
		idx[m] = i
	}
	counts, amounts := map[string][]string{}, map[string][]string{}
	err := queryRows(ctx, db, "family_months", sc.args(), func(r *sql.Rows) error {
		var month, fam string
		var n int64
		var amount sql.NullString
		if err := r.Scan(&month, &fam, &n, &amount); err != nil {
			return err
		}
		a, err := fen(amount)
		if err != nil {
			return err
		}
		t.add(month, familyName(fam), itoa(n), money(a))
		i, ok := idx[month]
		if !ok {
			return fmt.Errorf("month %s outside the report's months", month)
		}
		if counts[fam] == nil {
			counts[fam], amounts[fam] = zeros(len(months)), zeros(len(months))
		}
		counts[fam][i], amounts[fam][i] = itoa(n), money(a)
		return nil
	})
	if err != nil {
		return nil, nil, nil, err
	}
	byCount := &chart{Type: "bar", Labels: months, Stacked: true, Y: "疑点数 Flags", Datasets: []dataset{}}
	byAmount := &chart{Type: "bar", Labels: months, Stacked: true, Y: "涉及金额(元) Amount at risk (yuan)", Datasets: []dataset{}}
	for _, f := range familyOrder {
		if counts[f] != nil {
			byCount.Datasets = append(byCount.Datasets, dataset{Label: familyName(f), Data: counts[f]})
			byAmount.Datasets = append(byAmount.Datasets, dataset{Label: familyName(f), Data: amounts[f]})
		}
	}
	return t, byCount, byAmount, nil
}

func zeros(n int) []string {
	s := make([]string, n)
	for i := range s {
		s[i] = "0"
	}
	return s
}

func topInstitutions(ctx context.Context, db *sql.DB, sc scope, limit int) (*table, *chart, error) {
	t := &table{Sheet: "机构", Columns: []column{
		{Head: "机构代码 Org code", Width: 16}, {Head: "机构名称 Institution", Width: 30}, {Head: "类型 Kind", Width: 8},
		{Head: "等级 Level", Kind: intCol, Width: 8}, {Head: "疑点数 Flags", Kind: intCol},
		{Head: "涉及金额(元) Amount at risk", Kind: moneyCol, Width: 20}, {Head: "类别 Families", Width: 30},
	}}
	c := &chart{Type: "bar", Horizontal: true, Y: "涉及金额(元) Amount at risk (yuan)", Labels: []string{}, Datasets: []dataset{{Label: "涉及金额 Amount at risk", Data: []string{}}}}
	err := queryRows(ctx, db, "top_institutions", sc.args(sql.Named("limit", limit)), func(r *sql.Rows) error {
		var code string
		var name, kind, fams, amount sql.NullString
		var level sql.NullInt64
		var n int64
		if err := r.Scan(&code, &name, &kind, &level, &n, &amount, &fams); err != nil {
			return err
		}
		a, err := fen(amount)
		if err != nil {
			return err
		}
		lv := ""
		if level.Valid {
			lv = itoa(level.Int64)
		}
		t.add(code, name.String, orgKind(kind.String), lv, itoa(n), money(a), fams.String)
		c.Labels = append(c.Labels, name.String)
		c.Datasets[0].Data = append(c.Datasets[0].Data, money(a))
		return nil
	})
	return t, c, err
}

// precision is each rule's precision from final decisions
// (casebook.Store.RulePrecision), with the rule's title.
func precision(ctx context.Context, db *sql.DB, titles map[string]string, now func() time.Time) (*table, *chart, error) {
	prec, n, err := casebook.NewStore(db, now).RulePrecision(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("rule precision: %w", err)
	}
	t := &table{Sheet: "规则精度", Columns: []column{
		{Head: "规则 Rule", Width: 34}, {Head: "名称 Title", Width: 30}, {Head: "已决案件 Decided cases", Kind: intCol},
		{Head: "精度 Precision", Kind: rateCol},
	}}
	c := &chart{Type: "bar", Y: "精度 Precision", Labels: []string{}, Datasets: []dataset{{Label: "精度 Precision", Data: []string{}}}}
	names := make([]string, 0, len(prec))
	for k := range prec {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, d := range names {
		t.add(d, titles[d], itoa(int64(n[d])), rate(prec[d]))
		c.Labels = append(c.Labels, d)
		c.Datasets[0].Data = append(c.Datasets[0].Data, rate(prec[d]))
	}
	return t, c, nil
}

func backlog(ctx context.Context, db *sql.DB, sc scope, at string) (*table, *chart, error) {
	t := &table{Sheet: "队列", Columns: []column{
		{Head: "状态 State", Width: 14}, {Head: "去向 Route", Width: 12}, {Head: "案件数 Cases", Kind: intCol},
		{Head: "涉及金额(元) Amount at risk", Kind: moneyCol, Width: 20}, {Head: "超期 Overdue", Kind: intCol},
	}}
	type key struct{ state, route string }
	got := map[key]string{}
	err := queryRows(ctx, db, "backlog", sc.args(sql.Named("now", at)), func(r *sql.Rows) error {
		var state, route string
		var n, overdue int64
		var amount sql.NullString
		if err := r.Scan(&state, &route, &n, &amount, &overdue); err != nil {
			return err
		}
		a, err := fen(amount)
		if err != nil {
			return err
		}
		got[key{state, route}] = itoa(n)
		t.add(stateName(state), routeName(route), itoa(n), money(a), itoa(overdue))
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	c := &chart{Type: "bar", Stacked: true, Y: "案件数 Cases", Labels: []string{}, Datasets: []dataset{}}
	for _, s := range states {
		c.Labels = append(c.Labels, stateName(string(s)))
	}
	for _, route := range []string{"panel", "auditor"} {
		d := dataset{Label: routeName(route), Data: zeros(len(states))}
		for i, s := range states {
			if v, ok := got[key{string(s), route}]; ok {
				d.Data[i] = v
			}
		}
		c.Datasets = append(c.Datasets, d)
	}
	return t, c, nil
}

var states = []casebook.State{casebook.Open, casebook.Triage, casebook.PanelReview, casebook.Decided, casebook.Appeal,
	casebook.Final, casebook.Recovery, casebook.Closed}

func stateName(s string) string {
	if n, ok := casebook.StateNames[casebook.State(s)]; ok {
		return n + " " + s
	}
	return s
}

// verdictName is a verdict's name from the glossary, then its code.
func verdictName(v string) string {
	if v == "" {
		return ""
	}
	return glossary.Word(v, glossary.Zh) + " " + v
}

func routeName(r string) string {
	switch r {
	case "panel":
		return "专家评审 Panel"
	case "auditor":
		return "稽核人员 Auditors"
	}
	return r
}

func reviewTime(ctx context.Context, db *sql.DB, sc scope, months []string) (*table, *chart, error) {
	t := &table{Sheet: "审核时长", Columns: []column{
		{Head: "决定月份 Month decided", Width: 12}, {Head: "案件数 Cases", Kind: intCol},
		{Head: "中位天数 Median days", Kind: rateCol}, {Head: "P90 天数 P90 days", Kind: rateCol},
	}}
	c := &chart{Type: "bar", Y: "天 Days", Labels: months, Datasets: []dataset{
		{Label: "中位数 Median", Data: make([]string, len(months))}, {Label: "P90", Data: make([]string, len(months))}}}
	idx := map[string]int{}
	for i, m := range months {
		idx[m] = i
	}
	err := queryRows(ctx, db, "review_time", sc.args(), func(r *sql.Rows) error {
		var month string
		var n int64
		var med, p90 float64
		if err := r.Scan(&month, &n, &med, &p90); err != nil {
			return err
		}
		t.add(month, itoa(n), rate(med), rate(p90))
		if i, ok := idx[month]; ok {
			c.Datasets[0].Data[i], c.Datasets[1].Data[i] = rate(med), rate(p90)
		}
		return nil
	})
	return t, c, err
}

func flagList(ctx context.Context, db *sql.DB, sc scope, org string, titles map[string]string) (*table, error) {
	t := &table{Sheet: "疑点", Columns: []column{
		{Head: "疑点编号 Flag", Width: 20}, {Head: "类别 Family", Width: 22}, {Head: "规则 Rule", Width: 30}, {Head: "规则名称 Rule title", Width: 28},
		{Head: "机构代码 Org code", Width: 16}, {Head: "机构名称 Institution", Width: 28}, {Head: "对象类型 Subject type", Width: 12},
		{Head: "对象 Subject", Width: 24}, {Head: "日期 Date", Width: 12}, {Head: "评分 Score", Kind: rateCol, Width: 8},
		{Head: "涉及金额(元) Amount at risk", Kind: moneyCol, Width: 18}, {Head: "摘要 Summary", Width: 80},
	}}
	err := queryRows(ctx, db, "flag_list", sc.args(sql.Named("org", org)), func(r *sql.Rows) error {
		var id, fam, det, code, name, st, subject, date, amount, summary string
		var score float64
		if err := r.Scan(&id, &fam, &det, &code, &name, &st, &subject, &date, &score, &amount, &summary); err != nil {
			return err
		}
		t.add(id, familyName(fam), det, titles[det], code, name, st, subject, date, rate(score), amount, summary)
		return nil
	})
	return t, err
}

func caseList(ctx context.Context, db *sql.DB, sc scope, org string) (*table, error) {
	t := &table{Sheet: "案件", Columns: []column{
		{Head: "案件编号 Case", Width: 20}, {Head: "机构代码 Org code", Width: 16}, {Head: "机构名称 Institution", Width: 28},
		{Head: "类别 Families", Width: 26}, {Head: "状态 State", Width: 16}, {Head: "去向 Route", Width: 14},
		{Head: "涉及金额(元) Amount at risk", Kind: moneyCol, Width: 18}, {Head: "结论 Verdict", Width: 14},
		{Head: "违规金额(元) Violation amount", Kind: moneyCol, Width: 18}, {Head: "已追回(元) Recovered", Kind: moneyCol, Width: 14},
		{Head: "立案日期 Opened", Width: 12}, {Head: "专家意见 Reviewer comments", Width: 60},
	}}
	err := queryRows(ctx, db, "case_list", sc.args(sql.Named("org", org)), func(r *sql.Rows) error {
		var id, code, name, fams, state, route, amount, verdict, viol, rec, opened, comments string
		if err := r.Scan(&id, &code, &name, &fams, &state, &route, &amount, &verdict, &viol, &rec, &opened, &comments); err != nil {
			return err
		}
		t.add(id, code, name, fams, stateName(state), routeName(route), amount, verdictName(verdict), viol, rec, opened, comments)
		return nil
	})
	return t, err
}
