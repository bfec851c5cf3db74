package pipeline

// Code sets of the national medical-insurance information platform, as the
// national extract layout writes them, and what each means in the contract.
// Every row names its source: DOMAIN.md §6.3 (national dictionaries seen on
// the unified platform [T:S14, S16, S17]) unless noted. A code not listed
// quarantines its row, naming the field.

// nationalCode is one value of a national dictionary.
type nationalCode struct {
	label  string // the dictionary's Chinese name of the value
	mapped string // the contract value it maps to ("" when only kept raw)
	source string
}

// codeSet is one national dictionary.
type codeSet struct {
	field string // the national field name, e.g. med_type
	label string // its Chinese name
	codes map[string]nationalCode
}

func (s *codeSet) lookup(code string) (nationalCode, bool) {
	c, ok := s.codes[code]
	return c, ok
}

// known reports whether v is a code of the set or empty.
func (s *codeSet) known(v string) bool {
	_, ok := s.codes[v]
	return ok || v == ""
}

// medTypes is med_type 医疗类别 → contract visit_type; the raw code is kept
// in settlements.med_type.
var medTypes = codeSet{field: "med_type", label: "医疗类别", codes: map[string]nationalCode{
	"11":   {"普通门诊", "outpatient", "DOMAIN.md §6.3"},
	"13":   {"急诊", "outpatient", "DOMAIN.md §6.3"},
	"14":   {"门诊慢特病", "outpatient", "DOMAIN.md §6.3"},
	"21":   {"普通住院", "inpatient", "DOMAIN.md §6.3"},
	"2101": {"普通住院(部分省份)", "inpatient", "DOMAIN.md §6.3"},
	"22":   {"外伤住院", "inpatient", "DOMAIN.md §6.3"},
	"23":   {"转外诊治住院", "inpatient", "DOMAIN.md §6.3"},
	"24":   {"急诊转住院", "inpatient", "DOMAIN.md §6.3"},
	"26":   {"单病种住院", "inpatient", "DOMAIN.md §6.3"},
	"2102": {"单病种住院", "inpatient", "DOMAIN.md §6.3"},
	"28":   {"日间手术", "inpatient", "DOMAIN.md §6.3"},
	"41":   {"定点药店购药", "pharmacy", "DOMAIN.md §6.3"},
	"51":   {"生育门诊", "outpatient", "DOMAIN.md §6.3"},
	"52":   {"生育住院", "inpatient", "DOMAIN.md §6.3"},
}}

// insuTypes is insutype 险种 → contract insurance_type. 310 and 390 are the
// two basic schemes (DOMAIN.md §13.1); the supplementary schemes belong to
// the scheme they supplement [I: 公务员补助, 大额补助, 离休 and 生育 are
// employee-side; 大病保险 is the residents' supplement, DOMAIN.md §5.4].
var insuTypes = codeSet{field: "insutype", label: "险种", codes: map[string]nationalCode{
	"310": {"职工基本医疗保险", "employee", "DOMAIN.md §6.3, §13.1"},
	"320": {"公务员医疗补助", "employee", "DOMAIN.md §6.3"},
	"330": {"大额医疗费用补助", "employee", "DOMAIN.md §6.3"},
	"340": {"离休人员医疗保障", "employee", "DOMAIN.md §6.3"},
	"390": {"城乡居民基本医疗保险", "resident", "DOMAIN.md §6.3, §13.1"},
	"392": {"城乡居民大病医疗保险", "resident", "DOMAIN.md §6.3"},
	"510": {"生育保险", "employee", "DOMAIN.md §6.3"},
}}

// chrgitmTypes is med_chrgitm_type 收费项目类别 → contract category
// (DOMAIN.md §6.3 "Map contract category ↔ med_chrgitm_type"). Meals have no
// national category: a 14 其他 line whose item the treatment region's
// catalogue classes as meal loads as meal.
var chrgitmTypes = codeSet{field: "med_chrgitm_type", label: "收费项目类别", codes: map[string]nationalCode{
	"01": {"床位费", "bed", "DOMAIN.md §6.3"},
	"02": {"诊察费", "other", "DOMAIN.md §6.3"},
	"03": {"检查费", "exam", "DOMAIN.md §6.3"},
	"04": {"化验费", "lab", "DOMAIN.md §6.3"},
	"05": {"治疗费", "treatment", "DOMAIN.md §6.3"},
	"06": {"手术费", "surgery", "DOMAIN.md §6.3"},
	"07": {"护理费", "nursing", "DOMAIN.md §6.3"},
	"08": {"卫生材料费", "material", "DOMAIN.md §6.3"},
	"09": {"西药费", "drug", "DOMAIN.md §6.3"},
	"10": {"中药饮片费", "drug", "DOMAIN.md §6.3"},
	"11": {"中成药费", "drug", "DOMAIN.md §6.3"},
	"12": {"一般诊疗费", "other", "DOMAIN.md §6.3"},
	"13": {"挂号费", "other", "DOMAIN.md §6.3"},
	"14": {"其他", "other", "DOMAIN.md §6.3"},
}}

// chrgitmLevels is chrgitm_lv 收费项目等级 → contract catalog_class.
var chrgitmLevels = codeSet{field: "chrgitm_lv", label: "收费项目等级", codes: map[string]nationalCode{
	"01": {"甲类", "A", "DOMAIN.md §6.3"},
	"02": {"乙类", "B", "DOMAIN.md §6.3"},
	"03": {"丙类(自费)", "C", "DOMAIN.md §6.3"},
}}

// genders is gend 性别 → contract sex (GB/T 2261.1: 1 male, 2 female;
// CONTRACT.md persons.sex). 0 未知 and 9 未说明 have no contract value.
var genders = codeSet{field: "gend", label: "性别", codes: map[string]nationalCode{
	"1": {"男", "1", "GB/T 2261.1, CONTRACT.md persons.sex"},
	"2": {"女", "2", "GB/T 2261.1, CONTRACT.md persons.sex"},
}}

// dischargeWays is dscg_way 离院方式, kept raw; 5 is death.
var dischargeWays = codeSet{field: "dscg_way", label: "离院方式", codes: map[string]nationalCode{
	"1": {"医嘱离院", "1", "DOMAIN.md §6.3"},
	"2": {"医嘱转院", "2", "DOMAIN.md §6.3"},
	"3": {"转社区", "3", "DOMAIN.md §6.3"},
	"4": {"非医嘱离院", "4", "DOMAIN.md §6.3"},
	"5": {"死亡", "5", "DOMAIN.md §6.3"},
	"9": {"其他", "9", "DOMAIN.md §6.3"},
}}

// certTypes is mdtrt_cert_type 就诊凭证类型, kept raw in settlements.cert_type.
var certTypes = codeSet{field: "mdtrt_cert_type", label: "就诊凭证类型", codes: map[string]nationalCode{
	"01": {"医保电子凭证", "01", "DOMAIN.md §6.3"},
	"02": {"居民身份证", "02", "DOMAIN.md §6.3"},
	"03": {"社会保障卡", "03", "DOMAIN.md §6.3"},
}}

// hospLevels is hosp_lv 医院等级 → contract level. DOMAIN.md §6.3 gives
// "01 tier 3 … 11 pharmacy" for one province [T:S14]; the values between
// are the national 医院等级 dictionary's 三级特/甲/乙/丙 (01–04), 二级甲/乙/丙
// (05–07), 一级甲/乙/丙 (08–10), 无等级 (11) [I — verify per province].
var hospLevels = codeSet{field: "hosp_lv", label: "医院等级", codes: map[string]nationalCode{
	"01": {"三级特等", "3", "DOMAIN.md §6.3 [T:S14]"},
	"02": {"三级甲等", "3", "DOMAIN.md §6.3 [I]"},
	"03": {"三级乙等", "3", "DOMAIN.md §6.3 [I]"},
	"04": {"三级丙等", "3", "DOMAIN.md §6.3 [I]"},
	"05": {"二级甲等", "2", "DOMAIN.md §6.3 [I]"},
	"06": {"二级乙等", "2", "DOMAIN.md §6.3 [I]"},
	"07": {"二级丙等", "2", "DOMAIN.md §6.3 [I]"},
	"08": {"一级甲等", "1", "DOMAIN.md §6.3 [I]"},
	"09": {"一级乙等", "1", "DOMAIN.md §6.3 [I]"},
	"10": {"一级丙等", "1", "DOMAIN.md §6.3 [I]"},
	"11": {"无等级", "0", "DOMAIN.md §6.3 [T:S14]"},
}}

// flagSet is a 0/1 flag of the platform (refd_setl_flag, vali_flag,
// mid_setl_flag, dscg_tkdrug_flag; DOMAIN.md §6.3 refd_setl_flag).
func flagSet(field, label string) *codeSet {
	return &codeSet{field: field, label: label, codes: map[string]nationalCode{
		"0": {"否", "false", "DOMAIN.md §6.3"},
		"1": {"是", "true", "DOMAIN.md §6.3"},
	}}
}

var (
	refundFlags    = flagSet("refd_setl_flag", "退费结算标志")
	validFlags     = flagSet("vali_flag", "有效标志")
	midSettleFlags = flagSet("mid_setl_flag", "中途结算标志")
	takeHomeFlags  = flagSet("dscg_tkdrug_flag", "出院带药标志")
)
