package detectors

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"

	"github.com/medaudit/medaudit/settlement"
)

// PolicyCell is one insured region × insurance type × visit type ×
// hospital level cell of the loaded settlements compared with a policy
// table: how many settlements the table reproduces, and the one-band ratio
// and deductible that reproduce the most (settlement.FitCell).
type PolicyCell struct {
	Region      string         `json:"region"` // insured region (参保地) of the settlements
	Policy      string         `json:"policy"` // code of the policy used (after the city/province fallback)
	Insurance   string         `json:"insurance_type"`
	VisitType   string         `json:"visit_type"`
	Level       int            `json:"level"`
	Settlements int            `json:"settlements"` // recomputed settlements in the cell
	Disagree    int            `json:"disagree"`    // whose settled fund differs from the recompute beyond the tolerance
	Fit         settlement.Fit `json:"fit"`
	// Change is the best split of the cell at a month's first day into
	// two terms, when it explains the disagreement and one set of terms
	// does not (a policy revised during the year: write a dated version).
	Change     *settlement.Change `json:"change,omitempty"`
	Suggestion string             `json:"suggestion"` // zh-CN first; "" when the fit is not clearly better than the table or the cell is too small
}

// PolicyCheck recomputes every covered settlement under ps and returns the
// cells where settled funds disagree with the recompute, most disagreeing
// first, each with a fitted suggestion when one fits more settlements than
// the table.
func PolicyCheck(ctx context.Context, q Querier, ps *settlement.PolicySet) ([]PolicyCell, error) {
	type key struct {
		region, ins, vt string
		level           int
	}
	cells := map[key]*PolicyCell{}
	obs := map[key][]settlement.FitObs{}
	err := recomputeStream(ctx, q, ps, func(r *recomputed) error {
		terms, err := ps.Terms(r.Claim)
		if err != nil {
			return nil // not settleable: the recompute skipped it too
		}
		k := key{string(r.Claim.InsuredRegion), r.Insurance, r.VisitType, r.Claim.HospitalLevel}
		c := cells[k]
		if c == nil {
			c = &PolicyCell{Region: k.region, Policy: string(terms.Region), Insurance: k.ins, VisitType: k.vt, Level: k.level}
			cells[k] = c
		}
		c.Settlements++
		if absFen(r.Fund-r.Res.Fund) > r.Tol {
			c.Disagree++
		}
		// The annual deductible is tracked within the cell: a person's
		// visits at other levels of the same visit type also meet it, which
		// the fit does not see (those visits count against every candidate).
		obs[k] = append(obs[k], settlement.FitObs{InScope: r.Res.InScope, Fund: r.Fund, Tol: r.Tol, Terms: terms,
			Date: r.Settled, Year: r.Person + "/" + strconv.Itoa(r.Settled.Year())})
		return nil
	})
	if err != nil {
		return nil, err
	}
	var out []PolicyCell
	for k, c := range cells {
		if c.Disagree == 0 {
			continue
		}
		c.Fit = settlement.FitCell(obs[k])
		enough := func(fits int) bool {
			gain := fits - c.Fit.TableFits
			return c.Fit.N >= minFitSettlements && gain >= max(minFitGain, c.Disagree/2)
		}
		cell := fmt.Sprintf("%s %s %s %s", c.Region, insuranceZh[c.Insurance], visitZh[c.VisitType], levelZh(c.Level))
		switch {
		case enough(c.Fit.Fits):
			c.Suggestion = cell + "：" + c.Fit.String()
		case c.Disagree >= minFitSettlements && c.Disagree*10 >= c.Settlements: // a policy change moves a large share of the cell
			ch, ok := settlement.FitChange(obs[k])
			if ok && enough(ch.Before.Fits+ch.After.Fits) && ch.Before.N >= minFitSettlements && ch.After.N >= minFitSettlements {
				c.Change = &ch
				c.Suggestion = cell + "：" + ch.String()
			}
		}
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Disagree != b.Disagree {
			return a.Disagree > b.Disagree
		}
		if a.Region != b.Region {
			return a.Region < b.Region
		}
		if a.Insurance != b.Insurance {
			return a.Insurance < b.Insurance
		}
		if a.VisitType != b.VisitType {
			return a.VisitType < b.VisitType
		}
		return a.Level < b.Level
	})
	return out, ctx.Err()
}

// A fitted suggestion needs a cell of at least minFitSettlements and must
// reproduce at least max(minFitGain, half the disagreeing settlements) more
// settlements than the table: two free parameters tried over a grid fit a
// handful of settlements (or one more than the table) by chance.
const (
	minFitSettlements = 10
	minFitGain        = 5
)

var (
	insuranceZh = map[string]string{"employee": "职工", "resident": "居民"}
	visitZh     = map[string]string{"inpatient": "住院", "outpatient": "门诊", "pharmacy": "购药"}
)

func levelZh(level int) string {
	if level == 0 {
		return "未定级/药店"
	}
	return fmt.Sprintf("%d级", level)
}

// ScanPolicy returns the policy file and coverage a scan recorded; nil when
// the scan ran no recompute check.
func ScanPolicy(ctx context.Context, q Querier, scanID int64) (*PolicyCoverage, error) {
	rows, err := q.QueryContext(ctx, `SELECT coverage::VARCHAR FROM scan_policies WHERE scan_id = ?`, scanID)
	if err != nil {
		return nil, fmt.Errorf("scan policy: %w", err)
	}
	defer rows.Close()
	if !rows.Next() {
		return nil, rows.Err()
	}
	var js string
	if err := rows.Scan(&js); err != nil {
		return nil, err
	}
	var c PolicyCoverage
	if err := json.Unmarshal([]byte(js), &c); err != nil {
		return nil, fmt.Errorf("scan policy %d: %w", scanID, err)
	}
	return &c, nil
}
