package detectors

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/medaudit/medaudit/contract"
)

// The population-rate guard. After the detectors ran, each rule's flags are
// counted against its population (population.go), over the whole batch and
// per cell (insured region × insurance type × visit type). Where a rule
// flags more than its ceiling across a cell whose flags are spread over
// many institutions, our model of the data is wrong (a policy table, a
// unit, a reporting convention): the cell's flags become one calibration
// alarm and are stored 'suppressed' — no case, no review panel — until an
// auditor resolves the alarm. Where the excess sits at a few institutions
// while their peers are quiet, it is fraud-shaped: the flags stay, and each
// such institution gets an institution-level flag <family>.rule_concentration.

// RuleShare is one rule's flag share of its population in a scan.
type RuleShare struct {
	Rule           string  `json:"rule"`
	Population     string  `json:"population"`
	PopulationSize int64   `json:"population_size"`
	Flagged        int64   `json:"flagged"`
	Share          float64 `json:"share"`
	Ceiling        float64 `json:"ceiling"`
}

// Cell is where an alarm holds: an insured region, insurance type and
// visit type, "*" for every one.
type Cell struct {
	Region    string `json:"insured_region"`
	Insurance string `json:"insurance_type"`
	VisitType string `json:"visit_type"`
}

var batchCell = Cell{"*", "*", "*"}

// Title is the cell in words (zh-CN).
func (c Cell) Title() string {
	if c == batchCell {
		return "全批次"
	}
	var parts []string
	if c.Region != "*" && c.Region != "" {
		parts = append(parts, "参保地 "+c.Region)
	}
	if c.Insurance != "*" && c.Insurance != "" {
		parts = append(parts, "险种 "+insuranceTitle(c.Insurance))
	}
	if c.VisitType != "*" && c.VisitType != "" {
		parts = append(parts, visitTitle(c.VisitType))
	}
	if len(parts) == 0 {
		return "全批次"
	}
	return strings.Join(parts, " · ")
}

func insuranceTitle(s string) string {
	switch s {
	case "employee":
		return "职工医保"
	case "resident":
		return "城乡居民医保"
	}
	return s
}

func visitTitle(s string) string {
	switch s {
	case "inpatient":
		return "住院"
	case "outpatient":
		return "门诊"
	case "pharmacy":
		return "药店购药"
	}
	return s
}

// AlarmID is the stable id of the alarm of a rule in a cell.
func AlarmID(detector string, c Cell) string {
	h := sha256.Sum256([]byte(detector + "\x00" + c.Region + "\x00" + c.Insurance + "\x00" + c.VisitType))
	return "A" + hex.EncodeToString(h[:8])
}

// Alarm statuses.
const (
	AlarmOpen     = "open"     // flags held; an auditor must act
	AlarmFixed    = "fixed"    // an auditor fixed a table or convention; the next scan re-judges
	AlarmReleased = "released" // confirmed real: the flags are released to cases, and stay so
	AlarmCleared  = "cleared"  // a later scan no longer found the rule above its ceiling
)

// Alarm is a calibration alarm.
type Alarm struct {
	ID             string          `json:"alarm_id"`
	Rule           string          `json:"rule"`
	RuleTitle      string          `json:"rule_title"`
	Family         string          `json:"family"`
	Population     string          `json:"population"`
	Cell           Cell            `json:"cell"`
	CellTitle      string          `json:"cell_title"`
	PopulationSize int64           `json:"population_size"`
	Flagged        int64           `json:"flagged"`
	Share          float64         `json:"share"`
	Ceiling        float64         `json:"ceiling"`
	Institutions   int64           `json:"institutions"`
	RestShare      float64         `json:"share_without_top3"`
	AmountAtRisk   contract.Fen    `json:"amount_at_risk"`
	Examples       json.RawMessage `json:"examples"`
	Breakdown      []CellShare     `json:"breakdown"` // a whole-batch alarm's most flagged cells
	Cause          string          `json:"cause"`
	Message        string          `json:"message"` // zh-CN: the alarm in one paragraph
	FirstScanID    int64           `json:"first_scan_id"`
	ScanID         int64           `json:"scan_id"`
	Status         string          `json:"status"`
	ResolvedBy     string          `json:"resolved_by,omitempty"`
	ResolvedAt     *time.Time      `json:"resolved_at,omitempty"`
	Note           string          `json:"resolution_note,omitempty"`
}

// message is the alarm in words an auditor reads.
func (a Alarm) message() string {
	title := a.RuleTitle
	if title == "" {
		title = a.Rule
	}
	msg := fmt.Sprintf("规则「%s」在%s命中 %d/%d（%.1f%%），超过该规则的上限 %.1f%%，且分布在 %d 家机构（去掉命中最多的3家后仍为 %.1f%%）。这更像是数据口径或参数问题，而不是集中性的欺诈，这些疑点暂不立案、不送专家评审。",
		title, a.Cell.Title(), a.Flagged, a.PopulationSize, 100*a.Share, 100*a.Ceiling, a.Institutions, 100*a.RestShare)
	if len(a.Breakdown) > 0 {
		var parts []string
		for _, c := range a.Breakdown[:min(len(a.Breakdown), 3)] {
			parts = append(parts, fmt.Sprintf("%s %.1f%%（%d/%d）", c.Title, 100*c.Share, c.Flagged, c.PopulationSize))
		}
		msg += "命中最多的范围：" + strings.Join(parts, "；") + "。"
	}
	return msg + "可能原因：" + a.Cause
}

// guardResult is what the guard found in one scan.
type guardResult struct {
	shares []RuleShare
	alarms []string // ids of the alarms raised (open) by this scan
}

type guardRule struct {
	info Info
	pop  RulePopulation
}

type popCounts struct {
	batch cellCounts
	cells map[Cell]*cellCounts
}

func newCounts() *cellCounts {
	return &cellCounts{OrgN: map[string]int64{}, OrgF: map[string]int64{}}
}

// countPopulation counts a population's subjects per cell and institution.
// A population of single subjects counts its rows in one grouped pass. The
// others (a card at every institution it was swiped at) return distinct
// rows, so a cell's rows at one institution are its subjects there, and
// each coarser level counts the rows made distinct first: DuckDB's distinct
// counts over grouping sets took 2.3 s for the cards at 1 M persons, these
// 1.75 s (the persons: 1.17 → 0.83 s), with the same counts.
func countPopulation(ctx context.Context, conn *sql.Conn, p Population) (*popCounts, error) {
	q := `WITH pop AS (` + p.subjects + `)
		SELECT grouping(region, insurance, visit_type, org_code), coalesce(region, ''), coalesce(insurance, ''),
		       coalesce(visit_type, ''), coalesce(org_code, ''), count(*)
		FROM pop GROUP BY GROUPING SETS ((region, insurance, visit_type, org_code), (region, insurance, visit_type), (org_code), ())`
	if !p.single {
		q = `WITH pop AS MATERIALIZED (` + p.subjects + `),
		counted AS (
			SELECT 0 AS g, region, insurance, visit_type, org_code, count(*) AS n FROM pop GROUP BY ALL
			UNION ALL SELECT 1, region, insurance, visit_type, NULL, count(*)
			FROM (SELECT DISTINCT subject_id, region, insurance, visit_type FROM pop) GROUP BY ALL
			UNION ALL SELECT 14, NULL, NULL, NULL, org_code, count(*) FROM (SELECT DISTINCT subject_id, org_code FROM pop) GROUP BY ALL
			UNION ALL SELECT 15, NULL, NULL, NULL, NULL, count(DISTINCT subject_id) FROM pop)
		SELECT g, coalesce(region, ''), coalesce(insurance, ''), coalesce(visit_type, ''), coalesce(org_code, ''), n FROM counted`
	}
	out, err := queryCounts(ctx, conn, q)
	if err != nil {
		return nil, fmt.Errorf("count population %s: %w", p.Name, err)
	}
	return out, nil
}

// populationCounts are the counts of the populations a scan's guard has
// counted, by name. A population within another (Population.within) is that
// one's cells of its visit types: each subject is one row of one cell in
// both (single), so its cells, their sums per institution and their total
// are its counts. At 2.5 M persons counting the inpatient and the
// outpatient settlements again took 0.22 and 0.71 s (all settlements:
// 0.73-0.84 s; the guard 12-13 s).
type populationCounts map[string]*popCounts

func (pcs populationCounts) of(ctx context.Context, conn *sql.Conn, p Population) (*popCounts, error) {
	if pc, ok := pcs[p.Name]; ok {
		return pc, nil
	}
	var pc *popCounts
	if p.within != nil {
		whole, err := pcs.of(ctx, conn, *p.within)
		if err != nil {
			return nil, err
		}
		pc = &popCounts{batch: *newCounts(), cells: map[Cell]*cellCounts{}}
		for c, cc := range whole.cells {
			if !slices.Contains(p.visitTypes, c.VisitType) {
				continue
			}
			pc.cells[c] = cc
			pc.batch.N += cc.N
			for org, n := range cc.OrgN {
				pc.batch.OrgN[org] += n
			}
		}
	} else {
		var err error
		if pc, err = countPopulation(ctx, conn, p); err != nil {
			return nil, err
		}
	}
	pcs[p.Name] = pc
	return pc, nil
}

// queryCounts reads the subject counts of a population's query: per row the
// grouping level (0 cell and institution, 1 cell, 14 institution, 15 all),
// the cell, the institution and the count.
func queryCounts(ctx context.Context, conn *sql.Conn, q string) (*popCounts, error) {
	rows, err := conn.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := &popCounts{batch: *newCounts(), cells: map[Cell]*cellCounts{}}
	for rows.Next() {
		var g int
		var c Cell
		var org string
		var n int64
		if err := rows.Scan(&g, &c.Region, &c.Insurance, &c.VisitType, &org, &n); err != nil {
			return nil, err
		}
		switch g {
		case 0:
			cell(out.cells, c).OrgN[org] = n
		case 1:
			cell(out.cells, c).N = n
		case 14:
			out.batch.OrgN[org] = n
		case 15:
			out.batch.N = n
		}
	}
	return out, rows.Err()
}

func cell(m map[Cell]*cellCounts, c Cell) *cellCounts {
	cc := m[c]
	if cc == nil {
		cc = newCounts()
		m[c] = cc
	}
	return cc
}

// countFlags counts the flagged subjects of each rule of rules (all of
// population p) per cell and institution, from new_flags.
func countFlags(ctx context.Context, conn *sql.Conn, p Population, rules []string) (map[string]*popCounts, error) {
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(rules)), ", ")
	args := make([]any, len(rules))
	for i, r := range rules {
		args[i] = r
	}
	// The cells of the flagged subjects only: the population's rows are
	// joined to the flags before they are made distinct.
	rows, err := conn.QueryContext(ctx, `WITH pop AS (`+p.subjects+`),
		flagged AS (SELECT DISTINCT detector, subject_id, coalesce(org_code, '') AS org_code FROM new_flags WHERE detector IN (`+marks+`)),
		subj AS (SELECT DISTINCT subject_id, region, insurance, visit_type FROM pop WHERE subject_id IN (SELECT subject_id FROM flagged)),
		fl AS (SELECT f.detector, f.subject_id, s.region, s.insurance, s.visit_type, f.org_code FROM flagged f JOIN subj s USING (subject_id))
		SELECT detector, grouping(region, insurance, visit_type, org_code), coalesce(region, ''), coalesce(insurance, ''),
		       coalesce(visit_type, ''), coalesce(org_code, ''), count(DISTINCT subject_id)
		FROM fl GROUP BY GROUPING SETS ((detector, region, insurance, visit_type, org_code), (detector, region, insurance, visit_type),
		                                (detector, org_code), (detector))`, args...)
	if err != nil {
		return nil, fmt.Errorf("count flags of population %s: %w", p.Name, err)
	}
	defer rows.Close()
	out := map[string]*popCounts{}
	for rows.Next() {
		var det, org string
		var g int
		var c Cell
		var n int64
		if err := rows.Scan(&det, &g, &c.Region, &c.Insurance, &c.VisitType, &org, &n); err != nil {
			return nil, err
		}
		pc := out[det]
		if pc == nil {
			pc = &popCounts{batch: *newCounts(), cells: map[Cell]*cellCounts{}}
			out[det] = pc
		}
		switch g {
		case 0:
			cell(pc.cells, c).OrgF[org] = n
		case 1:
			cell(pc.cells, c).F = n
		case 14:
			pc.batch.OrgF[org] = n
		case 15:
			pc.batch.F = n
		}
	}
	return out, rows.Err()
}

// alarmCell is a cell the guard turns into an alarm.
type alarmCell struct {
	rule      guardRule
	cell      Cell
	n, f      int64
	v         verdict
	breakdown []CellShare
}

// CellShare is a rule's share in one cell, for a whole-batch alarm's
// breakdown.
type CellShare struct {
	Cell
	Title          string  `json:"title"`
	PopulationSize int64   `json:"population_size"`
	Flagged        int64   `json:"flagged"`
	Share          float64 `json:"share"`
}

// maxBreakdown is how many cells a whole-batch alarm lists.
const maxBreakdown = 8

// breakdown lists the cells of a rule with flags, most flagged first.
func breakdown(pop, flags map[Cell]*cellCounts) []CellShare {
	out := []CellShare{}
	for c, f := range flags {
		if f.F == 0 || pop[c] == nil || pop[c].N == 0 {
			continue
		}
		out = append(out, CellShare{Cell: c, Title: c.Title(), PopulationSize: pop[c].N, Flagged: f.F, Share: float64(f.F) / float64(pop[c].N)})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Flagged != out[j].Flagged {
			return out[i].Flagged > out[j].Flagged
		}
		return cellLess(out[i].Cell, out[j].Cell)
	})
	return out[:min(len(out), maxBreakdown)]
}

// hotRule is a rule concentrated at one institution.
type hotRule struct {
	rule guardRule
	cell Cell
	org  hotOrg
}

// runGuard judges this scan's flags (in the temp table new_flags, on
// conn, inside the scan's transaction) before they are stored: it records
// each rule's share, writes the alarms and the flags they hold, and adds
// the institution-level flags of concentrated rules to new_flags. It
// returns the names of the concentration detectors it may have flagged
// under (so that their old flags resolve like any detector's).
func runGuard(ctx context.Context, conn *sql.Conn, scanID int64, ds []Detector, g GuardConfig, now time.Time) (guardResult, []string, error) {
	var res guardResult
	byPop := map[string][]guardRule{}
	pops := map[string]Population{}
	families := map[string]bool{}
	for _, d := range ds {
		desc, ok := d.(Describer)
		if !ok {
			continue
		}
		info := desc.Describe()
		rp, err := PopulationOf(info)
		if err != nil {
			return res, nil, err
		}
		byPop[rp.Name] = append(byPop[rp.Name], guardRule{info, rp})
		pops[rp.Name] = rp.Population
		families[info.Family] = true
	}
	released, err := alarmStatuses(ctx, conn)
	if err != nil {
		return res, nil, err
	}
	var alarms []alarmCell
	var hot []hotRule
	popNames := make([]string, 0, len(pops))
	for n := range pops {
		popNames = append(popNames, n)
	}
	sort.Strings(popNames)
	counted := populationCounts{}
	for _, pn := range popNames {
		p := pops[pn]
		rules := byPop[pn]
		pc, err := counted.of(ctx, conn, p)
		if err != nil {
			return res, nil, err
		}
		names := make([]string, len(rules))
		for i, r := range rules {
			names[i] = r.info.Name
		}
		fc, err := countFlags(ctx, conn, p, names)
		if err != nil {
			return res, nil, err
		}
		for _, r := range rules {
			f := fc[r.info.Name]
			if f == nil {
				f = &popCounts{batch: *newCounts(), cells: map[Cell]*cellCounts{}}
			}
			share := 0.0
			if pc.batch.N > 0 {
				share = float64(f.batch.F) / float64(pc.batch.N)
			}
			res.shares = append(res.shares, RuleShare{Rule: r.info.Name, Population: p.Name, PopulationSize: pc.batch.N,
				Flagged: f.batch.F, Share: share, Ceiling: r.pop.Ceiling})
			bv := g.decide(cellCounts{N: pc.batch.N, F: f.batch.F, OrgN: pc.batch.OrgN, OrgF: f.batch.OrgF}, r.pop.Ceiling, p.institutionLevel())
			if bv.Alarm {
				alarms = append(alarms, alarmCell{r, batchCell, pc.batch.N, f.batch.F, bv, breakdown(pc.cells, f.cells)})
				continue
			}
			for _, h := range bv.Hot {
				hot = append(hot, hotRule{r, batchCell, h})
			}
			if p.institutionLevel() {
				continue
			}
			cells := make([]Cell, 0, len(pc.cells))
			for c := range pc.cells {
				cells = append(cells, c)
			}
			sort.Slice(cells, func(i, j int) bool { return cellLess(cells[i], cells[j]) })
			for _, c := range cells {
				pcc, fcc := pc.cells[c], f.cells[c]
				if fcc == nil {
					continue
				}
				v := g.decide(cellCounts{N: pcc.N, F: fcc.F, OrgN: pcc.OrgN, OrgF: fcc.OrgF}, r.pop.Ceiling, false)
				if v.Alarm {
					alarms = append(alarms, alarmCell{r, c, pcc.N, fcc.F, v, []CellShare{}})
				}
				for _, h := range v.Hot {
					hot = append(hot, hotRule{r, c, h})
				}
			}
		}
	}
	for _, s := range res.shares {
		if _, err := conn.ExecContext(ctx, `INSERT INTO scan_rule_shares VALUES (?, ?, ?, ?, ?, ?, ?)`,
			scanID, s.Rule, s.Population, s.PopulationSize, s.Flagged, s.Share, s.Ceiling); err != nil {
			return res, nil, fmt.Errorf("store rule shares: %w", err)
		}
	}
	for _, a := range alarms {
		id := AlarmID(a.rule.info.Name, a.cell)
		if released[id] == AlarmReleased {
			continue // confirmed real by an auditor: the flags stay flags
		}
		if err := storeAlarm(ctx, conn, scanID, id, a, released[id], pops[a.rule.pop.Name]); err != nil {
			return res, nil, err
		}
		res.alarms = append(res.alarms, id)
	}
	concentration, err := addConcentrationFlags(ctx, conn, hot, families)
	if err != nil {
		return res, nil, err
	}
	return res, concentration, nil
}

func cellLess(a, b Cell) bool {
	if a.Region != b.Region {
		return a.Region < b.Region
	}
	if a.Insurance != b.Insurance {
		return a.Insurance < b.Insurance
	}
	return a.VisitType < b.VisitType
}

// alarmStatuses reads the status of every stored alarm.
func alarmStatuses(ctx context.Context, conn *sql.Conn) (map[string]string, error) {
	rows, err := conn.QueryContext(ctx, `SELECT alarm_id, status FROM calibration_alarms`)
	if err != nil {
		return nil, fmt.Errorf("read alarms: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, st string
		if err := rows.Scan(&id, &st); err != nil {
			return nil, err
		}
		out[id] = st
	}
	return out, rows.Err()
}

// storeAlarm writes (or refreshes) one alarm and the flags it holds.
func storeAlarm(ctx context.Context, conn *sql.Conn, scanID int64, id string, a alarmCell, prev string, p Population) error {
	if _, err := conn.ExecContext(ctx, `DELETE FROM calibration_alarm_flags WHERE alarm_id = ?`, id); err != nil {
		return err
	}
	var err error
	if a.cell == batchCell {
		_, err = conn.ExecContext(ctx, `INSERT INTO calibration_alarm_flags SELECT ?, flag_id FROM new_flags WHERE detector = ?`, id, a.rule.info.Name)
	} else {
		_, err = conn.ExecContext(ctx, `INSERT INTO calibration_alarm_flags SELECT ?, f.flag_id FROM new_flags f
			WHERE f.detector = ? AND f.subject_id IN (SELECT subject_id FROM (`+p.subjects+`) WHERE region = ? AND insurance = ? AND visit_type = ?)`,
			id, a.rule.info.Name, a.cell.Region, a.cell.Insurance, a.cell.VisitType)
	}
	if err != nil {
		return fmt.Errorf("alarm %s flags: %w", id, err)
	}
	var amount, examples string
	if err := conn.QueryRowContext(ctx, `SELECT coalesce(sum(f.amount_at_risk), 0)::DECIMAL(18,2)::VARCHAR,
		coalesce((SELECT to_json(list({'flag_id': flag_id, 'subject_type': subject_type, 'subject_id': subject_id, 'org_code': org_code,
		          'summary': evidence::JSON->>'summary'} ORDER BY score DESC, flag_id)[1:5])
		          FROM new_flags WHERE flag_id IN (SELECT flag_id FROM calibration_alarm_flags WHERE alarm_id = $1))::VARCHAR, '[]')
		FROM new_flags f WHERE f.flag_id IN (SELECT flag_id FROM calibration_alarm_flags WHERE alarm_id = $1)`, id).Scan(&amount, &examples); err != nil {
		return fmt.Errorf("alarm %s examples: %w", id, err)
	}
	bd, err := json.Marshal(a.breakdown)
	if err != nil {
		return err
	}
	if prev == "" {
		_, err = conn.ExecContext(ctx, `INSERT INTO calibration_alarms VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?::DECIMAL(18,2), ?::JSON, ?::JSON, ?, ?, ?, 'open', NULL, NULL, NULL)`,
			id, a.rule.info.Name, a.rule.info.Family, p.Name, a.cell.Region, a.cell.Insurance, a.cell.VisitType, a.n, a.f, a.v.Share,
			a.rule.pop.Ceiling, a.v.Institutions, a.v.RestShare, amount, examples, string(bd), a.rule.pop.Cause, scanID, scanID)
	} else {
		// A fixed or cleared alarm found again opens again; an open one is refreshed.
		_, err = conn.ExecContext(ctx, `UPDATE calibration_alarms SET population_size = ?, flagged = ?, share = ?, ceiling = ?, institutions = ?,
			rest_share = ?, amount_at_risk = ?::DECIMAL(18,2), examples = ?::JSON, breakdown = ?::JSON, cause = ?, scan_id = ?, status = 'open'
			WHERE alarm_id = ?`, a.n, a.f, a.v.Share, a.rule.pop.Ceiling, a.v.Institutions, a.v.RestShare, amount, examples, string(bd),
			a.rule.pop.Cause, scanID, id)
	}
	if err != nil {
		return fmt.Errorf("store alarm %s: %w", id, err)
	}
	return nil
}

// concentrationName is the detector name of the institution-level flags of
// a family's concentrated rules.
func concentrationName(family string) string { return family + ".rule_concentration" }

// addConcentrationFlags adds to new_flags one institution-level flag per
// family and institution where rules of the family concentrate, and returns
// the concentration detector names of the families that ran.
func addConcentrationFlags(ctx context.Context, conn *sql.Conn, hot []hotRule, families map[string]bool) ([]string, error) {
	type key struct{ family, org string }
	byOrg := map[key]map[string]hotRule{}
	for _, h := range hot {
		k := key{h.rule.info.Family, h.org.Org}
		if byOrg[k] == nil {
			byOrg[k] = map[string]hotRule{}
		}
		if old, ok := byOrg[k][h.rule.info.Name]; !ok || h.org.P < old.org.P {
			byOrg[k][h.rule.info.Name] = h
		}
	}
	keys := make([]key, 0, len(byOrg))
	for k := range byOrg {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].family != keys[j].family {
			return keys[i].family < keys[j].family
		}
		return keys[i].org < keys[j].org
	})
	for _, k := range keys {
		rules := byOrg[k]
		names := make([]string, 0, len(rules))
		for n := range rules {
			names = append(names, n)
		}
		sort.Strings(names)
		var lines []map[string]any
		var parts []string
		var scores []float64
		for _, n := range names {
			h := rules[n]
			lines = append(lines, map[string]any{"rule": n, "rule_title": h.rule.info.Title, "population": h.rule.pop.Name,
				"cell": h.cell.Title(), "institution_subjects": h.org.N, "institution_flagged": h.org.F,
				"institution_share": round4(h.org.Share), "peers_share": round4(h.org.RestShare), "ceiling": h.rule.pop.Ceiling,
				"p_value": h.org.P})
			parts = append(parts, fmt.Sprintf("「%s」%d/%d（%.1f%%，同类其他机构 %.2f%%）", h.rule.info.Title, h.org.F, h.org.N, 100*h.org.Share, 100*h.org.RestShare))
			scores = append(scores, min(0.9, 0.5+h.org.Share))
		}
		name := concentrationName(k.family)
		ev := Evidence{Rule: name, Title: "规则在单一机构集中触发", Basis: "同一规则在本机构远高于同批其他机构：集中性违规线索（DOMAIN.md §12）",
			Summary: "本机构规则命中率远高于同批其他机构：" + strings.Join(parts, "；"),
			Facts:   map[string]any{"rules": lines}, Thresholds: map[string]float64{},
			Amount:  contract.Fen(0).String(),
			Caveats: []string{"专科机构或服务人群特殊（如慢病、肿瘤专科药房）", "机构报送口径与同批其他机构不同"}}
		b, err := json.Marshal(ev)
		if err != nil {
			return nil, err
		}
		if _, err := conn.ExecContext(ctx, `INSERT INTO new_flags VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?)`,
			FlagID(name, contract.SubjectInstitution, k.org), name, k.family, contract.SubjectInstitution, k.org, k.org,
			NoisyOR(scores...), string(Absolute), string(b)); err != nil {
			return nil, fmt.Errorf("concentration flag: %w", err)
		}
	}
	var out []string
	for f := range families {
		out = append(out, concentrationName(f))
	}
	sort.Strings(out)
	return out, nil
}

// LoadAlarms returns the alarms matching a condition on calibration_alarms
// (with its arguments), most flagged first; titles are the registry's.
func LoadAlarms(ctx context.Context, q Querier, where string, args ...any) ([]Alarm, error) {
	rows, err := q.QueryContext(ctx, `SELECT alarm_id, detector, family, population, cell_region, cell_insurance, cell_visit_type,
		population_size, flagged, share, ceiling, institutions, rest_share, amount_at_risk::VARCHAR, examples::VARCHAR, breakdown::VARCHAR, cause,
		first_scan_id, scan_id, status, coalesce(resolved_by, ''), resolved_at, coalesce(resolution_note, '')
		FROM calibration_alarms WHERE `+where+` ORDER BY status = 'open' DESC, flagged DESC, alarm_id`, args...)
	if err != nil {
		return nil, fmt.Errorf("read alarms: %w", err)
	}
	defer rows.Close()
	titles := ruleTitles()
	out := []Alarm{}
	for rows.Next() {
		var a Alarm
		var amount, examples, bd string
		var at sql.NullTime
		if err := rows.Scan(&a.ID, &a.Rule, &a.Family, &a.Population, &a.Cell.Region, &a.Cell.Insurance, &a.Cell.VisitType,
			&a.PopulationSize, &a.Flagged, &a.Share, &a.Ceiling, &a.Institutions, &a.RestShare, &amount, &examples, &bd, &a.Cause,
			&a.FirstScanID, &a.ScanID, &a.Status, &a.ResolvedBy, &at, &a.Note); err != nil {
			return nil, err
		}
		if a.AmountAtRisk, err = contract.ParseFen(amount); err != nil {
			return nil, err
		}
		a.Examples = json.RawMessage(examples)
		if err := json.Unmarshal([]byte(bd), &a.Breakdown); err != nil {
			return nil, err
		}
		if at.Valid {
			a.ResolvedAt = &at.Time
		}
		a.RuleTitle = titles[a.Rule]
		a.CellTitle = a.Cell.Title()
		a.Message = a.message()
		out = append(out, a)
	}
	return out, rows.Err()
}

// ruleTitles maps every registered rule to its zh-CN title.
func ruleTitles() map[string]string {
	out := map[string]string{}
	ds, err := Registry(Config{})
	if err != nil {
		return out
	}
	for _, d := range ds {
		if desc, ok := d.(Describer); ok {
			out[d.Name()] = desc.Describe().Title
		}
	}
	return out
}

// RuleShares returns the flag share of every rule of a scan against its
// population, the rules furthest above their ceiling first.
func RuleShares(ctx context.Context, q Querier, scanID int64) ([]RuleShare, error) {
	rows, err := q.QueryContext(ctx, `SELECT detector, population, population_size, flagged, share, ceiling
		FROM scan_rule_shares WHERE scan_id = ? ORDER BY share / ceiling DESC, detector`, scanID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []RuleShare{}
	for rows.Next() {
		var r RuleShare
		if err := rows.Scan(&r.Rule, &r.Population, &r.PopulationSize, &r.Flagged, &r.Share, &r.Ceiling); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
