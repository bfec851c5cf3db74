package detectors

import "github.com/medaudit/medaudit/contract"

// other lists the related violations (DOMAIN.md §7.5, §8.5): split
// admissions, outpatient care billed during a stay, tests after discharge,
// duplicate charges, over-prescribing and frequent outpatient visits.
var other = []factory{
	rule(Info{
		Name: "other.split_admission", SubjectType: contract.SubjectSettlement, PerPerson: true,
		Override: Clinical, Title: "分解住院（15天内同病种同科室再入院）",
		Basis: "GZ10000204001000 分解住院；《医疗保障基金使用监督管理条例》第38条；实施细则（征求意见稿）同诊断、同科室认定",
		Thresholds: []Threshold{
			{Name: "max_gap_days", Default: 15, Unit: "days", Doc: "readmission within this many days of the previous discharge"},
		},
		Caveats: []string{"病情变化或新发急症再入院", "计划性再入院（31天再住院计划）", "放化疗、透析周期", "治疗方案的下一阶段"},
	}, "other_split_admission.sql", nil),
	rule(Info{
		Name: "other.outpatient_during_stay", SubjectType: contract.SubjectSettlement, PerPerson: true,
		Override: Clinical, Title: "住院期间在本院门诊结算",
		Basis: "住院期间门诊就诊模型；条例第38条 重复收费",
		Thresholds: []Threshold{
			{Name: "grace_hours", Default: 2, Unit: "hours", Doc: "visits this close to admission or discharge are ignored"},
		},
		Caveats: []string{"入院当天先门诊后收住院", "住院期间的急诊抢救另行结算", "门诊慢特病按规定单独结算"},
	}, "other_outpatient_during_stay.sql", nil),
	rule(Info{
		Name: "other.lab_after_discharge", SubjectType: contract.SubjectSettlement, PerPerson: true,
		Override: Absolute, Title: "检验检查日期晚于出院",
		Basis: "检验检查日期晚于出院日期模型；条例第38条、第40条 虚构医药服务",
		Thresholds: []Threshold{
			{Name: "grace_hours", Default: 2, Unit: "hours", Doc: "lines this soon after discharge are tolerated"},
		},
		Caveats: []string{"出院后补发报告的记账时间", "门诊复查误记入住院结算"},
	}, "other_lab_after_discharge.sql", nil),
	rule(Info{
		Name: "other.duplicate_item", SubjectType: contract.SubjectSettlement,
		Override: Absolute, Title: "按日计费项目超日限收费（重复收费）",
		Basis:      "GZ10000102012000 重复收费；条例第38条",
		Thresholds: nil,
		Caveats:    []string{"转科当日两个病区各收半日床位费的地方规定", "记账日期录入错误"},
	}, "other_duplicate_item.sql", nil),
	rule(Info{
		Name: "other.overprescribing", SubjectType: contract.SubjectSettlement, PerPerson: true,
		Override: Clinical, Title: "超量开药",
		Basis: "《处方管理办法》第19条（一般不超过7日用量，慢性病可延长）；《长期处方管理规范（试行）》（最长12周）；GZ10000101009000；条例第38条",
		Thresholds: []Threshold{
			{Name: "max_days_acute", Default: 7, Unit: "days", Doc: "days' supply allowed for an acute prescription"},
			{Name: "max_days_chronic", Default: 84, Unit: "days", Doc: "days' supply allowed for a long chronic prescription"},
			{Name: "over_ratio", Default: 2, Unit: "ratio", Doc: "flag an acute or course supply above this multiple of its limit (the days are estimated from the WHO DDD and the smallest common pack); a chronic one above max_days_chronic"},
			{Name: "repeat_times", Default: 3, Unit: "visits", Doc: "a person who obtains the same ATC substance this many times is a chronic (repeat) buyer"},
			{Name: "repeat_span_days", Default: 60, Unit: "days", Doc: "over at least this many days"},
		},
		Caveats: []string{"可供天数按WHO限定日剂量(DDD)与常见规格估算，实际剂量因人而异", "长处方政策（慢病最长12周）", "出院带药", "按盒计价时按最小常见包装估算"},
	}, "other_overprescribing.sql", nil),
	rule(Info{
		Name: "other.frequent_outpatient", SubjectType: contract.SubjectPerson,
		Override: Clinical, Title: "频繁门诊",
		Basis: "频繁就诊规则（两库 频繁门诊）；条例第38条",
		Thresholds: []Threshold{
			{Name: "window_days", Default: 30, Unit: "days", Doc: "rolling window of outpatient visits"},
			{Name: "percentile", Default: 0.99, Unit: "quantile", Doc: "peer percentile the window count must exceed"},
			{Name: "min_visits", Default: 4, Unit: "visits", Doc: "minimum visits in the window"},
		},
		Caveats: []string{"急性病复诊、换药", "多种慢性病分科就诊", "门诊慢特病定期治疗"},
	}, "other_frequent_outpatient.sql", nil),
}
