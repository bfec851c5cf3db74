package detectors

import "github.com/medaudit/medaudit/contract"

// impersonation lists the 冒名就医 detectors (DOMAIN.md §7.2, §8.2); the
// subject is the impersonated settlement.
var impersonation = []factory{
	sqlRule(Info{
		Name: "impersonation.after_death", Family: contract.FamilyImpersonation, SubjectType: contract.SubjectSettlement,
		Override: Absolute, Title: "死亡后就医", Basis: "《医疗保障基金使用监督管理条例》第41条 冒名就医；死亡后就医模型",
		Thresholds: []Threshold{{Name: "after_death_grace_days", Default: 0, Unit: "days",
			Doc: "fee lines up to this many days after the death date are tolerated (late posting)"}},
		Caveats: []string{"死亡日期登记错误", "死亡后的退费冲销记录", "住院期间死亡（离院方式5）当日的费用"},
	}, "impersonation_after_death.sql"),
}
