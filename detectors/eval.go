package detectors

import (
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/medaudit/medaudit/contract"
)

// JudgedSubject is the subject type each family is judged at (CONTRACT.md).
var JudgedSubject = map[string]string{
	contract.FamilyGhostBed:         contract.SubjectSettlement,
	contract.FamilyImpersonation:    contract.SubjectSettlement,
	contract.FamilyDrugSubstitution: contract.SubjectInstitution,
	contract.FamilyCardMisuse:       contract.SubjectCard,
	contract.FamilySettlement:       contract.SubjectSettlement,
}

// FamilyScore is precision and recall of one family.
type FamilyScore struct {
	Labels    int     `json:"labels"`
	Flagged   int     `json:"flagged"`
	TP        int     `json:"true_positives"`
	FP        int     `json:"false_positives"`
	FN        int     `json:"false_negatives"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
}

// VariantScore is the recall of one injected variant.
type VariantScore struct {
	Labels int     `json:"labels"`
	Found  int     `json:"found"`
	Recall float64 `json:"recall"`
}

// DetectorScore is how many of a detector's flags are labelled in its family.
type DetectorScore struct {
	Flags     int     `json:"flags"`
	TP        int     `json:"true_positives"`
	Precision float64 `json:"precision"`
}

// EvalReport compares the latest scan with a labels file.
type EvalReport struct {
	ScanID    int64                    `json:"scan_id"`
	MinScore  float64                  `json:"min_score"`
	Families  map[string]FamilyScore   `json:"families"`
	Variants  map[string]VariantScore  `json:"variants"`
	Detectors map[string]DetectorScore `json:"detectors"`
	// DecoysFlagged counts, per trap of decoys.csv next to the labels, the
	// decoy subjects that were flagged in a family they are a decoy for.
	DecoysFlagged map[string]int `json:"decoys_flagged,omitempty"`
	// Misses lists the first 20 unfound labels per family (by subject id),
	// for inspection.
	Misses map[string][]string `json:"misses"`
	// Rules is the flag share of every rule of the scan against its
	// population, and Alarms the calibration alarms the scan raised.
	Rules  []RuleShare `json:"rules"`
	Alarms []Alarm     `json:"calibration_alarms"`
	// Ranking scores the inspection-targeting ranking of institutions.
	Ranking RankingEval `json:"ranking"`
}

type subjectKey struct{ family, subjectType, subjectID string }

// Eval scores the open flags of the latest scan against labels.csv
// (family,subject_type,subject_id[,variant]). A subject counts as flagged in
// a family when the noisy-OR of its flags' scores in that family reaches
// minScore; flags on other subject types than the family's judged one are
// extra and not scored.
func Eval(ctx context.Context, db *sql.DB, labelsPath string, minScore float64) (EvalReport, error) {
	rep := EvalReport{MinScore: minScore, Families: map[string]FamilyScore{}, Variants: map[string]VariantScore{},
		Detectors: map[string]DetectorScore{}, Misses: map[string][]string{}}
	var err error
	if rep.ScanID, err = LatestScan(ctx, db); err != nil {
		return rep, err
	}
	if rep.ScanID == 0 {
		return rep, errors.New("no finished scan: run medaudit scan first")
	}
	labels, variants, err := readLabels(labelsPath)
	if err != nil {
		return rep, err
	}
	rows, err := db.QueryContext(ctx, `SELECT detector, family, subject_type, subject_id, score FROM flags WHERE scan_id = ? AND status = 'open'`, rep.ScanID)
	if err != nil {
		return rep, err
	}
	scores := map[subjectKey][]float64{}
	type detFlag struct {
		detector string
		key      subjectKey
	}
	var dflags []detFlag
	for rows.Next() {
		var det string
		var k subjectKey
		var s float64
		if err := rows.Scan(&det, &k.family, &k.subjectType, &k.subjectID, &s); err != nil {
			rows.Close()
			return rep, err
		}
		if JudgedSubject[k.family] != k.subjectType {
			continue
		}
		scores[k] = append(scores[k], s)
		dflags = append(dflags, detFlag{det, k})
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return rep, err
	}
	flagged := map[subjectKey]bool{}
	for k, ss := range scores {
		if NoisyOR(ss...) >= minScore {
			flagged[k] = true
		}
	}
	for fam := range JudgedSubject {
		var fs FamilyScore
		for k := range labels {
			if k.family == fam {
				fs.Labels++
				if flagged[k] {
					fs.TP++
				} else {
					fs.FN++
					rep.Misses[fam] = append(rep.Misses[fam], k.subjectID+" "+variants[k])
				}
			}
		}
		for k := range flagged {
			if k.family == fam {
				fs.Flagged++
				if !labels[k] {
					fs.FP++
				}
			}
		}
		fs.Precision, fs.Recall = ratio(fs.TP, fs.Flagged), ratio(fs.TP, fs.Labels)
		rep.Families[fam] = fs
	}
	for k, v := range variants {
		vs := rep.Variants[v]
		vs.Labels++
		if flagged[k] {
			vs.Found++
		}
		rep.Variants[v] = vs
	}
	for v, vs := range rep.Variants {
		vs.Recall = ratio(vs.Found, vs.Labels)
		rep.Variants[v] = vs
	}
	for _, df := range dflags {
		ds := rep.Detectors[df.detector]
		ds.Flags++
		if labels[df.key] {
			ds.TP++
		}
		rep.Detectors[df.detector] = ds
	}
	for d, ds := range rep.Detectors {
		ds.Precision = ratio(ds.TP, ds.Flags)
		rep.Detectors[d] = ds
	}
	// The first 20 in order, not the first 20 a map gave: the same data
	// gives the same report.
	for fam, m := range rep.Misses {
		sort.Strings(m)
		rep.Misses[fam] = m[:min(len(m), 20)]
	}
	if rep.DecoysFlagged, err = decoysFlagged(filepath.Join(filepath.Dir(labelsPath), "decoys.csv"), flagged, labels); err != nil {
		return rep, err
	}
	if rep.Rules, err = RuleShares(ctx, db, rep.ScanID); err != nil {
		return rep, err
	}
	if rep.Alarms, err = LoadAlarms(ctx, db, `scan_id = ?`, rep.ScanID); err != nil {
		return rep, err
	}
	rep.Ranking, err = EvalRanking(ctx, db, labelsPath)
	return rep, err
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 1
	}
	return float64(a) / float64(b)
}

func readLabels(path string) (map[subjectKey]bool, map[subjectKey]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil || len(header) < 3 || header[0] != "family" || header[1] != "subject_type" || header[2] != "subject_id" {
		return nil, nil, fmt.Errorf("%s: the header must start with family,subject_type,subject_id", path)
	}
	labels, variants := map[subjectKey]bool{}, map[subjectKey]string{}
	for line := 2; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			return labels, variants, nil
		}
		if err != nil || len(rec) < 3 {
			return nil, nil, fmt.Errorf("%s line %d: %v", path, line, err)
		}
		k := subjectKey{rec[0], rec[1], rec[2]}
		labels[k] = true
		if len(rec) > 3 && rec[3] != "" {
			variants[k] = rec[3]
		} else {
			variants[k] = rec[0]
		}
	}
}

// decoysFlagged counts flagged decoys by trap: a decoy subject flagged in any
// family without a label there. It returns nil when there is no decoys file.
func decoysFlagged(path string, flagged, labels map[subjectKey]bool) (map[string]int, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out := map[string]int{}
	for _, rec := range recs[1:] {
		if len(rec) < 3 {
			continue
		}
		for fam := range JudgedSubject {
			k := subjectKey{fam, rec[1], rec[2]}
			if flagged[k] && !labels[k] {
				out[rec[0]]++
			}
		}
	}
	return out, nil
}
