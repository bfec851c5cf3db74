package codes

import "strings"

// Sources of the drug reference rows.
const (
	// SrcWHODDD is the WHO Collaborating Centre's ATC/DDD Index (2024):
	// ATC code and defined daily dose (DDD) per route.
	SrcWHODDD = "WHO ATC/DDD Index 2024（ATC编码与限定日剂量DDD）"
	// SrcSpec is the commonest specification (规格) and smallest common pack
	// of the generic on the national procurement lists (国家组织药品集中采购
	// 中选规格) [I: DOMAIN.md §7.3 拆零 trap], used only to read a quantity.
	SrcSpec = "国家组织药品集中采购常见中选规格与最小包装（推断，见DOMAIN.md §7.3 拆零）"
	// SrcOTC is the national list of non-prescription drugs (国家非处方药目录,
	// NMPA), for Drug.OTC.
	SrcOTC = "国家药品监督管理局 非处方药目录（甲类/乙类OTC）"
	// SrcPrescription is 处方管理办法 (卫生部令第53号) Art. 19 and
	// 长期处方管理规范（试行）(国卫办医发〔2021〕17号).
	SrcPrescription = "《处方管理办法》（卫生部令第53号）第19条；《长期处方管理规范（试行）》（国卫办医发〔2021〕17号）"
)

// Drug maps a generic name (通用名) to its ATC code and WHO DDD, and says
// how to read a billed quantity: a fee line's quantity is either pieces
// (片/粒/支, 拆零) or boxes of MinPack pieces, told apart by its unit price
// (a piece never costs more than MaxPiecePrice). Days of supply =
// pieces × Strength / DDD. A drug absent from the table has no days of
// supply: the over-prescribing rule does not guess.
type Drug struct {
	Generic       string  // 通用名 as it appears inside item_name, e.g. 二甲双胍
	ATC           string  // WHO ATC code, e.g. A10BA02
	DDD           float64 // WHO defined daily dose, in Unit
	Unit          string  // unit of DDD and Strength: mg, mcg, U (insulin units), dose (inhalations)
	Strength      float64 // amount of active substance per piece, in Unit
	MinPack       int     // pieces in the smallest common box
	MaxPiecePrice float64 // yuan: the highest retail price of one piece; a higher unit price is a box
	// OTC: a non-prescription drug (国家非处方药目录, 甲类/乙类OTC) when sold
	// at a pharmacy: no prescription limit applies to its purchase.
	OTC    bool
	Source string
}

// Drugs lists common outpatient drugs: the chronic classes of ChronicATC
// and the commonest acute ones. ATC and DDD: SrcWHODDD; Strength, MinPack,
// MaxPiecePrice: SrcSpec; OTC: SrcOTC.
var Drugs = []Drug{
	{"二甲双胍", "A10BA02", 2000, "mg", 500, 20, 1.5, false, SrcWHODDD},
	{"格列美脲", "A10BB12", 2, "mg", 2, 15, 4, false, SrcWHODDD},
	{"格列齐特", "A10BB09", 60, "mg", 30, 30, 3, false, SrcWHODDD},
	{"阿卡波糖", "A10BF01", 300, "mg", 50, 30, 3, false, SrcWHODDD},
	{"胰岛素", "A10AC01", 40, "U", 300, 1, 150, false, SrcWHODDD},
	{"卡托普利", "C09AA01", 50, "mg", 25, 100, 0.5, false, SrcWHODDD},
	{"依那普利", "C09AA02", 10, "mg", 10, 16, 2, false, SrcWHODDD},
	{"贝那普利", "C09AA07", 7.5, "mg", 10, 14, 4, false, SrcWHODDD},
	{"氯沙坦", "C09CA01", 50, "mg", 50, 7, 6, false, SrcWHODDD},
	{"缬沙坦", "C09CA03", 80, "mg", 80, 7, 6, false, SrcWHODDD},
	{"厄贝沙坦", "C09CA04", 150, "mg", 150, 7, 6, false, SrcWHODDD},
	{"氨氯地平", "C08CA01", 5, "mg", 5, 7, 5, false, SrcWHODDD},
	{"硝苯地平", "C08CA05", 30, "mg", 30, 7, 5, false, SrcWHODDD},
	{"美托洛尔", "C07AB02", 150, "mg", 25, 20, 2, false, SrcWHODDD},
	{"比索洛尔", "C07AB07", 10, "mg", 5, 10, 3, false, SrcWHODDD},
	{"氢氯噻嗪", "C03AA03", 25, "mg", 25, 100, 0.5, false, SrcWHODDD},
	{"呋塞米", "C03CA01", 40, "mg", 20, 100, 0.5, false, SrcWHODDD},
	{"螺内酯", "C03DA01", 75, "mg", 20, 100, 0.5, false, SrcWHODDD},
	{"阿托伐他汀", "C10AA05", 20, "mg", 20, 7, 8, false, SrcWHODDD},
	{"瑞舒伐他汀", "C10AA07", 10, "mg", 10, 7, 8, false, SrcWHODDD},
	{"辛伐他汀", "C10AA01", 30, "mg", 20, 10, 4, false, SrcWHODDD},
	{"阿司匹林", "B01AC06", 100, "mg", 100, 30, 1, false, SrcWHODDD},
	{"氯吡格雷", "B01AC04", 75, "mg", 75, 7, 8, false, SrcWHODDD},
	{"左甲状腺素", "H03AA01", 150, "mcg", 50, 100, 1, false, SrcWHODDD},
	{"沙美特罗替卡松", "R03AK06", 2, "dose", 60, 1, 10, false, SrcWHODDD},
	{"噻托溴铵", "R03BB04", 18, "mcg", 18, 10, 8, false, SrcWHODDD},
	{"孟鲁司特", "R03DC03", 10, "mg", 10, 5, 8, false, SrcWHODDD},
	{"丙戊酸钠", "N03AG01", 1500, "mg", 200, 100, 1, false, SrcWHODDD},
	{"卡马西平", "N03AF01", 1000, "mg", 100, 100, 1, false, SrcWHODDD},
	{"左乙拉西坦", "N03AX14", 1500, "mg", 500, 30, 8, false, SrcWHODDD},
	{"多巴丝肼", "N04BA02", 600, "mg", 200, 40, 3, false, SrcWHODDD},
	{"利培酮", "N05AX08", 5, "mg", 1, 20, 4, false, SrcWHODDD},
	{"奥氮平", "N05AH03", 10, "mg", 5, 7, 30, false, SrcWHODDD},
	{"舍曲林", "N06AB06", 50, "mg", 50, 14, 10, false, SrcWHODDD},
	{"坦索罗辛", "G04CA02", 0.4, "mg", 0.2, 10, 8, false, SrcWHODDD},
	{"别嘌醇", "M04AA01", 400, "mg", 100, 100, 0.5, false, SrcWHODDD},
	{"骨化三醇", "A11CC04", 1, "mcg", 0.25, 10, 5, false, SrcWHODDD},
	{"奥美拉唑", "A02BC01", 20, "mg", 20, 14, 3, true, SrcWHODDD},
	{"对乙酰氨基酚", "N02BE01", 3000, "mg", 500, 12, 1, true, SrcWHODDD},
	{"布洛芬", "M01AE01", 1200, "mg", 300, 20, 1, true, SrcWHODDD},
	{"氨溴索", "R05CB06", 120, "mg", 30, 20, 1, true, SrcWHODDD},
	{"氯雷他定", "R06AX13", 10, "mg", 10, 6, 5, true, SrcWHODDD},
	{"阿莫西林克拉维酸钾", "J01CR02", 1500, "mg", 457, 12, 4, false, SrcWHODDD},
	{"阿奇霉素", "J01FA10", 300, "mg", 250, 6, 5, false, SrcWHODDD},
	{"头孢呋辛", "J01DC02", 500, "mg", 250, 12, 3, false, SrcWHODDD},
	{"左氧氟沙星", "J01MA12", 500, "mg", 500, 4, 10, false, SrcWHODDD},
}

// ChronicClass is an ATC class whose drugs are taken long term for a
// chronic disease (长期处方 may cover up to 12 weeks).
type ChronicClass struct {
	ATC    string // ATC prefix: a class (A10) or a subgroup (B01AC)
	Name   string // zh-CN name of the class
	Source string
}

// ChronicATC are the chronic-disease classes of 长期处方管理规范 (diabetes,
// hypertension, dyslipidaemia, coronary disease, COPD/asthma, epilepsy,
// Parkinson's, mental disorders, thyroid disease, gout, BPH) by ATC.
var ChronicATC = []ChronicClass{
	{"A10", "糖尿病用药", SrcWHODDD},
	{"B01AC", "抗血小板药（不含肝素）", SrcWHODDD},
	{"C02", "抗高血压药", SrcWHODDD},
	{"C03", "利尿剂", SrcWHODDD},
	{"C07", "β受体阻滞剂", SrcWHODDD},
	{"C08", "钙通道阻滞剂", SrcWHODDD},
	{"C09", "作用于肾素-血管紧张素系统的药物（ACEI/ARB）", SrcWHODDD},
	{"C10", "调脂药（他汀等）", SrcWHODDD},
	{"H03", "甲状腺治疗用药", SrcWHODDD},
	{"M04", "抗痛风药", SrcWHODDD},
	{"N03", "抗癫痫药", SrcWHODDD},
	{"N04", "抗帕金森病药", SrcWHODDD},
	{"N05A", "抗精神病药", SrcWHODDD},
	{"N06A", "抗抑郁药", SrcWHODDD},
	{"R03", "治疗阻塞性气道疾病用药（哮喘/慢阻肺）", SrcWHODDD},
	{"G04CA", "治疗良性前列腺增生的α受体阻滞剂", SrcWHODDD},
	{"A11CC", "维生素D及其类似物（慢性肾病、骨质疏松）", SrcWHODDD},
}

// CourseClass is an ATC class whose standard course of treatment is longer
// than an acute prescription's 7 days; one prescription may cover the course.
type CourseClass struct {
	ATC     string // ATC prefix
	Name    string // zh-CN name of the class and its course
	MaxDays int    // the longest standard course
	Source  string
}

// CourseATC are the classes with a standard course of treatment.
var CourseATC = []CourseClass{
	{"A02BC", "质子泵抑制剂（消化性溃疡疗程4–8周）", 56, "《消化性溃疡诊断与治疗规范（2016年，西安）》：PPI疗程十二指肠溃疡4–6周、胃溃疡6–8周"},
}

// CourseDays returns the standard course of an ATC code's class, or 0.
func CourseDays(atc string) int {
	for _, c := range CourseATC {
		if strings.HasPrefix(atc, c.ATC) {
			return c.MaxDays
		}
	}
	return 0
}

// SupplyLimit is the longest supply one prescription may carry.
type SupplyLimit struct {
	Kind    string // acute, emergency, chronic
	MaxDays int
	Source  string
}

// SupplyLimits: a prescription is normally ≤ 7 days, an emergency one ≤ 3,
// a long prescription for a stable chronic disease ≤ 12 weeks.
var SupplyLimits = []SupplyLimit{
	{"acute", 7, SrcPrescription},
	{"emergency", 3, SrcPrescription},
	{"chronic", 84, SrcPrescription},
}

// DrugFor returns the table row whose generic name the item name holds (the
// longest such name), e.g. 盐酸二甲双胍片 → 二甲双胍.
func DrugFor(itemName string) (Drug, bool) {
	var best Drug
	for _, d := range Drugs {
		if strings.Contains(itemName, d.Generic) && len(d.Generic) > len(best.Generic) {
			best = d
		}
	}
	return best, best.Generic != ""
}

// Chronic reports whether an ATC code belongs to a chronic class.
func Chronic(atc string) bool {
	for _, c := range ChronicATC {
		if strings.HasPrefix(atc, c.ATC) {
			return true
		}
	}
	return false
}
