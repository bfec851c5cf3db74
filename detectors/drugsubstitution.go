package detectors

import "github.com/medaudit/medaudit/contract"

// drugSubstitution lists the 串换药品 detectors (DOMAIN.md §7.3, §8.3); the
// subject is the institution, with line-level evidence.
// drug_substitution.indication_mismatch is left out: the contract carries no
// 限适应症 table, pharmacy sales carry no diagnosis, and a hand-made table
// would flag every hospital of the synthetic data (its inpatient drugs are
// not tied to the diagnosis).
var drugSubstitution = []factory{
	rule(Info{
		Name: "drug_substitution.sales_exceed_stock", SubjectType: contract.SubjectInstitution,
		Override: Clinical, Title: "医保结算量超过进销存可供量", Basis: "GZ10000202001000 进销存数量异常；《医疗保障基金使用监督管理条例》第38条",
		Thresholds: []Threshold{
			{Name: "excess_share", Default: 0.05, Unit: "share", Doc: "excess above this share of the month's billed quantity"},
			{Name: "min_excess_units", Default: 10, Unit: "units", Doc: "excess above this many units in the month"},
		},
		Caveats: []string{"计量单位不一致（盒/片，拆零）", "数据起始前的期初库存", "连锁总部统一采购入库", "寄售库存", "退货延迟入账"},
	}, "drug_substitution_sales_exceed_stock.sql", nil),
	mixDivergence,
	rule(Info{
		Name: "drug_substitution.price_over_purchase", SubjectType: contract.SubjectInstitution,
		Override: Clinical, Title: "结算价超过进价1.5倍（超加价）", Basis: "超加价收费；《医疗保障基金使用监督管理条例》第38条",
		Thresholds: []Threshold{
			{Name: "max_ratio", Default: 1.5, Unit: "×", Doc: "median billed unit price / average purchase price"},
			{Name: "min_amount_yuan", Default: 100, Unit: "yuan", Doc: "fund and account money over the markup an org needs before it is a case for the auditors"},
		},
		Caveats: []string{"包装规格不同（进货按大包装、销售按小包装）", "进价录入错误"},
	}, "drug_substitution_price_over_purchase.sql", nil),
	rule(Info{
		Name: "drug_substitution.price_vs_peers", SubjectType: contract.SubjectInstitution,
		Override: Clinical, Title: "结算价偏离同区同品种中位价", Basis: "价格异常比对；《医疗保障基金使用监督管理条例》第38条",
		Thresholds: []Threshold{
			{Name: "high_ratio", Default: 1.3, Unit: "×", Doc: "median billed price above this × the peers' median"},
			{Name: "low_ratio", Default: 0.5, Unit: "×", Doc: "median billed price below this × the peers' median"},
			{Name: "min_peers", Default: 3, Unit: "orgs", Doc: "peers billing the item in the region and month"},
			{Name: "min_items", Default: 3, Unit: "items", Doc: "drugs out of band needed to flag the org"},
		},
		Caveats: []string{"期间内集采降价", "包装规格不同", "医院与药店定价方式不同"},
	}, "drug_substitution_price_vs_peers.sql", nil),
	itemShare,
	suddenVolume,
	rule(Info{
		Name: "drug_substitution.non_covered_billed", SubjectType: contract.SubjectInstitution,
		Override: Clinical, Title: "目录外（丙类）商品纳入医保结算", Basis: "《医疗保障基金使用监督管理条例》第38条第6项 将不属于基金支付范围的费用纳入结算",
		Thresholds: []Threshold{{Name: "min_lines", Default: 3, Unit: "lines", Doc: "class C lines written with a covered class and paid by the fund or account"}},
		Caveats:    []string{"目录类别编码错误", "目录版本切换期间类别变更"},
	}, "drug_substitution_non_covered_billed.sql", nil),
	rule(Info{
		Name: "drug_substitution.trace_dup", SubjectType: contract.SubjectInstitution,
		Override: Absolute, Title: "药品追溯码重复结算", Basis: "药品追溯码重复结算（回流药、串换药品）；《医疗保障基金使用监督管理条例》第38条、第40条",
		Thresholds: []Threshold{{Name: "min_dups", Default: 2, Unit: "uses", Doc: "duplicate uses of trace codes at the org (re-scans after a refunded sale excluded)"}},
		Caveats:    []string{"作废交易后重新扫码（已核对退费记录）", "扫码设备重复上传"},
	}, "drug_substitution_trace_dup.sql", nil),
}
