package detectors

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/medaudit/medaudit/contract"
	"github.com/medaudit/medaudit/settlement"
)

// settlementFamily lists the settlement-error detectors (DOMAIN.md §5.8);
// the subject is the settlement. Five of them share one recompute of every
// settlement with the settlement engine (recomputeStream); the registration
// and resident-account checks are SQL.
var settlementFamily = []factory{
	recomputeRule(Info{
		Name: "settlement.recompute_diff", Family: contract.FamilySettlement, SubjectType: contract.SubjectSettlement, PerPerson: true,
		Override: Absolute, Title: "统筹基金支付与重算结果不符",
		Basis: "参保地政策、就医地目录（医保发〔2022〕22号）；条例第38条第6项",
		Thresholds: []Threshold{{Name: "fen_per_step", Default: 1, Unit: "fen",
			Doc: "tolerance per rounding step (per-line over-ceiling and class B shares, deductible, bands, account): platforms round at other steps (DOMAIN §5.7)"}},
		Caveats: []string{"参保地政策年度调整而本系统政策表未更新", "参保地在其他环节取整", "年度累计（起付线、封顶线、第几次住院）含本批次以外的结算",
			"个人账户余额以年初余额推算"},
	}, checkRecomputeDiff),
	recomputeRule(Info{
		Name: "settlement.wrong_kind", Family: contract.FamilySettlement, SubjectType: contract.SubjectSettlement, PerPerson: true,
		Override: Absolute, Title: "结算所用报销比例对应的备案类型与实际备案不符",
		Basis: "医保发〔2022〕22号 临时外出就医待遇可低于长期居住；DOMAIN §5.3/§5.6",
		Thresholds: []Threshold{{Name: "fen_per_step", Default: 1, Unit: "fen",
			Doc: "tolerance per rounding step when matching the settled fund to another registration kind's recompute"}},
		Caveats: []string{"备案类型在结算后变更（如临时外出改为异地长期居住）", "急诊抢救视同备案的认定差异"},
	}, checkWrongKind),
	recomputeRule(Info{
		Name: "settlement.deductible_skipped", Family: contract.FamilySettlement, SubjectType: contract.SubjectSettlement, PerPerson: true,
		Override: Absolute, Title: "住院结算未扣起付线", Basis: "参保地起付标准（按次住院）；条例第38条第6项",
		Thresholds: []Threshold{{Name: "fen_per_step", Default: 1, Unit: "fen",
			Doc: "tolerance per rounding step when matching the over-payment to the deductible × ratio"}},
		Caveats: []string{"转院续住等参保地免收起付线的情形", "同一疾病年度内多次住院的起付线政策差异"},
	}, checkDeductibleSkipped),
	recomputeRule(Info{
		Name: "settlement.c_class_paid", Family: contract.FamilySettlement, SubjectType: contract.SubjectSettlement, PerPerson: true,
		Override: Absolute, Title: "统筹基金或个人账户支付丙类（全自费）项目",
		Basis: "条例第38条第6项 将不属于医保基金支付范围的费用纳入结算；就医地目录",
		Thresholds: []Threshold{{Name: "fen_per_step", Default: 1, Unit: "fen",
			Doc: "tolerance per rounding step when matching the over-payment to the class C lines"}},
		Caveats: []string{"目录版本更新（项目由丙类调入甲乙类）", "参保地允许个人账户支付全自费费用"},
	}, checkCClassPaid),
	recomputeRule(Info{
		Name: "settlement.cap_exceeded", Family: contract.FamilySettlement, SubjectType: contract.SubjectSettlement, PerPerson: true,
		Override: Absolute, Title: "统筹基金年度支付超过最高支付限额", Basis: "参保地最高支付限额（封顶线）",
		Thresholds: []Threshold{{Name: "fen_per_step", Default: 1, Unit: "fen",
			Doc: "tolerance per rounding step on the payment above the cap"}},
		Caveats: []string{"超出部分由大病保险、大额补助支付而计入统筹基金字段", "年度累计含本批次以外的结算"},
	}, checkCapExceeded),
	rule(Info{
		Name: "settlement.no_registration", Family: contract.FamilySettlement, SubjectType: contract.SubjectSettlement, PerPerson: true,
		Override: Absolute, Title: "异地就医直接结算无有效备案", Basis: "医保发〔2022〕22号 异地就医备案；急诊抢救视同备案、出院结算前补办备案有效",
		Thresholds: []Threshold{{Name: "min_score", Default: 0.85, Unit: "score", Doc: "score of a cross-region settlement with no covering registration"}},
		Caveats:    []string{"急诊抢救未标记急诊", "备案数据未随批次下发", "备案就医地填写为上级区划"},
	}, "settlement_no_registration.sql", nil),
	rule(Info{
		Name: "settlement.resident_account", Family: contract.FamilySettlement, SubjectType: contract.SubjectSettlement, PerPerson: true,
		Override: Absolute, Title: "居民医保参保人使用个人账户支付", Basis: "居民医保不设个人账户；条例第38条第6项",
		Thresholds: []Threshold{{Name: "min_account", Default: 0.01, Unit: "yuan", Doc: "account payments from this amount on are flagged"}},
		Caveats:    []string{"参保类型变更（居民转职工）未及时更新", "家庭共济：职工家属账户支付被记在居民本人名下"},
	}, "settlement_resident_account.sql", nil),
}

// recomputeDetector is a settlement check answered by the recompute pass.
type recomputeDetector struct {
	Rule
	ps    *settlement.PolicySet
	check func(d *recomputeDetector, r *recomputed) (Flag, bool)
}

func recomputeRule(info Info, check func(d *recomputeDetector, r *recomputed) (Flag, bool)) factory {
	return func(params map[string]float64) (Detector, error) {
		r, err := NewRule(info, params)
		if err != nil {
			return nil, err
		}
		ps, err := settlement.DefaultPolicies()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", info.Name, err)
		}
		return &recomputeDetector{Rule: r, ps: ps, check: check}, nil
	}
}

// Policies implements PolicyUser.
func (d *recomputeDetector) Policies() *settlement.PolicySet { return d.ps }

// Detect implements Detector: the flags by subject.
func (d *recomputeDetector) Detect(ctx context.Context, q Querier) ([]Flag, error) {
	var (
		mu  sync.Mutex
		out []Flag
	)
	err := d.DetectEach(ctx, q, func(f Flag) error {
		mu.Lock()
		defer mu.Unlock()
		out = append(out, f)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SubjectID < out[j].SubjectID })
	return out, nil
}

// DetectEach implements FlagStreamer; a flag's subject is its claim. The
// claims that disagree are checked on every core, each calling emit: a
// flag's evidence (the step-by-step settlement, the other registration
// kinds tried) is most of a check's cost, and the scan's queries wait for
// it (at 10.0 M settlements about 5 s for recompute_diff's 47 k flags).
func (d *recomputeDetector) DetectEach(ctx context.Context, q Querier, emit func(Flag) error) error {
	diffs, err := recomputeDiffs(ctx, q, d.ps)
	if err != nil {
		return fmt.Errorf("%s: %w", d.Name(), err)
	}
	g, gctx := errgroup.WithContext(ctx)
	n := runtime.GOMAXPROCS(0)
	for w := range n {
		g.Go(func() error {
			for i := w; i < len(diffs); i += n {
				if err := gctx.Err(); err != nil {
					return err
				}
				if f, ok := d.check(d, diffs[i]); ok {
					if err := emit(f); err != nil {
						return err
					}
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return ctx.Err()
}

// tol is the tolerance of r in force: fen_per_step × rounding steps.
func (d *recomputeDetector) tol(r *recomputed) contract.Fen {
	return contract.Fen(d.Param("fen_per_step") * float64(r.Steps))
}

// overpaid is the fund and account money paid above the recomputation.
func overpaid(r *recomputed) contract.Fen {
	return max(r.Fund-r.Res.Fund, 0) + max(r.Account-r.Res.Account, 0)
}

// sizeScore rises with the difference relative to the visit total.
func sizeScore(diff, total contract.Fen) float64 {
	rel := float64(absFen(diff)) / float64(max(total/10, 100))
	return 0.6 + 0.35*min(1, rel)
}

var kindNames = map[string]string{
	"relocated_retiree": "异地安置退休", "long_term_resident": "异地长期居住", "posted_worker": "常驻异地工作",
	"referral": "异地转诊", "temporary": "其他临时外出", "emergency": "急诊抢救", "": "未备案",
}

// altKinds are the registration kinds (and emergency, and none) tried when
// a settlement's fund does not recompute under its own kind.
var altKinds = []string{"relocated_retiree", "long_term_resident", "posted_worker", "referral", "temporary", "emergency", ""}

// kindsMatching returns the other kinds whose recomputation gives the
// settled fund within tol, with the ratio each implies.
func kindsMatching(ps *settlement.PolicySet, r *recomputed, tol contract.Fen) ([]string, int) {
	used := r.RegKind
	if r.Emergency && r.RegKind != "relocated_retiree" && r.RegKind != "long_term_resident" && r.RegKind != "posted_worker" {
		used = "emergency"
	}
	var kinds []string
	ratio := 0
	for _, k := range altKinds {
		if k == used {
			continue
		}
		res, ok := r.with(ps, func(c *settlement.Claim) {
			c.Registration, c.Emergency = k, k == "emergency"
			if k == "emergency" {
				c.Registration = ""
			}
		})
		if ok && absFen(r.Fund-res.Fund) <= tol {
			kinds = append(kinds, k)
			ratio = res.Ratio
		}
	}
	return kinds, ratio
}

// skippedDeductible is the fund the deductible would have cost it.
func skippedDeductible(r *recomputed) contract.Fen {
	extra := contract.Fen(int64(r.Res.Deductible) * int64(r.Res.Ratio) / 10_000)
	return min(extra, r.Res.Cash+r.Res.Account)
}

func checkRecomputeDiff(d *recomputeDetector, r *recomputed) (Flag, bool) {
	tol := d.tol(r)
	diff := r.Fund - r.Res.Fund
	if absFen(diff) <= tol {
		return Flag{}, false
	}
	facts := stepsEvidence(d.ps, r)
	var causes []string
	if ks, _ := kindsMatching(d.ps, r, tol); len(ks) > 0 {
		causes = append(causes, "按其他备案类型计算（settlement.wrong_kind）")
	}
	if r.VisitType == visitInpatient && r.Res.Deductible > 0 && absFen(diff-skippedDeductible(r)) <= tol+1 {
		causes = append(causes, "未扣起付线（settlement.deductible_skipped）")
	}
	if len(r.ClassC) > 0 && diff > 0 {
		causes = append(causes, "丙类项目纳入支付（settlement.c_class_paid）")
	}
	if r.Res.CapHit {
		causes = append(causes, "年度封顶线（settlement.cap_exceeded）")
	}
	facts["likely_causes"] = causes
	score := sizeScore(diff, r.Total)
	dir := "多付"
	if diff < 0 {
		score *= 0.7 // an under-payment costs the patient, not the fund
		dir = "少付"
	}
	summary := fmt.Sprintf("结算单%s统筹基金支付%s元，按参保地%s政策重算应为%s元，%s%s元（容差%s元）",
		r.ID, r.Fund, r.Claim.InsuredRegion, r.Res.Fund, dir, absFen(diff), tol)
	return d.Flag(r.ID, r.Org, score, overpaid(r), summary, facts, map[string]float64{"size": score}), true
}

func checkWrongKind(d *recomputeDetector, r *recomputed) (Flag, bool) {
	tol := d.tol(r)
	if absFen(r.Fund-r.Res.Fund) <= tol {
		return Flag{}, false
	}
	kinds, ratio := kindsMatching(d.ps, r, tol)
	if len(kinds) == 0 {
		return Flag{}, false
	}
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = kindNames[k]
	}
	facts := stepsEvidence(d.ps, r)
	facts["registration_kind_on_file"] = kindNames[r.RegKind]
	facts["kinds_reproducing_settled_fund"] = names
	facts["ratio_on_file"] = fmt.Sprintf("%.2f%%", float64(r.Res.Ratio)/100)
	facts["ratio_used"] = fmt.Sprintf("%.2f%%", float64(ratio)/100)
	summary := fmt.Sprintf("结算单%s统筹基金支付%s元，与按%s备案重算的%s元不符，却与按%s备案（比例%.2f%%）计算一致",
		r.ID, r.Fund, kindNames[r.RegKind], r.Res.Fund, strings.Join(names, "/"), float64(ratio)/100)
	score := sizeScore(r.Fund-r.Res.Fund, r.Total)
	return d.Flag(r.ID, r.Org, score, overpaid(r), summary, facts, map[string]float64{"size": score}), true
}

func checkDeductibleSkipped(d *recomputeDetector, r *recomputed) (Flag, bool) {
	tol := d.tol(r)
	diff := r.Fund - r.Res.Fund
	if r.VisitType != visitInpatient || r.Res.Deductible <= 0 || diff <= tol {
		return Flag{}, false
	}
	want := skippedDeductible(r)
	if want <= 0 || absFen(diff-want) > tol+1 {
		return Flag{}, false
	}
	facts := stepsEvidence(d.ps, r)
	facts["deductible_due"] = r.Res.Deductible.String()
	facts["fund_share_of_deductible"] = want.String()
	summary := fmt.Sprintf("第%d次住院应扣起付线%s元，统筹基金却多付%s元（≈起付线×%.2f%%），相当于未扣起付线",
		r.Claim.NthAdmission, r.Res.Deductible, diff, float64(r.Res.Ratio)/100)
	return d.Flag(r.ID, r.Org, 0.9, overpaid(r), summary, facts, map[string]float64{"match": 0.9}), true
}

func checkCClassPaid(d *recomputeDetector, r *recomputed) (Flag, bool) {
	tol := d.tol(r)
	if len(r.ClassC) == 0 || overpaid(r) <= tol {
		return Flag{}, false
	}
	var c contract.Fen
	for _, l := range r.ClassC {
		c += l.Amount
	}
	how := ""
	if len(r.Mismatched) > 0 {
		if res, err := d.ps.SettleQuick(withLines(r.Claim, r.LineClass)); err == nil &&
			absFen(res.Fund-r.Fund) <= tol && absFen(res.Account-r.Account) <= tol {
			how = "收费明细将目录丙类项目记为甲/乙类"
		}
	}
	if how == "" && absFen(r.Fund-r.Res.Fund-min(r.Res.FullOwnPay, r.Res.Cash+r.Res.Account)) <= tol {
		how = "统筹基金支付了全自费（丙类）部分"
	}
	if how == "" {
		return Flag{}, false
	}
	facts := stepsEvidence(d.ps, r)
	facts["class_c_lines"] = refsEvidence(r.ClassC)
	facts["class_c_amount"] = c.String()
	facts["lines_written_with_other_class"] = refsEvidence(r.Mismatched)
	facts["how"] = how
	summary := fmt.Sprintf("结算单%s含丙类（全自费）项目%d项共%s元，%s，基金与个人账户多付%s元",
		r.ID, len(r.ClassC), c, how, overpaid(r))
	score := sizeScore(overpaid(r), r.Total)
	return d.Flag(r.ID, r.Org, score, overpaid(r), summary, facts, map[string]float64{"size": score}), true
}

// withLines returns c with other lines.
func withLines(c settlement.Claim, lines []settlement.Line) settlement.Claim {
	c.Lines = lines
	return c
}

func checkCapExceeded(d *recomputeDetector, r *recomputed) (Flag, bool) {
	tol := d.tol(r)
	over := r.Fund - r.Res.Fund
	if !r.Res.CapHit || over <= tol {
		return Flag{}, false
	}
	facts := stepsEvidence(d.ps, r)
	summary := fmt.Sprintf("参保人%s本年%s统筹基金已支付%s元，本次结算触及最高支付限额，应付%s元却支付%s元，超限%s元",
		r.Person, r.VisitType, r.Claim.FundUsedYTD, r.Res.Fund, r.Fund, over)
	return d.Flag(r.ID, r.Org, 0.9, over, summary, facts, map[string]float64{"cap": 0.9}), true
}

// refsEvidence copies fee lines into evidence (the recompute reuses its slices).
func refsEvidence(refs []lineRef) []map[string]string {
	out := make([]map[string]string, len(refs))
	for i, l := range refs {
		out[i] = map[string]string{"item_id": l.ItemID, "item_code": l.Code, "item_name": l.Name,
			"class_on_line": l.Written, "class_in_catalogue": l.Catalogue, "amount": l.Amount.String()}
	}
	return out
}
