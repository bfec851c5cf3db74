package detectors

import (
	"fmt"
	"strings"

	"github.com/medaudit/medaudit/contract"
)

// Population is the set of subjects a rule judges, and the largest share of
// it the rule may flag before the guard (guard.go) reads its flags as a sign
// that our model of the data is wrong rather than as fraud.
type Population struct {
	Name  string // e.g. settlements.outpatient_pharmacy
	Title string // zh-CN, e.g. 门诊和药店购药结算
	Unit  string // zh-CN unit of a subject, e.g. 笔
	// subjects is SQL returning one row per (subject, institution) with
	// the cell of the subject: subject_id, region (insured region),
	// insurance (insurance type), visit_type, org_code. A column that does
	// not apply is ''.
	subjects string
	// single: subjects returns each subject once (one institution, one
	// cell), so a count of its rows is a count of subjects. Otherwise its
	// rows are distinct (SELECT DISTINCT), which countPopulation relies on.
	single bool
	// within is the population this one is a part of, the rows of the
	// visit types visitTypes: the same cells, so the guard takes its
	// counts from within's instead of counting it again
	// (populationCounts).
	within     *Population
	visitTypes []string
}

// settlementsOf is the population of the settlements of some visit types:
// the rows of popSettlements of those types, so that the guard can take its
// counts from popSettlements' cells.
func settlementsOf(name, title string, visitTypes ...string) Population {
	quoted := make([]string, len(visitTypes))
	for i, v := range visitTypes {
		quoted[i] = "'" + v + "'"
	}
	return Population{Name: name, Title: title, Unit: popSettlements.Unit, single: true, within: &popSettlements, visitTypes: visitTypes,
		subjects: popSettlements.subjects + ` WHERE s.visit_type IN (` + strings.Join(quoted, ", ") + `)`}
}

// The populations. Settlements are split by visit type because the rules
// judge one kind of visit; a card belongs to its holder's insured region and
// insurance type and counts at every institution it was swiped at.
var (
	popInpatient          = settlementsOf("settlements.inpatient", "住院结算", "inpatient")
	popOutpatientPharmacy = settlementsOf("settlements.outpatient_pharmacy", "门诊和药店购药结算", "outpatient", "pharmacy")
	popSettlements        = Population{Name: "settlements", Title: "全部结算", Unit: "笔", subjects: `
		SELECT s.settlement_id AS subject_id, s.insured_region AS region, coalesce(p.insurance_type, '') AS insurance,
		       s.visit_type, s.org_code
		FROM settlements s LEFT JOIN persons p USING (person_id)`, single: true}
	popCards = Population{Name: "cards", Title: "刷卡的医保卡", Unit: "张", subjects: `
		SELECT DISTINCT w.card_no AS subject_id, coalesce(p.insured_region, '') AS region, coalesce(p.insurance_type, '') AS insurance,
		       '' AS visit_type, w.org_code
		FROM card_swipes w LEFT JOIN persons p USING (person_id)`}
	popOutpatientPersons = Population{Name: "persons.outpatient", Title: "有门诊就诊的参保人", Unit: "人", subjects: `
		SELECT DISTINCT s.person_id AS subject_id, coalesce(p.insured_region, s.insured_region) AS region,
		       coalesce(p.insurance_type, '') AS insurance, '' AS visit_type, s.org_code
		FROM settlements s LEFT JOIN persons p USING (person_id) WHERE s.visit_type = 'outpatient'`}
	popInstitutions = Population{Name: "institutions", Title: "有结算的定点医药机构", Unit: "家", subjects: `
		SELECT DISTINCT org_code AS subject_id, '' AS region, '' AS insurance, '' AS visit_type, org_code
		FROM settlements`, single: true}
	popHospitals = Population{Name: "institutions.hospital", Title: "有住院结算的医院", Unit: "家", subjects: `
		SELECT DISTINCT org_code AS subject_id, '' AS region, '' AS insurance, '' AS visit_type, org_code
		FROM settlements WHERE visit_type = 'inpatient'`, single: true}
	popPharmacies = Population{Name: "institutions.pharmacy", Title: "有刷卡的定点零售药店", Unit: "家", subjects: `
		SELECT DISTINCT w.org_code AS subject_id, '' AS region, '' AS insurance, '' AS visit_type, w.org_code
		FROM card_swipes w JOIN institutions i USING (org_code) WHERE i.kind = 'pharmacy'`, single: true}
)

// Ceilings: the largest share of its population one rule may flag. They
// come from the base rates of DOMAIN.md §12 — ghost beds 1–2 % of inpatient
// stays, impersonation 0.1–0.3 % of settlements, drug substitution 3–5 % of
// pharmacies and clinics, card misuse 0.5–1 % of the cards used at
// pharmacies, settlement errors 0.5–2 % of settlements — at about 2.5 times
// the upper end: one rule of a family may run hotter in one batch than the
// national figure, but a rule flagging several times the whole family's
// rate is more likely measuring our model of the data than fraud. The
// related violations (other) have no national rate; they take the
// settlement errors' ceiling. Institution-level rules take 15 %: "a few
// percent of institutions" commit fraud proper, and model-targeted flying
// inspections find it at 60 % of the 185 institutions a model picked
// (§12), so a rule pointing at more than one institution in seven is
// picking far more than inspections could confirm.
const (
	ceilingGhostBed       = 0.05
	ceilingImpersonation  = 0.01
	ceilingCardMisuse     = 0.025
	ceilingSettlement     = 0.05
	ceilingOther          = 0.05
	ceilingInstitutionLvl = 0.15
)

// RulePopulation is a rule's population and ceiling, and the likely cause
// (zh-CN) an auditor reads when the rule is found above it across many
// institutions.
type RulePopulation struct {
	Population
	Ceiling float64 // share of the population, 0..1
	Cause   string  // zh-CN
}

// Likely causes, in words an auditor can act on.
const (
	causePolicy = "参保地政策参数（起付线、报销比例、封顶线、降比例规则）与该批结算实际执行的政策不一致，或该参保地没有正确的政策表：请核对并更新参保地政策表，而不是逐笔追回。"
	causeSwipe  = "刷卡金额口径不同：许多机构的刷卡记录报送的是医保支付部分（统筹+个人账户）而不是费用总额，或结算数据晚于刷卡报送。请确认这些机构的刷卡金额口径后修正规则。"
	causeDose   = "带量计算口径不同：药品数量单位（盒/片、拆零）、包装规格、日剂量或慢病长处方与规则的假设不符。请核对药品单位和长处方政策后修正参数。"
	causeStock  = "进销存口径不同：期初库存缺失、补货周期（周/月/集中采购）或计量单位（拆零）与销售数据不一致。请核对机构的进销存报送口径。"
	causeBill   = "计费口径不同：许多医院的信息系统按日汇总或出院时集中计费、床位费口径不同。请核对这些医院的计费方式后调整规则参数。"
	causeRef    = "参考目录（诊断、项目的性别/年龄限制或适应症）与本地编码不一致，或编码版本不同。请核对编码版本与参考目录。"
	causeRule   = "规则参数或数据口径与本批数据不符：同一规则在大量机构普遍触发，更像是口径或参数问题而不是集中性的欺诈。请核对规则参数与数据口径。"
)

// rulePopulations declares the population of every registered rule
// (a test keeps the list equal to the registry).
var rulePopulations = map[string]RulePopulation{
	"ghost_bed.no_daily_activity":     {popInpatient, ceilingGhostBed, causeBill},
	"ghost_bed.no_daily_charges":      {popInpatient, ceilingGhostBed, causeBill},
	"ghost_bed.no_early_treatment":    {popInpatient, ceilingGhostBed, causeBill},
	"ghost_bed.exam_only":             {popInpatient, ceilingGhostBed, causeBill},
	"ghost_bed.outside_activity":      {popInpatient, ceilingGhostBed, causeRule},
	"ghost_bed.charges_outside_stay":  {popInpatient, ceilingGhostBed, causeBill},
	"ghost_bed.batch_backfill":        {popInpatient, ceilingGhostBed, causeBill},
	"ghost_bed.frequent_short_stays":  {popInpatient, ceilingGhostBed, causeRule},
	"ghost_bed.over_capacity":         {popInpatient, ceilingGhostBed, causeRule},
	"ghost_bed.low_indication_dx":     {popInpatient, ceilingGhostBed, causeRef},
	"ghost_bed.group_admission":       {popInpatient, ceilingGhostBed, causeRule},
	"ghost_bed.hospital_rate":         {popHospitals, ceilingInstitutionLvl, causeRule},
	"impersonation.after_death":       {popSettlements, ceilingImpersonation, causeRule},
	"impersonation.sex_conflict":      {popSettlements, ceilingImpersonation, causeRef},
	"impersonation.age_conflict":      {popSettlements, ceilingImpersonation, causeRef},
	"impersonation.overlapping_stays": {popInpatient, ceilingImpersonation, causeRule},
	"impersonation.two_places":        {popSettlements, ceilingImpersonation, causeRule},
	"impersonation.card_person_mismatch": {popSettlements, ceilingImpersonation,
		"卡号与人员对应口径不同：换卡、电子凭证与实体卡号混用，或卡号字段填写规则不同。请核对卡号口径。"},
	"impersonation.id_inconsistent": {popSettlements, ceilingImpersonation,
		"身份证号与性别、出生日期字段普遍不一致：可能是15位旧证号转换或字段编码口径不同。请核对人员信息的报送口径。"},
	"impersonation.atypical_diagnosis": {popInpatient, ceilingImpersonation,
		"诊断与持卡人年龄、性别的统计分布普遍不符：可能是出生日期或性别字段的报送口径不同（如缺省值），或本批数据没有真实的年龄结构。请核对人员信息。"},
	"impersonation.co_admission":            {popInpatient, ceilingImpersonation, causeRule},
	"drug_substitution.sales_exceed_stock":  {popInstitutions, ceilingInstitutionLvl, causeStock},
	"drug_substitution.price_over_purchase": {popInstitutions, ceilingInstitutionLvl, causeStock},
	"drug_substitution.price_vs_peers":      {popInstitutions, ceilingInstitutionLvl, causeRule},
	"drug_substitution.non_covered_billed":  {popInstitutions, ceilingInstitutionLvl, causeRef},
	"drug_substitution.trace_dup":           {popInstitutions, ceilingInstitutionLvl, causeRule},
	"drug_substitution.mix_divergence":      {popInstitutions, ceilingInstitutionLvl, causeStock},
	"drug_substitution.item_share":          {popInstitutions, ceilingInstitutionLvl, causeRule},
	"drug_substitution.sudden_volume":       {popInstitutions, ceilingInstitutionLvl, causeStock},
	"card_misuse.burst_at_org":              {popCards, ceilingCardMisuse, causeRule},
	"card_misuse.off_hours":                 {popCards, ceilingCardMisuse, "营业时间口径不同：许多机构夜间正常刷卡（24小时药店、终端时钟时区错误）。请核对机构营业时间与终端时钟。"},
	"card_misuse.many_pharmacies":           {popCards, ceilingCardMisuse, causeRule},
	"card_misuse.frequent_purchase":         {popCards, ceilingCardMisuse, causeDose},
	"card_misuse.cross_org_rapid":           {popCards, ceilingCardMisuse, causeRule},
	"card_misuse.round_amounts":             {popCards, ceilingCardMisuse, causeRule},
	"card_misuse.balance_drain":             {popCards, ceilingCardMisuse, causeRule},
	"card_misuse.refund_cycle":              {popCards, ceilingCardMisuse, causeRule},
	"card_misuse.swipe_without_settlement":  {popCards, ceilingCardMisuse, causeSwipe},
	"card_misuse.deceased_holder":           {popCards, ceilingCardMisuse, causeRule},
	"card_misuse.hub_pharmacy":              {popPharmacies, ceilingInstitutionLvl, causeRule},
	"settlement.recompute_diff":             {popSettlements, ceilingSettlement, causePolicy},
	"settlement.wrong_kind":                 {popSettlements, ceilingSettlement, causePolicy},
	"settlement.deductible_skipped":         {popSettlements, ceilingSettlement, causePolicy},
	"settlement.c_class_paid":               {popSettlements, ceilingSettlement, causeRef},
	"settlement.cap_exceeded":               {popSettlements, ceilingSettlement, causePolicy},
	"settlement.no_registration":            {popSettlements, ceilingSettlement, "备案数据不完整或备案口径不同（如异地安置、临时外出就医的备案未随批次报送）。请核对备案数据的报送范围。"},
	"settlement.resident_account":           {popSettlements, ceilingSettlement, causePolicy},
	"other.split_admission":                 {popInpatient, ceilingOther, causeRule},
	"other.outpatient_during_stay":          {popOutpatientPharmacy, ceilingOther, causeRule},
	"other.lab_after_discharge":             {popInpatient, ceilingOther, causeBill},
	"other.duplicate_item":                  {popSettlements, ceilingOther, causeRef},
	"other.overprescribing":                 {popOutpatientPharmacy, ceilingOther, causeDose},
	"other.frequent_outpatient":             {popOutpatientPersons, ceilingOther, causeRule},
}

// defaultPopulation is the population of a subject type, for a rule added
// without a declaration of its own.
var defaultPopulation = map[string]RulePopulation{
	contract.SubjectSettlement:  {popSettlements, ceilingOther, causeRule},
	contract.SubjectCard:        {popCards, ceilingCardMisuse, causeRule},
	contract.SubjectPerson:      {popOutpatientPersons, ceilingOther, causeRule},
	contract.SubjectInstitution: {popInstitutions, ceilingInstitutionLvl, causeRule},
}

// PopulationOf returns the population of the rule described by info: its
// declaration, or the default of its subject type.
func PopulationOf(info Info) (RulePopulation, error) {
	if p, ok := rulePopulations[info.Name]; ok {
		return p, nil
	}
	if p, ok := defaultPopulation[info.SubjectType]; ok {
		return p, nil
	}
	return RulePopulation{}, fmt.Errorf("%s: no population for subject type %q", info.Name, info.SubjectType)
}

// subjectLevel reports whether the population's subjects are institutions
// (its only cell is the whole batch).
func (p Population) institutionLevel() bool { return strings.HasPrefix(p.Name, "institutions") }
