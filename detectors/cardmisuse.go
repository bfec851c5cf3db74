package detectors

import "github.com/medaudit/medaudit/contract"

// cardMisuse lists the 社保卡违规使用 detectors (DOMAIN.md §7.4, §8.4): the
// card rules, then the hub pharmacies behind the flagged cards.
var cardMisuse = append(cardMisuseCards[:len(cardMisuseCards):len(cardMisuseCards)], hubPharmacy)

// cardMisuseCards are the rules whose subject is the card.
var cardMisuseCards = []factory{
	burstAtOrg,
	rule(Info{
		Name: "card_misuse.off_hours", SubjectType: contract.SubjectCard,
		Override: Clinical, Title: "非营业时间刷卡购药", Basis: "《医疗保障基金使用监督管理条例》第38条、第40条；定点零售药店刷卡时段异常",
		Thresholds: []Threshold{
			{Name: "night_from_hour", Default: 22, Unit: "hour", Doc: "night starts at this hour"},
			{Name: "night_to_hour", Default: 7, Unit: "hour", Doc: "night ends at this hour"},
			{Name: "night_share_open", Default: 0.05, Unit: "share", Doc: "an org with at least this share of its swipes at night is treated as open 24 h (learned from its own data)"},
		},
		Caveats: []string{"24小时营业药店（按机构自身夜间刷卡占比识别）", "营业时间登记变更", "终端时钟错误"},
	}, "card_misuse_off_hours.sql", nil),
	rule(Info{
		Name: "card_misuse.many_pharmacies", SubjectType: contract.SubjectCard, PerPerson: true,
		Override: Clinical, Title: "一卡多店购药", Basis: "频繁购药（GZ10000204003000）；单卡多店刷卡监测",
		Thresholds: []Threshold{
			{Name: "day_pharmacies", Default: 3, Unit: "pharmacies", Doc: "distinct pharmacies on one day"},
			{Name: "year_pharmacies", Default: 5, Unit: "pharmacies", Doc: "distinct pharmacies in one year, together with year_fund_yuan"},
			{Name: "year_fund_yuan", Default: 5000, Unit: "yuan", Doc: "fund + personal account paid in that year at pharmacies other than the card's most-used one"},
		},
		Caveats: []string{"出差、旅行途中购药", "慢病患者因药店缺货多店购药", "家庭成员共济使用个人账户"},
	}, "card_misuse_many_pharmacies.sql", nil),
	rule(Info{
		Name: "card_misuse.frequent_purchase", SubjectType: contract.SubjectCard, PerPerson: true,
		Override: Clinical, Title: "频繁购药", Basis: "GZ10000204003000 频繁购药；《医疗保障基金使用监督管理条例》第38条",
		Thresholds: []Threshold{
			{Name: "year_purchases", Default: 10, Unit: "purchases", Doc: "purchases in one year at one pharmacy"},
			{Name: "chronic_gap_days", Default: 20, Unit: "days", Doc: "a median gap of at least this many days between purchases at that pharmacy is a chronic monthly buyer and does not count"},
			{Name: "week_purchases", Default: 4, Unit: "purchases", Doc: "purchases within 7 days at any pharmacy"},
		},
		Caveats: []string{"慢病长处方按月规律购药", "家庭成员共济使用个人账户", "代老人购药"},
	}, "card_misuse_frequent_purchase.sql", nil),
	rule(Info{
		Name: "card_misuse.cross_org_rapid", SubjectType: contract.SubjectCard,
		Override: Clinical, Title: "短时间内跨机构刷卡", Basis: "短时间跨机构刷卡监测；《医疗保障基金使用监督管理条例》第38条",
		Thresholds: []Threshold{
			{Name: "gap_minutes", Default: 30, Unit: "minutes", Doc: "two swipes at different orgs closer than this"},
			{Name: "adjacent_min_cards", Default: 5, Unit: "cards", Doc: "org pairs with quick transitions by at least this many cards are adjacent (same building) and left out"},
		},
		Caveats: []string{"医院门诊与同楼或对面药店先后刷卡", "终端时钟误差"},
	}, "card_misuse_cross_org_rapid.sql", nil),
	rule(Info{
		Name: "card_misuse.round_amounts", SubjectType: contract.SubjectCard,
		Override: Clinical, Title: "刷卡金额多为整数", Basis: "套现特征：整额刷卡；《医疗保障基金使用监督管理条例》第40条",
		Thresholds: []Threshold{
			{Name: "round_yuan", Default: 50, Unit: "yuan", Doc: "an amount that is a whole multiple of this is round"},
			{Name: "round_share", Default: 0.6, Unit: "share", Doc: "share of the card's swipes that are round"},
			{Name: "min_swipes", Default: 5, Unit: "swipes", Doc: "pharmacy swipes the card needs at the counted pharmacies"},
			{Name: "org_round_share_max", Default: 0.2, Unit: "share", Doc: "orgs whose own share of round swipes reaches this price in whole amounts and are not counted"},
		},
		Caveats: []string{"按整元定价的药店", "固定金额的中药代煎或套餐"},
	}, "card_misuse_round_amounts.sql", nil),
	rule(Info{
		Name: "card_misuse.balance_drain", SubjectType: contract.SubjectCard, PerPerson: true,
		Override: Clinical, Title: "查询余额后刷空个人账户", Basis: "个人账户套现特征；《医疗保障基金使用监督管理条例》第40条",
		Thresholds: []Threshold{
			{Name: "window_minutes", Default: 10, Unit: "minutes", Doc: "purchase within this time after the balance query"},
			{Name: "drain_share", Default: 0.95, Unit: "share", Doc: "share of the balance the purchase takes"},
			{Name: "min_balance_yuan", Default: 1000, Unit: "yuan", Doc: "balance emptied without a query: smallest balance considered"},
			{Name: "max_purchases", Default: 3, Unit: "purchases", Doc: "balance emptied by at most this many pharmacy purchases within a day"},
		},
		Caveats: []string{"年底合法使用个人账户余额", "家庭共济为家人购药"},
	}, "card_misuse_balance_drain.sql", nil),
	rule(Info{
		Name: "card_misuse.refund_cycle", SubjectType: contract.SubjectCard, PerPerson: true,
		Override: Clinical, Title: "刷卡即退药循环", Basis: "刷卡即退药套现；《医疗保障基金使用监督管理条例》第40条",
		Thresholds: []Threshold{
			{Name: "refund_minutes", Default: 30, Unit: "minutes", Doc: "refund within this time after the sale"},
			{Name: "rebuy_hours", Default: 24, Unit: "hours", Doc: "the same amount bought again within this time after the refund"},
			{Name: "min_cycles", Default: 2, Unit: "cycles", Doc: "cycles needed within window_days"},
			{Name: "window_days", Default: 60, Unit: "days", Doc: "window for counting cycles"},
		},
		Caveats: []string{"真实退货后重新购买", "收银操作错误后冲正重刷"},
	}, "card_misuse_refund_cycle.sql", nil),
	rule(Info{
		Name: "card_misuse.swipe_without_settlement", SubjectType: contract.SubjectCard, PerPerson: true,
		Override: Absolute, Title: "刷卡无对应结算或金额不符", Basis: "虚构就诊/购药；《医疗保障基金使用监督管理条例》第40条",
		Thresholds: []Threshold{{Name: "lag_hours", Default: 24, Unit: "hours",
			Doc: "a swipe without a settlement id is excused when a settlement of the same card, org and total follows within this platform lag"}},
		Caveats: []string{"平台数据延迟超过24小时", "结算数据尚未全部报送"},
	}, "card_misuse_swipe_without_settlement.sql", nil),
	rule(Info{
		Name: "card_misuse.deceased_holder", SubjectType: contract.SubjectCard, PerPerson: true,
		Override: Absolute, Title: "持卡人死亡后仍刷卡", Basis: "《医疗保障基金使用监督管理条例》第41条 冒用他人医保凭证",
		Thresholds: []Threshold{{Name: "grace_days", Default: 0, Unit: "days", Doc: "swipes up to this many days after the death date are tolerated"}},
		Caveats:    []string{"死亡日期登记错误"},
	}, "card_misuse_deceased_holder.sql", nil),
}
