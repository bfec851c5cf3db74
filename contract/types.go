package contract

import "fmt"

// Identifier types. Each is the contract's own string, never derived from another.
type (
	// OrgCode is a 定点医药机构代码: H (hospital/clinic) or P (pharmacy),
	// a 6-digit region code and a 5-digit sequence, e.g. H33010600012.
	OrgCode string
	// PersonID is the platform's 个人编号.
	PersonID string
	// SettlementID is the 结算ID of one settled visit.
	SettlementID string
	// CardNo is the 社会保障卡号 used at the counter.
	CardNo string
	// RegistrationID is the 备案号 of a cross-region registration.
	RegistrationID string
	// RegionCode is a 6-digit 医保区划 (GB/T 2260), or a province as NN0000.
	RegionCode string
	// ItemCode is a national drug, service or material code.
	ItemCode string
)

// Fen is an amount of money in fen (0.01 yuan). Money is never a float.
type Fen int64

// Qty is a quantity or a unit price in units of 1/10,000 (the contract's
// decimal(18,4)).
type Qty int64

// String formats f as yuan with two decimals, e.g. "1234.50" or "-0.05".
func (f Fen) String() string { return FormatDecimal(int64(f), 2) }

// ParseFen reads an amount in yuan with at most two decimals ("950.00").
func ParseFen(s string) (Fen, error) {
	v, err := ParseDecimal(s, 2)
	return Fen(v), err
}

// String formats q with four decimals, e.g. "2.5000".
func (q Qty) String() string { return FormatDecimal(int64(q), 4) }

// Family names used by labels and flags.
const (
	FamilyGhostBed         = "ghost_bed"
	FamilyImpersonation    = "impersonation"
	FamilyDrugSubstitution = "drug_substitution"
	FamilyCardMisuse       = "card_misuse"
	FamilySettlement       = "settlement"
	FamilyOther            = "other"
)

// Subject types of flags and labels.
const (
	SubjectSettlement  = "settlement"
	SubjectPerson      = "person"
	SubjectCard        = "card"
	SubjectInstitution = "institution"
)

// MarshalJSON writes money as a decimal string in yuan ("1234.50"), so JSON
// readers never see a float or have to know the unit.
func (f Fen) MarshalJSON() ([]byte, error) { return []byte(`"` + f.String() + `"`), nil }

// UnmarshalJSON reads money written by MarshalJSON, or a bare JSON number in
// yuan with at most two decimals.
func (f *Fen) UnmarshalJSON(b []byte) error {
	s := string(b)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	v, err := ParseDecimal(s, 2)
	if err != nil {
		return fmt.Errorf("money %s: %w", b, err)
	}
	*f = Fen(v)
	return nil
}
