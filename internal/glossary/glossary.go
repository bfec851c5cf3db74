// Package glossary is the one dictionary every reader-facing surface uses —
// the pages, the case file (HTML and PDF) and the reports: the Chinese (and
// English) label of every evidence key, threshold, code value, event kind
// and case state, the display rounding of evidence values (money to the fen,
// shares as %, z to one decimal) and the time zone people read times in
// (Asia/Shanghai).
package glossary

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/medaudit/medaudit/codes"
)

// Lang is a display language: Zh (default) or En.
type Lang int

// Languages.
const (
	Zh Lang = iota
	En
)

// Entry is one label in both languages.
type Entry struct{ Zh, En string }

// In returns the label in l.
func (e Entry) In(l Lang) string {
	if l == En {
		return e.En
	}
	return e.Zh
}

// Zone is where the people who read the service live: every time shown to a
// person is in Asia/Shanghai (China Standard Time, UTC+8, no daylight
// saving). Stay and swipe times are local clock times stored without a zone
// (CONTRACT.md): Local reads them as CST.
var Zone = func() *time.Location {
	z, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return z
}()

// ZoneNote is said once on every page and report that shows times.
var ZoneNote = Entry{"所有时间均为北京时间（UTC+8）", "All times are Beijing time (UTC+8)"}

// CST converts an instant to Asia/Shanghai.
func CST(t time.Time) time.Time { return t.In(Zone) }

// Local reads a zone-less clock time (stored as if UTC) as Asia/Shanghai.
func Local(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), Zone)
}

// Key returns the label of one evidence key (a path segment, a threshold or
// a score part), and whether the dictionary has it.
func Key(k string, l Lang) (string, bool) {
	e, ok := keys[strings.TrimSuffix(k, "[]")]
	if !ok {
		return k, false
	}
	return e.In(l), true
}

// Path labels a dotted path segment by segment: stay.admitted_at →
// "住院 · 入院时间". ok is false when any segment is missing.
func Path(p string, l Lang) (string, bool) {
	parts := strings.Split(p, ".")
	all := true
	for i, s := range parts {
		lab, ok := Key(s, l)
		parts[i], all = lab, all && ok
	}
	return strings.Join(parts, " · "), all
}

// Known reports whether every segment of a path has a label.
func Known(p string) bool {
	_, ok := Path(p, Zh)
	return ok
}

// codeTables name the values of coded evidence keys. Source: DOMAIN.md §6.3,
// the national dictionaries of 医保信息业务编码标准 (med_type, dscg_way,
// mdtrt_cert_type, hilist_lv); CONTRACT.md for the contract's enums.
var codeTables = map[string]map[string]Entry{
	"med_type": { // 医疗类别, 医保信息业务编码标准
		"11": {"普通门诊", "general outpatient"}, "13": {"急诊", "emergency"}, "14": {"门诊慢特病", "chronic outpatient"},
		"21": {"普通住院", "general inpatient"}, "2101": {"普通住院", "general inpatient"}, "22": {"外伤住院", "injury inpatient"},
		"23": {"转外诊治住院", "referred inpatient"}, "24": {"急诊转住院", "emergency to inpatient"},
		"26": {"单病种住院", "single-disease inpatient"}, "2102": {"单病种住院", "single-disease inpatient"},
		"28": {"日间手术", "day surgery"}, "41": {"定点药店购药", "pharmacy purchase"}, "51": {"生育门诊", "maternity outpatient"},
		"52": {"生育住院", "maternity inpatient"},
	},
	"dscg_way": { // 离院方式, 医保信息业务编码标准
		"1": {"医嘱离院", "discharged"}, "2": {"医嘱转院", "transferred"}, "3": {"转社区", "to community care"},
		"4": {"非医嘱离院", "left against advice"}, "5": {"死亡", "died"}, "9": {"其他", "other"},
	},
	"cert_type": { // mdtrt_cert_type 就诊凭证
		"01": {"医保电子凭证", "e-voucher"}, "02": {"居民身份证", "ID card"}, "03": {"社会保障卡", "social-security card"},
	},
	"level": { // CONTRACT.md institutions.level
		"0": {"未定级", "ungraded"}, "1": {"一级", "grade 1"}, "2": {"二级", "grade 2"}, "3": {"三级", "grade 3"},
	},
	"kind": { // CONTRACT.md enums: institutions.kind, settlements.visit_type, card_swipes.kind
		"hospital": {"医院", "hospital"}, "clinic": {"诊所", "clinic"}, "pharmacy": {"药店", "pharmacy"},
		"inpatient": {"住院", "inpatient"}, "outpatient": {"门诊", "outpatient"},
		"settlement": {"结算刷卡", "settlement swipe"}, "purchase": {"购药刷卡", "purchase swipe"},
		"balance_query": {"余额查询", "balance query"}, "refund": {"退费", "refund"}, "window": {"时间窗", "time window"},
		"swipe:settlement": {"刷卡·结算", "swipe: settlement"}, "swipe:purchase": {"刷卡·购药", "swipe: purchase"},
		"swipe:balance_query": {"刷卡·余额查询", "swipe: balance query"}, "swipe:refund": {"刷卡·退费", "swipe: refund"},
	},
	"category": { // CONTRACT.md fee_items.category
		"drug": {"药品", "drug"}, "bed": {"床位", "bed"}, "nursing": {"护理", "nursing"}, "meal": {"膳食", "meals"},
		"exam": {"检查", "exam"}, "lab": {"化验", "lab"}, "treatment": {"治疗", "treatment"}, "surgery": {"手术", "surgery"},
		"material": {"材料", "material"}, "other": {"其他", "other"},
	},
	"class": { // catalog_class 甲/乙/丙类 (hilist_lv 01/02/03)
		"A": {"甲类", "class A"}, "B": {"乙类", "class B"}, "C": {"丙类（自费）", "class C (not covered)"},
	},
	"insurance_type": { // CONTRACT.md persons.insurance_type
		"employee": {"职工医保", "employee insurance"}, "resident": {"居民医保", "resident insurance"},
	},
	"registration_kind": { // CONTRACT.md registrations.kind
		"relocated_retiree": {"异地安置退休", "relocated retiree"}, "long_term_resident": {"异地长期居住", "long-term resident"},
		"posted_worker": {"常驻异地工作", "posted worker"}, "referral": {"转诊", "referral"}, "temporary": {"临时外出就医", "temporary"},
	},
	"problem": { // detector line problems
		"written_as_A": {"丙类写成甲类", "class C written as A"}, "written_as_B": {"丙类写成乙类", "class C written as B"},
		"no_settlement_id": {"刷卡无结算单", "swipe without a settlement"}, "amount_mismatch": {"金额不符", "amount mismatch"},
	},
	"side":    {"after_discharge": {"出院后", "after discharge"}, "before_admission": {"入院前", "before admission"}},
	"pattern": {"query_then_drain": {"先查余额后清空", "balance query, then drain"}},
	"sex":     {"1": {"男", "male"}, "2": {"女", "female"}},
	"peer_scope": { // detectors/ghostbed_rate.go peer groups
		"same kind, level and specialty":      {"同类型、同等级、同专科", "same kind, level and specialty"},
		"same kind and specialty, all levels": {"同类型、同专科（各等级）", "same kind and specialty, all levels"},
	},
	"subject": { // CONTRACT.md flags.subject_type
		"settlement": {"结算单", "settlement"}, "person": {"参保人", "person"}, "card": {"社保卡", "card"}, "institution": {"机构", "institution"},
	},
	"family": { // CONTRACT.md flags.family
		"ghost_bed": {"挂床住院", "Ghost beds"}, "impersonation": {"冒名住院", "Impersonation"}, "drug_substitution": {"串换药品", "Drug substitution"},
		"card_misuse": {"违规刷卡", "Card misuse"}, "settlement": {"结算差错", "Settlement errors"}, "other": {"其他违规", "Other"},
	},
}

// codeTableOf maps evidence keys to their code table.
var codeTableOf = map[string]string{
	"med_type": "med_type", "dscg_way": "dscg_way", "cert_type": "cert_type",
	"level": "level", "org_level": "level", "hospital_level": "level",
	"kind": "kind", "visit_type": "kind", "category": "category",
	"catalogue_class": "class", "class_in_catalogue": "class", "class_on_line": "class", "line_class": "class",
	"insurance_type": "insurance_type", "registration_kind": "registration_kind", "problem": "problem",
	"side": "side", "pattern": "pattern", "sex": "sex", "subject_type": "subject", "family": "family", "peer_scope": "peer_scope",
}

// Code names one code value of a coded key (visit kinds, grades, medical
// types…), or the value itself when it is not a known code.
func Code(key, value string, l Lang) string {
	if t, ok := codeTables[codeTableOf[key]]; ok {
		if e, ok := t[value]; ok {
			return e.In(l)
		}
	}
	return value
}

// moneyKeys hold yuan amounts.
var moneyKeys = map[string]bool{}

func init() {
	for _, k := range []string{"amount", "total", "total_amount", "fund", "fund_paid", "account", "account_paid", "cash", "cash_paid",
		"amount_at_risk", "amount_after_discharge", "amount_flagged", "class_c_amount", "covered_amount", "exam_amount", "lab_amount",
		"outside_amount", "fee_amount_after_death", "fund_and_account", "fund_and_account_paid", "fund_and_account_of_stays",
		"org_fund_and_account_drug_sales", "year_fund_and_account", "fund_share_of_deductible", "fund_used_ytd", "deductible",
		"deductible_due", "deductible_used_ytd", "account_balance_before", "balance_before", "full_own_pay", "pre_self_pay",
		"in_scope", "over_ceiling", "settlement_total", "unit_price", "tolerance", "avg_billed_price", "avg_purchase_price",
		"median_billed_price", "peer_median_price", "violation_amount", "recovered", "fine", "estimate", "low", "high"} {
		moneyKeys[k] = true
	}
}

// relative keys are statistics of their parent indicator and take its unit:
// features.short_stay_share.value is a share.
var relative = map[string]bool{"value": true, "peer_median": true, "peer_quantile_value": true, "expected_at_peer_median": true}

// unitKey is the key whose unit a value at path takes: its leaf, or for a
// relative statistic the indicator above it.
func unitKey(path string) string {
	parts := strings.Split(path, ".")
	leaf := parts[len(parts)-1]
	if relative[leaf] && len(parts) > 1 && unitOf(parts[len(parts)-2]) != "" {
		return parts[len(parts)-2]
	}
	return leaf
}

// unitOf tells how a numeric key is shown.
func unitOf(k string) string {
	switch {
	case moneyKeys[k]:
		return "yuan"
	case strings.HasSuffix(k, "_z") || k == "robust_z" || k == "min_z":
		return "z"
	case k == "poisson_p" || k == "adjusted_p" || k == "max_p" || k == "alpha":
		return "p"
	case strings.Contains(k, "log"):
		return ""
	case strings.Contains(k, "share") || strings.Contains(k, "coverage"):
		return "pct"
	}
	return ""
}

// Value formats one evidence value for a reader: money to the fen with 元,
// shares as %, z to one decimal, p-values with two significant digits,
// other numbers to at most two decimals, codes by name, booleans 是/否, and
// diagnosis codes with their name. org names an institution code (nil: no
// names).
func Value(key string, v any, l Lang, org func(string) string) string {
	key = strings.TrimSuffix(key, "[]")
	switch x := v.(type) {
	case nil:
		return "—"
	case bool:
		if x {
			return Entry{"是", "yes"}.In(l)
		}
		return Entry{"否", "no"}.In(l)
	case float64:
		return Number(key, x, l)
	case json.Number:
		f, _ := x.Float64()
		return Number(key, f, l)
	case string:
		return text(key, x, l, org)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = Value(key, e, l, org)
		}
		return strings.Join(parts, "、")
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func text(key, s string, l Lang, org func(string) string) string {
	if moneyKeys[key] {
		if _, err := strconv.ParseFloat(s, 64); err == nil {
			return s + " " + Entry{"元", "yuan"}.In(l)
		}
	}
	switch key {
	case "diagnosis_code", "code":
		if n := codes.DiagnosisName(s); n != "" {
			return s + " " + n
		}
	case "org_code", "first_settled_at_org", "peers":
		if org != nil {
			if n := org(s); n != "" {
				return s + " " + n
			}
		}
	case "worst_feature":
		if lab, ok := Key(s, l); ok {
			return lab
		}
	}
	if _, ok := codeTableOf[key]; ok {
		return Code(key, s, l)
	}
	if len(s) == 19 && s[4] == '-' && s[10] == ' ' { // a stored local clock time: show to the minute
		return s[:16]
	}
	return s
}

// Number rounds a number for display by its key's unit.
func Number(key string, x float64, l Lang) string {
	switch unitOf(key) {
	case "yuan":
		return strconv.FormatFloat(x, 'f', 2, 64) + " " + Entry{"元", "yuan"}.In(l)
	case "pct":
		if math.Abs(x) <= 1.0001 {
			return trim(strconv.FormatFloat(x*100, 'f', 1, 64)) + "%"
		}
	case "z":
		return strconv.FormatFloat(x, 'f', 1, 64)
	case "p":
		if x == 0 {
			return "< 1e-15"
		}
		return strconv.FormatFloat(x, 'g', 2, 64)
	}
	if _, ok := codeTableOf[key]; ok && x == math.Trunc(x) {
		return Code(key, strconv.FormatFloat(x, 'f', 0, 64), l)
	}
	return trim(strconv.FormatFloat(x, 'f', 2, 64))
}

func trim(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// Fact is one flattened evidence fact: a labelled path and its shown value.
type Fact struct {
	Key, Label, Value string
	Known             bool
}

// Table is an evidence list of records (the lines, stays, swipes of a flag)
// shown as a table.
type Table struct {
	Key, Label string
	Known      bool   // the table's own label is in the dictionary
	Columns    []Fact // Key and Label of each column
	Rows       [][]string
	// RowKeys carries each row's raw settlement_id when it has one, so a
	// page can link the row.
	RowKeys []string
}

// Facts flattens evidence facts into labelled scalar facts and tables.
func Facts(facts map[string]any, l Lang, org func(string) string) ([]Fact, []Table) {
	var fs []Fact
	var ts []Table
	var walk func(prefix, leaf string, v any)
	walk = func(prefix, leaf string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for _, k := range sorted(x) {
				p := k
				if prefix != "" {
					p = prefix + "." + k
				}
				walk(p, k, x[k])
			}
		case []any:
			if t, ok := table(prefix, x, l, org); ok {
				ts = append(ts, t)
				return
			}
			lab, ok := Path(prefix, l)
			fs = append(fs, Fact{prefix, lab, Value(unitKey(prefix), x, l, org), ok})
		default:
			lab, ok := Path(prefix, l)
			fs = append(fs, Fact{prefix, lab, Value(unitKey(prefix), x, l, org), ok})
		}
	}
	walk("", "", facts)
	return fs, ts
}

func table(key string, rows []any, l Lang, org func(string) string) (Table, bool) {
	if len(rows) == 0 {
		return Table{}, false
	}
	var recs []map[string]any
	cols := map[string]bool{}
	for _, r := range rows {
		m, ok := r.(map[string]any)
		if !ok {
			return Table{}, false
		}
		flat := map[string]any{}
		flattenMap("", m, flat)
		for k := range flat {
			cols[k] = true
		}
		recs = append(recs, flat)
	}
	lab, ok := Path(key, l)
	t := Table{Key: key, Label: lab, Known: ok}
	names := sorted(cols)
	for _, c := range names {
		cl, cok := Path(c, l)
		t.Columns = append(t.Columns, Fact{Key: c, Label: cl, Known: cok && ok})
	}
	for _, r := range recs {
		row := make([]string, len(names))
		for i, c := range names {
			row[i] = Value(unitKey(c), r[c], l, org)
		}
		t.Rows = append(t.Rows, row)
		id, _ := r["settlement_id"].(string)
		t.RowKeys = append(t.RowKeys, id)
	}
	return t, true
}

func flattenMap(prefix string, m map[string]any, out map[string]any) {
	for k, v := range m {
		p := k
		if prefix != "" {
			p = prefix + "." + k
		}
		if sub, ok := v.(map[string]any); ok {
			flattenMap(p, sub, out)
			continue
		}
		out[p] = v
	}
}

func sorted[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Threshold formats a threshold with its label: "最高覆盖率 70%".
func Threshold(k string, v float64, l Lang) Fact {
	lab, ok := Key(k, l)
	return Fact{Key: k, Label: lab, Value: Number(k, v, l), Known: ok}
}

// Events: the kinds of the case audit trail and the words of their payloads.
var events = map[string]Entry{
	"opened": {"立案", "opened"}, "flags_added": {"新增疑点", "flags added"}, "reopened": {"重新立案", "reopened"},
	"triage": {"初审受理", "triaged"}, "send_to_panel": {"送专家复审", "sent to the panel"}, "assigned": {"分配评审专家", "reviewers assigned"},
	"verdict": {"专家评审意见", "reviewer's verdict"}, "decide": {"认定", "decided"}, "dismiss": {"不予立案", "dismissed"},
	"appeal": {"机构申诉", "institution appealed"}, "finalize": {"终审", "finalized"}, "record_recovery": {"追回及罚款", "recovery recorded"},
	"close": {"结案", "closed"}, "sample_drawn": {"抽取样本", "sample drawn"}, "sample_findings": {"样本核查结果与外推", "sample findings and extrapolation"},
	"expert_added": {"新增评审专家", "expert added"}, "rule_mode": {"规则模式变更", "rule mode changed"},
}

// EventKind names an audit-trail event kind.
func EventKind(k string, l Lang) string {
	if e, ok := events[k]; ok {
		return e.In(l)
	}
	return k
}

// payloadKeys label the fields of audit-trail payloads.
var payloadKeys = map[string]Entry{
	"from": {"原状态", "from"}, "to": {"新状态", "to"}, "role": {"角色", "role"}, "note": {"说明", "note"},
	"verdict": {"意见", "verdict"}, "violation_amount": {"违规金额", "violating amount"}, "comment": {"评语", "comment"},
	"experts": {"专家", "experts"}, "round": {"轮次", "round"}, "specialty_gap": {"专业缺口", "specialty gap"},
	"agreement": {"一致性", "agreement"}, "seed": {"随机种子", "seed"}, "size": {"样本量", "sample size"},
	"strata": {"分层", "strata"}, "estimate": {"外推结果", "estimate"}, "recovered": {"追回金额", "recovered"},
	"fine": {"罚款", "fine"}, "basis": {"处罚依据", "basis"}, "percent": {"罚款比例（%）", "fine (%)"},
	"flags": {"疑点", "flags"}, "amount_at_risk": {"涉及金额", "amount at risk"}, "priority": {"优先级", "priority"},
	"route": {"流向", "route"}, "specialty": {"专业", "specialty"}, "total": {"外推总额", "total"}, "low": {"下限", "low"},
	"high": {"上限", "high"}, "confidence": {"置信度", "confidence"}, "found": {"核实金额", "found"},
	"expert_id": {"专家", "expert"}, "specialties": {"专业", "specialties"}, "detector": {"规则", "rule"}, "mode": {"模式", "mode"},
}

// payloadValues name coded payload values: states, verdicts, roles, routes, bases.
var payloadValues = map[string]Entry{
	"open": {"待分拣", "open"}, "triage": {"初审", "triage"}, "panel_review": {"专家复审", "panel review"}, "decided": {"已认定", "decided"},
	"appeal": {"机构申诉", "appeal"}, "final": {"终审", "final"}, "recovery": {"追回中", "recovery"}, "closed": {"已结案", "closed"},
	"violation": {"违规", "violation"}, "no_violation": {"未见违规", "no violation"}, "needs_records": {"需调取病历", "needs records"},
	"auditor": {"稽核人员", "auditor"}, "supervisor": {"科室负责人", "supervisor"}, "reviewer": {"评审专家", "reviewer"},
	"admin": {"管理员", "admin"}, "system": {"系统", "system"}, "panel": {"专家组", "panel"}, "auditor_route": {"稽核人员", "auditors"},
	"art38": {"条例第38条", "Art. 38"}, "art40": {"条例第40条", "Art. 40"}, "art41": {"条例第41条", "Art. 41"},
	"shadow": {"影子模式", "shadow"}, "active": {"生效", "active"},
	// Review-panel specialties (casebook.SpecialtyNames).
	"internal": {"内科", "internal medicine"}, "surgery": {"外科", "surgery"}, "orthopedics": {"骨科", "orthopedics"},
	"obstetrics": {"妇产科", "obstetrics"}, "psychiatry": {"精神科", "psychiatry"}, "rehab": {"康复科", "rehabilitation"},
}

// Word names a coded word of the case workflow (a state, verdict, role,
// fine basis), or returns it unchanged.
func Word(w string, l Lang) string {
	if e, ok := payloadValues[w]; ok {
		return e.In(l)
	}
	return w
}

// Payload renders an audit-trail payload (a JSON object) as labelled,
// readable text: "原状态：初审；新状态：专家复审".
func Payload(raw string, l Lang) string {
	var m map[string]any
	if json.Unmarshal([]byte(raw), &m) != nil || len(m) == 0 {
		return ""
	}
	var parts []string
	for _, k := range sorted(m) {
		if m[k] == "" || m[k] == nil {
			continue
		}
		lab := k
		if e, ok := payloadKeys[k]; ok {
			lab = e.In(l)
		}
		parts = append(parts, lab+Entry{"：", ": "}.In(l)+payloadValue(k, m[k], l))
	}
	return strings.Join(parts, Entry{"；", "; "}.In(l))
}

func payloadValue(k string, v any, l Lang) string {
	switch x := v.(type) {
	case string:
		if moneyKeys[k] {
			return text(k, x, l, nil)
		}
		return Word(x, l)
	case map[string]any:
		var parts []string
		for _, kk := range sorted(x) {
			lab := kk
			if e, ok := payloadKeys[kk]; ok {
				lab = e.In(l)
			} else if k == "strata" {
				lab = Stratum(kk, l)
			}
			parts = append(parts, lab+" "+payloadValue(kk, x[kk], l))
		}
		return strings.Join(parts, ", ")
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = payloadValue(k, e, l)
		}
		return strings.Join(parts, "、")
	case float64:
		if k == "confidence" {
			return trim(strconv.FormatFloat(x*100, 'f', 1, 64)) + "%"
		}
		return trim(strconv.FormatFloat(x, 'f', 2, 64))
	}
	return Value(k, v, l, nil)
}

// Time formats an instant for a person, in Asia/Shanghai, to the minute.
func Time(t time.Time) string { return CST(t).Format("2006-01-02 15:04") }

// Date formats an instant's Asia/Shanghai date.
func Date(t time.Time) string { return CST(t).Format("2006-01-02") }

// Actor names an audit-trail actor: "user:aud_demo" → aud_demo,
// "system:panel" → 系统（专家组）.
func Actor(a string, l Lang) string {
	if rest, ok := strings.CutPrefix(a, "system:"); ok {
		return fmt.Sprintf(Entry{"系统（%s）", "system (%s)"}.In(l), rest)
	}
	return strings.TrimPrefix(a, "user:")
}

// SampleMethod says how a recovery sample is drawn and extrapolated
// (casebook.StratifiedSample and casebook.Extrapolate).
var SampleMethod = Entry{
	"分层随机抽样：按就诊类型×统筹+个账金额段（<1000、1000–9999、≥10000元）分层，按各层规模比例分配样本，每层至少2例，以记录的随机种子（PCG）无放回抽取；外推采用分层扩张估计 Σ N_h·ȳ_h，方差 Σ N_h²(1−n_h/N_h)s_h²/n_h，按 t 分布（自由度 Σ(n_h−1)）给出90%置信区间，下限不低于样本中实际核实的金额。",
	"Stratified random sample: strata by visit type × fund+account band (<1,000, 1,000–9,999, ≥10,000 yuan), allocation proportional to stratum size, at least 2 per stratum, drawn without replacement by a PCG generator with the recorded seed; extrapolated by the stratified expansion estimator Σ N_h·ȳ_h with variance Σ N_h²(1−n_h/N_h)s_h²/n_h and a Student-t 90% interval with Σ(n_h−1) degrees of freedom, its lower bound never below the amount actually found.",
}

// Stratum names a sampling stratum ("inpatient/1000-9999").
func Stratum(name string, l Lang) string {
	kind, band, _ := strings.Cut(name, "/")
	return Code("kind", kind, l) + " · " + band + " " + Entry{"元", "yuan"}.In(l)
}
