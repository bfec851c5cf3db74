package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/medaudit/medaudit/auth"
	"github.com/medaudit/medaudit/casebook"
	"github.com/medaudit/medaudit/detectors"
	"github.com/medaudit/medaudit/fixtures"
	"github.com/medaudit/medaudit/internal/glossary"
	"github.com/medaudit/medaudit/pipeline"
	"github.com/medaudit/medaudit/reports"
)

func newDemoCmd() *cobra.Command {
	var (
		db      dbFlags
		dir     string
		addr    string
		noServe bool
	)
	cfg := fixtures.DefaultConfig()
	cmd := &cobra.Command{
		Use:   "demo [--db FILE] [--dir DIR] [--persons N] [--addr :8080]",
		Short: "The whole main job on the embedded default: fixtures, ingest, scan, cases, review panel, then serve",
		Long: `Generates a synthetic batch with labelled fraud into DIR (kept when it
already exists), ingests it, runs every detector, opens cases, seats a
10-specialist review panel, sends the top clinical cases to it, creates one
demo user per role with a fresh password, prints how to sign in and serves
the web pages and API until interrupted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if _, err := os.Stat(filepath.Join(dir, "settlements.csv")); err != nil {
				slog.Info("generating fixtures", "dir", dir, "persons", cfg.Persons, "seed", cfg.Seed)
				if _, err := fixtures.Generate(ctx, cfg, dir); err != nil {
					return err
				}
			}
			d, err := db.open(ctx, false)
			if err != nil {
				return err
			}
			defer d.Close()
			sum, err := ingestWithProgress(ctx, d, dir, pipeline.DefaultConfig(), true)
			if err != nil {
				return err
			}
			if err := printJSON(cmd, sum); err != nil {
				return err
			}
			ds, err := detectors.Registry(detectors.Config{})
			if err != nil {
				return err
			}
			scan, err := detectors.Scan(ctx, d.DB, ds, time.Now)
			if err != nil {
				return err
			}
			if err := printJSON(cmd, scan); err != nil {
				return err
			}
			password, err := seatDemo(ctx, d, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			host := addr
			if len(host) > 0 && host[0] == ':' {
				host = "localhost" + host
			}
			fmt.Fprintf(cmd.ErrOrStderr(), `
医保异地结算稽核 demo — open http://%s/  (Ctrl-C to stop)
  稽核人员 auditor     aud_demo
  科室负责人 supervisor sup_demo
  管理员 admin          admin_demo
  评审专家 reviewers    rev01 … rev10  (their queues hold the top clinical cases)
  password for all demo users (new on every run): %s
`, host, password)
			schedules, err := reports.ParseConfig([]byte(demoSchedules))
			if err != nil {
				return err
			}
			clock, err := demoClock(ctx, d, time.Now)
			if err != nil {
				return err
			}
			if noServe {
				return demoReports(ctx, d, schedules, clock, cmd.ErrOrStderr())
			}
			return serve(ctx, d, db.path, addr, schedules, &thresholdsFlag{}, clock, "")
		},
	}
	db.register(cmd)
	cmd.Flags().StringVar(&dir, "dir", "./demo-batch", "fixture batch folder")
	cmd.Flags().IntVar(&cfg.Persons, "persons", cfg.Persons, "fixture persons")
	cmd.Flags().Uint64Var(&cfg.Seed, "seed", cfg.Seed, "fixture seed")
	cmd.Flags().StringVar(&addr, "addr", ":8080", "listen address")
	cmd.Flags().BoolVar(&noServe, "no-serve", false, "stop before serving (for scripts)")
	return cmd
}

// demoSchedules are the default report jobs plus the monthly report of the
// audited district 330106, which its demo auditor and supervisor may read
// (a report over every district is for users of every district). Missed
// runs are made up at start-up, so the demo shows its reports at once.
const demoSchedules = `timezone: Asia/Shanghai
jobs:
  - {name: monthly, kind: monthly_scan, spec: "0 2 1 * *", scan: false} # the demo has just scanned
  - {name: monthly-330106, kind: monthly_scan, spec: "30 2 1 * *", scan: false, districts: ["330106"]}
  - {name: quarterly, kind: quarterly_inspection, spec: "0 3 1 1,4,7,10 *", districts: ["330106"]}
  - {name: annual, kind: annual_scoring, spec: "0 4 15 1 *"}
`

// demoPanel is a 10-specialist panel (as in the seed notice), none of them
// working in the audited district 330106.
var demoPanel = []casebook.Expert{
	{ID: "dr01", Name: "内科专家一", Specialties: []string{casebook.Internal}, HomeOrg: "H33010200101", District: "330102"},
	{ID: "dr02", Name: "内科专家二", Specialties: []string{casebook.Internal}, HomeOrg: "H33010500101", District: "330105"},
	{ID: "dr03", Name: "内科专家三", Specialties: []string{casebook.Internal, casebook.Psychiatry}, HomeOrg: "H33010800101", District: "330108"},
	{ID: "dr04", Name: "外科专家一", Specialties: []string{casebook.Surgery}, HomeOrg: "H33010200102", District: "330102"},
	{ID: "dr05", Name: "外科专家二", Specialties: []string{casebook.Surgery}, HomeOrg: "H33011000101", District: "330110"},
	{ID: "dr06", Name: "骨科专家一", Specialties: []string{casebook.Orthopedics}, HomeOrg: "H33010500102", District: "330105"},
	{ID: "dr07", Name: "骨科专家二", Specialties: []string{casebook.Orthopedics, casebook.Surgery}, HomeOrg: "H33011300101", District: "330113"},
	{ID: "dr08", Name: "妇产科专家一", Specialties: []string{casebook.Obstetrics}, HomeOrg: "H33010800102", District: "330108"},
	{ID: "dr09", Name: "妇产科专家二", Specialties: []string{casebook.Obstetrics}, HomeOrg: "H33011000102", District: "330110"},
	{ID: "dr10", Name: "康复科专家", Specialties: []string{casebook.Rehab, casebook.Internal}, HomeOrg: "H33011300102", District: "330113"},
}

// seatDemo opens cases, seats the panel, creates the demo users with one
// fresh password and sends the 20 highest-priority clinical cases to the
// panel. It returns the password.
func seatDemo(ctx context.Context, d *pipeline.DB, log io.Writer) (string, error) {
	cases := casebook.NewStore(d.DB, time.Now)
	users := auth.NewStore(d.DB, time.Now, auth.DefaultConfig())
	opened, err := cases.OpenCases(ctx, "system:demo")
	if err != nil {
		return "", err
	}
	fmt.Fprintf(log, "cases: %d opened, %d updated\n", opened.Opened, opened.Updated)
	raw := make([]byte, 12)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	password := base64.RawURLEncoding.EncodeToString(raw)
	demoUsers := []auth.User{
		{ID: "aud_demo", Name: "西湖区稽核员", Role: auth.Auditor, Districts: []string{"330106"}},
		{ID: "sup_demo", Name: "稽核科科长", Role: auth.Supervisor, Districts: []string{"330106"}},
		{ID: "admin_demo", Name: "系统管理员", Role: auth.Admin, Districts: []string{"*"}},
	}
	for i, e := range demoPanel {
		e.WeeklyCapacity = 30
		if ok, err := expertExists(ctx, d, e.ID); err != nil {
			return "", err
		} else if !ok {
			if err := cases.AddExpert(ctx, "system:demo", e); err != nil {
				return "", err
			}
		}
		demoUsers = append(demoUsers, auth.User{ID: fmt.Sprintf("rev%02d", i+1), Name: e.Name, Role: auth.Reviewer, Districts: []string{"*"}, ExpertID: e.ID})
	}
	for _, u := range demoUsers {
		ok, err := users.Exists(ctx, u.ID)
		if err != nil {
			return "", err
		}
		if ok {
			err = users.SetPassword(ctx, u.ID, password)
		} else {
			err = users.CreateUser(ctx, u, password)
		}
		if err != nil {
			return "", err
		}
	}
	rows, err := d.QueryContext(ctx, `SELECT case_id FROM cases WHERE route = 'panel' AND state = 'open' ORDER BY priority DESC, case_id LIMIT 20`)
	if err != nil {
		return "", err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return "", err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return "", err
	}
	for _, id := range ids {
		if err := cases.Act(ctx, id, "system:demo", casebook.RoleSystem, casebook.ActTriage, "demo"); err != nil {
			return "", err
		}
		if err := cases.SendToPanel(ctx, id, "system:demo", casebook.RoleSystem); err != nil {
			return "", err
		}
	}
	fmt.Fprintf(log, "review panel: %d experts, %d cases sent for blind double review\n", len(demoPanel), len(ids))
	return password, nil
}

func expertExists(ctx context.Context, d *pipeline.DB, id string) (bool, error) {
	var n int
	err := d.QueryRowContext(ctx, `SELECT count(*) FROM experts WHERE expert_id = ?`, id).Scan(&n)
	return n > 0, err
}

// demoClock is the clock of the demo's report schedule: it starts on the
// 20th of the month after the demo data's last settlement (Asia/Shanghai)
// and runs on from there, so the schedule's first monthly report, trend,
// quarterly inspection packs and annual scores cover the months the data
// is about rather than the empty months before today. Everything else
// (cases, deadlines, the audit trail) keeps the real clock.
func demoClock(ctx context.Context, d *pipeline.DB, now func() time.Time) (func() time.Time, error) {
	var last time.Time
	if err := d.QueryRowContext(ctx, `SELECT max(settled_at) FROM settlements`).Scan(&last); err != nil {
		return nil, fmt.Errorf("demo data's last settlement: %w", err)
	}
	zone := glossary.Zone
	start := time.Date(last.Year(), last.Month(), 1, 0, 0, 0, 0, zone).AddDate(0, 1, 19)
	started := now()
	return func() time.Time { return start.Add(now().Sub(started)) }, nil
}

// demoReports runs, once, the demo's report jobs as the scheduler would at
// start-up (demo --no-serve) and prints the runs.
func demoReports(ctx context.Context, d *pipeline.DB, schedules reports.Config, clock func() time.Time, log io.Writer) error {
	runner, err := newReportRunner(d, schedules, &thresholdsFlag{}, clock)
	if err != nil {
		return err
	}
	runs, err := runner.CatchUp(ctx)
	if err != nil {
		return err
	}
	for _, r := range runs {
		fmt.Fprintf(log, "report %s for %s: %s, %d files\n", r.Job, glossary.Time(r.ScheduledFor), r.Status, len(r.Files))
	}
	return nil
}
