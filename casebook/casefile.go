package casebook

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/medaudit/medaudit/contract"
)

// CaseFile is everything an auditor files about a case and a reviewer reads:
// the subject, the medical record summary, the stay day by day, activity
// elsewhere during the stay, the flags with their evidence, the reviews and
// the audit trail.
type CaseFile struct {
	Case        Case           `json:"case"`
	Institution Institution    `json:"institution"`
	Stay        *Stay          `json:"stay,omitempty"`
	Days        []Day          `json:"days,omitempty"`
	Outside     []OutsideEvent `json:"outside_activity,omitempty"`
	Flags       []CaseFlag     `json:"flags"`
	Reviews     []Review       `json:"reviews"`
	Events      []Event        `json:"events"`
	Sample      *CaseSample    `json:"sample,omitempty"` // the recovery sample of an institution case
}

// Institution is the flagged institution.
type Institution struct {
	Code  string `json:"org_code"`
	Name  string `json:"name"`
	Kind  string `json:"kind"`
	Level int    `json:"level"`
}

// Stay is the medical record summary of a settlement subject.
type Stay struct {
	SettlementID  string       `json:"settlement_id"`
	PersonID      string       `json:"person_id"`
	IDNumber      string       `json:"id_number"` // masked unless the viewer's role needs it
	Name          string       `json:"name"`      // masked likewise
	Sex           int          `json:"sex"`
	Age           int          `json:"age"`
	InsuredRegion string       `json:"insured_region"`
	VisitType     string       `json:"visit_type"`
	AdmittedAt    time.Time    `json:"admitted_at"`
	DischargedAt  *time.Time   `json:"discharged_at,omitempty"`
	LOS           int          `json:"los_days"`
	Diagnosis     string       `json:"diagnosis_code"`
	DiagnosisName string       `json:"diagnosis_name"`
	Dept          string       `json:"dept_code"`
	Total         contract.Fen `json:"total_amount"`
	Fund          contract.Fen `json:"fund_paid"`
	Account       contract.Fen `json:"account_paid"`
	Cash          contract.Fen `json:"cash_paid"`
}

// Day is one day of a stay: the charged amount per fee category.
type Day struct {
	Date   string                  `json:"date"`
	Amount map[string]contract.Fen `json:"amount"`
	Lines  map[string]int          `json:"lines"`
}

// OutsideEvent is the same person's settlement or card swipe at another
// institution during the stay.
type OutsideEvent struct {
	At      time.Time    `json:"at"`
	OrgCode string       `json:"org_code"`
	OrgName string       `json:"org_name"`
	Region  string       `json:"region"`
	Kind    string       `json:"kind"`
	Amount  contract.Fen `json:"amount"`
}

// CaseFlag is one flag of the case with its evidence.
type CaseFlag struct {
	FlagID   string          `json:"flag_id"`
	Detector string          `json:"detector"`
	Family   string          `json:"family"`
	Score    float64         `json:"score"`
	Amount   contract.Fen    `json:"amount_at_risk"`
	Override string          `json:"override_class"`
	Status   string          `json:"status"`
	Evidence json.RawMessage `json:"evidence"`
}

// File returns the case file. unmasked keeps ID numbers and names. It is
// one lookup of the file stored when the case last changed; a file that is
// missing or older than the last ingest run or scan is assembled from the
// tables instead.
func (s *Store) File(ctx context.Context, caseID string, unmasked bool) (CaseFile, error) {
	st, err := s.Stamp(ctx)
	if err != nil {
		return CaseFile{}, err
	}
	return s.FileAt(ctx, caseID, unmasked, st)
}

// FileAt is File for a reader that holds the current stamp.
func (s *Store) FileAt(ctx context.Context, caseID string, unmasked bool, st Stamp) (CaseFile, error) {
	f, ok, err := s.storedFile(ctx, caseID, st)
	if err != nil {
		return CaseFile{}, err
	}
	if !ok {
		files, err := assembleFiles(ctx, s.db, []string{caseID})
		if err != nil {
			return CaseFile{}, fmt.Errorf("case file %s: %w", caseID, err)
		}
		if f, ok = files[caseID]; !ok {
			return CaseFile{}, fmt.Errorf("case %s: %w", caseID, ErrNotFound)
		}
	}
	if unmasked && f.Stay != nil {
		if err := s.db.QueryRowContext(ctx, `SELECT id_number, name FROM persons WHERE person_id = ?`, f.Stay.PersonID).
			Scan(&f.Stay.IDNumber, &f.Stay.Name); err != nil {
			return CaseFile{}, fmt.Errorf("case file %s: person: %w", caseID, err)
		}
	}
	return *f, nil
}

func fen(s string) contract.Fen {
	v, _ := contract.ParseDecimal(s, 2)
	return contract.Fen(v)
}

// MaskName keeps the family name: 张建国 → 张**.
func MaskName(name string) string {
	r := []rune(name)
	if len(r) == 0 {
		return ""
	}
	out := string(r[0])
	for range r[1:] {
		out += "*"
	}
	return out
}

// Categories is the display order of fee categories with their Chinese names.
var Categories = []struct{ Key, Name string }{
	{"bed", "床位"}, {"nursing", "护理"}, {"drug", "药品"}, {"exam", "检查"}, {"lab", "化验"},
	{"treatment", "治疗"}, {"surgery", "手术"}, {"material", "材料"}, {"meal", "膳食"}, {"other", "其他"},
}
