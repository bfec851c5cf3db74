package detectors

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/medaudit/medaudit/contract"
)

// groupAdmission is ghost_bed.group_admission (组团入院、同步出院): at least
// min_group_size persons admitted at one hospital within window_hours and
// discharged the same day, more often than the hospital's own admission rate
// explains. The SQL (queries/ghost_bed_group_admission.sql) returns the
// stays of candidate groups with the hospital's baseline; here each group
// gets a Poisson tail probability P(X ≥ k) with
//
//	λ = admissions per admission day on the same weekday × share of the
//	    hospital's stays with this length of stay × share of its admissions
//	    in its busiest 2-hour band,
//
// counted over the hospital's stays other than the group's own members
// (leave-one-out, so a group does not inflate its own expectation) and
// Bonferroni-corrected by the number of (admission day, length of stay)
// cells the hospital offers. A busy tier-3 hospital has a large λ, so its
// natural coincidences are not significant. A group must also hold
// min_ratio times the persons λ expects: a busy hospital's days swing more
// than a Poisson count does, so with enough volume a group of 1.8 λ gets a
// tiny p-value (at 1 M persons two hospitals admitting about 400 a day had
// thousands of such "groups"; the injected ones stood at 3.7 λ and more).
// A hospital is flagged when it has at least min_events significant groups
// (the pattern repeats); groups whose diagnoses are mostly acute
// infections, poisonings or injuries (outbreak, mass casualty) are excused.
type groupAdmission struct {
	Rule
	query string
}

// groupAdmissionRule is ghost_bed.group_admission.
var groupAdmissionRule = rule(Info{
	Name: "ghost_bed.group_admission", SubjectType: contract.SubjectSettlement,
	Override: Clinical, Title: "组团入院、同步出院",
	Basis: "《医疗保障基金使用监督管理条例》第38条 挂床住院、第40条 虚构医药服务；国家医保局飞检案例（组团入院8人以上）",
	Thresholds: []Threshold{
		{Name: "min_group_size", Default: 5, Unit: "persons", Doc: "persons admitted together and discharged the same day"},
		{Name: "window_hours", Default: 2, Unit: "hours", Doc: "admissions within this span form a group"},
		{Name: "alpha", Default: 0.01, Unit: "probability", Doc: "Bonferroni-corrected Poisson tail below which a group is not chance"},
		{Name: "min_ratio", Default: 3, Unit: "×", Doc: "persons in the group ÷ persons the hospital's rate expects in the window, at least (effect size: p alone grows significant with a hospital's volume)"},
		{Name: "min_events", Default: 2, Unit: "groups", Doc: "significant groups a hospital must have for its groups to be flagged (repeated)"},
		{Name: "single_group_size", Default: 7, Unit: "persons", Doc: "a group this large is flagged without repetition when its corrected tail is below alpha × single_alpha_factor (the flying-inspection cases name groups of 8 and more)"},
		{Name: "single_alpha_factor", Default: 0.01, Unit: "share", Doc: "how much stronger than alpha the corrected tail of a single large group must be"},
		{Name: "max_outbreak_share", Default: 0.5, Unit: "share", Doc: "groups where more than this share of diagnoses are acute infections, poisonings or injuries are excused"},
	},
	Caveats: []string{"群体性食物中毒、流感等聚集性疫情", "交通事故等群体伤亡事件", "单位组织的集中体检或疗养项目", "养老机构集中送诊的老人"},
}, "ghost_bed_group_admission.sql", func(r Rule, q string) Detector { return &groupAdmission{Rule: r, query: q} })

type groupStay struct {
	id, person, org, orgName, admitted, discharged, dx, atRisk string
	level, beds, los                                           int64
	emergency                                                  bool
	admissions, admissionDays, losValues, sameLOS, band        float64
	weekdayAdmissions, weekdayDays                             float64
	bandHour                                                   int
	at                                                         time.Time
}

// outbreakDx reports acute infections, influenza, poisonings and injuries:
// the diagnoses of genuine mass admissions.
func outbreakDx(dx string) bool {
	if dx == "" {
		return false
	}
	switch c := dx[0]; {
	case c == 'A' || c == 'B' || c == 'S':
		return true
	case c == 'T':
		return true
	}
	return strings.HasPrefix(dx, "J09") || strings.HasPrefix(dx, "J10") || strings.HasPrefix(dx, "J11")
}

// scoredGroup is a candidate group with its Poisson tail.
type scoredGroup struct {
	members     []groupStay
	lambda, p   float64
	pAdj, tests float64
	outbreak    float64
}

// Detect implements Detector.
func (d *groupAdmission) Detect(ctx context.Context, q Querier) ([]Flag, error) {
	rows, err := q.QueryContext(ctx, d.WithVariables(d.query))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.info.Name, err)
	}
	defer rows.Close()
	// The stays come by hospital and discharge day; groups form within one
	// such day, so only that day's stays are held, and of its groups only
	// the significant ones are kept (only they can be flagged).
	var (
		day  []groupStay    // the stays of the current hospital and discharge day
		all  []*scoredGroup // significant groups, in stay order
		seen int            // rows read, for the cancellation check
	)
	perOrg := map[string][]*scoredGroup{}
	closeDay := func() {
		for _, g := range d.groups(day) {
			if sc, ok := d.score(g); ok {
				sc.members = slices.Clone(g)
				all = append(all, sc)
				perOrg[g[0].org] = append(perOrg[g[0].org], sc)
			}
		}
		day = day[:0]
	}
	for rows.Next() {
		var s groupStay
		var level, beds *int64
		var name *string
		if err := rows.Scan(&s.id, &s.person, &s.org, &name, &level, &beds, &s.admitted, &s.discharged, &s.los, &s.dx,
			&s.emergency, &s.atRisk, &s.admissions, &s.admissionDays, &s.losValues, &s.weekdayAdmissions, &s.weekdayDays,
			&s.sameLOS, &s.band, &s.bandHour); err != nil {
			return nil, fmt.Errorf("%s: %w", d.info.Name, err)
		}
		if name != nil {
			s.orgName = *name
		}
		if level != nil {
			s.level = *level
		}
		if beds != nil {
			s.beds = *beds
		}
		if s.at, err = time.Parse(time.DateTime, s.admitted); err != nil {
			return nil, fmt.Errorf("%s: %w", d.info.Name, err)
		}
		if len(day) > 0 && (s.org != day[0].org || s.discharged[:10] != day[0].discharged[:10]) {
			closeDay()
		}
		day = append(day, s)
		if seen++; seen%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", d.info.Name, err)
	}
	closeDay()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var flags []Flag
	for _, sc := range all {
		single := float64(len(sc.members)) >= d.Param("single_group_size") && sc.pAdj < d.Param("alpha")*d.Param("single_alpha_factor")
		if float64(len(perOrg[sc.members[0].org])) < d.Param("min_events") && !single {
			continue
		}
		events := perOrg[sc.members[0].org]
		var eventList []map[string]any
		for _, e := range events[:min(len(events), maxGroupEvidence)] {
			eventList = append(eventList, map[string]any{
				"first_admitted_at": e.members[0].admitted, "discharge_date": e.members[0].discharged[:10],
				"persons": len(e.members), "poisson_p_adjusted": e.pAdj,
			})
		}
		memberList := make([]map[string]any, 0, min(len(sc.members), maxGroupEvidence))
		for _, m := range sc.members[:min(len(sc.members), maxGroupEvidence)] {
			memberList = append(memberList, map[string]any{
				"settlement_id": m.id, "person_id": m.person, "admitted_at": m.admitted, "discharged_at": m.discharged,
				"los_days": m.los, "diagnosis_code": m.dx, "emergency": m.emergency,
			})
		}
		s0 := sc.members[0]
		margin := -math.Log10(max(sc.pAdj, 1e-300)) + math.Log10(d.Param("alpha"))
		score := NoisyOR(Logistic(margin, 2), 0.1*float64(len(events)-1))
		for _, m := range sc.members {
			fen, err := contract.ParseDecimal(m.atRisk, 2)
			if err != nil {
				return nil, fmt.Errorf("%s: amount %q: %w", d.info.Name, m.atRisk, err)
			}
			summary := fmt.Sprintf("%s于%s起%g小时内收治%d人、同日（%s）出院；按本院入院率期望%.3f人，泊松尾概率（校正后）%.2g；本院此类组团共%d次",
				ghostOrgLabel(s0), s0.admitted[:16], d.Param("window_hours"), len(sc.members), s0.discharged[:10], sc.lambda, sc.pAdj, len(events))
			facts := map[string]any{
				"stay": map[string]any{"settlement_id": m.id, "person_id": m.person, "admitted_at": m.admitted,
					"discharged_at": m.discharged, "los_days": m.los, "diagnosis_code": m.dx},
				"org":   map[string]any{"org_code": m.org, "name": m.orgName, "level": m.level, "beds": m.beds},
				"group": memberList, "group_size": len(sc.members),
				"baseline": map[string]any{
					"admissions": s0.admissions, "admission_days": s0.admissionDays,
					"admissions_per_day":             s0.admissions / max(s0.admissionDays, 1),
					"share_same_los":                 s0.sameLOS / max(s0.admissions, 1),
					"share_busiest_2h_band":          s0.band / max(s0.admissions, 1),
					"expected_in_window":             sc.lambda,
					"observed_expected_ratio":        float64(len(sc.members)) / max(sc.lambda, 1e-9),
					"poisson_p":                      sc.p,
					"bonferroni_tests":               sc.tests,
					"poisson_p_adjusted":             sc.pAdj,
					"outbreak_diagnosis_share":       sc.outbreak,
					"significant_groups_at_hospital": len(events),
				},
				"hospital_groups":       eventList,
				"fund_and_account_paid": m.atRisk,
			}
			parts := map[string]float64{"poisson_margin_log10": margin, "repeated_groups": float64(len(events))}
			flags = append(flags, d.Flag(m.id, m.org, score, contract.Fen(fen), summary, facts, parts))
		}
	}
	sort.Slice(flags, func(i, j int) bool { return flags[i].SubjectID < flags[j].SubjectID })
	return flags, ctx.Err()
}

// score is a group's Poisson tail against the hospital's rate (λ from its
// other stays, Bonferroni-corrected by the hospital's (admission day,
// length of stay) cells); false unless the group is significant: below
// alpha, at least min_ratio × λ persons, and not mostly outbreak
// diagnoses.
func (d *groupAdmission) score(g []groupStay) (*scoredGroup, bool) {
	s0 := g[0]
	lambda := groupLambda(g)
	k := float64(len(g))
	p := PoissonTail(k, lambda)
	tests := max(1, s0.admissionDays*s0.losValues)
	sc := &scoredGroup{lambda: lambda, p: p, tests: tests, pAdj: min(1, p*tests)}
	out := 0
	for _, m := range g {
		if outbreakDx(m.dx) {
			out++
		}
	}
	sc.outbreak = float64(out) / k
	return sc, sc.pAdj < d.Param("alpha") && k >= d.Param("min_ratio")*lambda && sc.outbreak <= d.Param("max_outbreak_share")
}

// maxGroupEvidence is how many of a group's members and of the hospital's
// groups a flag's evidence lists (their counts are given in full): every
// member of a group is flagged, so listing all members and all groups in
// each flag grew with their product (63 KB a flag, 7 GB of evidence at
// 2.5 M persons).
const maxGroupEvidence = 20

// groupLambda is the expected number of admissions in the group's window
// with its discharge day, from the hospital's other stays.
func groupLambda(g []groupStay) float64 {
	s0 := g[0]
	adm, wk, los, band := s0.admissions, s0.weekdayAdmissions, s0.sameLOS, s0.band
	for _, m := range g {
		adm--
		if m.at.Weekday() == s0.at.Weekday() {
			wk--
		}
		if m.los == s0.los {
			los--
		}
		if h := m.at.Hour(); h == s0.bandHour || h == s0.bandHour+1 {
			band--
		}
	}
	if adm <= 0 || s0.weekdayDays <= 0 {
		return 0
	}
	return max(wk, 0) / s0.weekdayDays * max(los, 0) / adm * max(band, 0) / adm
}

// groups splits the candidate stays (ordered by hospital, discharge day and
// admission time) into groups: from the earliest stay, every stay admitted
// within the window; a group needs min_group_size persons.
func (d *groupAdmission) groups(stays []groupStay) [][]groupStay {
	window := time.Duration(d.Param("window_hours") * float64(time.Hour))
	minSize := int(d.Param("min_group_size"))
	var out [][]groupStay
	for i := 0; i < len(stays); {
		j := i
		for j < len(stays) && stays[j].org == stays[i].org && stays[j].discharged[:10] == stays[i].discharged[:10] &&
			stays[j].at.Sub(stays[i].at) <= window {
			j++
		}
		if j-i >= minSize {
			out = append(out, stays[i:j])
			i = j
		} else {
			i++
		}
	}
	return out
}

func ghostOrgLabel(s groupStay) string {
	if s.orgName != "" {
		return s.orgName + "（" + s.org + "，" + strconv.FormatInt(s.level, 10) + "级）"
	}
	return s.org
}
