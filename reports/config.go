package reports

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"time"
	_ "time/tzdata" // the zone of the specs must load on hosts without tzdata

	"github.com/goccy/go-yaml"
	"github.com/robfig/cron/v3"

	"github.com/medaudit/medaudit/contract"
)

// Kind is what a job does.
type Kind string

// Job kinds.
const (
	// MonthlyScan reports on the month before the scheduled time: flags and
	// amount at risk per family over time, top institutions, rule precision,
	// queue backlog and review time.
	MonthlyScan Kind = "monthly_scan"
	// QuarterlyInspection writes one inspection pack per hospital for the
	// quarter before the scheduled time.
	QuarterlyInspection Kind = "quarterly_inspection"
	// AnnualScoring scores every institution for the year before the
	// scheduled time (casebook.AnnualScores).
	AnnualScoring Kind = "annual_scoring"
)

// Job is one scheduled job.
type Job struct {
	Name string `yaml:"name" json:"name"`
	Kind Kind   `yaml:"kind" json:"kind"`
	// Spec is a standard 5-field cron expression, in the scheduler's time zone.
	Spec string `yaml:"spec" json:"spec"`
	// Scan runs every detector and opens cases before the report.
	Scan bool `yaml:"scan" json:"scan"`
	// Incremental makes that scan build on the last one: only what the
	// batches ingested since can change is re-judged (it runs in full, and
	// says why, when it cannot).
	Incremental bool `yaml:"incremental" json:"incremental,omitempty"`
	// Districts are the region codes covered; empty means all.
	Districts []string `yaml:"districts" json:"districts"`
	// WithheldRate is the annual scoring's withheld deposit rate in 1/10,000
	// of the year's fund payments; 0 means 1000 (10 %).
	WithheldRate int `yaml:"withheld_rate" json:"withheld_rate,omitempty"`
	// Keep is how many scheduled backups a backup job keeps (older ones
	// are removed after each new one is complete).
	Keep int `yaml:"keep" json:"keep,omitempty"`

	schedule cron.Schedule
}

// Config is the list of jobs and the time zone their specs are read in.
type Config struct {
	// TimeZone is an IANA zone name; empty means Asia/Shanghai.
	TimeZone string `yaml:"timezone" json:"timezone,omitempty"`
	Jobs     []Job  `yaml:"jobs" json:"jobs"`

	loc *time.Location
}

// Location is the zone of the cron specs (after Validate).
func (c *Config) Location() *time.Location {
	if c.loc == nil {
		return shanghai
	}
	return c.loc
}

var shanghai = mustZone("Asia/Shanghai")

func mustZone(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

//go:embed schedules.yaml
var defaultSchedules []byte

// DefaultConfig is the embedded schedules.yaml: monthly scan on the 1st at
// 02:00, quarterly inspection packs on the first day of each quarter at
// 03:00, annual scoring on 15 January at 04:00.
func DefaultConfig() Config {
	cfg, err := ParseConfig(defaultSchedules)
	if err != nil {
		panic("embedded schedules.yaml: " + err.Error())
	}
	return cfg
}

// LoadConfig reads and validates a schedule file.
func LoadConfig(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, err
	}
	cfg, err := ParseConfig(b)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

// ParseConfig decodes a YAML schedule (unknown keys are errors) and
// validates it.
func ParseConfig(b []byte) (Config, error) {
	var cfg Config
	if err := yaml.UnmarshalWithOptions(b, &cfg, yaml.Strict()); err != nil {
		return Config{}, fmt.Errorf("schedule config: %w", err)
	}
	return cfg, cfg.Validate()
}

// Validate parses every job's cron spec and checks names, kinds and
// districts; it reports every problem, each naming its job.
func (c *Config) Validate() error {
	var errs []error
	c.loc = shanghai
	if c.TimeZone != "" {
		l, err := time.LoadLocation(c.TimeZone)
		if err != nil {
			errs = append(errs, fmt.Errorf("timezone %q: %w", c.TimeZone, err))
		} else {
			c.loc = l
		}
	}
	if len(c.Jobs) == 0 {
		errs = append(errs, errors.New("no jobs"))
	}
	seen := map[string]bool{}
	for i := range c.Jobs {
		j := &c.Jobs[i]
		name := j.Name
		if name == "" {
			name = fmt.Sprintf("#%d", i+1)
			errs = append(errs, fmt.Errorf("job %s: a name is required", name))
		} else if seen[name] {
			errs = append(errs, fmt.Errorf("job %s: the name is used twice", name))
		}
		seen[name] = true
		switch j.Kind {
		case MonthlyScan, QuarterlyInspection, AnnualScoring, OverdueEscalation:
		case NightlyBackup:
			if j.Keep < 1 {
				errs = append(errs, fmt.Errorf("job %s: keep (the backups to keep) must be at least 1", name))
			}
		default:
			errs = append(errs, fmt.Errorf("job %s: unknown kind %q (monthly_scan, quarterly_inspection, annual_scoring, overdue_escalation or backup)", name, j.Kind))
		}
		s, err := cron.ParseStandard(j.Spec)
		if err != nil {
			errs = append(errs, fmt.Errorf("job %s: cron spec %q: %w", name, j.Spec, err))
		}
		j.schedule = s
		for _, d := range j.Districts {
			if !contract.ValidRegionCode(d) {
				errs = append(errs, fmt.Errorf("job %s: district %q is not a 6-digit region code", name, d))
			}
		}
		if j.WithheldRate < 0 || j.WithheldRate > 10_000 {
			errs = append(errs, fmt.Errorf("job %s: withheld_rate %d is outside 0..10000", name, j.WithheldRate))
		}
	}
	return errors.Join(errs...)
}

// Job returns the job called name.
func (c *Config) Job(name string) (Job, error) {
	for _, j := range c.Jobs {
		if j.Name == name {
			return j, nil
		}
	}
	return Job{}, fmt.Errorf("%w: no job %q in the schedule config", ErrNotFound, name)
}

// Next is the job's first occurrence after t.
func (j Job) Next(t time.Time) time.Time { return j.schedule.Next(t) }

// Latest is the job's last occurrence at or before t, or false when it has
// none in the ten years before t. It looks back over a doubling window until
// the window holds an occurrence, then walks forward to the last one.
func (j Job) Latest(t time.Time) (time.Time, bool) {
	t = t.Truncate(time.Minute)
	for back := time.Minute; back <= 10*366*24*time.Hour; back *= 2 {
		first := j.schedule.Next(t.Add(-back - time.Second))
		if first.After(t) {
			continue
		}
		for {
			n := j.schedule.Next(first)
			if n.After(t) {
				return first, true
			}
			first = n
		}
	}
	return time.Time{}, false
}
