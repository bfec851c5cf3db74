package detectors

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/medaudit/medaudit/contract"
	"github.com/medaudit/medaudit/settlement"
)

// PolicyCoverage is how much of the loaded data a policy set covers: the
// recompute checks judge only settlements whose insured region has a policy
// version in force at the settlement date; the others are unknown, never
// flagged.
type PolicyCoverage struct {
	Policies    settlement.Info `json:"policies"`    // the policy file used
	Settlements int             `json:"settlements"` // settlements loaded
	Covered     int             `json:"covered"`     // with a policy in force at their date
	Share       float64         `json:"share"`       // Covered / Settlements (1 when there are none)
	Unknown     []RegionCount   `json:"unknown"`     // insured regions with uncovered settlements, most first
	Text        string          `json:"text"`        // the summary line, zh-CN first
}

// RegionCount is an insured region's uncovered settlements.
type RegionCount struct {
	Region      string `json:"region"`
	Settlements int    `json:"settlements"`
}

// Coverage counts the settlements ps covers, per insured region and
// settlement date (a region may be covered only for some periods).
func Coverage(ctx context.Context, q Querier, ps *settlement.PolicySet) (PolicyCoverage, error) {
	c := PolicyCoverage{Policies: ps.Info(), Unknown: []RegionCount{}}
	rows, err := q.QueryContext(ctx, `SELECT insured_region, settled_at::DATE, count(*) FROM settlements GROUP BY ALL`)
	if err != nil {
		return c, fmt.Errorf("policy coverage: %w", err)
	}
	defer rows.Close()
	unknown := map[string]int{}
	for rows.Next() {
		var region string
		var day time.Time
		var n int
		if err := rows.Scan(&region, &day, &n); err != nil {
			return c, fmt.Errorf("policy coverage: %w", err)
		}
		c.Settlements += n
		if ps.Covers(contract.RegionCode(region), day) {
			c.Covered += n
		} else {
			unknown[region] += n
		}
	}
	if err := rows.Err(); err != nil {
		return c, fmt.Errorf("policy coverage: %w", err)
	}
	for r, n := range unknown {
		c.Unknown = append(c.Unknown, RegionCount{r, n})
	}
	sort.Slice(c.Unknown, func(i, j int) bool {
		a, b := c.Unknown[i], c.Unknown[j]
		return a.Settlements > b.Settlements || a.Settlements == b.Settlements && a.Region < b.Region
	})
	c.Share = 1
	if c.Settlements > 0 {
		c.Share = float64(c.Covered) / float64(c.Settlements)
	}
	c.Text = coverageText(c)
	return c, nil
}

// coverageText is the coverage line a person reads, zh-CN first.
func coverageText(c PolicyCoverage) string {
	pct := fmt.Sprintf("%.1f%%", 100*c.Share)
	zh := fmt.Sprintf("政策覆盖率：%s 的结算（%d/%d）", pct, c.Covered, c.Settlements)
	en := fmt.Sprintf("Policy coverage: %s of settlements (%d/%d)", pct, c.Covered, c.Settlements)
	if len(c.Unknown) > 0 {
		var codes []string
		for i, u := range c.Unknown {
			if i == 8 {
				codes = append(codes, "…")
				break
			}
			codes = append(codes, u.Region)
		}
		zh += "；" + strings.Join(codes, "、") + " 无政策，其结算不做重算（未知）"
		en += "; " + strings.Join(codes, ", ") + " have no policy: their settlements are unknown, not recomputed"
	}
	if c.Policies.Example {
		zh += "；所用政策表为示例（非官方费率）"
		en += "; the policy table in use is an example (not official rates)"
	}
	return zh + "。 " + en + "."
}
