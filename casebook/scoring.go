package casebook

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/medaudit/medaudit/contract"
)

// ScoreItem is one item of the annual assessment of a designated
// institution (DOMAIN.md §11): 基础管理、用药管理、服务管理、质量管理 for
// hospitals and clinics, 医保服务、规范刷卡 for pharmacies.
type ScoreItem struct {
	Key  string `json:"key"`
	Name string `json:"name"`
	Max  int    `json:"max"`
}

// Assessment items by institution kind; each sums to 100 points.
var (
	HospitalItems = []ScoreItem{{"basic", "基础管理", 25}, {"drugs", "用药管理", 25}, {"service", "服务管理", 25}, {"quality", "质量管理", 25}}
	PharmacyItems = []ScoreItem{{"insurance_service", "医保服务", 50}, {"card_use", "规范刷卡", 50}}
)

// Deduction is how many points a confirmed violation of a family costs, and
// on which item.
type Deduction struct {
	Item   string
	Points int
}

// ScoringRules map a family to its deduction, per institution kind.
type ScoringRules struct {
	Hospital map[string]Deduction
	Pharmacy map[string]Deduction
	Curve    DepositCurve
}

// DefaultScoringRules: ghost beds and related clinical violations cost
// service and quality points, impersonation and settlement errors basic
// management, substitution drug management; at pharmacies card misuse costs
// 规范刷卡 and substitution 医保服务. A deduction never takes an item below 0.
func DefaultScoringRules() ScoringRules {
	return ScoringRules{
		Hospital: map[string]Deduction{
			contract.FamilyGhostBed: {"service", 5}, contract.FamilyImpersonation: {"basic", 5},
			contract.FamilyDrugSubstitution: {"drugs", 10}, contract.FamilySettlement: {"basic", 2},
			contract.FamilyOther: {"quality", 3}, contract.FamilyCardMisuse: {"basic", 3},
		},
		Pharmacy: map[string]Deduction{
			contract.FamilyCardMisuse: {"card_use", 5}, contract.FamilyDrugSubstitution: {"insurance_service", 10},
			contract.FamilySettlement: {"insurance_service", 2}, contract.FamilyImpersonation: {"card_use", 5},
		},
		Curve: DefaultDepositCurve(),
	}
}

// DepositCurve pays out the withheld quality deposit (医疗服务质量考核预留保证金)
// by score: all of it at or above Full, nothing below Zero, linear between.
type DepositCurve struct {
	Full int `json:"full"`
	Zero int `json:"zero"`
}

// DefaultDepositCurve: 100 % at ≥ 90 points, linear from 60, 0 below 60
// (below 60 an institution may lose its designation).
func DefaultDepositCurve() DepositCurve { return DepositCurve{Full: 90, Zero: 60} }

// Payout is the part of deposit paid back for score, rounded down to the fen.
func (c DepositCurve) Payout(deposit contract.Fen, score int) contract.Fen {
	switch {
	case score >= c.Full:
		return deposit
	case score < c.Zero:
		return 0
	}
	return contract.Fen(int64(deposit) * int64(score-c.Zero) / int64(c.Full-c.Zero))
}

// ItemScore is one item's result.
type ItemScore struct {
	ScoreItem
	Score      int `json:"score"`
	Deductions int `json:"deductions"` // confirmed violations counted on it
}

// AnnualScore is an institution's assessment for a year.
type AnnualScore struct {
	OrgCode string       `json:"org_code"`
	Name    string       `json:"name"`
	Kind    string       `json:"kind"`
	Year    int          `json:"year"`
	Items   []ItemScore  `json:"items"`
	Total   int          `json:"total"`
	Deposit contract.Fen `json:"deposit"`
	Payout  contract.Fen `json:"payout"`
}

// Score computes the items of one institution from the families of its
// confirmed violations (one entry per violation).
func (r ScoringRules) Score(kind string, violations []string) ([]ItemScore, int) {
	items, rules := HospitalItems, r.Hospital
	if kind == "pharmacy" {
		items, rules = PharmacyItems, r.Pharmacy
	}
	out := make([]ItemScore, len(items))
	for i, it := range items {
		out[i] = ItemScore{ScoreItem: it, Score: it.Max}
	}
	for _, fam := range violations {
		d, ok := rules[fam]
		if !ok {
			continue
		}
		for i := range out {
			if out[i].Key == d.Item {
				out[i].Score = max(out[i].Score-d.Points, 0)
				out[i].Deductions++
			}
		}
	}
	total := 0
	for _, it := range out {
		total += it.Score
	}
	return out, total
}

// AnnualScores scores every institution of the districts for a year from the
// cases decided as violations that year; deposit is withheldRate (per
// 10,000) of the fund paid to each institution that year.
func (s *Store) AnnualScores(ctx context.Context, year int, districts []string, withheldRate int, rules ScoringRules) ([]AnnualScore, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT i.org_code, i.name, i.kind, i.region_code,
		coalesce((SELECT sum(fund_paid) FROM settlements s WHERE s.org_code = i.org_code AND year(s.settled_at) = ?), 0)::VARCHAR,
		coalesce((SELECT string_agg(c.families, ';') FROM cases c WHERE c.org_code = i.org_code AND c.verdict = 'violation'
			AND c.state IN ('final', 'recovery', 'closed') AND year(c.updated_at) = ?), '')
		FROM institutions i ORDER BY i.org_code`, year, year)
	if err != nil {
		return nil, fmt.Errorf("annual scores: %w", err)
	}
	defer rows.Close()
	var out []AnnualScore
	for rows.Next() {
		var a AnnualScore
		var region, fund, fams string
		if err := rows.Scan(&a.OrgCode, &a.Name, &a.Kind, &region, &fund, &fams); err != nil {
			return nil, err
		}
		if !contains(districts, region) {
			continue
		}
		var violations []string
		for _, c := range strings.Split(fams, ";") {
			if c != "" {
				violations = append(violations, strings.Split(c, ",")[0]) // a case counts once, on its main family
			}
		}
		sort.Strings(violations)
		a.Year = year
		a.Items, a.Total = rules.Score(a.Kind, violations)
		paid, err := contract.ParseDecimal(fund, 2)
		if err != nil {
			return nil, err
		}
		a.Deposit = contract.Fen(paid * int64(withheldRate) / 10_000)
		a.Payout = rules.Curve.Payout(a.Deposit, a.Total)
		out = append(out, a)
	}
	return out, rows.Err()
}

func contains(districts []string, region string) bool {
	for _, d := range districts {
		if d == "*" || d == region {
			return true
		}
	}
	return false
}

// SizeThreshold returns the lowest flag score at which the review panel can
// keep up: the number of flags scoring at least the threshold, spread over
// weeks, must not exceed the panel's weekly capacity (each clinical case
// takes two reviews). It returns 0 when every flag fits and 1 when none can.
func SizeThreshold(scores []float64, weeklyCapacity int, weeks float64) float64 {
	if weeks <= 0 || weeklyCapacity <= 0 {
		return 1
	}
	allowed := int(float64(weeklyCapacity) * weeks / 2)
	if len(scores) <= allowed {
		return 0
	}
	s := append([]float64(nil), scores...)
	sort.Sort(sort.Reverse(sort.Float64Slice(s)))
	if allowed == 0 {
		return 1
	}
	t := s[allowed-1]
	if s[allowed] == t {
		// A tie at the cut would overflow the panel: move just above it.
		return math.Nextafter(t, math.Inf(1))
	}
	return t
}

// PanelThreshold sizes the clinical flag score threshold to the panel: the
// open clinical flags of the latest scan over weeks, against the weekly
// capacity of the active experts. It returns the threshold, the flags
// considered and the capacity used.
func (s *Store) PanelThreshold(ctx context.Context, weeks float64) (threshold float64, flags, capacity int, err error) {
	if err = s.db.QueryRowContext(ctx, `SELECT coalesce(sum(weekly_capacity), 0) FROM experts WHERE active`).Scan(&capacity); err != nil {
		return 0, 0, 0, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT score FROM flags WHERE status = 'open' AND override_class = 'clinical'
		AND family IN ('ghost_bed', 'impersonation', 'other')`)
	if err != nil {
		return 0, 0, 0, err
	}
	defer rows.Close()
	var scores []float64
	for rows.Next() {
		var x float64
		if err := rows.Scan(&x); err != nil {
			return 0, 0, 0, err
		}
		scores = append(scores, x)
	}
	if err := rows.Err(); err != nil {
		return 0, 0, 0, err
	}
	return SizeThreshold(scores, capacity, weeks), len(scores), capacity, nil
}
