package settlement

import (
	"strconv"
	"strings"

	"github.com/medaudit/medaudit/contract"
)

// explainInput carries the intermediate values of settle that Steps report.
type explainInput struct {
	classB, classPre contract.Fen
	bRatio           int
	bMixed           bool
	kind             kindIdx
	cross            bool
	red              reduction
	adv              contract.Fen
	dedStd, dedLeft  contract.Fen
	above            contract.Fen
	fund0, capLeft   contract.Fen
	personal         contract.Fen
	eligible         contract.Fen
}

var kindLabels = [numKinds]string{"异地安置退休", "异地长期居住", "常驻异地工作", "异地转诊", "其他临时外出", "异地急诊抢救", "未备案异地就医"}

// yuan formats fen as yuan with thousands separators: 17,900.00.
func yuan(f contract.Fen) string {
	s := f.String()
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	intPart, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	if neg {
		b.WriteString("-")
	}
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	b.WriteByte('.')
	b.WriteString(frac)
	return b.String()
}

// pct formats a 1/10,000 share as a percentage: 5500 → 55%, 5525 → 55.25%.
func pct(r int64) string {
	s := contract.FormatDecimal(r, 2)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s + "%"
}

// points formats a 1/10,000 share as percentage points: 1500 → 15个百分点.
func points(r int64) string {
	return strings.TrimSuffix(pct(r), "%") + "个百分点"
}

func explain(c *Claim, rp *regionPolicy, vp *visitPolicy, lp *levelPolicy, r *Result, in explainInput) []Step {
	steps := make([]Step, 0, 12+len(lp.bands))
	add := func(name, label string, amt contract.Fen, detail string) {
		steps = append(steps, Step{Name: name, Label: label, Amount: amt, Detail: detail})
	}
	add("total", "医疗费总额", r.Total, strconv.Itoa(len(c.Lines))+" 条费用明细合计")
	add("full_own_pay", "全自费", r.FullOwnPay, "丙类费用（扣除超限价部分）")
	add("over_ceiling", "超限价自费", r.OverCeiling, "单价超过最高限价的部分 × 数量")
	preDetail := "乙类费用 " + yuan(in.classB)
	switch {
	case in.classB == 0:
		preDetail = "无乙类费用"
	case in.bMixed:
		preDetail += " × 各项目先行自付比例 = " + yuan(in.classPre)
	default:
		preDetail += " × " + pct(int64(in.bRatio))
	}
	if in.adv != 0 {
		preDetail += "；异地就医先行自付 " + yuan(in.adv)
	}
	add("pre_selfpay", "先行自付", r.PreSelfPay, preDetail)
	if in.adv != 0 {
		add("advance_selfpay", "异地就医先行自付", in.adv,
			yuan(r.InScope+in.adv)+" × "+pct(in.red.value)+"（"+kindLabels[in.kind]+"）")
	}
	add("in_scope", "符合政策范围金额", r.InScope,
		yuan(r.Total)+" − "+yuan(r.FullOwnPay)+" − "+yuan(r.OverCeiling)+" − "+yuan(r.PreSelfPay))

	var dd string
	if vp.basis == basisAnnual {
		dd = "年度起付标准 " + yuan(in.dedStd) + "，本年已累计 " + yuan(c.DeductibleUsedYTD) + "，剩余 " + yuan(in.dedLeft)
	} else {
		dd = "第" + strconv.Itoa(max(c.NthAdmission, 1)) + "次住院起付标准 " + yuan(in.dedStd)
	}
	if r.Deductible < in.dedLeft {
		dd += "；政策范围内费用不足，按 " + yuan(r.Deductible) + " 计"
	}
	add("deductible", "起付线", r.Deductible, dd)

	ratioNote := ratioExplain(c, vp, in)
	for i := range lp.bands {
		b := &lp.bands[i]
		if int64(in.above) <= b.from && i > 0 {
			break
		}
		er := effRatio(b.ratio, c.Retiree, vp.bonus, in.red)
		portion := max(min(int64(in.above), b.to)-b.from, 0)
		f := share(contract.Fen(portion), er, rp.rounding)
		var d string
		if len(lp.bands) == 1 {
			d = "(" + yuan(r.InScope) + " − " + yuan(r.Deductible) + ") × " + pct(er)
		} else {
			seg := "超过 " + yuan(contract.Fen(b.from)) + " 的部分"
			if b.to != maxBand {
				seg = yuan(contract.Fen(b.from)) + "–" + yuan(contract.Fen(b.to)) + " 段"
			}
			d = "起付线以上" + seg + "：" + yuan(contract.Fen(portion)) + " × " + pct(er)
		}
		if ratioNote != "" {
			d += "（" + strings.ReplaceAll(ratioNote, "{base}", pct(b.ratio)) + "）"
		}
		add("band_"+strconv.Itoa(i+1), "统筹分段支付"+strconv.Itoa(i+1), f, d)
	}
	if r.CapHit {
		add("annual_cap", "年度最高支付限额", r.Fund,
			"限额 "+yuan(contract.Fen(vp.cap))+" − 本年已支付 "+yuan(c.FundUsedYTD)+" = "+yuan(in.capLeft)+"，应付 "+yuan(in.fund0)+" 超限")
	}
	fd := "各分段合计 " + yuan(in.fund0)
	if r.CapHit {
		fd += "，受年度最高支付限额限制为 " + yuan(r.Fund)
	}
	add("fund", "统筹基金支付", r.Fund, fd)
	add("personal", "个人负担", in.personal, yuan(r.Total)+" − "+yuan(r.Fund))
	var ad string
	switch {
	case c.InsuranceType == "resident":
		ad = "居民医保无个人账户"
	default:
		ad = "min(可由个人账户支付 " + yuan(in.eligible) + ", 余额 " + yuan(c.AccountBalance) + ")"
		if !rp.acctClassC {
			ad += "；丙类全自费不可用个人账户"
		}
		if !rp.acctOver {
			ad += "；超限价不可用个人账户"
		}
	}
	add("account", "个人账户支付", r.Account, ad)
	add("cash", "个人现金支付", r.Cash, yuan(in.personal)+" − "+yuan(r.Account))
	return steps
}

// ratioExplain describes how the band ratio was derived; "{base}" stands for
// the band's base ratio. It is empty when nothing modified the ratio.
func ratioExplain(c *Claim, vp *visitPolicy, in explainInput) string {
	var parts []string
	if c.Retiree && vp.bonus != 0 {
		parts = append(parts, "退休 + "+points(vp.bonus))
	}
	switch in.red.typ {
	case ReducePoints:
		parts = append(parts, kindLabels[in.kind]+" − "+points(in.red.value))
	case ReduceFactor:
		parts = append(parts, kindLabels[in.kind]+" × "+pct(in.red.value))
	}
	if len(parts) == 0 {
		return ""
	}
	return "基础 {base}，" + strings.Join(parts, "，")
}
