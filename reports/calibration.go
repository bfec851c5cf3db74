package reports

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/medaudit/medaudit/detectors"
)

// The calibration alarms and the inspection-targeting ranking of the
// monthly report.

// inDistricts reports whether a region is in the comma-separated districts
// ("" = all).
func inDistricts(districts, region string) bool {
	if districts == "" {
		return true
	}
	for _, d := range strings.Split(districts, ",") {
		if d == region {
			return true
		}
	}
	return false
}

var alarmStatusNames = map[string]string{
	detectors.AlarmOpen: "待处理 open", detectors.AlarmFixed: "已修正 fixed",
	detectors.AlarmReleased: "已释放 released", detectors.AlarmCleared: "已消除 cleared",
}

// calibrationAlarms is the open alarms and those the latest scan raised:
// rules above their ceiling across many institutions, whose flags are held.
// Examples are those of institutions in the districts.
func calibrationAlarms(ctx context.Context, db *sql.DB, sc scope) (*table, error) {
	t := &table{Sheet: "校准告警", Columns: []column{
		{Head: "规则 Rule", Width: 30}, {Head: "范围 Cell", Width: 20}, {Head: "命中 Flagged", Kind: intCol},
		{Head: "总体 Population", Kind: intCol}, {Head: "占比 Share", Width: 10}, {Head: "上限 Ceiling", Width: 10},
		{Head: "机构数 Institutions", Kind: intCol}, {Head: "涉及金额(元) Amount", Kind: moneyCol, Width: 16},
		{Head: "状态 Status", Width: 14}, {Head: "可能原因 Likely cause", Width: 60}, {Head: "示例 Examples", Width: 60},
	}}
	alarms, err := detectors.LoadAlarms(ctx, db, `status = 'open' OR scan_id = (SELECT max(scan_id) FROM scans WHERE status = 'done')`)
	if err != nil {
		return nil, err
	}
	regions := map[string]string{}
	if err := queryRows(ctx, db, "org_regions", nil, func(r *sql.Rows) error {
		var org, region string
		if err := r.Scan(&org, &region); err != nil {
			return err
		}
		regions[org] = region
		return nil
	}); err != nil {
		return nil, err
	}
	for _, a := range alarms {
		var ex []map[string]any
		if err := json.Unmarshal(a.Examples, &ex); err != nil {
			return nil, err
		}
		var shown []string
		for _, e := range ex {
			org, _ := e["org_code"].(string)
			if inDistricts(sc.Districts, regions[org]) && len(shown) < 3 {
				shown = append(shown, fmt.Sprintf("%v（%s）：%v", e["subject_id"], org, e["summary"]))
			}
		}
		rule := a.Rule
		if a.RuleTitle != "" {
			rule = a.RuleTitle + " " + a.Rule
		}
		cell := a.CellTitle
		if len(a.Breakdown) > 0 {
			var parts []string
			for _, c := range a.Breakdown[:min(len(a.Breakdown), 3)] {
				parts = append(parts, fmt.Sprintf("%s %s", c.Title, pct1(c.Share)))
			}
			cell += "（最多：" + strings.Join(parts, "；") + "）"
		}
		t.add(rule, cell, itoa(a.Flagged), itoa(a.PopulationSize), pct1(a.Share), pct1(a.Ceiling), itoa(a.Institutions),
			money(a.AmountAtRisk), alarmStatusNames[a.Status], a.Cause, strings.Join(shown, "；"))
	}
	return t, nil
}

func pct1(x float64) string { return fmt.Sprintf("%.1f%%", 100*x) }

// inspectionRanking is the institutions of the districts in
// inspection-targeting order, the first limit of them.
func inspectionRanking(ctx context.Context, db *sql.DB, sc scope, limit int) (*table, error) {
	t := &table{Sheet: "检查选点", Columns: []column{
		{Head: "排名 Rank", Kind: intCol}, {Head: "机构 Institution", Width: 30}, {Head: "类型 Kind", Width: 8},
		{Head: "预期可追回(元) Expected recovery", Kind: moneyCol, Width: 18}, {Head: "涉及金额(元) Amount at risk", Kind: moneyCol, Width: 18},
		{Head: "疑点对象 Flagged subjects", Kind: intCol}, {Head: "每千笔疑点 Per 1,000", Width: 10}, {Head: "稳健z Robust z", Width: 10},
		{Head: "基金支付(元) Exposure", Kind: moneyCol, Width: 18}, {Head: "理由 Reasons", Width: 80},
	}}
	ranks, err := detectors.RankInstitutions(ctx, db)
	if err != nil {
		return nil, err
	}
	n := 0
	for _, r := range ranks {
		if n >= limit || !inDistricts(sc.Districts, r.Region) {
			continue
		}
		n++
		t.add(itoa(int64(r.Rank)), r.Name+" "+r.OrgCode, r.Kind, money(r.ExpectedRecovery), money(r.AmountAtRisk), itoa(r.FlaggedSubjects),
			fmt.Sprintf("%.1f", r.Density), fmt.Sprintf("%.1f", r.DensityZ), money(r.Exposure), strings.Join(r.Reasons, "；"))
	}
	return t, nil
}
