package detectors

import "github.com/medaudit/medaudit/contract"

// ghostBed lists the 挂床住院 detectors (DOMAIN.md §7.1, §8.1). The subject is
// the inpatient settlement; ghost_bed.hospital_rate adds institution flags.
// Billing-process features are judged against the hospital's own baseline
// (DOMAIN.md §9), so a hospital whose HIS posts every charge at discharge,
// or a psychiatric hospital with low daily intensity, is normal for itself.
var ghostBed = []factory{
	rule(Info{
		Name: "ghost_bed.no_daily_activity", SubjectType: contract.SubjectSettlement,
		Override: Clinical, Title: "住院日无诊疗活动（只有床位护理费）",
		Basis: "《医疗保障基金使用监督管理条例》第38条 挂床住院；涉嫌挂床住院模型",
		Thresholds: []Threshold{
			{Name: "min_los_days", Default: 4, Unit: "days", Doc: "stays shorter than this are skipped"},
			{Name: "min_idle_share", Default: 0.5, Unit: "share", Doc: "share of full stay-days with no drug, exam, lab, treatment or surgery line"},
			{Name: "min_idle_run_days", Default: 3, Unit: "days", Doc: "longest run of consecutive idle days"},
			{Name: "min_margin_over_hospital", Default: 0.3, Unit: "share", Doc: "idle share above the hospital's own median idle share"},
		},
		Caveats: []string{"精神、康复、安宁疗护住院日常诊疗强度低", "床日付费打包收费", "医院信息系统出院时一次性记账", "经批准的请假"},
	}, "ghost_bed_no_daily_activity.sql", nil),
	rule(Info{
		Name: "ghost_bed.no_daily_charges", SubjectType: contract.SubjectSettlement,
		Override: Clinical, Title: "住院期间多日无床位护理费",
		Basis: "《医疗保障基金使用监督管理条例》第38条 挂床住院（患者不在院）",
		Thresholds: []Threshold{
			{Name: "min_los_days", Default: 4, Unit: "days", Doc: "stays shorter than this are skipped"},
			{Name: "max_coverage", Default: 0.7, Unit: "share", Doc: "share of full stay-days with a bed, nursing or meal charge below which a stay is flagged"},
			{Name: "min_hospital_coverage", Default: 0.95, Unit: "share", Doc: "the hospital's median coverage must reach this (it bills daily)"},
		},
		Caveats: []string{"入院、出院当日半天不计床位费", "医院出院时一次性记账", "经批准的请假外出"},
	}, "ghost_bed_no_daily_charges.sql", nil),
	rule(Info{
		Name: "ghost_bed.no_early_treatment", SubjectType: contract.SubjectSettlement,
		Override: Clinical, Title: "入院48小时内无实质性检查治疗",
		Basis: "定点医疗机构服务协议：入院48小时内无实质性检查、治疗视为挂床住院；条例第38条",
		Thresholds: []Threshold{
			{Name: "window_hours", Default: 48, Unit: "hours", Doc: "first hours of the stay that must carry a drug, exam, lab or treatment line"},
			{Name: "pre_admission_hours", Default: 24, Unit: "hours", Doc: "tests this long before admission count as the work-up"},
			{Name: "max_hospital_late_share", Default: 0.2, Unit: "share", Doc: "the hospital's own share of such stays must not exceed this (else its HIS posts late)"},
		},
		Caveats: []string{"周五至周日入院等待周一择期手术", "入院前已完成的检查", "医院出院时一次性记账"},
	}, "ghost_bed_no_early_treatment.sql", nil),
	rule(Info{
		Name: "ghost_bed.exam_only", SubjectType: contract.SubjectSettlement, PerPerson: true,
		Override: Clinical, Title: "住院只做检查化验、无治疗",
		Basis: "低标准入院：检查费占比≥80%且无明确治疗（县级挂床住院认定标准）；条例第38条",
		Thresholds: []Threshold{
			{Name: "min_exam_share", Default: 0.8, Unit: "share", Doc: "exam and lab amount over the stay's line total"},
		},
		Caveats: []string{"诊断不明需住院系统检查（诊断性住院）", "转院前的术前检查"},
	}, "ghost_bed_exam_only.sql", nil),
	rule(Info{
		Name: "ghost_bed.outside_activity", SubjectType: contract.SubjectSettlement, PerPerson: true,
		Override: Clinical, Title: "住院期间在其他机构就诊、购药或刷卡",
		Basis: "住院期间门诊就诊模型；条例第38条 挂床住院（住院期间在单位或家中）",
		Thresholds: []Threshold{
			{Name: "margin_hours", Default: 4, Unit: "hours", Doc: "activity this close to admission or discharge is ignored"},
			{Name: "min_weight", Default: 1, Unit: "weighted events", Doc: "sum of event weights (visit 1, purchase or bare swipe 0.5) that flags a stay"},
			{Name: "weight_other_city", Default: 2, Unit: "factor", Doc: "weight of an event in another city of the same province"},
			{Name: "weight_other_province", Default: 3, Unit: "factor", Doc: "weight of an event in another province"},
			{Name: "weight_night", Default: 1.5, Unit: "factor", Doc: "weight of an event at 20:00–06:00"},
		},
		Caveats: []string{"病房安排的外院检查（外出检查）", "家属持双方证件代购药品（条例第17条）", "出院当日带药", "门诊慢特病定期透析"},
	}, "ghost_bed_outside_activity.sql", nil),
	rule(Info{
		Name: "ghost_bed.charges_outside_stay", SubjectType: contract.SubjectSettlement, PerPerson: true,
		Override: Clinical, Title: "住院期间外的费用计入住院结算",
		Basis: "GZ10000201008000 住院期间外收费；条例第38条",
		Thresholds: []Threshold{
			{Name: "tolerance_hours", Default: 24, Unit: "hours", Doc: "lines this close before admission or after discharge are tolerated"},
		},
		Caveats: []string{"部分地区允许入院前24–72小时的检查纳入住院", "出院带药", "记账时间录入错误"},
	}, "ghost_bed_charges_outside_stay.sql", nil),
	rule(Info{
		Name: "ghost_bed.batch_backfill", SubjectType: contract.SubjectSettlement,
		Override: Clinical, Title: "住院费用集中补录",
		Basis: "cf. GZ10000201007000；条例第38条 挂床住院、第40条 虚构医药服务",
		Thresholds: []Threshold{
			{Name: "min_los_days", Default: 3, Unit: "days", Doc: "shorter stays are skipped"},
			{Name: "min_lines", Default: 10, Unit: "lines", Doc: "stays with fewer fee lines are skipped"},
			{Name: "min_share", Default: 0.8, Unit: "share", Doc: "share of lines at one timestamp or on the discharge date"},
			{Name: "max_hospital_median_share", Default: 0.5, Unit: "share", Doc: "the hospital's own median share must not exceed this (else its HIS posts at discharge)"},
		},
		Caveats: []string{"医院信息系统在结算时统一记账", "系统故障后集中补录"},
	}, "ghost_bed_batch_backfill.sql", nil),
	rule(Info{
		Name: "ghost_bed.frequent_short_stays", SubjectType: contract.SubjectSettlement, PerPerson: true,
		Override: Clinical, Title: "同一机构频繁住院",
		Basis: "GZ10000204004000 频繁住院；条例第38条",
		Thresholds: []Threshold{
			{Name: "window_days", Default: 90, Unit: "days", Doc: "window of admissions"},
			{Name: "min_admissions", Default: 3, Unit: "admissions", Doc: "admissions of one person at one hospital within the window"},
			{Name: "max_mean_los_days", Default: 7, Unit: "days", Doc: "the stays of the window must be short: mean length of stay at most this"},
		},
		Caveats: []string{"肿瘤放化疗周期（Z51）", "透析及其并发症", "计划再入院（31天再住院计划）", "病情确有反复"},
	}, "ghost_bed_frequent_short_stays.sql", nil),
	groupAdmissionRule,
	rule(Info{
		Name: "ghost_bed.over_capacity", SubjectType: contract.SubjectSettlement,
		Override: Clinical, Title: "在院人数超过核定床位",
		Basis: "定点医疗机构服务协议 核定床位；条例第38条 挂床住院",
		Thresholds: []Threshold{
			{Name: "capacity_factor", Default: 1.05, Unit: "× beds", Doc: "midnight census above this multiple of approved beds is over capacity"},
			{Name: "min_days_per_quarter", Default: 7, Unit: "days", Doc: "over-capacity days a quarter needs before its stays are flagged"},
			{Name: "min_share_of_over_nights", Default: 0.75, Unit: "share", Doc: "a stay is flagged when it spans this share of the quarter's over-capacity nights"},
			{Name: "min_share_of_stay_nights", Default: 0.5, Unit: "share", Doc: "… and this share of its own nights are over-capacity nights"},
		},
		Caveats: []string{"旺季经批准的临时加床", "核定床位数据未更新"},
	}, "ghost_bed_over_capacity.sql", nil),
	rule(Info{
		Name: "ghost_bed.low_indication_dx", SubjectType: contract.SubjectSettlement,
		Override: Clinical, Title: "门诊可治病种收住院且几乎未治疗",
		Basis: "涉嫌挂床住院—主诊断筛查；低标准入院（门诊能治却收住院）；条例第38条",
		Thresholds: []Threshold{
			{Name: "min_los_days", Default: 5, Unit: "days", Doc: "length of stay from which an outpatient-manageable diagnosis is suspicious"},
			{Name: "max_treated_share", Default: 0.3, Unit: "share", Doc: "share of stay-days with a drug, treatment or surgery line at or below which the stay is flagged"},
			{Name: "min_hospital_treated_share", Default: 0.6, Unit: "share", Doc: "the hospital's median treated share must reach this (it bills day by day)"},
		},
		Caveats: []string{"主诊断之外的合并症或并发症", "血压、血糖控制不佳需住院调整方案"},
	}, "ghost_bed_low_indication_dx.sql", nil),
	hospitalRateRule,
}
