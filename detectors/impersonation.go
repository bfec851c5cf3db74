package detectors

import "github.com/medaudit/medaudit/contract"

// impersonation lists the 冒名就医 detectors (DOMAIN.md §7.2, §8.2); the
// subject is the impersonated settlement. Evidence shows codes with their
// Chinese names (reference tables of package codes) and the person's sex
// and age, never the ID number or the name. impersonation.profile_shift is
// not a detector: DOMAIN makes it a score-only feature and no other signal
// here needs it.
var impersonation = []factory{
	rule(Info{
		Name: "impersonation.after_death", SubjectType: contract.SubjectSettlement, PerPerson: true,
		Override: Absolute, Title: "死亡后就医", Basis: "《医疗保障基金使用监督管理条例》第41条 冒名就医；死亡后就医模型",
		Thresholds: []Threshold{{Name: "after_death_grace_days", Default: 0, Unit: "days",
			Doc: "fee lines up to this many days after the death date are tolerated (late posting)"}},
		Caveats: []string{"死亡日期登记错误", "死亡后的退费冲销记录", "住院期间死亡（离院方式5）当日的费用"},
	}, "impersonation_after_death.sql", nil),
	rule(Info{
		Name: "impersonation.sex_conflict", SubjectType: contract.SubjectSettlement, PerPerson: true,
		Override: Clinical, Title: "诊断或收费项目与性别不符",
		Basis: "GZ10000204006000 诊断与患者性别不符；GZ10000301004000/GZ10000302004000 药品/医疗服务项目区分性别使用；条例第41条",
		Thresholds: []Threshold{
			{Name: "dx_score", Default: 0.85, Unit: "score", Doc: "score of a diagnosis restricted to the other sex"},
			{Name: "item_score", Default: 0.75, Unit: "score", Doc: "score of fee items restricted to the other sex (combined by noisy-OR)"},
		},
		Caveats: []string{"诊断或项目录入错误（下拉选择错位、拼音首字母相同）", "新生儿随母结算：新生儿项目记在母亲名下",
			"性别登记错误", "跨性别/两性畸形等罕见情况"},
	}, "impersonation_sex_conflict.sql", nil),
	rule(Info{
		Name: "impersonation.age_conflict", SubjectType: contract.SubjectSettlement, PerPerson: true,
		Override: Clinical, Title: "诊断或收费项目与年龄不符",
		Basis: "GZ10000204007000 诊断与患者年龄不符；GZ10000301002000 药品儿童专用；条例第41条",
		Thresholds: []Threshold{
			{Name: "dx_score", Default: 0.75, Unit: "score", Doc: "base score of a diagnosis outside its age band (O chapter 12–55, P chapter/Z38 ≤ 1 year); +0.2 at 10 years off"},
			{Name: "item_score", Default: 0.65, Unit: "score", Doc: "base score of child-only (≤ 14) or neonatal (≤ 1) items at an older age; +0.2 at 20 years off"},
		},
		Caveats: []string{"诊断录入错误（如“无痛胃肠镜”误选为“无痛取卵”）", "新生儿随母结算：围生期诊断或新生儿项目记在母亲名下",
			"出生日期登记错误"},
	}, "impersonation_age_conflict.sql", nil),
	rule(Info{
		Name: "impersonation.atypical_diagnosis", SubjectType: contract.SubjectSettlement,
		Override: Clinical, Title: "住院诊断在参保人年龄段或性别中几乎不出现",
		Basis: "GZ10000204006000/7000 诊断与患者性别、年龄不符（统计版：按本批数据的年龄段×诊断类目频率，经验贝叶斯收缩）；条例第41条 冒名就医",
		Thresholds: []Threshold{
			{Name: "max_relative_rate", Default: 0.1, Unit: "ratio", Doc: "posterior rate of the category in the holder's band ÷ its overall rate below which the admission is atypical"},
			{Name: "age_window_years", Default: 5, Unit: "years", Doc: "the holder's age band is their age ± this many years (a sliding band: no fixed band edges)"},
			{Name: "min_expected", Default: 3, Unit: "visits", Doc: "diagnosed visits of the category the band would hold at the overall rate; fewer and the band cannot tell"},
			{Name: "prior_weight", Default: 100, Unit: "visits", Doc: "weight κ of the prior (category rate × chapter profile) in the band's beta-binomial posterior"},
			{Name: "chapter_prior_weight", Default: 50, Unit: "visits", Doc: "weight of 1 (no age/sex effect) in the chapter's age/sex profile"},
		},
		Caveats: []string{"诊断录入错误（拼音首字母误选）", "出生日期或性别登记错误", "罕见但真实的病例（如儿童脑卒中、男性乳腺癌）",
			"新生儿随母结算：围生期诊断记在母亲名下（已排除）"},
	}, "impersonation_atypical_diagnosis.sql", nil),
	rule(Info{
		Name: "impersonation.overlapping_stays", SubjectType: contract.SubjectSettlement, PerPerson: true,
		Override: Clinical, Title: "同一参保人在不同机构重叠住院", Basis: "重叠住院模型；条例第41条 冒名就医",
		Thresholds: []Threshold{{Name: "min_overlap_hours", Default: 12, Unit: "hours",
			Doc: "two stays at different institutions overlapping longer than this (a same-day transfer overlaps by a few hours at most)"}},
		Caveats: []string{"当日转院（出院与入院时间记录误差）", "请假外出就医或外院检查被登记为住院", "出入院时间录入错误"},
	}, "impersonation_overlapping_stays.sql", nil),
	rule(Info{
		Name: "impersonation.two_places", SubjectType: contract.SubjectSettlement, PerPerson: true,
		Override: Absolute, Title: "同一参保人短时间内异地就医", Basis: "同一时间多地就医模型；条例第41条 冒名就医",
		Thresholds: []Threshold{
			{Name: "province_hours", Default: 3, Unit: "hours", Doc: "activity in another province less than this apart is impossible travel"},
			{Name: "city_hours", Default: 1, Unit: "hours", Doc: "activity in another city of the same province less than this apart is impossible travel"},
		},
		Caveats: []string{"医保电子凭证由家属远程出示（授权代办），评分已降低", "机构区划登记错误", "系统时钟或补录时间错误"},
	}, "impersonation_two_places.sql", nil),
	rule(Info{
		Name: "impersonation.card_person_mismatch", SubjectType: contract.SubjectSettlement, PerPerson: true,
		Override: Absolute, Title: "人卡不符：使用他人社保卡结算", Basis: "条例第17条 持本人凭证就医；第41条 冒名就医",
		Thresholds: []Threshold{{Name: "base_score", Default: 0.8, Unit: "score",
			Doc: "score of a settlement made with another person's card; +0.1 when the sexes differ, +0.05 when the ages differ by 15 years or more"}},
		Caveats: []string{"家庭共济或经双方身份证授权的代购药（条例第17条第2款）", "补换卡期间卡号登记错误"},
	}, "impersonation_card_person_mismatch.sql", nil),
	rule(Info{
		Name: "impersonation.id_inconsistent", SubjectType: contract.SubjectSettlement, PerPerson: true,
		Override: Absolute, Title: "身份证号码与登记性别/出生日期不符", Basis: "GB 11643 公民身份号码；条例第41条 冒名就医",
		Thresholds: []Threshold{
			{Name: "sex_score", Default: 0.7, Unit: "score", Doc: "score when the ID number's sex digit contradicts persons.sex"},
			{Name: "birth_score", Default: 0.6, Unit: "score", Doc: "score when the ID number's birth digits contradict persons.birth_date (noisy-OR with sex)"},
		},
		Caveats: []string{"15位旧身份证号码升位错误", "参保登记录入错误（同时是数据质量问题）"},
	}, "impersonation_id_inconsistent.sql", nil),
	rule(Info{
		Name: "impersonation.co_admission", SubjectType: contract.SubjectSettlement,
		Override: Clinical, Title: "结伴住院：同一组人员多次共同入院", Basis: "结伴住院模型；条例第40条 协助冒名或虚假就医",
		Thresholds: []Threshold{
			{Name: "window_minutes", Default: 30, Unit: "minutes",
				Doc: "admissions at one institution this close count as together (a crew arrives within half an hour; at 2 h busy tier-3 mornings make chance triples)"},
			{Name: "min_times", Default: 2, Unit: "occasions", Doc: "the same three persons admitted together at least this often"},
			{Name: "base_score", Default: 0.65, Unit: "score", Doc: "score at min_times; +0.1 per further occasion, +0.05 per further group the stay belongs to"},
		},
		Caveats: []string{"家庭成员同时患病（如食物中毒、流感）", "养老院、福利院集体送医", "单位组织的集体体检或疗养"},
	}, "impersonation_co_admission.sql", nil),
}
