package detectors

import (
	"context"
	"fmt"
	"math"
	"sort"

	"github.com/medaudit/medaudit/contract"
)

// hospitalRate is ghost_bed.hospital_rate: an institution-level flag for a
// hospital whose share of short stays, share of outpatient-manageable
// diagnoses or admissions per approved bed is far above its peers of the
// same kind, level and specialty (robust z-score, DOMAIN.md §9) and at
// least min_ratio times their median (an effect size: at 2.5 M persons a
// hospital 1.24× its peers' low-indication share had a z of 3.1). When fewer
// than min_peers peers share the level, the peers are all hospitals of the
// same kind and specialty. The features come from
// queries/ghost_bed_hospital_rate.sql.
type hospitalRate struct {
	Rule
	query string
}

// hospitalRateRule is ghost_bed.hospital_rate.
var hospitalRateRule = rule(Info{
	Name: "ghost_bed.hospital_rate", SubjectType: contract.SubjectInstitution,
	Override: Clinical, Title: "医院短期住院、低指征住院或床位周转率远高于同类机构",
	Basis: "住院率异常地区和机构的大数据筛查（国家医保局飞检）；条例第38条",
	Thresholds: []Threshold{
		{Name: "min_z", Default: 3, Unit: "robust z", Doc: "modified z-score against peers above which the hospital is flagged"},
		{Name: "min_stays", Default: 20, Unit: "stays", Doc: "hospitals with fewer stays are not compared"},
		{Name: "min_peers", Default: 3, Unit: "hospitals", Doc: "peers needed at the same level before widening to all levels"},
		{Name: "min_ratio", Default: 1.5, Unit: "×", Doc: "the hospital's value ÷ the peer median, at least, for a feature to count as far above the peers: with volume the peers' MAD shrinks and a 1.2× difference gets a z of 50"},
		{Name: "max_p", Default: 0.01, Unit: "probability", Doc: "Poisson tail of the hospital's count given the peer median rate must be below this (small hospitals vary by chance)"},
	},
	Caveats: []string{"专科医院（精神、康复、肿瘤）病种结构不同", "日间病房、短期观察床", "核定床位数据未更新"},
}, "ghost_bed_hospital_rate.sql", func(r Rule, q string) Detector { return &hospitalRate{Rule: r, query: q} })

type hospitalFeatures struct {
	org, name, kind, specialty, atRisk string
	level, beds, stays, short, lowInd  int64
}

func (h hospitalFeatures) values() map[string]float64 {
	v := map[string]float64{
		"short_stay_share":     float64(h.short) / float64(h.stays),
		"low_indication_share": float64(h.lowInd) / float64(h.stays),
	}
	if h.beds > 0 {
		v["admissions_per_bed"] = float64(h.stays) / float64(h.beds)
	}
	return v
}

// Detect implements Detector.
func (d *hospitalRate) Detect(ctx context.Context, q Querier) ([]Flag, error) {
	rows, err := q.QueryContext(ctx, d.WithVariables(d.query))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.info.Name, err)
	}
	defer rows.Close()
	var hs []hospitalFeatures
	for rows.Next() {
		var h hospitalFeatures
		if err := rows.Scan(&h.org, &h.name, &h.kind, &h.level, &h.specialty, &h.beds, &h.stays, &h.short, &h.lowInd, &h.atRisk); err != nil {
			return nil, fmt.Errorf("%s: %w", d.info.Name, err)
		}
		hs = append(hs, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", d.info.Name, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var flags []Flag
	for _, h := range hs {
		var peers []hospitalFeatures
		for _, p := range hs {
			if p.org != h.org && p.kind == h.kind && p.specialty == h.specialty && p.level == h.level {
				peers = append(peers, p)
			}
		}
		scope := "same kind, level and specialty"
		if float64(len(peers)) < d.Param("min_peers") {
			peers = peers[:0]
			for _, p := range hs {
				if p.org != h.org && p.kind == h.kind && p.specialty == h.specialty {
					peers = append(peers, p)
				}
			}
			scope = "same kind and specialty, all levels"
		}
		if float64(len(peers)) < d.Param("min_peers") {
			continue
		}
		own := h.values()
		features := make([]string, 0, len(own))
		for f := range own {
			features = append(features, f)
		}
		sort.Strings(features)
		baseline := map[string]any{}
		parts := map[string]float64{}
		var worst string
		var worstZ, worstMed float64
		for _, f := range features {
			var xs []float64
			for _, p := range peers {
				if v, ok := p.values()[f]; ok {
					xs = append(xs, v)
				}
			}
			if float64(len(xs)) < d.Param("min_peers") {
				continue
			}
			z, med, mad := RobustZ(own[f], xs)
			baseline[f] = map[string]any{"value": own[f], "peer_median": med, "peer_mad": mad, "robust_z": z, "peers": len(xs)}
			parts[f] = z
			if z > worstZ && own[f] >= d.Param("min_ratio")*med {
				worst, worstZ, worstMed = f, z, med
			}
		}
		if worstZ <= d.Param("min_z") {
			continue
		}
		// The count behind the worst feature and what the peer median rate
		// expects of it.
		var count int64
		var expected float64
		switch worst {
		case "short_stay_share":
			count, expected = h.short, worstMed*float64(h.stays)
		case "low_indication_share":
			count, expected = h.lowInd, worstMed*float64(h.stays)
		default:
			count, expected = h.stays, worstMed*float64(h.beds)
		}
		p := PoissonTail(float64(count), expected)
		if p >= d.Param("max_p") {
			continue
		}
		parts["poisson_p"] = p
		fen, err := contract.ParseDecimal(h.atRisk, 2)
		if err != nil {
			return nil, fmt.Errorf("%s: amount %q: %w", d.info.Name, h.atRisk, err)
		}
		// The excess stays over the peer median (short or low-indication
		// stays, or admissions beyond the peers' rate per bed), priced at the
		// hospital's average fund and account money per stay.
		excess := min(max(count-int64(math.Round(expected)), 0), h.stays)
		amount := contract.Fen(fen * excess / h.stays)
		names := map[string]string{"short_stay_share": "2–4天短期住院占比", "low_indication_share": "门诊可治病种住院占比", "admissions_per_bed": "每张核定床位年收治人次"}
		var peerOrgs []string
		for _, p := range peers {
			peerOrgs = append(peerOrgs, p.org)
		}
		summary := fmt.Sprintf("%s（%s，%d级）%s为%.3g，%s同类机构中位数%.3g，稳健z值%.1f（共%d次住院）",
			h.name, h.org, h.level, names[worst], own[worst], direction(worstZ, d.Param("min_z")), worstMed, worstZ, h.stays)
		for _, f := range features {
			if b, ok := baseline[f].(map[string]any); ok && f != worst {
				z := b["robust_z"].(float64)
				summary += fmt.Sprintf("；%s%s同类机构（稳健z值%.1f）", names[f], direction(z, d.Param("min_z")), z)
			}
		}
		facts := map[string]any{
			"org":   map[string]any{"org_code": h.org, "name": h.name, "kind": h.kind, "level": h.level, "specialty": h.specialty, "beds": h.beds},
			"stays": h.stays, "short_stays": h.short, "low_indication_stays": h.lowInd,
			"features": baseline, "worst_feature": worst, "peer_scope": scope, "peers": peerOrgs,
			"fund_and_account_of_stays": h.atRisk, "excess_stays": excess,
			"count": count, "expected_at_peer_median": expected, "poisson_p": p,
		}
		f := d.Flag(h.org, h.org, Logistic(worstZ-d.Param("min_z"), 3), amount, summary, facts, parts)
		// The headline names the feature that is far above the peers, not
		// all three: the others may well be below them.
		f.Evidence.Title = "医院" + names[worst] + "远高于同类机构"
		flags = append(flags, f)
	}
	return flags, ctx.Err()
}

// direction is how a robust z reads in words (zh-CN), by its sign and size.
func direction(z, far float64) string {
	switch {
	case z >= far:
		return "远高于"
	case z > 0:
		return "高于"
	case z <= -far:
		return "远低于"
	case z < 0:
		return "低于"
	}
	return "等于"
}
