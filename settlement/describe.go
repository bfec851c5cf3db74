package settlement

import (
	"fmt"
	"math"
	"strings"

	"github.com/medaudit/medaudit/contract"
)

// Describe is what the set holds, for a person checking a policy file
// (medaudit policy check): the file's title, then per region and version
// the period in force, and per insurance and visit type the first band's
// ratio and the deductible of levels 0–3, the cap and the retiree bonus.
// Labels are zh-CN.
func (ps *PolicySet) Describe() string {
	var b strings.Builder
	in := ps.info
	fmt.Fprintf(&b, "政策表 Policy file: %s\n", orDash(in.Title))
	fmt.Fprintf(&b, "版本 Revision: %s   SHA-256: %s\n", orDash(in.Revision), in.SHA256)
	if in.Example {
		b.WriteString("示例：本表数值为演示用示例，非官方费率。 Example values, not official rates.\n")
	}
	versions := 0
	for _, code := range ps.codes {
		versions += len(ps.byCode[mustNumber(code)])
	}
	fmt.Fprintf(&b, "参保地 %d 个，政策版本 %d 个。 %d insured regions, %d policy versions.\n", len(ps.codes), versions, len(ps.codes), versions)
	for _, code := range ps.codes {
		for _, rp := range ps.byCode[mustNumber(code)] {
			fmt.Fprintf(&b, "\n%s %s  有效期 %s 至 %s  取整 %s\n", code, rp.name, dayLabel(rp.from, "不限"), dayLabel(rp.to, "长期"), rp.rounding)
			for ii, ins := range [...]string{"职工", "居民"} {
				for vi, vis := range [...]string{"住院", "门诊", "购药"} {
					vp := &rp.visits[ii][vi]
					ratios, deds := make([]string, 4), make([]string, 4)
					for lv := range vp.levels {
						lp := &vp.levels[lv]
						ratios[lv] = pct(lp.bands[0].ratio)
						if len(lp.bands) > 1 {
							ratios[lv] += fmt.Sprintf("(+%d段)", len(lp.bands)-1)
						}
						deds[lv] = contract.Fen(lp.ded.amount).String()
					}
					basis := "按次起付"
					if vp.basis == basisAnnual {
						basis = "年度起付"
					}
					fmt.Fprintf(&b, "  %s%s  比例(0/1/2/3级) %s  %s %s  封顶 %s", ins, vis, strings.Join(ratios, "/"), basis,
						strings.Join(deds, "/"), contract.Fen(vp.cap))
					if vp.bonus > 0 {
						fmt.Fprintf(&b, "  退休 +%s", points(vp.bonus))
					}
					b.WriteByte('\n')
				}
			}
			b.WriteString("  异地减待遇:")
			for k := kReferral; k < numKinds; k++ {
				fmt.Fprintf(&b, " %s %s;", kindNames[k], reductionLabel(rp.visits[0][0].reduce[k]))
			}
			b.WriteByte('\n')
		}
	}
	return b.String()
}

func reductionLabel(r reduction) string {
	switch r.typ {
	case ReducePoints:
		return "−" + points(r.value)
	case ReduceFactor:
		return "×" + pct(r.value)
	case ReduceAdvanceSelfPay:
		return "先行自付 " + pct(r.value)
	}
	return "不降"
}

func dayLabel(d int64, open string) string {
	if d == math.MinInt64 || d == math.MaxInt64 {
		return open
	}
	return dayString(d)
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func mustNumber(code contract.RegionCode) uint32 {
	n, _ := regionNumber(code)
	return n
}
