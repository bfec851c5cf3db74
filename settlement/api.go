package settlement

import (
	"time"

	"github.com/medaudit/medaudit/contract"
)

// Claim is one visit to settle, with the facts the insured region's policy
// needs. Amounts are integer fen, quantities and prices 1/10,000 units,
// shares 1/10,000.
type Claim struct {
	InsuredRegion     contract.RegionCode // 参保地 (6 digits); selects the policy
	Date              time.Time           // settlement date; selects the policy version in force (valid_from ≤ date ≤ valid_to); zero = the latest version
	TreatmentRegion   contract.RegionCode // 就医地 (6 digits); decides local vs cross-region
	InsuranceType     string              // "employee" | "resident"
	Retiree           bool                // employee retiree: the visit's retiree_bonus applies
	VisitType         string              // "inpatient" | "outpatient" | "pharmacy"
	HospitalLevel     int                 // 0 ungraded/pharmacy, 1..3
	Registration      string              // registration kind (contract.RegistrationKind values), "" when none covers the visit
	Emergency         bool                // 急诊抢救: treated as registered (no temporary-out reduction beyond the emergency/referral one)
	NthAdmission      int                 // inpatient: 1 for the first admission of the calendar year, 2 for the second, …; 0 counts as 1
	Lines             []Line              // fee items, priced with the treatment region's catalogue
	FundUsedYTD       contract.Fen        // basic fund already paid for this person this calendar year (cap accumulation)
	DeductibleUsedYTD contract.Fen        // outpatient annual deductible already met this year
	AccountBalance    contract.Fen        // employee personal account balance before this visit (0 for residents)
}

// Line is one fee item as classified by the treatment region's catalogue.
type Line struct {
	Class        string       // "A", "B", "C" per the treatment region's catalogue
	Quantity     contract.Qty // units, 1/10,000
	UnitPrice    contract.Qty // yuan per unit, 1/10,000 yuan
	Amount       contract.Fen // charged amount; negative for refunds
	SelfPayRatio int          // class B 先行自付 share in 1/10,000 (1000 = 10 %); 0 for A and C
	PriceCeiling contract.Qty // per-unit 最高限价 in 1/10,000 yuan, 0 = none
}

// Result is the decomposition of one settlement (DOMAIN §5.4):
//
//	Total = FullOwnPay + OverCeiling + PreSelfPay + InScope
//	Total = Fund + Account + Cash
//
// PreSelfPay includes the registration's advance self-pay (临沂-style
// reductions), so InScope is what the deductible and bands apply to.
type Result struct {
	Total       contract.Fen // 医疗费总额 (medfee_sumamt)
	FullOwnPay  contract.Fen // 全自费: class C lines after their over-ceiling part (fulamt_ownpay_amt)
	OverCeiling contract.Fen // 超限价自费 (overlmt_selfpay)
	PreSelfPay  contract.Fen // 先行自付: class B share plus registration advance self-pay (preselfpay_amt)
	InScope     contract.Fen // 符合政策范围金额 (inscp_scp_amt)
	Deductible  contract.Fen // 实际支付起付线 (act_pay_dedc)
	Fund        contract.Fen // 统筹基金支出, basic pooled fund only (hifp_pay)
	Account     contract.Fen // 个人账户支出 (acct_pay)
	Cash        contract.Fen // 个人现金支出 (psn_cash_pay)
	Ratio       int          // applied ratio of the (last) band reached, 1/10,000
	CapHit      bool         // the annual cap limited the fund payment
	Steps       []Step       // explanation; nil from SettleQuick
}

// Step explains one step of the decomposition for the quote/case file (Chinese label first).
type Step struct {
	Name   string       // stable machine name, e.g. "deductible"
	Label  string       // zh-CN, e.g. "起付线"
	Amount contract.Fen // the step's amount
	Detail string       // zh-CN explanation with the numbers, e.g. "(17,900.00 − 500.00) × 55%"
}

// Registration is one cross-region registration (异地就医备案) as far as
// coverage of a stay is concerned.
type Registration struct {
	Kind            string              // contract.RegistrationKind value
	TreatmentRegion contract.RegionCode // area the registration names: county, city (NNMM00) or province (NN0000)
	ValidFrom       time.Time           // zero = open
	ValidTo         time.Time           // zero = open
}
