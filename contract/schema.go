package contract

// ColType is the logical type of a contract column.
type ColType int

// Column types. CSV carries them as text; Parquet and Arrow carry the natural
// Arrow type noted on each.
const (
	String    ColType = iota // utf8
	Enum                     // utf8, one of Column.Enum
	Date                     // date32, CSV YYYY-MM-DD
	Timestamp                // timestamp (China Standard Time wall clock), CSV YYYY-MM-DD HH:MM:SS
	Amount                   // decimal128(18,2): yuan, at most 2 decimals
	Quantity                 // decimal128(18,4): quantities and unit prices, at most 4 decimals
	Ratio                    // decimal128(5,4): a share between 0 and 1
	Int                      // int32
	Bool                     // bool, CSV true/false/1/0
)

// Scale returns the number of decimals of a decimal type, or 0.
func (t ColType) Scale() int {
	switch t {
	case Amount:
		return 2
	case Quantity, Ratio:
		return 4
	}
	return 0
}

// Format is an extra well-formedness check on a string column.
type Format int

// Formats checked at ingest.
const (
	FormatNone     Format = iota
	FormatRegion          // 6-digit GB/T 2260 region code
	FormatIDNumber        // 18-character GB 11643 ID number with a correct check digit
)

// Column describes one column of a contract file.
type Column struct {
	Name     string
	Type     ColType
	Required bool     // R in the contract: an empty value quarantines the row
	Enum     []string // allowed values for Enum columns
	Format   Format
	// Extension marks an optional column that is not in contract v1 but that
	// the service understands (DOMAIN.md §13 "opt" fields); it may be absent.
	Extension bool
	Label     string // Chinese name of the field
}

// Parent is a referential rule: the value of Column must exist as Table's key.
type Parent struct {
	Column string
	Table  string
}

// Table describes one of the eight contract files, or an extension file.
type Table struct {
	Name    string
	Key     []string // the columns that identify a record across batches
	Columns []Column
	Parents []Parent
	Label   string // Chinese name
	// Extension marks a file that is not in contract v1 but that the
	// service accepts (settlement_refunds).
	Extension bool
}

// Column returns the column with the given name and whether it exists.
func (t *Table) Column(name string) (Column, bool) {
	for _, c := range t.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return Column{}, false
}

// Enum values.
var (
	InstitutionKinds = []string{"hospital", "clinic", "pharmacy"}
	InsuranceTypes   = []string{"employee", "resident"}
	RegistrationKind = []string{"relocated_retiree", "long_term_resident", "posted_worker", "referral", "temporary"}
	VisitTypes       = []string{"inpatient", "outpatient", "pharmacy"}
	FeeCategories    = []string{"drug", "bed", "nursing", "meal", "exam", "lab", "treatment", "surgery", "material", "other"}
	CatalogClasses   = []string{"A", "B", "C"}
	SwipeKinds       = []string{"settlement", "purchase", "balance_query", "refund"}
	MovementKinds    = []string{"purchase", "sale", "return", "adjustment"}
)

// Tables lists the contract files in the order a batch is loaded: parents
// before the records that refer to them.
var Tables = []Table{
	{
		Name: "institutions", Label: "定点医药机构", Key: []string{"org_code"},
		Columns: []Column{
			{Name: "org_code", Type: String, Required: true, Label: "定点医药机构代码"},
			{Name: "name", Type: String, Required: true, Label: "机构名称"},
			{Name: "kind", Type: Enum, Required: true, Enum: InstitutionKinds, Label: "机构类别"},
			{Name: "level", Type: Int, Required: true, Label: "医院等级"},
			{Name: "region_code", Type: String, Required: true, Format: FormatRegion, Label: "医保区划"},
			{Name: "beds", Type: Int, Label: "核定床位"},
			{Name: "specialty", Type: String, Extension: true, Label: "专科类别"},
		},
	},
	{
		Name: "persons", Label: "参保人", Key: []string{"person_id"},
		Columns: []Column{
			{Name: "person_id", Type: String, Required: true, Label: "个人编号"},
			{Name: "id_number", Type: String, Required: true, Format: FormatIDNumber, Label: "公民身份号码"},
			{Name: "name", Type: String, Required: true, Label: "姓名"},
			{Name: "sex", Type: Int, Required: true, Label: "性别"},
			{Name: "birth_date", Type: Date, Required: true, Label: "出生日期"},
			{Name: "insured_region", Type: String, Required: true, Format: FormatRegion, Label: "参保地"},
			{Name: "insurance_type", Type: Enum, Required: true, Enum: InsuranceTypes, Label: "险种"},
			{Name: "death_date", Type: Date, Label: "死亡日期"},
			{Name: "retiree", Type: Bool, Extension: true, Label: "退休人员"},
			{Name: "account_balance", Type: Amount, Extension: true, Label: "个人账户余额"},
			{Name: "cert_type", Type: String, Extension: true, Label: "人员证件类型"},
		},
	},
	{
		Name: "catalog", Label: "就医地医保目录", Key: []string{"item_code", "valid_from"},
		Columns: []Column{
			{Name: "item_code", Type: String, Required: true, Label: "医保目录编码"},
			{Name: "item_name", Type: String, Required: true, Label: "目录名称"},
			{Name: "category", Type: Enum, Required: true, Enum: FeeCategories, Label: "费用类别"},
			{Name: "catalog_class", Type: Enum, Required: true, Enum: CatalogClasses, Label: "甲乙丙类"},
			{Name: "selfpay_ratio", Type: Ratio, Label: "乙类先行自付比例"},
			{Name: "price_ceiling", Type: Quantity, Label: "最高限价"},
			{Name: "sex_restriction", Type: Int, Label: "限性别"},
			{Name: "valid_from", Type: Date, Required: true, Label: "开始日期"},
			{Name: "valid_to", Type: Date, Label: "结束日期"},
		},
	},
	{
		Name: "registrations", Label: "异地就医备案", Key: []string{"registration_id"},
		Parents: []Parent{{Column: "person_id", Table: "persons"}},
		Columns: []Column{
			{Name: "registration_id", Type: String, Required: true, Label: "备案号"},
			{Name: "person_id", Type: String, Required: true, Label: "个人编号"},
			{Name: "insured_region", Type: String, Required: true, Format: FormatRegion, Label: "参保地"},
			{Name: "treatment_region", Type: String, Required: true, Format: FormatRegion, Label: "就医地"},
			{Name: "kind", Type: Enum, Required: true, Enum: RegistrationKind, Label: "备案类别"},
			{Name: "valid_from", Type: Date, Required: true, Label: "开始日期"},
			{Name: "valid_to", Type: Date, Label: "结束日期"},
		},
	},
	{
		Name: "settlements", Label: "结算单", Key: []string{"settlement_id"},
		Parents: []Parent{{Column: "person_id", Table: "persons"}, {Column: "org_code", Table: "institutions"}},
		Columns: []Column{
			{Name: "settlement_id", Type: String, Required: true, Label: "结算ID"},
			{Name: "person_id", Type: String, Required: true, Label: "个人编号"},
			{Name: "card_no", Type: String, Required: true, Label: "社会保障卡号"},
			{Name: "org_code", Type: String, Required: true, Label: "定点医药机构代码"},
			{Name: "visit_type", Type: Enum, Required: true, Enum: VisitTypes, Label: "就诊类别"},
			{Name: "dept_code", Type: String, Label: "科室"},
			{Name: "doctor_id", Type: String, Label: "医师编码"},
			{Name: "admitted_at", Type: Timestamp, Required: true, Label: "入院/就诊时间"},
			{Name: "discharged_at", Type: Timestamp, Label: "出院时间"},
			{Name: "diagnosis_code", Type: String, Label: "主诊断"},
			{Name: "total_amount", Type: Amount, Required: true, Label: "医疗费总额"},
			{Name: "fund_paid", Type: Amount, Required: true, Label: "统筹基金支付"},
			{Name: "account_paid", Type: Amount, Required: true, Label: "个人账户支付"},
			{Name: "cash_paid", Type: Amount, Required: true, Label: "现金支付"},
			{Name: "insured_region", Type: String, Required: true, Format: FormatRegion, Label: "参保地"},
			{Name: "treatment_region", Type: String, Required: true, Format: FormatRegion, Label: "就医地"},
			{Name: "registration_id", Type: String, Label: "备案号"},
			{Name: "referral", Type: Bool, Label: "转诊"},
			{Name: "settled_at", Type: Timestamp, Required: true, Label: "结算时间"},
			{Name: "emergency", Type: Bool, Label: "急诊抢救"},
			{Name: "med_type", Type: String, Extension: true, Label: "医疗类别"},
			{Name: "dscg_way", Type: String, Extension: true, Label: "离院方式"},
			{Name: "days_rinp_flag_31", Type: Bool, Extension: true, Label: "31天内计划再住院"},
			{Name: "mdtrt_id", Type: String, Extension: true, Label: "就诊ID"},
			{Name: "mid_setl_flag", Type: Bool, Extension: true, Label: "中途结算标志"},
			{Name: "fulamt_ownpay_amt", Type: Amount, Extension: true, Label: "全自费金额"},
			{Name: "overlmt_selfpay", Type: Amount, Extension: true, Label: "超限价自费费用"},
			{Name: "preselfpay_amt", Type: Amount, Extension: true, Label: "先行自付金额"},
			{Name: "inscp_amt", Type: Amount, Extension: true, Label: "符合政策范围金额"},
			{Name: "act_pay_dedc", Type: Amount, Extension: true, Label: "实际支付起付线"},
			{Name: "hifp_pay", Type: Amount, Extension: true, Label: "统筹基金支出"},
			{Name: "cvlserv_pay", Type: Amount, Extension: true, Label: "公务员医疗补助资金支出"},
			{Name: "hifes_pay", Type: Amount, Extension: true, Label: "企业补充医疗保险基金支出"},
			{Name: "hifmi_pay", Type: Amount, Extension: true, Label: "居民大病保险资金支出"},
			{Name: "hifob_pay", Type: Amount, Extension: true, Label: "职工大额医疗费用补助基金支出"},
			{Name: "maf_pay", Type: Amount, Extension: true, Label: "医疗救助基金支出"},
			{Name: "oth_pay", Type: Amount, Extension: true, Label: "其他基金支出"},
			{Name: "cert_type", Type: String, Extension: true, Label: "就诊凭证类型"},
		},
	},
	{
		// Not a contract v1 file: refunds of the national layout
		// (refd_setl_flag = 1), accepted as settlement_refunds in either layout.
		Name: "settlement_refunds", Label: "退费结算", Key: []string{"settlement_id"}, Extension: true,
		Parents: []Parent{{Column: "init_setl_id", Table: "settlements"}},
		Columns: []Column{
			{Name: "settlement_id", Type: String, Required: true, Label: "结算ID"},
			{Name: "init_setl_id", Type: String, Required: true, Label: "原结算ID"},
			{Name: "person_id", Type: String, Required: true, Label: "个人编号"},
			{Name: "org_code", Type: String, Required: true, Label: "定点医药机构代码"},
			{Name: "mdtrt_id", Type: String, Label: "就诊ID"},
			{Name: "total_amount", Type: Amount, Required: true, Label: "医疗费总额"},
			{Name: "fund_paid", Type: Amount, Required: true, Label: "基金支付总额"},
			{Name: "account_paid", Type: Amount, Required: true, Label: "个人账户支付"},
			{Name: "cash_paid", Type: Amount, Required: true, Label: "现金支付"},
			{Name: "hifp_pay", Type: Amount, Label: "统筹基金支出"},
			{Name: "settled_at", Type: Timestamp, Required: true, Label: "结算时间"},
		},
	},
	{
		Name: "fee_items", Label: "费用明细", Key: []string{"item_id"},
		Parents: []Parent{{Column: "settlement_id", Table: "settlements"}},
		Columns: []Column{
			{Name: "item_id", Type: String, Required: true, Label: "明细流水号"},
			{Name: "settlement_id", Type: String, Required: true, Label: "结算ID"},
			{Name: "item_code", Type: String, Required: true, Label: "医保目录编码"},
			{Name: "item_name", Type: String, Required: true, Label: "项目名称"},
			{Name: "category", Type: Enum, Required: true, Enum: FeeCategories, Label: "费用类别"},
			{Name: "catalog_class", Type: Enum, Required: true, Enum: CatalogClasses, Label: "甲乙丙类"},
			{Name: "quantity", Type: Quantity, Required: true, Label: "数量"},
			{Name: "unit_price", Type: Quantity, Required: true, Label: "单价"},
			{Name: "amount", Type: Amount, Required: true, Label: "金额"},
			{Name: "charged_at", Type: Timestamp, Required: true, Label: "费用发生时间"},
			{Name: "trace_code", Type: String, Label: "药品追溯码"},
			{Name: "dscg_tkdrug_flag", Type: Bool, Extension: true, Label: "出院带药"},
		},
	},
	{
		Name: "card_swipes", Label: "刷卡记录", Key: []string{"swipe_id"},
		Parents: []Parent{{Column: "person_id", Table: "persons"}, {Column: "org_code", Table: "institutions"}},
		Columns: []Column{
			{Name: "swipe_id", Type: String, Required: true, Label: "刷卡流水号"},
			{Name: "card_no", Type: String, Required: true, Label: "社会保障卡号"},
			{Name: "person_id", Type: String, Required: true, Label: "持卡人个人编号"},
			{Name: "org_code", Type: String, Required: true, Label: "定点医药机构代码"},
			{Name: "swiped_at", Type: Timestamp, Required: true, Label: "刷卡时间"},
			{Name: "amount", Type: Amount, Required: true, Label: "金额"},
			{Name: "kind", Type: Enum, Required: true, Enum: SwipeKinds, Label: "交易类别"},
			{Name: "settlement_id", Type: String, Label: "结算ID"},
			{Name: "terminal_id", Type: String, Label: "终端号"},
			{Name: "cert_type", Type: String, Extension: true, Label: "就诊凭证类型"},
			{Name: "balance_after", Type: Amount, Extension: true, Label: "交易后余额"},
		},
	},
	{
		Name: "stock_movements", Label: "进销存", Key: []string{"movement_id"},
		Parents: []Parent{{Column: "org_code", Table: "institutions"}},
		Columns: []Column{
			{Name: "movement_id", Type: String, Required: true, Label: "进销存流水号"},
			{Name: "org_code", Type: String, Required: true, Label: "定点医药机构代码"},
			{Name: "item_code", Type: String, Required: true, Label: "医保目录编码"},
			{Name: "moved_on", Type: Date, Required: true, Label: "发生日期"},
			{Name: "kind", Type: Enum, Required: true, Enum: MovementKinds, Label: "类别"},
			{Name: "quantity", Type: Quantity, Required: true, Label: "数量"},
			{Name: "unit_price", Type: Quantity, Label: "单价"},
		},
	},
}

// TableByName returns the contract table with the given file name.
func TableByName(name string) (*Table, bool) {
	for i := range Tables {
		if Tables[i].Name == name {
			return &Tables[i], true
		}
	}
	return nil, false
}
