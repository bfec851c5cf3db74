package detectors_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/medaudit/medaudit/detectors"
	"github.com/medaudit/medaudit/detectors/detectortest"
	"github.com/medaudit/medaudit/pipeline"
	"github.com/medaudit/medaudit/pipeline/pipelinetest"
)

// dcWorld is a small batch of pharmacies, clinics and a hospital with
// purchases, swipes and stock for the drug-substitution and card-misuse
// tests.
type dcWorld struct {
	b       pipelinetest.Batch
	persons map[string]bool
	n       int
}

func newDCWorld() *dcWorld {
	w := &dcWorld{b: pipelinetest.Batch{}, persons: map[string]bool{}}
	for _, o := range []struct{ code, name, kind, level, region string }{
		{"P33010600001", "西湖测试大药房", "pharmacy", "0", "330106"},
		{"P33010600002", "文三路测试药房", "pharmacy", "0", "330106"},
		{"P33010600003", "古墩路测试药房", "pharmacy", "0", "330106"},
		{"P33010600004", "天目山路测试药房", "pharmacy", "0", "330106"},
		{"P33010600005", "西溪路24小时药房", "pharmacy", "0", "330106"},
		{"P33010600006", "留下测试药房", "pharmacy", "0", "330106"},
		{"H33010600001", "杭州测试医院", "hospital", "3", "330106"},
		{"H33010600002", "西湖测试诊所", "clinic", "0", "330106"},
	} {
		w.add("institutions", map[string]string{"org_code": o.code, "name": o.name, "kind": o.kind, "level": o.level, "region_code": o.region})
	}
	return w
}

func (w *dcWorld) add(table string, kv map[string]string) {
	w.b.Add(table, kv)
}

// person adds an employee insured in 611002; death may be "".
func (w *dcWorld) person(id, death string) {
	if w.persons[id] {
		return
	}
	w.persons[id] = true
	w.n++
	w.add("persons", map[string]string{"person_id": id, "id_number": pipelinetest.IDNumber("611002", "19560312", fmt.Sprintf("%03d", w.n%1000)),
		"name": "测试", "sex": "1", "birth_date": "1956-03-12", "insured_region": "611002", "insurance_type": "employee", "death_date": death})
}

// dcLine is one fee line.
type dcLine struct {
	code, name, class, trace string
	qty, price               float64
}

var dcDefaultLine = dcLine{code: "XA10BAE009A001010104388", name: "盐酸二甲双胍片", class: "A", qty: 2, price: 18.5}

// dcSale is a settled visit with its swipe.
type dcSale struct {
	id, org, person, card, at, terminal string
	lines                               []dcLine
	fundShare                           float64 // share of the insured part paid by the fund; the rest by the account
	cashShare                           float64 // share of the total paid in cash (self-pay)
	insuredSwipe                        bool    // the swipe reports the insured part (fund + account), not the bill total
	noSwipe, noSettlement               bool
	swipeAt                             string
}

// sale writes a settlement (pharmacy purchase at a pharmacy, outpatient
// elsewhere), its fee lines and its swipe; it returns the total.
func (w *dcWorld) sale(s dcSale) float64 {
	if s.person == "" {
		s.person = "Q" + s.card
	}
	w.person(s.person, "")
	if len(s.lines) == 0 {
		s.lines = []dcLine{dcDefaultLine}
	}
	var total float64
	for _, l := range s.lines {
		total += float64(int64(l.qty*l.price*100+0.5)) / 100
	}
	kind, swipe := "outpatient", "settlement"
	if strings.HasPrefix(s.org, "P") {
		kind, swipe = "pharmacy", "purchase"
	}
	cash := float64(int64(total*s.cashShare*100)) / 100
	fund := float64(int64((total-cash)*s.fundShare*100)) / 100
	if !s.noSettlement {
		w.add("settlements", map[string]string{"settlement_id": s.id, "person_id": s.person, "card_no": s.card, "org_code": s.org,
			"visit_type": kind, "admitted_at": s.at, "total_amount": fmt.Sprintf("%.2f", total), "fund_paid": fmt.Sprintf("%.2f", fund),
			"account_paid": fmt.Sprintf("%.2f", total-cash-fund), "cash_paid": fmt.Sprintf("%.2f", cash),
			"insured_region": "611002", "treatment_region": "330106",
			"settled_at": s.at})
		for i, l := range s.lines {
			w.add("fee_items", map[string]string{"item_id": fmt.Sprintf("%s-%d", s.id, i), "settlement_id": s.id, "item_code": l.code,
				"item_name": l.name, "category": "drug", "catalog_class": l.class, "quantity": fmt.Sprintf("%.4f", l.qty),
				"unit_price": fmt.Sprintf("%.4f", l.price), "amount": fmt.Sprintf("%.2f", float64(int64(l.qty*l.price*100+0.5))/100),
				"charged_at": s.at, "trace_code": l.trace})
		}
	}
	if !s.noSwipe {
		sid := s.id
		if s.noSettlement {
			sid = ""
		}
		at := s.at
		if s.swipeAt != "" {
			at = s.swipeAt
		}
		if s.terminal == "" {
			s.terminal = "T" + s.org[1:] + "10"
		}
		amount := total
		if s.insuredSwipe {
			amount = total - cash
		}
		w.swipe(s.id+"W", s.card, s.person, s.org, at, fmt.Sprintf("%.2f", amount), swipe, sid, s.terminal, "")
	}
	return total
}

func (w *dcWorld) swipe(id, card, person, org, at, amount, kind, sid, terminal, balance string) {
	w.add("card_swipes", map[string]string{"swipe_id": id, "card_no": card, "person_id": person, "org_code": org, "swiped_at": at,
		"amount": amount, "kind": kind, "settlement_id": sid, "terminal_id": terminal, "balance_after": balance})
}

// daytime adds n ordinary daytime purchases by distinct cards at org, one
// a day from start, so that the org has a baseline.
func (w *dcWorld) daytime(org string, n int, start string) {
	d0, _ := time.Parse("2006-01-02", start)
	for i := range n {
		t := d0.AddDate(0, 0, i).Add(time.Duration(9+i%9) * time.Hour).Format("2006-01-02 15:04:05")
		w.sale(dcSale{id: fmt.Sprintf("BG%s%04d", org[7:], i), org: org, card: fmt.Sprintf("G%s%04d", org[8:], i), at: t})
	}
}

func (w *dcWorld) load(t *testing.T) *pipeline.DB {
	t.Helper()
	return pipelinetest.Load(t, w.b)
}

// dcDetect runs one registered detector (with threshold overrides) over w.
func dcDetect(t *testing.T, w *dcWorld, name string, params map[string]float64) map[string]detectors.Flag {
	t.Helper()
	return detectortest.Detect(t, w.load(t), name, params)
}

// dcCase is one table-test case: a world, the subjects that must be flagged
// and those that must not, and evidence keys the flags must carry.
type dcCase struct {
	name   string
	params map[string]float64
	build  func(w *dcWorld)
	fire   []string
	quiet  []string
	facts  []string
}

func runDC(t *testing.T, detector string, cases []dcCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := newDCWorld()
			c.build(w)
			flags := dcDetect(t, w, detector, c.params)
			for _, s := range c.fire {
				f, ok := flags[s]
				if !ok {
					t.Errorf("%s not flagged (flags: %v)", s, dcKeys(flags))
					continue
				}
				if f.Evidence.Summary == "" || f.Score <= 0 {
					t.Errorf("%s: empty summary or zero score", s)
				}
				for _, k := range c.facts {
					if _, ok := f.Evidence.Facts[k]; !ok {
						t.Errorf("%s: evidence lacks %q: %v", s, k, f.Evidence.Facts)
					}
				}
			}
			for _, s := range c.quiet {
				if f, ok := flags[s]; ok {
					t.Errorf("%s flagged: %s", s, f.Evidence.Summary)
				}
			}
		})
	}
}

func dcKeys(m map[string]detectors.Flag) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestCardMisuseDeceasedHolder(t *testing.T) {
	runDC(t, "card_misuse.deceased_holder", []dcCase{
		{name: "swipes after death fire; a last stay on the death day does not", build: func(w *dcWorld) {
			w.person("D1", "2025-03-01")
			w.sale(dcSale{id: "S1", org: "P33010600001", person: "D1", card: "CDEAD1", at: "2025-03-10 10:00:00"})
			w.person("D2", "2025-03-01")
			w.sale(dcSale{id: "S2", org: "H33010600001", person: "D2", card: "CDEAD2", at: "2025-03-01 09:00:00"})
		}, fire: []string{"CDEAD1"}, quiet: []string{"CDEAD2"}, facts: []string{"death_date", "swipes"}},
	})
}

func TestCardMisuseSwipeWithoutSettlement(t *testing.T) {
	runDC(t, "card_misuse.swipe_without_settlement", []dcCase{
		{name: "no settlement fires; platform lag and matching amounts do not", build: func(w *dcWorld) {
			w.sale(dcSale{id: "S1", org: "P33010600001", card: "CNOSET", at: "2025-03-10 10:00:00", noSettlement: true})
			// the settlement row arrives three hours after a swipe without settlement id
			w.sale(dcSale{id: "S2", org: "P33010600001", card: "CLAG", at: "2025-03-10 13:00:00", noSwipe: true})
			w.swipe("S2W", "CLAG", "QCLAG", "P33010600001", "2025-03-10 10:00:00", "37.00", "purchase", "", "T1", "")
			w.sale(dcSale{id: "S3", org: "P33010600001", card: "COK", at: "2025-03-10 10:00:00"})
			// amount differs from the settlement total
			w.sale(dcSale{id: "S4", org: "P33010600002", card: "CDIFF", at: "2025-03-11 10:00:00", noSwipe: true})
			w.swipe("S4W", "CDIFF", "QCDIFF", "P33010600002", "2025-03-11 10:00:00", "99.00", "purchase", "S4", "T1", "")
		}, fire: []string{"CNOSET", "CDIFF"}, quiet: []string{"CLAG", "COK"}, facts: []string{"swipes", "amount_flagged"}},
	})
}

func TestCardMisuseOffHours(t *testing.T) {
	runDC(t, "card_misuse.off_hours", []dcCase{
		{name: "night purchases at a day pharmacy fire; at a 24-hour pharmacy they do not", build: func(w *dcWorld) {
			w.daytime("P33010600001", 80, "2025-01-01")
			for i := range 3 {
				w.sale(dcSale{id: fmt.Sprintf("N%d", i), org: "P33010600001", card: "CNIGHT", at: fmt.Sprintf("2025-03-%02d 23:40:00", 10+i)})
			}
			// the 24-hour pharmacy sells at night every day
			w.daytime("P33010600005", 20, "2025-01-01")
			for i := range 12 {
				w.sale(dcSale{id: fmt.Sprintf("M%d", i), org: "P33010600005", card: fmt.Sprintf("CN24%d", i), at: fmt.Sprintf("2025-02-%02d 02:10:00", 1+i)})
			}
		}, fire: []string{"CNIGHT"}, quiet: []string{"CN240", "CN241"}, facts: []string{"night_swipes", "swipes"}},
	})
}

func TestCardMisuseManyPharmacies(t *testing.T) {
	runDC(t, "card_misuse.many_pharmacies", []dcCase{
		{name: "three pharmacies in a day fire; a chronic buyer with a regular pharmacy does not", build: func(w *dcWorld) {
			for i, o := range []string{"P33010600001", "P33010600002", "P33010600003"} {
				w.sale(dcSale{id: fmt.Sprintf("A%d", i), org: o, card: "CMANY", at: fmt.Sprintf("2025-04-19 %02d:10:00", 9+3*i)})
			}
			// 12 costly monthly purchases at one pharmacy and a few elsewhere (stock-outs, travel)
			big := dcLine{code: "XR03AKS128H014010102631", name: "沙美特罗替卡松吸入粉雾剂", class: "B", qty: 3, price: 186}
			for m := range 12 {
				w.sale(dcSale{id: fmt.Sprintf("B%d", m), org: "P33010600001", card: "CCHRON", at: fmt.Sprintf("2025-%02d-05 10:00:00", m+1), lines: []dcLine{big}})
			}
			for i, o := range []string{"P33010600002", "P33010600003", "P33010600004", "P33010600006"} {
				w.sale(dcSale{id: fmt.Sprintf("C%d", i), org: o, card: "CCHRON", at: fmt.Sprintf("2025-%02d-20 10:00:00", 2*i+1)})
			}
		}, fire: []string{"CMANY"}, quiet: []string{"CCHRON"}, facts: []string{"max_pharmacies_one_day", "purchases"}},
	})
}

func TestCardMisuseFrequentPurchase(t *testing.T) {
	runDC(t, "card_misuse.frequent_purchase", []dcCase{
		{name: "purchases every two days fire; a chronic monthly buyer does not", build: func(w *dcWorld) {
			d0 := time.Date(2025, 2, 1, 10, 0, 0, 0, time.UTC)
			for i := range 20 {
				w.sale(dcSale{id: fmt.Sprintf("F%d", i), org: "P33010600001", card: "CFREQ", at: d0.AddDate(0, 0, 2*i).Format(time.DateTime)})
			}
			for m := range 12 {
				w.sale(dcSale{id: fmt.Sprintf("M%d", m), org: "P33010600001", card: "CMONTH", at: fmt.Sprintf("2025-%02d-%02d 10:00:00", m+1, 10+m%3)})
			}
		}, fire: []string{"CFREQ"}, quiet: []string{"CMONTH"}, facts: []string{"purchases_at_org", "median_gap_days_at_org", "max_purchases_in_7_days"}},
	})
}

func TestCardMisuseCrossOrgRapid(t *testing.T) {
	runDC(t, "card_misuse.cross_org_rapid", []dcCase{
		{name: "two orgs within minutes fire; a hospital and its adjacent pharmacy do not", build: func(w *dcWorld) {
			w.sale(dcSale{id: "R1", org: "P33010600002", card: "CRAPID", at: "2025-05-01 10:00:00"})
			w.sale(dcSale{id: "R2", org: "P33010600004", card: "CRAPID", at: "2025-05-01 10:12:00"})
			// five patients go from the hospital to the pharmacy across the street
			for i := range 5 {
				c := fmt.Sprintf("CADJ%d", i)
				w.sale(dcSale{id: fmt.Sprintf("H%d", i), org: "H33010600001", card: c, at: fmt.Sprintf("2025-05-%02d 09:00:00", 2+i)})
				w.sale(dcSale{id: fmt.Sprintf("Q%d", i), org: "P33010600001", card: c, at: fmt.Sprintf("2025-05-%02d 09:15:00", 2+i)})
			}
		}, fire: []string{"CRAPID"}, quiet: []string{"CADJ0", "CADJ4"}, facts: []string{"pairs", "min_gap_minutes"}},
	})
}

func TestCardMisuseRoundAmounts(t *testing.T) {
	hundred := func(y float64) []dcLine {
		return []dcLine{{code: "XR03AKS128H014010102631", name: "沙美特罗替卡松吸入粉雾剂", class: "B", qty: 1, price: y}}
	}
	runDC(t, "card_misuse.round_amounts", []dcCase{
		{name: "whole hundreds fire; a whole-yuan pharmacy does not", build: func(w *dcWorld) {
			w.daytime("P33010600001", 40, "2025-01-01")
			for i := range 6 {
				w.sale(dcSale{id: fmt.Sprintf("R%d", i), org: "P33010600001", card: "CROUND", at: fmt.Sprintf("2025-03-%02d 10:00:00", 1+i), lines: hundred(float64(200 + 100*(i%3)))})
			}
			// a pharmacy whose prices make many round totals
			for i := range 30 {
				w.sale(dcSale{id: fmt.Sprintf("Y%d", i), org: "P33010600003", card: fmt.Sprintf("CY%d", i%5), at: fmt.Sprintf("2025-04-%02d 10:00:00", 1+i%28), lines: hundred(50)})
			}
		}, fire: []string{"CROUND"}, quiet: []string{"CY0", "CY1"}, facts: []string{"round_share", "org_baseline_round_share"}},
		{name: "whole-hundred bills fire when the terminal reports only the insured part", build: func(w *dcWorld) {
			w.daytime("P33010600001", 40, "2025-01-01")
			for i := range 6 {
				w.sale(dcSale{id: fmt.Sprintf("R%d", i), org: "P33010600001", card: "CROUND", at: fmt.Sprintf("2025-03-%02d 10:00:00", 1+i),
					lines: hundred(float64(200 + 100*(i%3))), cashShare: 0.3, insuredSwipe: true})
			}
		}, fire: []string{"CROUND"}, facts: []string{"round_share"}},
	})
}

func TestCardMisuseBalanceDrain(t *testing.T) {
	runDC(t, "card_misuse.balance_drain", []dcCase{
		{name: "query then emptying purchase fires; query before a small purchase does not", build: func(w *dcWorld) {
			w.sale(dcSale{id: "D1", org: "P33010600001", card: "CDRAIN", at: "2025-12-10 19:20:00",
				lines: []dcLine{{code: "XR03AKS128H014010102631", name: "沙美特罗替卡松吸入粉雾剂", class: "B", qty: 5, price: 196}}})
			w.swipe("D1Q", "CDRAIN", "QCDRAIN", "P33010600001", "2025-12-10 19:14:00", "0.00", "balance_query", "", "T1", "980.00")
			w.sale(dcSale{id: "D2", org: "P33010600001", card: "CSMALL", at: "2025-12-11 10:05:00"})
			w.swipe("D2Q", "CSMALL", "QCSMALL", "P33010600001", "2025-12-11 10:03:00", "0.00", "balance_query", "", "T1", "900.00")
		}, fire: []string{"CDRAIN"}, quiet: []string{"CSMALL"}, facts: []string{"events", "max_share_of_balance"}},
	})
}

func TestCardMisuseRefundCycle(t *testing.T) {
	runDC(t, "card_misuse.refund_cycle", []dcCase{
		{name: "two quick refund cycles fire; a genuine return does not", build: func(w *dcWorld) {
			for i, d := range []string{"2025-03-03", "2025-03-20"} {
				a, b := fmt.Sprintf("A%d", i), fmt.Sprintf("B%d", i)
				tot := w.sale(dcSale{id: a, org: "P33010600001", card: "CCYCLE", at: d + " 10:00:00"})
				w.swipe(a+"R", "CCYCLE", "QCCYCLE", "P33010600001", d+" 10:12:00", fmt.Sprintf("-%.2f", tot), "refund", a, "T1", "")
				w.sale(dcSale{id: b, org: "P33010600001", card: "CCYCLE", at: d + " 10:40:00"})
			}
			tot := w.sale(dcSale{id: "G1", org: "P33010600002", card: "CGENUINE", at: "2025-03-03 10:00:00"})
			w.swipe("G1R", "CGENUINE", "QCGENUINE", "P33010600002", "2025-03-03 15:00:00", fmt.Sprintf("-%.2f", tot), "refund", "G1", "T1", "")
			w.sale(dcSale{id: "G2", org: "P33010600002", card: "CGENUINE", at: "2025-03-04 10:00:00"})
		}, fire: []string{"CCYCLE"}, quiet: []string{"CGENUINE"}, facts: []string{"cycles", "cycle_list"}},
	})
}

func TestCardMisuseBurstAtOrg(t *testing.T) {
	runDC(t, "card_misuse.burst_at_org", []dcCase{
		{name: "six cards in minutes fire; the daily opening queue of a clinic does not", build: func(w *dcWorld) {
			w.daytime("P33010600001", 60, "2025-01-01")
			for i := range 6 {
				w.sale(dcSale{id: fmt.Sprintf("B%d", i), org: "P33010600001", card: fmt.Sprintf("CBURST%d", i), terminal: "TBURST",
					at: fmt.Sprintf("2025-03-05 20:%02d:00", 5+i)})
			}
			// every morning five patients queue at the clinic's counter at 08:00
			for d := range 30 {
				for i := range 5 {
					w.sale(dcSale{id: fmt.Sprintf("Q%02d%d", d, i), org: "H33010600002", card: fmt.Sprintf("CQ%02d%d", d, i), terminal: "TQUEUE",
						at: fmt.Sprintf("2025-04-%02d 08:0%d:00", 1+d%30, i)})
				}
			}
		}, fire: []string{"CBURST0", "CBURST5"}, quiet: []string{"CQ000", "CQ104"}, facts: []string{"burst", "card_swipes_in_bursts"}},
		{name: "cards swiped for 0 (a bill paid in cash, insured-part terminal) still count in a burst", build: func(w *dcWorld) {
			w.daytime("P33010600001", 60, "2025-01-01")
			for i := range 5 {
				s := dcSale{id: fmt.Sprintf("B%d", i), org: "P33010600001", card: fmt.Sprintf("CBURST%d", i), terminal: "TBURST",
					at: fmt.Sprintf("2025-03-05 20:%02d:00", 5+i), insuredSwipe: true}
				if i%2 == 0 {
					s.cashShare = 1
				}
				w.sale(s)
			}
		}, fire: []string{"CBURST0", "CBURST4"}, facts: []string{"burst"}},
	})
}

func TestCardMisuseHubPharmacy(t *testing.T) {
	dead := func(w *dcWorld, i int, org string) {
		p := fmt.Sprintf("DEAD%d", i)
		w.person(p, "2025-01-31")
		w.sale(dcSale{id: fmt.Sprintf("X%d", i), org: org, person: p, card: fmt.Sprintf("CX%d", i), at: fmt.Sprintf("2025-03-%02d 10:00:00", 1+i)})
	}
	runDC(t, "card_misuse.hub_pharmacy", []dcCase{
		{name: "flagged cards converging on one pharmacy fire; spread ones do not", build: func(w *dcWorld) {
			w.daytime("P33010600002", 40, "2025-01-01")
			for i := range 5 {
				dead(w, i, "P33010600001")
			}
			dead(w, 9, "P33010600003")
		}, fire: []string{"P33010600001"}, quiet: []string{"P33010600003", "P33010600002"}, facts: []string{"flagged_cards", "poisson_p", "baseline"}},
	})
}
