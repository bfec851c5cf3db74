package detectors

import (
	"context"
	"fmt"
)

// Convention is one convention CONTRACT.md leaves open, as learned from the
// loaded data: how many institutions use which value. Values: swipe_amount
// bill_total | insured_part | mixed | undetermined; drug_quantity_unit
// piece (拆零) | box | mixed | undetermined; restocking weekly | monthly |
// bulk | single | no_stock_data.
type Convention struct {
	Name   string              `json:"name"`
	Counts map[string]int      `json:"institutions"`       // institutions per value
	Sample map[string][]string `json:"examples,omitempty"` // up to 10 org codes per value
}

// LearnedConventions reads the conventions the detectors learned from the
// data (the conv_* views of migrations 0013 and 0023), for the scan summary.
func LearnedConventions(ctx context.Context, q Querier) ([]Convention, error) {
	text, err := queries.ReadFile("queries/conventions_summary.sql")
	if err != nil {
		return nil, err
	}
	rows, err := q.QueryContext(ctx, string(text))
	if err != nil {
		return nil, fmt.Errorf("learned conventions: %w", err)
	}
	defer rows.Close()
	var out []Convention
	for rows.Next() {
		var name, value string
		var n int
		var examples []any
		if err := rows.Scan(&name, &value, &n, &examples); err != nil {
			return nil, fmt.Errorf("learned conventions: %w", err)
		}
		if len(out) == 0 || out[len(out)-1].Name != name {
			out = append(out, Convention{Name: name, Counts: map[string]int{}, Sample: map[string][]string{}})
		}
		c := &out[len(out)-1]
		c.Counts[value] = n
		for _, e := range examples {
			c.Sample[value] = append(c.Sample[value], fmt.Sprint(e))
		}
	}
	return out, rows.Err()
}
