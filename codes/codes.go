// Package codes holds the reference dictionaries the detectors cite: ICD-10
// 医保版 diagnosis names, the sex- and age-restricted diagnosis ranges of
// DOMAIN.md §7.2 and the sex- and age-specific fee items (限性别/儿童专用),
// each with its Chinese name so that a flag's evidence shows the code and
// what it means.
//
// The data is pure Go. SQL renders it as DuckDB reference tables
// (ref_diagnosis, ref_diagnosis_rule, ref_item_rule); the pipeline ships
// that script as migration 0005_reference_codes.sql, and a test keeps the
// two identical, so the detectors' .sql files can join the tables as is in
// the DuckDB CLI.
package codes

import (
	"fmt"
	"strings"
)

// Diagnosis is one ICD-10 医保版 code (e.g. J18.900) and its Chinese name.
type Diagnosis struct {
	Code string
	Name string
}

// Diagnoses names common ICD-10 医保版 codes (names from the 医保版
// dictionary, SrcICD10) so that evidence shows the code and what it means;
// a code outside it is named by its restricted range (DiagnosisRule.Name).
// No rule depends on a code being listed here: the rules work on whole
// ICD-10 blocks.
var Diagnoses = []Diagnosis{
	{"A05.900", "细菌性食物中毒"},
	{"C34.900", "肺恶性肿瘤"},
	{"C50.900", "乳房恶性肿瘤"},
	{"C53.900", "宫颈恶性肿瘤"},
	{"C56.x00", "卵巢恶性肿瘤"},
	{"C61.x00", "前列腺恶性肿瘤"},
	{"D25.900", "子宫平滑肌瘤"},
	{"E11.900", "2型糖尿病"},
	{"E78.500", "高脂血症"},
	{"F20.900", "精神分裂症"},
	{"F32.900", "抑郁发作"},
	{"G20.x00", "帕金森病"},
	{"H25.900", "老年性白内障"},
	{"I10.x00", "高血压"},
	{"I25.103", "冠状动脉粥样硬化性心脏病"},
	{"I50.900", "心力衰竭"},
	{"I63.900", "脑梗死"},
	{"I69.300", "脑梗死后遗症"},
	{"J06.900", "急性上呼吸道感染"},
	{"J11.100", "流行性感冒伴有其他呼吸道表现"},
	{"J18.900", "肺炎"},
	{"J44.100", "慢性阻塞性肺病伴有急性加重"},
	{"J45.900", "哮喘"},
	{"K29.700", "胃炎"},
	{"K35.800", "急性阑尾炎"},
	{"K80.200", "胆囊结石"},
	{"M17.900", "膝关节病"},
	{"M54.500", "腰痛"},
	{"N18.500", "慢性肾脏病5期"},
	{"N39.000", "泌尿道感染"},
	{"N40.x00", "前列腺增生"},
	{"N83.200", "卵巢囊肿"},
	{"N97.900", "女性不孕症"},
	{"O03.900", "自然流产"},
	{"O80.000", "单胎顺产"},
	{"O82.000", "经剖宫产术的单胎分娩"},
	{"P07.300", "早产儿"},
	{"P59.900", "新生儿黄疸"},
	{"R50.900", "发热"},
	{"S72.000", "股骨颈骨折"},
	{"S82.800", "小腿其他部位骨折"},
	{"Z38.000", "单胎,在医院内出生"},
	{"Z51.100", "肿瘤化学治疗疗程"},
}

// DiagnosisRule restricts a range of three-character ICD-10 categories
// (From..To inclusive, compared as text: "N70" ≤ "N83" ≤ "N98") to one sex
// and/or an age band. DOMAIN.md §7.2 [I]: female-only O00–O99, Z32–Z37,
// Z39, N70–N98, C51–C58, D06, D25–D28; male-only N40–N51, C60–C63, D29,
// D40; O chapter at age < 12 or > 55; P chapter (and Z38, the live-born
// infant) at age > 1 year. Z38 is the infant's own code, so it has no sex.
type DiagnosisRule struct {
	From, To string // three-character categories, inclusive
	Name     string // zh-CN name of the range (类目名称)
	Sex      int    // 1 male only, 2 female only, 0 any
	MinAge   int    // youngest plausible age in full years, 0 = none
	MaxAge   int    // oldest plausible age in full years, -1 = none
	// Newborn: the code may stand on the mother's settlement for her
	// newborn (新生儿随母), which excuses the age (and item sex) conflict.
	Newborn bool
	Source  string // the standard or rule the row comes from (Src…)
}

// Sources of the reference rows (each row names one).
const (
	// SrcICD10 is the chapter and block structure of ICD-10 (WHO 2019),
	// which GB/T 14396-2016 疾病分类与代码 and the 医保版 疾病诊断分类与代码
	// (医保办发〔2019〕55号) extend without moving blocks.
	SrcICD10 = "ICD-10 (WHO 2019) 章节/类目结构；GB/T 14396-2016；医保疾病诊断分类与代码（医保办发〔2019〕55号）"
	// SrcRuleSex is the national rule GZ10000204006000 诊断与患者性别不符.
	SrcRuleSex = "智能监管规则库 GZ10000204006000 诊断与患者性别不符；ICD-10 性别限定类目"
	// SrcRuleAge is the national rule GZ10000204007000 诊断与患者年龄不符.
	SrcRuleAge = "智能监管规则库 GZ10000204007000 诊断与患者年龄不符；ICD-10 年龄限定类目"
	// SrcRuleItem is GZ10000301002000/301004000/302004000 (儿童专用, 区分性别).
	SrcRuleItem = "智能监管规则库 GZ10000301002000 药品儿童专用、GZ10000301004000/302004000 区分性别使用；国家医保药品/医疗服务项目编码"
)

// DiagnosisRules are the restricted ranges, whole ICD-10 blocks.
var DiagnosisRules = []DiagnosisRule{
	{"O00", "O99", "妊娠、分娩和产褥期", 2, 12, 55, false, SrcRuleAge},
	{"Z32", "Z37", "与生殖有关的健康服务（妊娠检查、分娩结局等）", 2, 0, -1, false, SrcRuleSex},
	{"Z39", "Z39", "产后医疗照顾和检查", 2, 0, -1, false, SrcRuleSex},
	{"N70", "N98", "女性盆腔器官炎性疾病及生殖道非炎性疾病", 2, 0, -1, false, SrcRuleSex},
	{"C51", "C58", "女性生殖器官恶性肿瘤", 2, 0, -1, false, SrcRuleSex},
	{"D06", "D06", "子宫颈原位癌", 2, 0, -1, false, SrcRuleSex},
	{"D25", "D28", "子宫、卵巢及其他女性生殖器官良性肿瘤", 2, 0, -1, false, SrcRuleSex},
	{"D39", "D39", "女性生殖器官动态未定或未知的肿瘤", 2, 0, -1, false, SrcRuleSex},
	{"Q50", "Q52", "女性生殖器官先天性畸形", 2, 0, -1, false, SrcRuleSex},
	{"N40", "N51", "男性生殖器官疾病", 1, 0, -1, false, SrcRuleSex},
	{"C60", "C63", "男性生殖器官恶性肿瘤", 1, 0, -1, false, SrcRuleSex},
	{"D29", "D29", "男性生殖器官良性肿瘤", 1, 0, -1, false, SrcRuleSex},
	{"D40", "D40", "男性生殖器官动态未定或未知的肿瘤", 1, 0, -1, false, SrcRuleSex},
	{"Q53", "Q55", "男性生殖器官先天性畸形", 1, 0, -1, false, SrcRuleSex},
	{"P00", "P96", "起源于围生期的某些情况", 0, 0, 1, true, SrcRuleAge},
	{"Z38", "Z38", "按出生地分类的活产婴儿", 0, 0, 1, true, SrcRuleAge},
}

// ItemRule restricts a fee item (national code) to one sex or an age.
type ItemRule struct {
	Code   string // national item code (医保药品/医疗服务项目代码)
	Name   string // zh-CN item name
	Sex    int    // 1 male only, 2 female only, 0 any
	MaxAge int    // oldest plausible age in full years, -1 = none (儿童专用: 14; 新生儿: 1)
	// Neonatal: newborn care that is billed on the mother's credential
	// (新生儿随母) and then excused on her settlement.
	Neonatal bool
	Source   string // the standard or rule the row comes from (Src…)
}

// ItemRules are the sex- and age-specific items (GZ10000301002000 药品儿童专用,
// GZ10000301004000/302004000 区分性别使用). The treatment region's catalogue
// may add sex restrictions of its own (catalog.sex_restriction).
var ItemRules = []ItemRule{
	{"003313000010000", "经阴道顺产接生", 2, -1, false, SrcRuleItem},
	{"003312010070000", "子宫下段剖宫产术", 2, -1, false, SrcRuleItem},
	{"003312010150000", "宫颈锥形切除术", 2, -1, false, SrcRuleItem},
	{"003311040010000", "经尿道前列腺电切术", 1, -1, false, SrcRuleItem},
	{"XG03DAH057A001010103309", "黄体酮胶囊", 2, -1, false, SrcRuleItem},
	{"XG04CAT188A001010102217", "盐酸坦索罗辛缓释胶囊", 1, -1, false, SrcRuleItem},
	{"001201000100000", "新生儿护理", 0, 1, true, SrcRuleItem},
	{"002503070030000", "新生儿胆红素测定", 0, 1, true, SrcRuleItem},
	{"001206000090000", "新生儿沐浴", 0, 1, true, SrcRuleItem},
}

// DiagnosisName returns the Chinese name of a code in Diagnoses, else the
// name of the restricted range holding it, else "".
func DiagnosisName(code string) string {
	for _, d := range Diagnoses {
		if d.Code == code {
			return d.Name
		}
	}
	if r, ok := RuleFor(code); ok {
		return r.Name
	}
	return ""
}

// RuleFor returns the restricted range that holds a diagnosis code.
func RuleFor(code string) (DiagnosisRule, bool) {
	if len(code) < 3 {
		return DiagnosisRule{}, false
	}
	cat := strings.ToUpper(code[:3])
	for _, r := range DiagnosisRules {
		if cat >= r.From && cat <= r.To {
			return r, true
		}
	}
	return DiagnosisRule{}, false
}

// SQL returns the DuckDB script that (re)creates the reference tables:
//
//	ref_diagnosis(code, name)
//	ref_diagnosis_rule(cat_from, cat_to, name, sex, min_age, max_age, newborn, source)
//	ref_item_rule(item_code, name, sex, max_age, neonatal, source)
//	ref_drug(generic, atc, ddd, unit, strength, min_pack, max_piece_price, chronic, course_days, otc, source)
//	ref_chronic_atc(atc_prefix, name, source)
//	ref_supply_limit(kind, max_days, source)
//
// sex and ages are NULL where the rule has none. Migration 0005 shipped the
// first three tables; 0013_reference_standards.sql is this script.
func SQL() string {
	var b strings.Builder
	b.WriteString("-- Reference dictionaries (package codes; generated by codes.SQL, do not edit by hand:\n")
	b.WriteString("-- go test ./codes -update rewrites this file).\n")
	b.WriteString("CREATE OR REPLACE TABLE ref_diagnosis (code VARCHAR NOT NULL, name VARCHAR NOT NULL);\n")
	b.WriteString("INSERT INTO ref_diagnosis VALUES\n")
	for i, d := range Diagnoses {
		fmt.Fprintf(&b, "    (%s, %s)%s\n", quote(d.Code), quote(d.Name), sep(i, len(Diagnoses)))
	}
	b.WriteString("CREATE OR REPLACE TABLE ref_diagnosis_rule (cat_from VARCHAR NOT NULL, cat_to VARCHAR NOT NULL, name VARCHAR NOT NULL,\n")
	b.WriteString("    sex INTEGER, min_age INTEGER, max_age INTEGER, newborn BOOLEAN NOT NULL, source VARCHAR NOT NULL);\n")
	b.WriteString("INSERT INTO ref_diagnosis_rule VALUES\n")
	for i, r := range DiagnosisRules {
		fmt.Fprintf(&b, "    (%s, %s, %s, %s, %s, %s, %t, %s)%s\n", quote(r.From), quote(r.To), quote(r.Name),
			intOrNull(r.Sex, 0), intOrNull(r.MinAge, 0), intOrNull(r.MaxAge, -1), r.Newborn, quote(r.Source), sep(i, len(DiagnosisRules)))
	}
	b.WriteString("CREATE OR REPLACE TABLE ref_item_rule (item_code VARCHAR NOT NULL, name VARCHAR NOT NULL, sex INTEGER,\n")
	b.WriteString("    max_age INTEGER, neonatal BOOLEAN NOT NULL, source VARCHAR NOT NULL);\n")
	b.WriteString("INSERT INTO ref_item_rule VALUES\n")
	for i, r := range ItemRules {
		fmt.Fprintf(&b, "    (%s, %s, %s, %s, %t, %s)%s\n", quote(r.Code), quote(r.Name), intOrNull(r.Sex, 0),
			intOrNull(r.MaxAge, -1), r.Neonatal, quote(r.Source), sep(i, len(ItemRules)))
	}
	b.WriteString("CREATE OR REPLACE TABLE ref_drug (generic VARCHAR NOT NULL, atc VARCHAR NOT NULL, ddd DOUBLE NOT NULL, unit VARCHAR NOT NULL,\n")
	b.WriteString("    strength DOUBLE NOT NULL, min_pack INTEGER NOT NULL, max_piece_price DOUBLE NOT NULL, chronic BOOLEAN NOT NULL, course_days INTEGER,\n")
	b.WriteString("    otc BOOLEAN NOT NULL,\n")
	b.WriteString("    source VARCHAR NOT NULL);\n")
	b.WriteString("INSERT INTO ref_drug VALUES\n")
	for i, d := range Drugs {
		fmt.Fprintf(&b, "    (%s, %s, %g, %s, %g, %d, %g, %t, %s, %t, %s)%s\n", quote(d.Generic), quote(d.ATC), d.DDD, quote(d.Unit),
			d.Strength, d.MinPack, d.MaxPiecePrice, Chronic(d.ATC), intOrNull(CourseDays(d.ATC), 0), d.OTC, quote(d.Source+"；"+SrcSpec+otcSource(d.OTC)), sep(i, len(Drugs)))
	}
	b.WriteString("CREATE OR REPLACE TABLE ref_chronic_atc (atc_prefix VARCHAR NOT NULL, name VARCHAR NOT NULL, source VARCHAR NOT NULL);\n")
	b.WriteString("INSERT INTO ref_chronic_atc VALUES\n")
	for i, c := range ChronicATC {
		fmt.Fprintf(&b, "    (%s, %s, %s)%s\n", quote(c.ATC), quote(c.Name), quote(c.Source), sep(i, len(ChronicATC)))
	}
	b.WriteString("CREATE OR REPLACE TABLE ref_supply_limit (kind VARCHAR NOT NULL, max_days INTEGER NOT NULL, source VARCHAR NOT NULL);\n")
	b.WriteString("INSERT INTO ref_supply_limit VALUES\n")
	for i, l := range SupplyLimits {
		fmt.Fprintf(&b, "    (%s, %d, %s)%s\n", quote(l.Kind), l.MaxDays, quote(l.Source), sep(i, len(SupplyLimits)))
	}
	return b.String()
}

func otcSource(otc bool) string {
	if otc {
		return "；" + SrcOTC
	}
	return ""
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func intOrNull(v, none int) string {
	if v == none {
		return "NULL"
	}
	return fmt.Sprint(v)
}

func sep(i, n int) string {
	if i == n-1 {
		return ";"
	}
	return ","
}
