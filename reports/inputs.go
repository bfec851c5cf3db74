package reports

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"runtime/debug"
	"time"

	"github.com/medaudit/medaudit/detectors"
)

// FormatVersion is the version of the report layout and of inputs.json.
const FormatVersion = 1

// inputs is what a run's numbers were computed from (inputs.json).
type inputs struct {
	FormatVersion int               `json:"format_version"`
	Generator     string            `json:"generator"`
	Job           Job               `json:"job"`
	TimeZone      string            `json:"timezone"`
	ScheduledFor  time.Time         `json:"scheduled_for"`
	Period        string            `json:"period"`
	Batches       []batchInput      `json:"batches"`
	Scan          *scanInput        `json:"scan"`
	Detectors     []detectorInput   `json:"detectors"`
	RuleModes     map[string]string `json:"rule_modes"`
	Cases         any               `json:"cases_opened,omitempty"`
}

type batchInput struct {
	RunID       int64     `json:"ingest_run_id"`
	BatchID     string    `json:"batch_id"`
	Dir         string    `json:"dir"`
	Status      string    `json:"status"`
	FinishedAt  time.Time `json:"finished_at"`
	Read        int64     `json:"read"`
	Loaded      int64     `json:"loaded"`
	Quarantined int64     `json:"quarantined"`
	Unchanged   int64     `json:"unchanged"`
	Corrected   int64     `json:"corrected"`
}

type scanInput struct {
	ScanID     int64            `json:"scan_id"`
	StartedAt  time.Time        `json:"started_at"`
	FinishedAt time.Time        `json:"finished_at"`
	Flags      map[string]int64 `json:"flags_per_detector"`
}

// detectorInput names a detector's version: a digest of its description,
// thresholds in force and, for SQL detectors, its query.
type detectorInput struct {
	Name       string             `json:"name"`
	Version    string             `json:"version"`
	Thresholds map[string]float64 `json:"thresholds"`
}

// generatorVersion is the binary's module version and VCS revision.
func generatorVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" {
			v += " " + s.Value
		}
	}
	return v
}

func describeDetectors(ds []detectors.Detector) []detectorInput {
	out := make([]detectorInput, 0, len(ds))
	for _, d := range ds {
		in := detectorInput{Name: d.Name(), Thresholds: map[string]float64{}}
		h := sha256.New()
		if desc, ok := d.(detectors.Describer); ok {
			info := desc.Describe()
			p, hasParam := d.(interface{ Param(string) float64 })
			for _, t := range info.Thresholds {
				in.Thresholds[t.Name] = t.Default
				if hasParam {
					in.Thresholds[t.Name] = p.Param(t.Name)
				}
			}
			b, _ := json.Marshal(info)
			h.Write(b)
		}
		b, _ := json.Marshal(in.Thresholds)
		h.Write(b)
		if q, ok := d.(interface{ Query() string }); ok {
			h.Write([]byte(q.Query()))
		}
		in.Version = hex.EncodeToString(h.Sum(nil))[:16]
		out = append(out, in)
	}
	return out
}

// collectInputs reads the batches, the latest scan and the rule modes.
func collectInputs(ctx context.Context, db *sql.DB, in *inputs) error {
	rows, err := db.QueryContext(ctx, `SELECT r.run_id, r.batch_id, r.dir, r.status, r.finished_at,
		coalesce(sum(l.read), 0), coalesce(sum(l.loaded), 0), coalesce(sum(l.quarantined), 0), coalesce(sum(l.unchanged), 0), coalesce(sum(l.corrected), 0)
		FROM ingest_runs r LEFT JOIN batch_ledger l USING (run_id) GROUP BY ALL ORDER BY r.run_id`)
	if err != nil {
		return err
	}
	in.Batches = []batchInput{}
	for rows.Next() {
		var b batchInput
		if err := rows.Scan(&b.RunID, &b.BatchID, &b.Dir, &b.Status, &b.FinishedAt, &b.Read, &b.Loaded, &b.Quarantined, &b.Unchanged, &b.Corrected); err != nil {
			rows.Close()
			return err
		}
		in.Batches = append(in.Batches, b)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	id, err := detectors.LatestScan(ctx, db)
	if err != nil {
		return err
	}
	if id > 0 {
		s := &scanInput{ScanID: id, Flags: map[string]int64{}}
		if err := db.QueryRowContext(ctx, `SELECT started_at, finished_at FROM scans WHERE scan_id = ?`, id).Scan(&s.StartedAt, &s.FinishedAt); err != nil {
			return err
		}
		rows, err := db.QueryContext(ctx, `SELECT detector, flags FROM scan_detectors WHERE scan_id = ?`, id)
		if err != nil {
			return err
		}
		for rows.Next() {
			var d string
			var n int64
			if err := rows.Scan(&d, &n); err != nil {
				rows.Close()
				return err
			}
			s.Flags[d] = n
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		in.Scan = s
	}
	in.RuleModes = map[string]string{}
	rows, err = db.QueryContext(ctx, `SELECT detector, mode FROM rule_settings ORDER BY detector`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var d, m string
		if err := rows.Scan(&d, &m); err != nil {
			return err
		}
		in.RuleModes[d] = m
	}
	return rows.Err()
}
