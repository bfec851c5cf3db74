package detectors

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/medaudit/medaudit/contract"
)

// Inspection targeting (专项检查/飞行检查选点): which institutions to inspect
// first. An institution ranks by the money an inspection can expect to
// recover from its open flags — each flagged subject counted once, at its
// largest amount, weighted by the noisy-OR of its flags' scores — raised by
// how far its density of flagged subjects stands above its peers of the
// same kind (robust z, DOMAIN.md §9). Institutions without open flags follow,
// by exposure (fund and account money paid), the best prior a flagless
// institution has.

// InstitutionRank is one institution in the ranking.
type InstitutionRank struct {
	Rank             int          `json:"rank"`
	OrgCode          string       `json:"org_code"`
	Name             string       `json:"name"`
	Kind             string       `json:"kind"`
	Level            int          `json:"level"`
	Region           string       `json:"region_code"`
	Settlements      int64        `json:"settlements"`
	Exposure         contract.Fen `json:"exposure"`         // fund + account paid at the institution
	FlaggedSubjects  int64        `json:"flagged_subjects"` // distinct subjects with open flags
	AmountAtRisk     contract.Fen `json:"amount_at_risk"`   // once per subject, at its largest amount
	ExpectedRecovery contract.Fen `json:"expected_recovery"`
	Density          float64      `json:"flagged_per_1000_settlements"`
	PeerMedian       float64      `json:"peer_median_per_1000"`
	DensityZ         float64      `json:"density_robust_z"`
	Peers            int          `json:"peers"`
	Families         []string     `json:"families"`
	Score            float64      `json:"score"`
	Reasons          []string     `json:"reasons"` // zh-CN
}

// densityZScale: a robust z of 3.5 (Iglewicz–Hoaglin) doubles the weight of
// the expected recovery.
const densityZScale = 3.5

// RankInstitutions ranks every institution by inspection priority.
func RankInstitutions(ctx context.Context, q Querier) ([]InstitutionRank, error) {
	rows, err := q.QueryContext(ctx, `WITH per AS (
			SELECT org_code, subject_type, subject_id, max(amount_at_risk) AS amount, 1 - product(1 - score) AS p,
			       list(DISTINCT family) AS fams
			FROM flags WHERE status = 'open' AND coalesce(org_code, '') <> '' GROUP BY ALL),
		byorg AS (SELECT org_code, count(*) AS subjects, sum(amount) AS amount, sum(amount * p) AS expected,
		                 list_sort(list_distinct(flatten(list(fams)))) AS fams FROM per GROUP BY org_code),
		exp AS (SELECT org_code, count(*) AS settlements, sum(fund_paid + account_paid) AS exposure FROM settlements GROUP BY org_code)
		SELECT i.org_code, i.name, i.kind, i.level, i.region_code, coalesce(e.settlements, 0), coalesce(e.exposure, 0)::DECIMAL(18,2)::VARCHAR,
		       coalesce(b.subjects, 0), coalesce(b.amount, 0)::DECIMAL(18,2)::VARCHAR, coalesce(b.expected, 0)::DECIMAL(18,2)::VARCHAR,
		       coalesce(array_to_string(b.fams, ','), '')
		FROM institutions i LEFT JOIN exp e USING (org_code) LEFT JOIN byorg b USING (org_code)
		ORDER BY i.org_code`)
	if err != nil {
		return nil, fmt.Errorf("rank institutions: %w", err)
	}
	defer rows.Close()
	var out []InstitutionRank
	for rows.Next() {
		var r InstitutionRank
		var exposure, amount, expected, fams string
		if err := rows.Scan(&r.OrgCode, &r.Name, &r.Kind, &r.Level, &r.Region, &r.Settlements, &exposure, &r.FlaggedSubjects,
			&amount, &expected, &fams); err != nil {
			return nil, err
		}
		for _, p := range []struct {
			s string
			f *contract.Fen
		}{{exposure, &r.Exposure}, {amount, &r.AmountAtRisk}, {expected, &r.ExpectedRecovery}} {
			if *p.f, err = contract.ParseFen(p.s); err != nil {
				return nil, err
			}
		}
		r.Families = []string{}
		if fams != "" {
			r.Families = strings.Split(fams, ",")
		}
		if r.Settlements > 0 {
			r.Density = 1000 * float64(r.FlaggedSubjects) / float64(r.Settlements)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		r := &out[i]
		var peers []float64
		for j, p := range out {
			if j != i && p.Kind == r.Kind && p.Settlements > 0 {
				peers = append(peers, p.Density)
			}
		}
		r.Peers = len(peers)
		if len(peers) >= 3 {
			r.DensityZ, r.PeerMedian, _ = RobustZ(r.Density, peers)
		}
		r.Score = float64(r.ExpectedRecovery) / 100 * (1 + min(max(r.DensityZ, 0), 10)/densityZScale)
		r.Reasons = rankReasons(*r)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Score != out[j].Score {
			return out[i].Score > out[j].Score
		}
		if out[i].Exposure != out[j].Exposure {
			return out[i].Exposure > out[j].Exposure
		}
		return out[i].OrgCode < out[j].OrgCode
	})
	for i := range out {
		out[i].Rank = i + 1
	}
	return out, nil
}

var familyTitles = map[string]string{
	contract.FamilyGhostBed: "挂床住院", contract.FamilyImpersonation: "冒名就医", contract.FamilyDrugSubstitution: "串换药品",
	contract.FamilyCardMisuse: "违规刷卡", contract.FamilySettlement: "结算差错", contract.FamilyOther: "其他违规",
}

// rankReasons says in words (zh-CN) why an institution ranks where it does.
func rankReasons(r InstitutionRank) []string {
	var out []string
	if r.FlaggedSubjects == 0 {
		return append(out, fmt.Sprintf("无未解除疑点；医保基金和个人账户支付 %s 元", r.Exposure))
	}
	fams := make([]string, 0, len(r.Families))
	for _, f := range r.Families {
		if t, ok := familyTitles[f]; ok {
			fams = append(fams, t)
		} else {
			fams = append(fams, f)
		}
	}
	out = append(out, fmt.Sprintf("预期可追回 %s 元：%d 个疑点对象（%s），涉及金额按对象去重 %s 元",
		r.ExpectedRecovery, r.FlaggedSubjects, strings.Join(fams, "、"), r.AmountAtRisk))
	switch {
	case r.Peers < 3:
		out = append(out, fmt.Sprintf("疑点密度 每千笔结算 %.1f 个（同类机构不足3家，未作同类比较）", r.Density))
	case r.DensityZ >= densityZScale:
		out = append(out, fmt.Sprintf("疑点密度 每千笔结算 %.1f 个，远高于同类机构中位数 %.1f（稳健z %.1f）", r.Density, r.PeerMedian, r.DensityZ))
	case r.DensityZ > 0:
		out = append(out, fmt.Sprintf("疑点密度 每千笔结算 %.1f 个，高于同类机构中位数 %.1f（稳健z %.1f）", r.Density, r.PeerMedian, r.DensityZ))
	default:
		out = append(out, fmt.Sprintf("疑点密度 每千笔结算 %.1f 个，不高于同类机构中位数 %.1f（稳健z %.1f）", r.Density, r.PeerMedian, r.DensityZ))
	}
	return append(out, fmt.Sprintf("医保基金和个人账户支付 %s 元（%d 笔结算）", r.Exposure, r.Settlements))
}

// RankingEval scores the ranking against the institutions with planted fraud.
type RankingEval struct {
	Institutions int     `json:"institutions"`
	Positives    int     `json:"positives"`
	AUC          float64 `json:"roc_auc"`
	PrecisionAt  float64 `json:"precision_at_10"`
	// ExposureAUC is the AUC of ranking by exposure alone: what the flags
	// must beat.
	ExposureAUC float64  `json:"roc_auc_by_exposure"`
	Top         []string `json:"top10"` // org codes, "+" marks a planted one
	Missed      []string `json:"positives_below_top10"`
}

// fraudFamilies are the families whose labels mark planted fraud (settlement
// errors are mistakes, not fraud).
var fraudFamilies = map[string]bool{contract.FamilyGhostBed: true, contract.FamilyImpersonation: true,
	contract.FamilyDrugSubstitution: true, contract.FamilyCardMisuse: true}

// plantedShare: an institution has planted fraud when it carries at least
// this share of one fraud family's labelled subjects (the bad hospitals
// hold most ghost beds, the hub pharmacies most card misuse), or when it is
// itself labelled (drug substitution).
const plantedShare = 0.1

// EvalRanking compares RankInstitutions with labels.csv: the institutions
// with planted fraud should rank at the top.
func EvalRanking(ctx context.Context, q Querier, labelsPath string) (RankingEval, error) {
	var ev RankingEval
	ranks, err := RankInstitutions(ctx, q)
	if err != nil {
		return ev, err
	}
	positive, err := plantedInstitutions(ctx, q, labelsPath)
	if err != nil {
		return ev, err
	}
	ev.Institutions = len(ranks)
	scores := make([]float64, len(ranks))
	exposure := make([]float64, len(ranks))
	labels := make([]bool, len(ranks))
	for i, r := range ranks {
		scores[i] = float64(len(ranks) - i) // rank order, ties already broken
		exposure[i] = float64(r.Exposure)
		labels[i] = positive[r.OrgCode]
		if labels[i] {
			ev.Positives++
		}
		if i < 10 {
			mark := ""
			if labels[i] {
				mark = "+"
				ev.PrecisionAt++
			}
			ev.Top = append(ev.Top, mark+r.OrgCode)
		} else if labels[i] {
			ev.Missed = append(ev.Missed, fmt.Sprintf("%s #%d", r.OrgCode, r.Rank))
		}
	}
	ev.PrecisionAt /= float64(min(10, max(len(ranks), 1)))
	ev.AUC, ev.ExposureAUC = rocAUC(scores, labels), rocAUC(exposure, labels)
	return ev, nil
}

// rocAUC is the probability that a positive scores above a negative (ties
// count half); 0 without both classes (Positives says which).
func rocAUC(scores []float64, labels []bool) float64 {
	var pos, neg []float64
	for i, s := range scores {
		if labels[i] {
			pos = append(pos, s)
		} else {
			neg = append(neg, s)
		}
	}
	if len(pos) == 0 || len(neg) == 0 {
		return 0
	}
	var wins float64
	for _, p := range pos {
		for _, n := range neg {
			switch {
			case p > n:
				wins++
			case p == n:
				wins += 0.5
			}
		}
	}
	return wins / float64(len(pos)*len(neg))
}

// plantedInstitutions reads labels.csv and maps each fraud label to its
// institution: a settlement to where it was settled, a card to the
// institution it was swiped at most (of two as often, the smaller code:
// arg_max on a tie gives whichever row DuckDB's threads reached first, and
// two evals of one scan counted 10 and 11 planted institutions at seed 7;
// a window, which spills, rather than arg_min over a STRUCT key),
// an institution to itself.
func plantedInstitutions(ctx context.Context, q Querier, path string) (map[string]bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	if _, err := r.Read(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	type lab struct{ family, subjectType, subjectID string }
	var labs []lab
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil || len(rec) < 3 {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		if fraudFamilies[rec[0]] {
			labs = append(labs, lab{rec[0], rec[1], rec[2]})
		}
	}
	orgOf := map[string]string{}
	for _, qq := range []string{
		`SELECT 'settlement' || chr(0) || settlement_id, org_code FROM settlements`,
		`SELECT 'card' || chr(0) || card_no, org_code FROM (
			SELECT card_no, org_code, row_number() OVER (PARTITION BY card_no ORDER BY n DESC, org_code) AS nth
			FROM (SELECT card_no, org_code, count(*) AS n FROM card_swipes GROUP BY ALL)) WHERE nth = 1`,
	} {
		rows, err := q.QueryContext(ctx, qq)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var k, org string
			if err := rows.Scan(&k, &org); err != nil {
				rows.Close()
				return nil, err
			}
			orgOf[k] = org
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	perFam := map[string]map[string]int{}
	famTotal := map[string]int{}
	out := map[string]bool{}
	for _, l := range labs {
		org := l.subjectID
		if l.subjectType != contract.SubjectInstitution {
			org = orgOf[l.subjectType+"\x00"+l.subjectID]
		} else {
			out[org] = true
		}
		if org == "" {
			continue
		}
		if perFam[l.family] == nil {
			perFam[l.family] = map[string]int{}
		}
		perFam[l.family][org]++
		famTotal[l.family]++
	}
	for fam, orgs := range perFam {
		for org, n := range orgs {
			if float64(n) >= plantedShare*float64(famTotal[fam]) {
				out[org] = true
			}
		}
	}
	return out, nil
}
