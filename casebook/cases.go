package casebook

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/medaudit/medaudit/contract"
)

// CaseID is the stable id of the case of a subject.
func CaseID(subjectType, subjectID string) string {
	h := sha256.Sum256([]byte(subjectType + "\x00" + subjectID))
	return "C" + hex.EncodeToString(h[:8])
}

// FlagRef is what case building reads of a flag.
type FlagRef struct {
	FlagID   string
	Detector string
	Family   string
	Score    float64
	Amount   contract.Fen
	Clinical bool // override class clinical
}

// PriorityConfig sets how expected recovery is computed.
type PriorityConfig struct {
	// DefaultPrecision stands in for a rule whose precision the panel has not
	// measured yet.
	DefaultPrecision float64
	// SevereBoost multiplies the priority of 重特疾病 records (cancer
	// C00–D48, chronic kidney disease N18, transplant Z94).
	SevereBoost float64
	// SingleDiseaseBoost multiplies the priority of 单病种 settlements
	// (med_type 26 or 2102).
	SingleDiseaseBoost float64
}

// DefaultPriorityConfig: an unmeasured rule counts as a coin toss; the seed
// notice's priority records are boosted by half.
func DefaultPriorityConfig() PriorityConfig {
	return PriorityConfig{DefaultPrecision: 0.5, SevereBoost: 1.5, SingleDiseaseBoost: 1.5}
}

// Severe reports whether a diagnosis is a 重特疾病.
func Severe(diagnosis string) bool {
	d := strings.ToUpper(diagnosis)
	if len(d) < 3 {
		return false
	}
	c := d[:3]
	return (c >= "C00" && c <= "D48") || c == "N18" || c == "Z94"
}

// Priority is the expected recovery of a case in yuan: the amount at risk
// times the probability that the flags hold — the noisy-OR of each flag's
// score times its rule's measured precision — boosted for 重特疾病 and 单病种.
func (pc PriorityConfig) Priority(amount contract.Fen, flags []FlagRef, precision map[string]float64, diagnosis, medType string) float64 {
	q := 1.0
	for _, f := range flags {
		p, ok := precision[f.Detector]
		if !ok {
			p = pc.DefaultPrecision
		}
		q *= 1 - min(max(p*f.Score, 0), 1)
	}
	prio := float64(amount) / 100 * (1 - q)
	if Severe(diagnosis) {
		prio *= pc.SevereBoost
	}
	if medType == "26" || medType == "2102" {
		prio *= pc.SingleDiseaseBoost
	}
	return prio
}

// panelFamilies are the families whose clinical flags need a doctor.
var panelFamilies = map[string]bool{contract.FamilyGhostBed: true, contract.FamilyImpersonation: true, contract.FamilyOther: true}

// Route sends a case to the review panel when any flag is clinical and of a
// family a medical record can answer (ghost beds, impersonation, related
// clinical rules); absolute flags, card and pharmacy cases, drug
// substitution and settlement errors go to the auditors.
func Route(flags []FlagRef) string {
	for _, f := range flags {
		if f.Clinical && panelFamilies[f.Family] {
			return "panel"
		}
	}
	return "auditor"
}
