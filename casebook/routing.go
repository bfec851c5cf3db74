package casebook

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"sort"
	"strings"

	"github.com/medaudit/medaudit/contract"
)

// Specialties of the review panel (DOMAIN.md §11).
const (
	Internal    = "internal"    // 内科
	Surgery     = "surgery"     // 外科
	Orthopedics = "orthopedics" // 骨科
	Obstetrics  = "obstetrics"  // 妇产科
	Psychiatry  = "psychiatry"  // 精神科
	Rehab       = "rehab"       // 康复科
)

// SpecialtyNames are the Chinese names shown to the panel.
var SpecialtyNames = map[string]string{
	Internal: "内科", Surgery: "外科", Orthopedics: "骨科", Obstetrics: "妇产科", Psychiatry: "精神科", Rehab: "康复科",
}

// Record is what routing reads of a case's medical record.
type Record struct {
	Diagnosis    string // main diagnosis, ICD-10 医保版
	Surgery      bool   // any surgery line or procedure code
	OrthoImplant bool   // orthopaedic consumables (material lines of the 骨科 class)
	RehabService bool   // rehabilitation service lines
}

// Specialty routes a medical record to a panel specialty: obstetrics and
// gynaecology for O, N70–N98, C51–C58, D25–D28, Z32–Z39; orthopaedics for
// S/T injuries, M with surgery or orthopaedic implants; surgery for any other
// surgical record; psychiatry for F; rehab for rehabilitation services;
// internal medicine otherwise.
func Specialty(r Record) string {
	dx := strings.ToUpper(r.Diagnosis)
	cat := func(from, to string) bool { return len(dx) >= 3 && dx[:3] >= from && dx[:3] <= to }
	switch {
	case strings.HasPrefix(dx, "O"), cat("N70", "N98"), cat("C51", "C58"), cat("D25", "D28"), cat("Z32", "Z39"):
		return Obstetrics
	case strings.HasPrefix(dx, "S"), strings.HasPrefix(dx, "T"), r.OrthoImplant,
		strings.HasPrefix(dx, "M") && r.Surgery:
		return Orthopedics
	case r.Surgery:
		return Surgery
	case strings.HasPrefix(dx, "F"):
		return Psychiatry
	case r.RehabService:
		return Rehab
	}
	return Internal
}

// Expert is a member of the review panel.
type Expert struct {
	ID             string
	Name           string
	Specialties    []string
	HomeOrg        contract.OrgCode    // the institution the expert works at
	District       contract.RegionCode // the district of that institution
	WeeklyCapacity int                 // records a week
	Load           int                 // records assigned and not yet reviewed this week
	Active         bool
}

func (e Expert) has(specialty string) bool {
	for _, s := range e.Specialties {
		if s == specialty {
			return true
		}
	}
	return false
}

// Conflicted reports a conflict of interest: an expert never reviews a case
// of the institution they work at or of any institution in their district.
func (e Expert) Conflicted(org contract.OrgCode, district contract.RegionCode) bool {
	return e.HomeOrg == org || e.District == district
}

// ErrNoReviewer is returned when no eligible expert is left.
var ErrNoReviewer = errors.New("no eligible reviewer: all are conflicted, already assigned or at capacity")

// Pick chooses n reviewers for a case of the given specialty at org (in
// district), excluding conflicted, inactive, full and already assigned
// experts. It prefers the least loaded (load ÷ capacity), breaking ties by a
// hash of case and expert so the choice is deterministic but spread. When no
// expert of the specialty is eligible it falls back to internal medicine and
// reports the gap.
func Pick(experts []Expert, caseID, specialty string, org contract.OrgCode, district contract.RegionCode, exclude map[string]bool, n int) (picked []Expert, gap bool, err error) {
	eligible := func(spec string) []Expert {
		var out []Expert
		for _, e := range experts {
			if e.Active && e.has(spec) && !exclude[e.ID] && !e.Conflicted(org, district) && e.Load < e.WeeklyCapacity {
				out = append(out, e)
			}
		}
		sort.Slice(out, func(i, j int) bool {
			li := float64(out[i].Load) / float64(out[i].WeeklyCapacity)
			lj := float64(out[j].Load) / float64(out[j].WeeklyCapacity)
			if li != lj {
				return li < lj
			}
			return tieBreak(caseID, out[i].ID) < tieBreak(caseID, out[j].ID)
		})
		return out
	}
	cands := eligible(specialty)
	if len(cands) < n && specialty != Internal {
		gap = true
		cands = append(cands, eligible(Internal)...)
	}
	if len(cands) < n {
		return nil, gap, ErrNoReviewer
	}
	return cands[:n], gap, nil
}

func tieBreak(caseID, expertID string) uint64 {
	h := sha256.Sum256([]byte(caseID + "\x00" + expertID))
	return binary.BigEndian.Uint64(h[:8])
}
