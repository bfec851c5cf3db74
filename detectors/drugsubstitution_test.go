package detectors_test

import (
	"fmt"
	"testing"
)

var (
	dsMetformin = dcLine{code: "XA10BAE009A001010104388", name: "盐酸二甲双胍片", class: "A", price: 18.5}
	dsSalmet    = dcLine{code: "XR03AKS128H014010102631", name: "沙美特罗替卡松吸入粉雾剂", class: "B", price: 186}
	dsCalcium   = dcLine{code: "XA12AXT087A001010101566", name: "碳酸钙D3片", class: "C", price: 45}
	dsEjiao     = dcLine{code: "ZA09BAA0163010102983", name: "阿胶", class: "C", price: 268}
	dsAmlo      = dcLine{code: "XC08CAA006A010010203120", name: "苯磺酸氨氯地平片", class: "A", price: 12.8}
	dsAspirin   = dcLine{code: "XB01ACA056A001020104711", name: "阿司匹林肠溶片", class: "A", price: 15.2}
	dsOlanz     = dcLine{code: "XN05AHA027A001010102391", name: "奥氮平片", class: "B", price: 168}
)

// qty returns the line with a quantity.
func qty(l dcLine, q float64) dcLine { l.qty = q; return l }

// price returns the line with a unit price.
func price(l dcLine, p float64) dcLine { l.price = p; return l }

// stock books a movement.
func (w *dcWorld) stock(id, org string, l dcLine, day, kind string, q, unit float64) {
	w.add("stock_movements", map[string]string{"movement_id": id, "org_code": org, "item_code": l.code, "moved_on": day, "kind": kind,
		"quantity": fmt.Sprintf("%.4f", q), "unit_price": fmt.Sprintf("%.4f", unit)})
}

// monthly bills n sales of line l a month at org for months [from, to] and,
// unless noBuy, buys what they need on the 1st at purchase price buy.
func (w *dcWorld) monthly(org string, l dcLine, n int, from, to int, buy float64, noBuy bool) {
	for m := from; m <= to; m++ {
		for i := range n {
			w.sale(dcSale{id: fmt.Sprintf("%s%s%02d%02d", org[8:], l.code[:6], m, i), org: org, card: fmt.Sprintf("K%s%02d", org[9:], i),
				at: fmt.Sprintf("2025-%02d-%02d 10:00:00", m, 2+i%25), lines: []dcLine{l}})
		}
		if !noBuy {
			w.stock(fmt.Sprintf("M%s%s%02d", org[8:], l.code[:6], m), org, l, fmt.Sprintf("2025-%02d-01", m), "purchase", float64(n)*l.qty+1, buy)
		}
	}
}

func TestDrugSubstitutionSalesExceedStock(t *testing.T) {
	runDC(t, "drug_substitution.sales_exceed_stock", []dcCase{
		{name: "billing beyond purchases fires; missing opening stock in the first month does not", build: func(w *dcWorld) {
			// P1 bills 30 boxes a month but buys 12
			for m := 1; m <= 3; m++ {
				for i := range 15 {
					w.sale(dcSale{id: fmt.Sprintf("A%d%02d", m, i), org: "P33010600001", card: fmt.Sprintf("KA%02d", i),
						at: fmt.Sprintf("2025-%02d-%02d 10:00:00", m, 2+i), lines: []dcLine{qty(dsMetformin, 2)}})
				}
				w.stock(fmt.Sprintf("MA%d", m), "P33010600001", dsMetformin, fmt.Sprintf("2025-%02d-01", m), "purchase", 12, 14.2)
			}
			// P2's data starts in January with stock it bought before; from then on it buys what it sells
			for m := 1; m <= 3; m++ {
				for i := range 15 {
					w.sale(dcSale{id: fmt.Sprintf("B%d%02d", m, i), org: "P33010600002", card: fmt.Sprintf("KB%02d", i),
						at: fmt.Sprintf("2025-%02d-%02d 10:00:00", m, 2+i), lines: []dcLine{qty(dsMetformin, 2)}})
				}
				if m > 1 {
					w.stock(fmt.Sprintf("MB%d", m), "P33010600002", dsMetformin, fmt.Sprintf("2025-%02d-01", m), "purchase", 31, 14.2)
				}
			}
			w.stock("MB1", "P33010600002", dsAmlo, "2025-01-01", "purchase", 5, 9.8)
		}, fire: []string{"P33010600001"}, quiet: []string{"P33010600002"}, facts: []string{"lines", "excess_qty", "org"}},
	})
}

func TestDrugSubstitutionPriceOverPurchase(t *testing.T) {
	runDC(t, "drug_substitution.price_over_purchase", []dcCase{
		{name: "twice the purchase price fires; a 1.3× markup, a few odd lines and a trivial amount do not", build: func(w *dcWorld) {
			w.monthly("P33010600001", qty(price(dsMetformin, 29.0), 1), 10, 1, 2, 14.2, false)
			w.monthly("P33010600002", qty(dsMetformin, 1), 5, 1, 2, 14.2, false)
			w.sale(dcSale{id: "ODD", org: "P33010600002", card: "KODD", at: "2025-01-20 10:00:00", lines: []dcLine{qty(price(dsMetformin, 40), 1)}})
			w.monthly("P33010600003", qty(price(dsMetformin, 29.0), 1), 1, 1, 1, 14.2, false)
		}, fire: []string{"P33010600001"}, quiet: []string{"P33010600002", "P33010600003"}, facts: []string{"lines", "median_ratio"}},
	})
}

func TestDrugSubstitutionPriceVsPeers(t *testing.T) {
	runDC(t, "drug_substitution.price_vs_peers", []dcCase{
		{name: "three drugs at twice the peers' price fire; a 1.2× price does not", build: func(w *dcWorld) {
			for _, l := range []dcLine{dsMetformin, dsAmlo, dsAspirin} {
				for _, o := range []string{"P33010600002", "P33010600003", "P33010600004"} {
					w.monthly(o, qty(l, 1), 2, 3, 3, 0, true)
				}
				w.monthly("P33010600001", qty(price(l, 2*l.price), 1), 2, 3, 3, 0, true)
				w.monthly("P33010600006", qty(price(l, 1.2*l.price), 1), 2, 3, 3, 0, true)
			}
		}, fire: []string{"P33010600001"}, quiet: []string{"P33010600006", "P33010600002"}, facts: []string{"lines", "median_ratio"}},
	})
}

func TestDrugSubstitutionNonCoveredBilled(t *testing.T) {
	catalog := func(w *dcWorld) {
		w.add("catalog", map[string]string{"item_code": dsEjiao.code, "item_name": dsEjiao.name, "category": "drug", "catalog_class": "C", "valid_from": "2024-01-01"})
	}
	runDC(t, "drug_substitution.non_covered_billed", []dcCase{
		{name: "class C written as A and paid fires; a coding slip and honest C lines do not", build: func(w *dcWorld) {
			catalog(w)
			asA := dsEjiao
			asA.class = "A"
			for i := range 4 {
				w.sale(dcSale{id: fmt.Sprintf("A%d", i), org: "H33010600002", card: fmt.Sprintf("KA%d", i), at: fmt.Sprintf("2025-03-%02d 10:00:00", 1+i),
					lines: []dcLine{qty(asA, 1)}, fundShare: 0.5})
			}
			for i := range 2 {
				w.sale(dcSale{id: fmt.Sprintf("B%d", i), org: "P33010600002", card: fmt.Sprintf("KB%d", i), at: fmt.Sprintf("2025-03-%02d 10:00:00", 1+i),
					lines: []dcLine{qty(asA, 1)}, fundShare: 0.5})
			}
			// class C sold as C, paid from the account where the policy allows it, the fund paying only covered lines
			for i := range 5 {
				w.sale(dcSale{id: fmt.Sprintf("C%d", i), org: "P33010600003", card: fmt.Sprintf("KC%d", i), at: fmt.Sprintf("2025-03-%02d 10:00:00", 1+i),
					lines: []dcLine{qty(dsEjiao, 1), qty(dsMetformin, 10)}, fundShare: 0.3})
			}
		}, fire: []string{"H33010600002"}, quiet: []string{"P33010600002", "P33010600003"}, facts: []string{"lines", "lines_misclassed"}},
	})
}

func TestDrugSubstitutionTraceDup(t *testing.T) {
	runDC(t, "drug_substitution.trace_dup", []dcCase{
		{name: "one code settled three times fires; a re-scan after a refunded sale does not", build: func(w *dcWorld) {
			l := qty(dsSalmet, 1)
			l.trace = "80000010000000000001"
			for i := range 3 {
				w.sale(dcSale{id: fmt.Sprintf("A%d", i), org: "P33010600001", card: fmt.Sprintf("KA%d", i), at: fmt.Sprintf("2025-03-%02d 10:00:00", 1+i), lines: []dcLine{l}})
			}
			l.trace = "80000010000000000002"
			tot := w.sale(dcSale{id: "B0", org: "P33010600002", card: "KB", at: "2025-03-01 10:00:00", lines: []dcLine{l}})
			w.swipe("B0R", "KB", "QKB", "P33010600002", "2025-03-01 10:05:00", fmt.Sprintf("-%.2f", tot), "refund", "B0", "T1", "")
			w.sale(dcSale{id: "B1", org: "P33010600002", card: "KB", at: "2025-03-01 10:10:00", lines: []dcLine{l}})
		}, fire: []string{"P33010600001"}, quiet: []string{"P33010600002"}, facts: []string{"lines", "duplicate_uses"}},
	})
}

func TestDrugSubstitutionMixDivergence(t *testing.T) {
	runDC(t, "drug_substitution.mix_divergence", []dcCase{
		{name: "buying calcium and billing an inhaler fires; balanced orgs do not", build: func(w *dcWorld) {
			for _, o := range []string{"P33010600002", "P33010600003", "P33010600004", "P33010600006"} {
				w.monthly(o, qty(dsMetformin, 1), 6, 1, 2, 14.2, false)
				w.monthly(o, qty(dsAmlo, 1), 4, 1, 2, 9.8, false)
			}
			w.monthly("P33010600001", qty(dsMetformin, 1), 6, 1, 2, 14.2, false)
			w.monthly("P33010600001", qty(dsSalmet, 1), 4, 1, 2, 0, true)
			w.stock("MX1", "P33010600001", dsCalcium, "2025-01-01", "purchase", 10, 34)
		}, fire: []string{"P33010600001"}, quiet: []string{"P33010600002", "P33010600006"}, facts: []string{"billed_never_bought", "bought_never_billed", "baseline"}},
		{name: "billing an inhaler never bought, with nothing bought in its place, fires above the materiality floor only", build: func(w *dcWorld) {
			for _, o := range []string{"P33010600002", "P33010600003", "P33010600004", "P33010600006"} {
				w.monthly(o, qty(dsMetformin, 1), 6, 1, 2, 14.2, false)
				w.monthly(o, qty(dsAmlo, 1), 4, 1, 2, 9.8, false)
			}
			// P1: eight inhalers never bought (1,488 yuan); P5: one, from opening stock (186 yuan)
			for _, o := range []string{"P33010600001", "P33010600005"} {
				w.monthly(o, qty(dsMetformin, 1), 6, 1, 2, 14.2, false)
			}
			w.monthly("P33010600001", qty(dsSalmet, 1), 4, 1, 2, 0, true)
			w.monthly("P33010600005", qty(dsSalmet, 1), 1, 1, 1, 0, true)
		}, fire: []string{"P33010600001"}, quiet: []string{"P33010600005", "P33010600002"}, facts: []string{"billed_never_bought"}},
	})
}

func TestDrugSubstitutionItemShare(t *testing.T) {
	small := map[string]float64{"min_org_baskets": 1, "min_peers": 4}
	runDC(t, "drug_substitution.item_share", []dcCase{
		{name: "an inhaler in most baskets fires; ordinary mixes do not", params: small, build: func(w *dcWorld) {
			for _, o := range []string{"P33010600002", "P33010600003", "P33010600004", "P33010600005", "P33010600006"} {
				w.monthly(o, qty(dsMetformin, 1), 8, 1, 1, 0, true)
				w.monthly(o, qty(dsAmlo, 1), 6, 1, 1, 0, true)
				w.monthly(o, qty(dsSalmet, 1), 1, 1, 1, 0, true)
			}
			w.monthly("P33010600001", qty(dsMetformin, 1), 4, 1, 1, 0, true)
			w.monthly("P33010600001", qty(dsSalmet, 1), 10, 1, 1, 0, true)
		}, fire: []string{"P33010600001"}, quiet: []string{"P33010600002", "P33010600006"}, facts: []string{"items", "org"}},
	})
}

func TestDrugSubstitutionSuddenVolume(t *testing.T) {
	runDC(t, "drug_substitution.sudden_volume", []dcCase{
		{name: "a drug jumping to many buyers fires; a few bulk buyers do not", build: func(w *dcWorld) {
			// both pharmacies sell a little each month for half a year
			for _, o := range []string{"P33010600001", "P33010600002"} {
				w.monthly(o, qty(dsOlanz, 1), 2, 1, 6, 134, false)
			}
			// then P1 bills olanzapine to 40 persons, 4 boxes each
			for i := range 40 {
				w.sale(dcSale{id: fmt.Sprintf("J%02d", i), org: "P33010600001", card: fmt.Sprintf("KJ%02d", i),
					at: fmt.Sprintf("2025-07-%02d 10:00:00", 1+i%28), lines: []dcLine{qty(dsOlanz, 4)}})
			}
			// and P2 sells 150 boxes to two bulk buyers (card misuse, not substitution)
			for i := range 2 {
				w.sale(dcSale{id: fmt.Sprintf("L%d", i), org: "P33010600002", card: fmt.Sprintf("KL%d", i),
					at: fmt.Sprintf("2025-07-%02d 10:00:00", 10+i), lines: []dcLine{qty(dsOlanz, 75)}})
			}
		}, fire: []string{"P33010600001"}, quiet: []string{"P33010600002"}, facts: []string{"item_months", "org"}},
	})
}
