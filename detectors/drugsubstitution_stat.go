package detectors

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/medaudit/medaudit/contract"
)

// featureRow is one row of a feature query, by column name.
type featureRow map[string]any

// str returns a column as text ("" for NULL).
func (r featureRow) str(col string) string {
	switch v := r[col].(type) {
	case nil:
		return ""
	case string:
		return v
	case []byte:
		return string(v)
	case time.Time:
		return v.Format("2006-01-02 15:04:05")
	default:
		return fmt.Sprint(v)
	}
}

// num returns a numeric column as a float (0 for NULL or text that is not a number).
func (r featureRow) num(col string) float64 {
	switch v := r[col].(type) {
	case int64:
		return float64(v)
	case int32:
		return float64(v)
	case float64:
		return v
	case nil:
		return 0
	default:
		f, _ := strconv.ParseFloat(r.str(col), 64)
		return f
	}
}

// fen returns a DECIMAL column (read as text) as fen.
func (r featureRow) fen(col string) contract.Fen {
	s := r.str(col)
	if s == "" {
		return 0
	}
	v, err := contract.ParseDecimal(s, 2)
	if err != nil {
		return 0
	}
	return contract.Fen(v)
}

// featureRows runs a feature query of a statistical detector with its
// thresholds set as DuckDB variables, and returns its rows.
func featureRows(ctx context.Context, q Querier, r Rule, query string) ([]featureRow, error) {
	rows, err := q.QueryContext(ctx, r.WithVariables(query))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.info.Name, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out []featureRow
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("%s: %w", r.info.Name, err)
		}
		row := make(featureRow, len(cols))
		for i, c := range cols {
			row[c] = vals[i]
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", r.info.Name, err)
	}
	return out, ctx.Err()
}

// mixDivergence is drug_substitution.mix_divergence.
var mixDivergence = rule(Info{
	Name: "drug_substitution.mix_divergence", SubjectType: contract.SubjectInstitution,
	Override: Clinical, Title: "进销品种结构背离", Basis: "串换药品：进销存品种比对；《医疗保障基金使用监督管理条例》第38条",
	Thresholds: []Threshold{
		{Name: "peer_quantile", Default: 0.95, Unit: "quantile", Doc: "the org's Jensen–Shannon divergence must exceed this quantile of the other orgs'"},
		{Name: "min_unmatched_share", Default: 0.05, Unit: "share", Doc: "bought-never-billed plus billed-never-bought items must make at least this share of the org's purchase or billing volume"},
		{Name: "min_unmatched_yuan", Default: 500, Unit: "yuan", Doc: "fund + account money of drugs billed and never bought, when nothing was bought and never billed in their place (below it, opening stock explains it: materiality floor)"},
	},
	Caveats: []string{"新上架品种尚未售出", "季节性备货", "连锁总部统一采购", "同一通用名不同编码的仿制药"},
}, "drug_substitution_mix_divergence.sql", func(r Rule, q string) Detector { return &mixDetector{Rule: r, query: q} })

type mixDetector struct {
	Rule
	query string
}

type mixItem struct {
	code, name                                 string
	bought, billed, purchasePrice, billedPrice float64
	insured                                    contract.Fen
}

func (d *mixDetector) Detect(ctx context.Context, q Querier) ([]Flag, error) {
	rows, err := featureRows(ctx, q, d.Rule, d.query)
	if err != nil {
		return nil, err
	}
	type org struct {
		code, name, kind string
		items            []mixItem
		js               float64
	}
	var orgs []*org
	by := map[string]*org{}
	for _, r := range rows {
		o := by[r.str("org_code")]
		if o == nil {
			o = &org{code: r.str("org_code"), name: r.str("org_name"), kind: r.str("org_kind")}
			by[o.code] = o
			orgs = append(orgs, o)
		}
		o.items = append(o.items, mixItem{code: r.str("item_code"), name: r.str("item_name"), bought: r.num("bought"), billed: r.num("billed"),
			purchasePrice: r.num("purchase_price"), billedPrice: r.num("billed_price"), insured: r.fen("insured")})
	}
	for _, o := range orgs {
		p, b := make([]float64, len(o.items)), make([]float64, len(o.items))
		for i, it := range o.items {
			p[i], b[i] = it.bought, it.billed
		}
		o.js = JensenShannon(p, b)
	}
	var flags []Flag
	for _, o := range orgs {
		var peers []float64
		for _, x := range orgs {
			if x != o {
				peers = append(peers, x.js)
			}
		}
		if len(peers) < 3 {
			continue
		}
		sort.Float64s(peers)
		cut := quantile(peers, d.Param("peer_quantile"))
		if o.js <= cut {
			continue
		}
		var totBought, totBilled, unBought, unBilled float64
		var amount contract.Fen
		var neverBilled, neverBought []map[string]any
		for _, it := range o.items {
			totBought += it.bought
			totBilled += it.billed
			switch {
			case it.bought > 0 && it.billed == 0:
				unBought += it.bought
				neverBilled = append(neverBilled, map[string]any{"item_code": it.code, "item_name": it.name, "bought_qty": it.bought,
					"avg_purchase_price": round2(it.purchasePrice)})
			case it.billed > 0 && it.bought == 0:
				unBilled += it.billed
				amount += it.insured
				neverBought = append(neverBought, map[string]any{"item_code": it.code, "item_name": it.name, "billed_qty": it.billed,
					"avg_billed_price": round2(it.billedPrice), "fund_and_account": it.insured.String()})
			}
		}
		share := max(unBought/max(totBought, 1), unBilled/max(totBilled, 1))
		if share < d.Param("min_unmatched_share") {
			continue
		}
		// Drugs billed and never bought, with nothing bought in their place,
		// may be opening stock from before the data: below the materiality
		// floor that cannot be told from a swap.
		if len(neverBilled) == 0 && amount < contract.Fen(d.Param("min_unmatched_yuan")*100) {
			continue
		}
		z, med, mad := RobustZ(o.js, peers)
		score := NoisyOR(Logistic(o.js-cut, 0.05), Logistic(share-d.Param("min_unmatched_share"), 0.05))
		facts := map[string]any{
			"org":                    map[string]any{"org_code": o.code, "name": o.name, "kind": o.kind},
			"jensen_shannon":         round4(o.js),
			"baseline":               map[string]any{"peers": len(peers), "peer_quantile_value": round4(cut), "peer_median": round4(med), "peer_mad": round4(mad), "robust_z": round2(z)},
			"bought_never_billed":    neverBilled,
			"billed_never_bought":    neverBought,
			"unmatched_volume_share": round4(share),
			"purchased_qty":          totBought, "billed_qty": totBilled,
		}
		summary := fmt.Sprintf("%s（%s）进货与医保结算的品种结构背离：JS散度%.3f，高于同类机构p%.0f值%.3f（稳健z=%.1f）；购进未售%d种、售出未购%d种，涉及基金及个人账户%s元",
			o.name, o.code, o.js, 100*d.Param("peer_quantile"), cut, z, len(neverBilled), len(neverBought), amount.String())
		flags = append(flags, d.Flag(o.code, o.code, score, amount, summary, facts,
			map[string]float64{"divergence": Logistic(o.js-cut, 0.05), "unmatched": Logistic(share-d.Param("min_unmatched_share"), 0.05)}))
	}
	return flags, ctx.Err()
}

// itemShare is drug_substitution.item_share.
var itemShare = rule(Info{
	Name: "drug_substitution.item_share", SubjectType: contract.SubjectInstitution,
	Override: Clinical, Title: "单品医保销售占比异常", Basis: "串换药品：单品占比与同类机构比较；《医疗保障基金使用监督管理条例》第38条",
	Thresholds: []Threshold{
		{Name: "min_z", Default: 3.5, Unit: "robust z", Doc: "robust z of the log basket share (share of the org's settlements holding the item) against the other orgs of the same kind (Iglewicz–Hoaglin 3.5, DOMAIN §9)"},
		{Name: "min_share", Default: 0.05, Unit: "share", Doc: "the item's share of the org's fund + account drug sales"},
		{Name: "min_peers", Default: 5, Unit: "orgs", Doc: "peers of the same kind needed"},
		{Name: "min_share_ratio", Default: 3, Unit: "×", Doc: "basket share / the peers' median basket share: with few, similar peers the MAD is tiny and a z alone would flag immaterial differences"},
		{Name: "min_org_baskets", Default: 100, Unit: "settlements", Doc: "settlements with drugs the org needs for its shares to be judged"},
	},
	Caveats: []string{"专科药房（肿瘤DTP、双通道药房）", "周边医院处方外配集中", "慢病患者集中的社区药店"},
}, "drug_substitution_item_share.sql", func(r Rule, q string) Detector { return &shareDetector{Rule: r, query: q} })

type shareDetector struct {
	Rule
	query string
}

func (d *shareDetector) Detect(ctx context.Context, q Querier) ([]Flag, error) {
	rows, err := featureRows(ctx, q, d.Rule, d.query)
	if err != nil {
		return nil, err
	}
	const floor = 1e-4 // share given to an item an org never billed
	type key struct{ kind, item string }
	orgsOfKind := map[string][]string{}
	shares := map[key]map[string]float64{}  // money share
	baskets := map[key]map[string]float64{} // basket share
	info := map[string]featureRow{}
	var order []featureRow
	for _, r := range rows {
		org, kind := r.str("org_code"), r.str("org_kind")
		if _, ok := info[org]; !ok {
			info[org] = r
			orgsOfKind[kind] = append(orgsOfKind[kind], org)
		}
		k := key{kind, r.str("item_code")}
		if shares[k] == nil {
			shares[k], baskets[k] = map[string]float64{}, map[string]float64{}
		}
		if tot := r.num("org_insured"); tot > 0 {
			shares[k][org] = r.num("insured") / tot
		}
		if n := r.num("org_baskets"); n > 0 {
			baskets[k][org] = r.num("baskets") / n
		}
		order = append(order, r)
	}
	type hit struct {
		facts []map[string]any
		best  float64
		amt   contract.Fen
	}
	hits := map[string]*hit{}
	var orgOrder []string
	for _, r := range order {
		org, kind := r.str("org_code"), r.str("org_kind")
		k := key{kind, r.str("item_code")}
		s, b := shares[k][org], baskets[k][org]
		if s <= d.Param("min_share") || r.num("org_baskets") < d.Param("min_org_baskets") {
			continue
		}
		var peers, peerMoney []float64
		for _, p := range orgsOfKind[kind] {
			if p != org && info[p].num("org_baskets") >= d.Param("min_org_baskets") {
				peers = append(peers, math.Log(max(baskets[k][p], floor)))
				peerMoney = append(peerMoney, shares[k][p])
			}
		}
		if float64(len(peers)) < d.Param("min_peers") {
			continue
		}
		z, med, mad := RobustZ(math.Log(max(b, floor)), peers)
		if z <= d.Param("min_z") || b < d.Param("min_share_ratio")*math.Exp(med) {
			continue
		}
		h := hits[org]
		if h == nil {
			h = &hit{}
			hits[org] = h
			orgOrder = append(orgOrder, org)
		}
		h.best = max(h.best, z)
		// the part of the item's money above the peers' median money share
		pm := Median(peerMoney)
		excess := max(s-pm, 0) / s
		h.amt += contract.Fen(math.Round(float64(r.fen("insured_yuan")) * excess))
		h.facts = append(h.facts, map[string]any{"item_code": r.str("item_code"), "item_name": r.str("item_name"),
			"share": round4(s), "peer_median_share": round4(pm), "basket_share": round4(b), "peer_median_basket_share": round4(math.Exp(med)),
			"peer_mad_log_basket_share": round4(mad), "robust_z": round2(z), "baskets": r.num("baskets"), "org_baskets": r.num("org_baskets"),
			"peers": len(peers), "qty": r.num("qty"), "lines": r.num("lines"), "fund_and_account": r.str("insured_yuan")})
	}
	var flags []Flag
	for _, org := range orgOrder {
		h, r := hits[org], info[org]
		first := h.facts[0]
		score := NoisyOR(Logistic(h.best-d.Param("min_z"), 2), 0.05*float64(len(h.facts)-1))
		summary := fmt.Sprintf("%s（%s）%s占其医保药品销售额的%.1f%%（同类机构中位%.2f%%），出现在%.1f%%的结算单中（同类机构中位%.2f%%，稳健z=%.1f）；共%d个品种占比异常",
			r.str("org_name"), org, first["item_name"], 100*first["share"].(float64), 100*first["peer_median_share"].(float64),
			100*first["basket_share"].(float64), 100*first["peer_median_basket_share"].(float64), first["robust_z"], len(h.facts))
		facts := map[string]any{"org": map[string]any{"org_code": org, "name": r.str("org_name"), "kind": r.str("org_kind")},
			"org_fund_and_account_drug_sales": round2(r.num("org_insured")), "items": h.facts}
		flags = append(flags, d.Flag(org, org, score, h.amt, summary, facts,
			map[string]float64{"z": Logistic(h.best-d.Param("min_z"), 2), "items": 0.05 * float64(len(h.facts)-1)}))
	}
	return flags, ctx.Err()
}

// suddenVolume is drug_substitution.sudden_volume.
var suddenVolume = rule(Info{
	Name: "drug_substitution.sudden_volume", SubjectType: contract.SubjectInstitution,
	Override: Clinical, Title: "单品结算量突增", Basis: "串换药品：品种销量突变（黄陂案例）；《医疗保障基金使用监督管理条例》第38条",
	Thresholds: []Threshold{
		{Name: "window_months", Default: 6, Unit: "months", Doc: "trailing months whose median is the baseline"},
		{Name: "min_ratio", Default: 5, Unit: "×", Doc: "month quantity / trailing median"},
		{Name: "min_units", Default: 100, Unit: "units", Doc: "smallest month quantity considered"},
		{Name: "min_buyer_ratio", Default: 2, Unit: "×", Doc: "distinct buyers in the month / their trailing median: a jump made by a few bulk buyers is card misuse (balance drain), not a change of what is dispensed"},
	},
	Caveats: []string{"新增慢病患者", "其他药店断货导致需求转移", "新品上市或集采中选后放量"},
}, "drug_substitution_sudden_volume.sql", func(r Rule, q string) Detector { return &volumeDetector{Rule: r, query: q} })

type volumeDetector struct {
	Rule
	query string
}

func (d *volumeDetector) Detect(ctx context.Context, q Querier) ([]Flag, error) {
	rows, err := featureRows(ctx, q, d.Rule, d.query)
	if err != nil {
		return nil, err
	}
	// The months of the data, in order, so that a month without billing is a zero.
	monthSet := map[string]bool{}
	for _, r := range rows {
		monthSet[r.str("month")] = true
	}
	months := make([]string, 0, len(monthSet))
	for m := range monthSet {
		months = append(months, m)
	}
	sort.Strings(months)
	idx := map[string]int{}
	for i, m := range months {
		idx[m] = i
	}
	type series struct {
		first    featureRow
		qty      []float64
		buyers   []float64
		rows     map[int]featureRow
		firstIdx int
	}
	var keys []string
	all := map[string]*series{}
	orgStart := map[string]int{}
	for _, r := range rows {
		k := r.str("org_code") + "\x00" + r.str("item_code")
		s := all[k]
		if s == nil {
			s = &series{first: r, qty: make([]float64, len(months)), buyers: make([]float64, len(months)), rows: map[int]featureRow{}}
			all[k] = s
			keys = append(keys, k)
		}
		i := idx[r.str("month")]
		s.qty[i], s.buyers[i], s.rows[i] = r.num("qty"), r.num("persons"), r
		if v, ok := orgStart[r.str("org_code")]; !ok || i < v {
			orgStart[r.str("org_code")] = i
		}
	}
	w := int(d.Param("window_months"))
	type hit struct {
		facts []map[string]any
		amt   contract.Fen
		best  float64
		name  string
		kind  string
	}
	hits := map[string]*hit{}
	var orgOrder []string
	for _, k := range keys {
		s := all[k]
		org := s.first.str("org_code")
		start := orgStart[org]
		qty := s.qty[start:] // from the org's first month of data: earlier zeros are no baseline
		ratios, buyerRatios := ChangeRatios(qty, w), ChangeRatios(s.buyers[start:], w)
		for j, ratio := range ratios {
			if j < w || qty[j] <= d.Param("min_units") || ratio < d.Param("min_ratio") || buyerRatios[j] < d.Param("min_buyer_ratio") {
				continue
			}
			r := s.rows[start+j]
			h := hits[org]
			if h == nil {
				h = &hit{name: s.first.str("org_name"), kind: s.first.str("org_kind")}
				hits[org] = h
				orgOrder = append(orgOrder, org)
			}
			base := Median(qty[j-w : j])
			// the quantity above the baseline, at the month's fund + account amount per unit
			excess := (qty[j] - base) / qty[j]
			h.amt += contract.Fen(math.Round(float64(r.fen("insured")) * excess))
			shown := ratio
			if math.IsInf(ratio, 1) {
				shown = -1
			}
			h.best = max(h.best, min(ratio, 100))
			h.facts = append(h.facts, map[string]any{"item_code": s.first.str("item_code"), "item_name": s.first.str("item_name"),
				"month": r.str("month"), "qty": qty[j], "trailing_median": base, "trailing_months": qty[j-w : j],
				"ratio": round2(shown), "persons": r.num("persons"), "trailing_median_persons": Median(s.buyers[start+j-w : start+j]),
				"non_local_persons": r.num("non_local"),
				"fund_and_account":  r.str("insured")})
		}
	}
	var flags []Flag
	for _, org := range orgOrder {
		h := hits[org]
		f := h.facts[0]
		score := NoisyOR(Logistic(math.Log(h.best/d.Param("min_ratio")), 0.5), 0.03*float64(len(h.facts)-1))
		summary := fmt.Sprintf("%s（%s）%s在%s结算%.0f个单位，前%d个月中位数仅%.0f；共%d个品种月量突增，涉及基金及个人账户%s元",
			h.name, org, f["item_name"], f["month"], f["qty"], w, f["trailing_median"], len(h.facts), h.amt.String())
		facts := map[string]any{"org": map[string]any{"org_code": org, "name": h.name, "kind": h.kind}, "item_months": h.facts}
		flags = append(flags, d.Flag(org, org, score, h.amt, summary, facts,
			map[string]float64{"ratio": Logistic(math.Log(h.best/d.Param("min_ratio")), 0.5), "months": 0.03 * float64(len(h.facts)-1)}))
	}
	return flags, ctx.Err()
}

// quantile is the linear-interpolated q-quantile of sorted xs.
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	pos := q * float64(len(sorted)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(sorted)-1)
	return sorted[lo] + (pos-float64(lo))*(sorted[hi]-sorted[lo])
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }
func round4(x float64) float64 { return math.Round(x*10000) / 10000 }
