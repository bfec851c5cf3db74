package detectors

import (
	"context"
	"fmt"
	"math"
	"sort"

	"github.com/medaudit/medaudit/contract"
)

// burstAtOrg is card_misuse.burst_at_org: many cards at one terminal within
// minutes, judged by a Poisson tail against the terminal's own rate at that
// hour of the day, corrected for the number of windows looked at.
var burstAtOrg = rule(Info{
	Name: "card_misuse.burst_at_org", SubjectType: contract.SubjectCard,
	Override: Clinical, Title: "同一终端短时间内多卡集中刷卡", Basis: "敛卡集中刷卡；《医疗保障基金使用监督管理条例》第40条",
	Thresholds: []Threshold{
		{Name: "min_cards", Default: 5, Unit: "cards", Doc: "distinct cards within window_minutes at one terminal"},
		{Name: "window_minutes", Default: 10, Unit: "minutes", Doc: "burst window"},
		{Name: "alpha", Default: 0.01, Unit: "probability", Doc: "Poisson tail × number of windows looked at (Bonferroni) must be below this"},
		{Name: "day_factor", Default: 3, Unit: "×", Doc: "an org day with more swipes than this × the org's p95 daily swipes"},
		{Name: "min_day_swipes", Default: 20, Unit: "swipes", Doc: "smallest busy day considered"},
	},
	Caveats: []string{"开门时段排队", "社区卫生服务中心疫苗接种日", "集中体检或义诊活动"},
}, "card_misuse_burst_at_org.sql", func(r Rule, query string) Detector { return &burstDetector{Rule: r, query: query} })

type burstDetector struct {
	Rule
	query string
}

func (d *burstDetector) Detect(ctx context.Context, q Querier) ([]Flag, error) {
	rows, err := featureRows(ctx, q, d.Rule, d.query)
	if err != nil {
		return nil, err
	}
	alpha, win := d.Param("alpha"), d.Param("window_minutes")
	type event struct {
		facts map[string]any
		adj   float64
		score float64
	}
	type card struct {
		org      string
		person   string
		best     event
		events   int
		swipes   map[string]contract.Fen
		swipeLog []map[string]any
	}
	cards := map[string]*card{}
	var order []string
	seenEvent := map[string]bool{}
	for _, r := range rows {
		var ev event
		n := r.num("swipes")
		switch r.str("burst") {
		case "window":
			days := r.num("active_days")
			lambda := r.num("rate_swipes") / max(days*60/win, 1)
			p := PoissonTail(n, lambda)
			ev.adj = p * max(r.num("windows"), 1)
			if ev.adj >= alpha {
				continue
			}
			ev.score = Logistic(math.Log10(alpha/math.Max(ev.adj, 1e-300)), 3)
			ev.facts = map[string]any{"kind": "window", "terminal_id": r.str("terminal_id"),
				"baseline": map[string]any{"terminal_swipes_this_hour_of_day": r.num("rate_swipes"), "active_days": days,
					"expected_swipes_per_window": lambda, "windows_looked_at": r.num("windows")},
				"poisson_p": p, "adjusted_p": ev.adj}
		default:
			p95 := r.num("day_p95")
			p := PoissonTail(n, p95)
			ev.adj = p
			ev.score = Logistic((n/max(p95, 1))-d.Param("day_factor"), 2)
			ev.facts = map[string]any{"kind": "day", "baseline": map[string]any{"org_p95_daily_swipes": p95, "active_days": r.num("active_days")},
				"poisson_p": p}
		}
		ev.facts["org"] = map[string]any{"org_code": r.str("org_code"), "name": r.str("org_name"), "kind": r.str("org_kind")}
		ev.facts["start_at"], ev.facts["end_at"] = r.str("start_at"), r.str("end_at")
		ev.facts["cards"], ev.facts["swipes"] = r.num("cards"), n
		no := r.str("card_no")
		c := cards[no]
		if c == nil {
			c = &card{swipes: map[string]contract.Fen{}}
			cards[no] = c
			order = append(order, no)
		}
		key := no + "\x00" + r.str("burst") + r.str("org_code") + r.str("terminal_id") + r.str("start_at")
		if !seenEvent[key] {
			seenEvent[key] = true
			c.events++
		}
		if c.best.facts == nil || ev.adj < c.best.adj {
			c.best, c.org, c.person = ev, r.str("org_code"), r.str("person_id")
		}
		if _, ok := c.swipes[r.str("swipe_id")]; !ok {
			c.swipes[r.str("swipe_id")] = r.fen("insured")
			c.swipeLog = append(c.swipeLog, map[string]any{"swipe_id": r.str("swipe_id"), "at": r.str("swiped_at"),
				"amount": r.str("amount"), "settlement_id": r.str("settlement_id"), "org_code": r.str("org_code")})
		}
	}
	var flags []Flag
	for _, no := range order {
		c := cards[no]
		var amount contract.Fen
		for _, a := range c.swipes {
			amount += a
		}
		best := c.best.facts
		summary := fmt.Sprintf("卡%s于%s在%s（终端%v）与其他卡集中刷卡：%v分钟内%v张卡刷卡%v次，校正后p=%.2g",
			no, best["start_at"], best["org"].(map[string]any)["name"], best["terminal_id"], d.Param("window_minutes"), best["cards"], best["swipes"], c.best.adj)
		if best["kind"] == "day" {
			summary = fmt.Sprintf("卡%s于%s在%s刷卡，当日该机构刷卡%v次，超过其日刷卡量p95的%v倍",
				no, best["start_at"].(string)[:10], best["org"].(map[string]any)["name"], best["swipes"], d.Param("day_factor"))
		}
		facts := map[string]any{"card_no": no, "holder_person_id": c.person, "burst": best, "bursts": c.events,
			"card_swipes_in_bursts": c.swipeLog}
		f := d.Flag(no, c.org, NoisyOR(c.best.score, 0.1*float64(c.events-1)), amount, summary, facts,
			map[string]float64{"burst": c.best.score, "repeats": 0.1 * float64(c.events-1)})
		if best["org"].(map[string]any)["kind"] == "pharmacy" {
			// No medical record explains cards swiped together at a
			// pharmacy counter: the auditors judge it, not the panel.
			f.Override = Absolute
		}
		flags = append(flags, f)
	}
	return flags, ctx.Err()
}

// hubPharmacy is card_misuse.hub_pharmacy: pharmacies where the cards
// flagged by the card rules converge, more than their share of all cards
// would explain (Poisson tail); the top-k. In a scan it reads the card
// rules' flags of the same scan.
var hubPharmacy = rule(Info{
	Name: "card_misuse.hub_pharmacy", SubjectType: contract.SubjectInstitution,
	Override: Clinical, Title: "违规刷卡集中的药店", Basis: "定点零售药店违规刷卡聚集；《医疗保障基金使用监督管理条例》第38条、第40条",
	Thresholds: []Threshold{
		{Name: "min_cards", Default: 3, Unit: "cards", Doc: "flagged cards needed at the pharmacy"},
		{Name: "max_p", Default: 0.001, Unit: "probability", Doc: "Poisson tail of the flagged-card count given the pharmacy's share of all cards"},
		{Name: "top_k", Default: 10, Unit: "pharmacies", Doc: "at most this many pharmacies, most surprising first"},
	},
	Caveats: []string{"紧邻大型医院的药店客流大、慢病患者集中", "连锁药店总部统一结算"},
}, "card_misuse_hub_pharmacy.sql", func(r Rule, query string) Detector { return &hubDetector{Rule: r, query: query} })

type hubDetector struct {
	Rule
	query string
}

// Reads implements flagReader: the card rules.
func (d *hubDetector) Reads() []string {
	names := make([]string, 0, len(cardMisuseCards))
	for _, f := range cardMisuseCards {
		if det, err := f(nil); err == nil {
			names = append(names, det.Name())
		}
	}
	return names
}

// Detect runs the card rules with their default thresholds, then
// DetectFrom; a scan that runs the card rules hands their flags to
// DetectFrom instead.
func (d *hubDetector) Detect(ctx context.Context, q Querier) ([]Flag, error) {
	var cards []Flag
	for _, f := range cardMisuseCards {
		det, err := f(nil)
		if err != nil {
			return nil, err
		}
		fl, err := det.Detect(ctx, q)
		if err != nil {
			return nil, err
		}
		cards = append(cards, fl...)
	}
	return d.DetectFrom(ctx, q, cards)
}

// DetectFrom implements flagReader: the pharmacies where the card flags
// given converge.
func (d *hubDetector) DetectFrom(ctx context.Context, q Querier, cards []Flag) ([]Flag, error) {
	type hit struct {
		cards     map[string]bool
		detectors map[string]int
		amount    contract.Fen
		examples  []map[string]any
	}
	hits := map[string]*hit{}
	flagged := map[string]bool{}
	for _, x := range cards {
		flagged[x.SubjectID] = true
		h := hits[x.OrgCode]
		if h == nil {
			h = &hit{cards: map[string]bool{}, detectors: map[string]int{}}
			hits[x.OrgCode] = h
		}
		if !h.cards[x.SubjectID] {
			h.cards[x.SubjectID] = true
			if len(h.examples) < 20 {
				h.examples = append(h.examples, map[string]any{"card_no": x.SubjectID, "detector": x.Detector, "summary": x.Evidence.Summary})
			}
		}
		h.detectors[x.Detector]++
		h.amount += x.AmountAtRisk
	}
	rows, err := featureRows(ctx, q, d.Rule, d.query)
	if err != nil {
		return nil, err
	}
	var allCards float64
	for _, r := range rows {
		allCards += r.num("cards")
	}
	total := float64(len(flagged))
	type cand struct {
		flag Flag
		p    float64
	}
	var cands []cand
	for _, r := range rows {
		org := r.str("org_code")
		h := hits[org]
		if h == nil || allCards == 0 {
			continue
		}
		k := float64(len(h.cards))
		lambda := total * r.num("cards") / allCards
		p := PoissonTail(k, lambda)
		if k < d.Param("min_cards") || p >= d.Param("max_p") {
			continue
		}
		score := Logistic(math.Log10(d.Param("max_p")/math.Max(p, 1e-300)), 3)
		facts := map[string]any{
			"org":           map[string]any{"org_code": org, "name": r.str("org_name"), "kind": "pharmacy", "region": r.str("region_code")},
			"flagged_cards": k, "cards_at_pharmacy": r.num("cards"), "swipes_at_pharmacy": r.num("swipes"),
			"baseline":  map[string]any{"flagged_cards_all_pharmacies": total, "cards_all_pharmacies": allCards, "expected_flagged_cards": lambda},
			"poisson_p": p, "by_detector": h.detectors, "examples": h.examples,
		}
		summary := fmt.Sprintf("%s（%s）有%d张违规刷卡嫌疑卡汇聚，按其客源占比仅应约%.1f张（泊松p=%.2g），涉及%s元",
			r.str("org_name"), org, int(k), lambda, p, h.amount.String())
		cands = append(cands, cand{d.Flag(org, org, score, h.amount, summary, facts, map[string]float64{"poisson": score}), p})
	}
	sort.SliceStable(cands, func(i, j int) bool {
		if cands[i].p != cands[j].p {
			return cands[i].p < cands[j].p
		}
		return cands[i].flag.SubjectID < cands[j].flag.SubjectID
	})
	var flags []Flag
	for i, c := range cands {
		if i >= int(d.Param("top_k")) {
			break
		}
		flags = append(flags, c.flag)
	}
	return flags, ctx.Err()
}
