package detectors_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/medaudit/medaudit/detectors"
)

// Tests of the conventions learned from the data (the views
// conv_swipe_amount of migration 0013, conv_drug_unit and conv_stock of
// 0023) and of the rules that rely on them.

// convRows reads "key → value" pairs of a two-column query over w.
func convRows(t *testing.T, w *dcWorld, q string) map[string]string {
	t.Helper()
	db := w.load(t)
	rows, err := db.QueryContext(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			t.Fatal(err)
		}
		out[k] = v
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// insuredPartPharmacy: P1's card system reports the insured part, P2's the
// bill total, P3 has too few cash-paying swipes to tell.
func insuredPartPharmacy(w *dcWorld) {
	for i := range 8 {
		w.sale(dcSale{id: fmt.Sprintf("IP%d", i), org: "P33010600001", card: fmt.Sprintf("KIP%d", i), at: fmt.Sprintf("2025-03-%02d 10:00:00", 1+i),
			cashShare: 0.2, fundShare: 0.5, insuredSwipe: true})
		w.sale(dcSale{id: fmt.Sprintf("BT%d", i), org: "P33010600002", card: fmt.Sprintf("KBT%d", i), at: fmt.Sprintf("2025-03-%02d 10:00:00", 1+i),
			cashShare: 0.2, fundShare: 0.5})
	}
	for i := range 2 {
		w.sale(dcSale{id: fmt.Sprintf("UD%d", i), org: "P33010600003", card: fmt.Sprintf("KUD%d", i), at: fmt.Sprintf("2025-03-%02d 10:00:00", 1+i),
			cashShare: 0.2, fundShare: 0.5, insuredSwipe: true})
	}
}

func TestConventionSwipeAmount(t *testing.T) {
	w := newDCWorld()
	insuredPartPharmacy(w)
	got := convRows(t, w, `SELECT org_code, convention FROM conv_swipe_amount`)
	want := map[string]string{"P33010600001": "insured_part", "P33010600002": "bill_total", "P33010600003": "undetermined"}
	for org, c := range want {
		if got[org] != c {
			t.Errorf("%s: convention %q, want %q (all: %v)", org, got[org], c, got)
		}
	}
}

func TestSwipeWithoutSettlementLearnsTheAmountConvention(t *testing.T) {
	runDC(t, "card_misuse.swipe_without_settlement", []dcCase{
		{name: "insured-part swipes at an insured-part pharmacy are quiet; a swipe matching neither amount fires", build: func(w *dcWorld) {
			insuredPartPharmacy(w)
			// 99.00 is neither the bill total nor the insured part
			w.sale(dcSale{id: "X1", org: "P33010600001", card: "CNEITHER", at: "2025-03-20 10:00:00", cashShare: 0.2, fundShare: 0.5, noSwipe: true})
			w.swipe("X1W", "CNEITHER", "QCNEITHER", "P33010600001", "2025-03-20 10:00:00", "99.00", "purchase", "X1", "T1", "")
			// a swipe without settlement id for the insured part, settled two hours later: platform lag
			w.sale(dcSale{id: "L1", org: "P33010600001", card: "CLAGIP", at: "2025-03-21 12:00:00", cashShare: 0.2, fundShare: 0.5, noSwipe: true})
			w.swipe("L1W", "CLAGIP", "QCLAGIP", "P33010600001", "2025-03-21 10:00:00", "29.60", "purchase", "", "T1", "")
		}, fire: []string{"CNEITHER"}, quiet: []string{"KIP0", "KIP7", "KBT0", "KUD0", "CLAGIP"}, facts: []string{"swipes"}},
	})
}

func TestConventionDrugUnit(t *testing.T) {
	w := newDCWorld()
	// P1 bills metformin by the box (18.50), P2 by the tablet (0.50, 拆零);
	// an item outside the daily-dose table is unknown
	w.sale(dcSale{id: "U1", org: "P33010600001", card: "KU1", at: "2025-03-01 10:00:00", lines: []dcLine{qty(dsMetformin, 2)}})
	w.sale(dcSale{id: "U2", org: "P33010600002", card: "KU2", at: "2025-03-01 10:00:00", lines: []dcLine{qty(price(dsMetformin, 0.5), 40)}})
	w.sale(dcSale{id: "U3", org: "P33010600003", card: "KU3", at: "2025-03-01 10:00:00",
		lines: []dcLine{{code: "ZA09AAL0231010102746", name: "六味地黄丸", class: "A", qty: 2, price: 18}}})
	got := convRows(t, w, `SELECT org_code, qty_unit FROM conv_drug_unit`)
	want := map[string]string{"P33010600001": "box", "P33010600002": "piece", "P33010600003": "unknown"}
	for org, c := range want {
		if got[org] != c {
			t.Errorf("%s: unit %q, want %q", org, got[org], c)
		}
	}
}

func TestConventionStock(t *testing.T) {
	w := newDCWorld()
	stockWorld(w)
	got := convRows(t, w, `SELECT org_code, cadence FROM conv_stock WHERE item_code = '`+dsMetformin.code+`'`)
	want := map[string]string{"P33010600001": "monthly", "P33010600002": "bulk", "P33010600003": "weekly", "P33010600004": "monthly"}
	for org, c := range want {
		if got[org] != c {
			t.Errorf("%s: cadence %q, want %q (all: %v)", org, got[org], c, got)
		}
	}
	ratio := convRows(t, w, `SELECT org_code, round(stock_unit_ratio)::INTEGER::VARCHAR FROM conv_stock WHERE item_code = '`+dsMetformin.code+`'`)
	if ratio["P33010600004"] == "1" || ratio["P33010600001"] != "1" {
		t.Errorf("stock-to-billing unit ratio: %v, want > 1 for the 拆零 pharmacy P4 and 1 for P1", ratio)
	}
}

// stockWorld: P1 bills 30 boxes a month against 12 bought (fires); P2
// restocks in bulk every quarter with stock at the start of the data; P3
// bills an item it has no stock records of (no stock data) and restocks
// metformin weekly; P4 buys boxes of 20 tablets and bills tablets (拆零);
// P5 sold from opening stock before its first purchase in March.
func stockWorld(w *dcWorld) {
	for m := 1; m <= 6; m++ {
		for i := range 15 {
			day := fmt.Sprintf("2025-%02d-%02d 10:00:00", m, 2+i)
			w.sale(dcSale{id: fmt.Sprintf("A%d%02d", m, i), org: "P33010600001", card: fmt.Sprintf("KA%02d", i), at: day, lines: []dcLine{qty(dsMetformin, 2)}})
			w.sale(dcSale{id: fmt.Sprintf("B%d%02d", m, i), org: "P33010600002", card: fmt.Sprintf("KB%02d", i), at: day, lines: []dcLine{qty(dsMetformin, 2)}})
			w.sale(dcSale{id: fmt.Sprintf("C%d%02d", m, i), org: "P33010600003", card: fmt.Sprintf("KC%02d", i), at: day,
				lines: []dcLine{qty(dsMetformin, 1), qty(dsAmlo, 3)}})
			w.sale(dcSale{id: fmt.Sprintf("D%d%02d", m, i), org: "P33010600004", card: fmt.Sprintf("KD%02d", i), at: day, lines: []dcLine{qty(price(dsMetformin, 0.95), 40)}})
			w.sale(dcSale{id: fmt.Sprintf("E%d%02d", m, i), org: "P33010600005", card: fmt.Sprintf("KE%02d", i), at: day, lines: []dcLine{qty(dsMetformin, 2)}})
		}
		w.stock(fmt.Sprintf("MA%d", m), "P33010600001", dsMetformin, fmt.Sprintf("2025-%02d-01", m), "purchase", 12, 14.2)
		if m%3 == 1 {
			// a quarter's worth in one delivery (the first one tops up stock bought before the data)
			w.stock(fmt.Sprintf("MB%d", m), "P33010600002", dsMetformin, fmt.Sprintf("2025-%02d-05", m), "purchase", 92, 14.2)
		}
		for k := range 4 {
			w.stock(fmt.Sprintf("MC%d%d", m, k), "P33010600003", dsMetformin, fmt.Sprintf("2025-%02d-%02d", m, 1+7*k), "purchase", 4, 14.2)
		}
		w.stock(fmt.Sprintf("MD%d", m), "P33010600004", dsMetformin, fmt.Sprintf("2025-%02d-01", m), "purchase", 30, 14.2)
		if m >= 3 {
			w.stock(fmt.Sprintf("ME%d", m), "P33010600005", dsMetformin, fmt.Sprintf("2025-%02d-01", m), "purchase", 31, 14.2)
		}
	}
}

func TestSalesExceedStockLearnsStockConventions(t *testing.T) {
	runDC(t, "drug_substitution.sales_exceed_stock", []dcCase{
		{name: "billing beyond purchases fires; bulk restocking, no stock data, 拆零 units and unknown opening stock do not",
			build: stockWorld, fire: []string{"P33010600001"},
			quiet: []string{"P33010600002", "P33010600003", "P33010600004", "P33010600005"},
			facts: []string{"lines", "excess_qty"}},
	})
}

func TestScanSummaryShowsLearnedConventions(t *testing.T) {
	w := newDCWorld()
	insuredPartPharmacy(w)
	stockWorld(w)
	db := w.load(t)
	ds, err := detectors.Registry(detectors.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ds = detectors.Select(ds, []string{"card_misuse.swipe_without_settlement"})
	sum, err := detectors.Scan(context.Background(), db.DB, ds, func() time.Time { return time.Date(2026, 1, 5, 2, 0, 0, 0, time.UTC) })
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]map[string]int{}
	for _, c := range sum.Conventions {
		got[c.Name] = c.Counts
	}
	want := map[string]map[string]int{
		// P1 insured part; P2 bill total; P3 too few cash swipes; P4, P5 (stockWorld) swipe their totals without cash
		"swipe_amount": {"insured_part": 1, "bill_total": 1, "undetermined": 3},
		// P4 bills tablets (拆零); the others boxes
		"drug_quantity_unit": {"piece": 1, "box": 4},
		"restocking":         {"monthly": 3, "bulk": 1, "weekly": 1},
	}
	for name, counts := range want {
		for v, n := range counts {
			if got[name][v] != n {
				t.Errorf("%s %s: %d institutions, want %d (summary: %v)", name, v, got[name][v], n, got)
			}
		}
	}
}
