// Package reports runs the scheduled jobs of the audit service and keeps
// what they produce: a monthly scan with its report, quarterly inspection
// packs per hospital and the annual institution scoring.
//
// Jobs are cron schedules in a YAML config (DefaultConfig embeds
// schedules.yaml; robfig/cron parses the specs). A Runner executes one job
// at a time: it optionally scans with every detector and opens cases, then
// renders a self-contained HTML report (zh-CN first, English second, charts
// drawn by the vendored Chart.js inlined in the file, a table under every
// chart so it reads without JavaScript and in print) and an xlsx workbook
// auditors can filter, and stores both in DuckDB with an inputs.json that
// names the batches, scan, detector versions and thresholds, rule modes and
// job config the numbers came from.
//
// A run first writes a 'running' marker in its own transaction; its files
// and its 'done' status are written together in one transaction at the end,
// so a crash leaves no half report. Scheduler.Serve runs, at start-up, the
// latest occurrence of every job that has no done run (missed while the
// service was down, or interrupted), then follows the schedule.
//
// The API reads the archive through List and File, and renders an
// inspection pack on demand with InspectionPack. Money is integer fen
// (contract.Fen) throughout; no report carries ID numbers or names of
// persons, and every value from the data is escaped by html/template or
// written to the workbook as a string cell, never as a formula.
package reports
