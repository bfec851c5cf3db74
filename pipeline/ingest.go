package pipeline

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/duckdb/duckdb-go/v2"
	"github.com/zeebo/xxh3"

	"github.com/medaudit/medaudit/contract"
)

// Config configures ingestion.
type Config struct {
	// BatchRows is the number of rows per Arrow record batch handed to DuckDB.
	// DuckDB scans an Arrow stream in parallel per batch; ~10^5 rows per batch
	// measured fastest here (STACK.md §1.4).
	BatchRows int
	// Allocator allocates every Arrow buffer; tests pass a checked allocator.
	Allocator memory.Allocator
	// Now is the clock: timestamps later than Now+MaxFuture are out of range.
	Now func() time.Time
	// MinTime is the earliest acceptable timestamp (settlement data before
	// the cross-region platform existed is a typo, not history).
	MinTime time.Time
	// MaxFuture is how far after Now a timestamp may be (clock skew).
	MaxFuture time.Duration
	// StrictIDAgreement quarantines persons whose ID number's birth or sex
	// digits disagree with birth_date or sex. By default such rows load with
	// a data-quality note: the contract names the disagreement as detector
	// evidence (impersonation.id_inconsistent), not as a malformed row.
	StrictIDAgreement bool
	// BeforeCommit, when set, runs inside the batch's transaction after every
	// file is merged, before the run is recorded: an error rolls the whole
	// batch back and is recorded as the run's failure. The api uses it to
	// refuse rows outside the uploader's districts.
	BeforeCommit func(ctx context.Context, conn *sql.Conn, runID int64, batchID string) error
	// Progress, when set, is called with the number of input bytes consumed.
	Progress func(n int64)
	// MaxRowBytes bounds one CSV record, header included, with the quoted
	// newlines it spans. A longer record fails the file with ErrRowTooLong
	// instead of being held in memory: a 10 MB field, a header of millions of
	// columns or an unclosed quote that swallows the rest of the file. A
	// contract row is a few hundred bytes; the default is 1 MiB.
	MaxRowBytes int
	// MaxGzipRatio bounds how far a .csv.gz file may expand: beyond its first
	// MiB, the decompressed bytes may not exceed MaxGzipRatio times the
	// compressed bytes consumed so far, or the file fails with ErrGzipBomb.
	// Contract CSV compresses 5 to 15 times; a decompression bomb expands
	// about 1000 times and is stopped after about a MiB. The default is 100;
	// 0 turns the check off (the file still streams in bounded memory).
	MaxGzipRatio int
	// Encoding of delimited files: "" detects UTF-8 (with or without a BOM)
	// or, when a file is not valid UTF-8, GB18030/GBK; EncodingUTF8 or
	// EncodingGB18030 forces one.
	Encoding string
	// Delimiter and Quote of delimited files: "" sniffs them from the header
	// line (comma, |, tab or ;, and " or ').
	Delimiter, Quote string
	// Layout is "" to recognise each file by its name (a contract file or a
	// national extract table) or, for other names, by its header;
	// LayoutContract ignores national tables; LayoutNHSA requires at least
	// one.
	Layout Layout
}

// DefaultConfig returns the production defaults.
func DefaultConfig() Config {
	return Config{
		BatchRows:    122_880,
		Allocator:    memory.DefaultAllocator,
		Now:          time.Now,
		MinTime:      time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),
		MaxFuture:    24 * time.Hour,
		MaxRowBytes:  1 << 20,
		MaxGzipRatio: 100,
	}
}

// Validate reports configuration errors.
func (c Config) Validate() error {
	var errs []error
	if c.BatchRows < 1 || c.BatchRows > 1<<22 {
		errs = append(errs, fmt.Errorf("batch rows %d is not between 1 and %d", c.BatchRows, 1<<22))
	}
	if c.Allocator == nil {
		errs = append(errs, errors.New("allocator is nil"))
	}
	if c.Now == nil {
		errs = append(errs, errors.New("clock is nil"))
	}
	if c.MaxFuture < 0 {
		errs = append(errs, errors.New("max future is negative"))
	}
	if c.MaxRowBytes < 1<<10 || c.MaxRowBytes > 1<<30 {
		errs = append(errs, fmt.Errorf("max row bytes %d is not between 1 KiB and 1 GiB", c.MaxRowBytes))
	}
	if _, err := ParseEncoding(c.Encoding); err != nil {
		errs = append(errs, err)
	}
	if _, err := ParseDelimiter(c.Delimiter); err != nil {
		errs = append(errs, err)
	}
	if _, err := ParseQuote(c.Quote); err != nil {
		errs = append(errs, err)
	}
	if c.Layout != "" && c.Layout != LayoutContract && c.Layout != LayoutNHSA {
		errs = append(errs, fmt.Errorf("layout %q is not contract or nhsa", c.Layout))
	}
	if c.MaxGzipRatio < 0 {
		errs = append(errs, fmt.Errorf("max gzip ratio %d is negative", c.MaxGzipRatio))
	}
	return errors.Join(errs...)
}

// FileSummary is the ledger of one file: Read = Loaded + Quarantined +
// Unchanged + Corrected + Void.
type FileSummary struct {
	File        string `json:"file"`
	Table       string `json:"table"`
	Format      Format `json:"format"`
	Read        int64  `json:"read"`
	Loaded      int64  `json:"loaded"`
	Quarantined int64  `json:"quarantined"`
	Unchanged   int64  `json:"unchanged"`
	Corrected   int64  `json:"corrected"`
	Warnings    int64  `json:"warnings"`       // loaded rows with a data-quality note
	Void        int64  `json:"void,omitempty"` // national rows marked invalid (vali_flag = 0): not loaded, not lost
	// Layout is the file's layout (contract or nhsa) and Dialect how a
	// delimited file was read.
	Layout  Layout   `json:"layout,omitempty"`
	Dialect *Dialect `json:"dialect,omitempty"`
}

// Balanced reports whether every row read is accounted for.
func (f FileSummary) Balanced() bool {
	return f.Read == f.Loaded+f.Quarantined+f.Unchanged+f.Corrected+f.Void
}

// Summary is the result of one ingest run.
type Summary struct {
	RunID      int64         `json:"run_id"`
	BatchID    string        `json:"batch_id"`
	Dir        string        `json:"dir"`
	Files      []FileSummary `json:"files"`
	Ignored    []string      `json:"ignored_files,omitempty"`
	Totals     FileSummary   `json:"totals"`
	Seconds    float64       `json:"seconds"`
	RowsPerSec float64       `json:"rows_per_sec"`
}

// BatchError is a batch that could not be loaded; nothing of it was.
type BatchError struct {
	File string // the file at fault, "" for the batch as a whole
	Err  error
}

func (e *BatchError) Error() string {
	if e.File == "" {
		return fmt.Sprintf("batch not loaded: %v", e.Err)
	}
	return fmt.Sprintf("batch not loaded: %s: %v", e.File, e.Err)
}

func (e *BatchError) Unwrap() error { return e.Err }

// Ingest loads the batch folder dir into db in one transaction and returns
// its ledger. A file that cannot be read fails the whole batch with a
// *BatchError and loads nothing; the failed run is still recorded in
// ingest_runs.
func Ingest(ctx context.Context, db *DB, dir string, cfg Config) (Summary, error) {
	if err := cfg.Validate(); err != nil {
		return Summary{}, fmt.Errorf("ingest config: %w", err)
	}
	start := cfg.Now()
	sum := Summary{Dir: filepath.Base(filepath.Clean(dir))}
	files, ignored, err := findBatchFiles(dir, cfg)
	if err != nil {
		return sum, &BatchError{Err: err}
	}
	sum.Ignored = ignored
	if sum.BatchID, err = fingerprint(files); err != nil {
		return sum, &BatchError{Err: err}
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return sum, err
	}
	defer conn.Close()
	if err := conn.QueryRowContext(ctx, `SELECT coalesce(max(run_id), 0) + 1 FROM ingest_runs`).Scan(&sum.RunID); err != nil {
		return sum, fmt.Errorf("next run id: %w", err)
	}

	// Every file must open (readable, required columns present) before the
	// transaction starts.
	if err := settleDialects(files, cfg); err != nil {
		return sum, recordFailure(ctx, conn, &sum, start, cfg.Now(), err)
	}
	probe := cfg
	probe.Progress = nil
	for _, f := range files {
		src, err := openSource(f, probe)
		if err != nil {
			return sum, recordFailure(ctx, conn, &sum, start, cfg.Now(), &BatchError{File: f.Name, Err: err})
		}
		src.close()
	}

	if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return sum, err
	}
	ing := &ingester{conn: conn, cfg: cfg, batchID: sum.BatchID, runID: sum.RunID, merged: map[string]bool{}}
	streams, stop, err := ing.startProducers(ctx, files)
	if err != nil {
		conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		return sum, recordFailure(ctx, conn, &sum, start, cfg.Now(), &BatchError{Err: err})
	}
	defer stop()
	for i, f := range files {
		fs, err := ing.loadFile(ctx, streams[i])
		if err != nil {
			conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
			if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
				// DuckDB reports a cancelled statement as its own
				// "INTERRUPT Error"; the caller is told why.
				err = fmt.Errorf("%w: %w", cerr, err)
			}
			var be *BatchError
			if !errors.As(err, &be) {
				err = &BatchError{File: f.Name, Err: err}
			}
			return sum, recordFailure(ctx, conn, &sum, start, cfg.Now(), err)
		}
		sum.Files = append(sum.Files, fs)
		sum.Totals.Read += fs.Read
		sum.Totals.Loaded += fs.Loaded
		sum.Totals.Quarantined += fs.Quarantined
		sum.Totals.Unchanged += fs.Unchanged
		sum.Totals.Corrected += fs.Corrected
		sum.Totals.Warnings += fs.Warnings
		sum.Totals.Void += fs.Void
	}
	if cfg.BeforeCommit != nil {
		if err := cfg.BeforeCommit(ctx, conn, sum.RunID, sum.BatchID); err != nil {
			conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
			return sum, recordFailure(ctx, conn, &sum, start, cfg.Now(), &BatchError{Err: err})
		}
	}
	end := cfg.Now()
	if _, err := conn.ExecContext(ctx, `INSERT INTO ingest_runs VALUES (?, ?, ?, ?, ?, 'committed', NULL)`,
		sum.RunID, sum.BatchID, sum.Dir, start, end); err != nil {
		conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		return sum, fmt.Errorf("record run: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		return sum, fmt.Errorf("commit batch: %w", err)
	}
	sum.Seconds = end.Sub(start).Seconds()
	if sum.Seconds > 0 {
		sum.RowsPerSec = float64(sum.Totals.Read) / sum.Seconds
	}
	return sum, nil
}

// settleDialects detects the encoding and dialect of every delimited file
// once per file.
func settleDialects(files []BatchFile, cfg Config) error {
	byPath := map[string]Dialect{}
	for i := range files {
		f := &files[i]
		if f.Format != FormatCSV && f.Format != FormatCSVGz {
			continue
		}
		d, ok := byPath[f.Path]
		if !ok {
			var err error
			if d, err = detectDialect(*f, cfg); err != nil {
				return &BatchError{File: f.Name, Err: err}
			}
			byPath[f.Path] = d
		}
		f.Dialect = d
	}
	return nil
}

// nullIfEmpty binds "" as NULL.
func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func recordFailure(ctx context.Context, conn *sql.Conn, sum *Summary, start, end time.Time, cause error) error {
	_, err := conn.ExecContext(context.WithoutCancel(ctx), `INSERT INTO ingest_runs VALUES (?, ?, ?, ?, ?, 'failed', ?)`,
		sum.RunID, sum.BatchID, sum.Dir, start, end, cause.Error())
	return errors.Join(cause, err)
}

// fingerprint is the batch id: an xxh3-128 digest of the files' names and
// contents, so re-delivering the same files is recognised as the same batch.
func fingerprint(files []BatchFile) (string, error) {
	h := xxh3.New128()
	seen := map[string]bool{}
	for _, f := range files {
		if seen[f.Path] {
			continue // another table fed by the same national file
		}
		seen[f.Path] = true
		fmt.Fprintf(h, "%s\x00%d\x00", f.Name, f.Size)
		fh, err := os.Open(f.Path)
		if err != nil {
			return "", err
		}
		_, err = io.Copy(h, fh)
		fh.Close()
		if err != nil {
			return "", fmt.Errorf("read %s: %w", f.Name, err)
		}
	}
	sum := h.Sum128().Bytes()
	return "b" + hex.EncodeToString(sum[:8]), nil
}

// ingester loads the files of one batch on one pinned connection inside the
// batch's transaction.
type ingester struct {
	conn    *sql.Conn
	cfg     Config
	batchID string
	runID   int64
	merged  map[string]bool // tables a file of this run was merged into
	// stopProducers cancels the batch's producer goroutine.
	stopProducers context.CancelFunc
}

// fileStream is one file of the batch on its way in: the batch's producer
// goroutine decodes and checks it into ch and sp, the loader inserts what
// arrives on ch.
type fileStream struct {
	f  BatchFile
	sp *spill
	ch chan arrow.RecordBatch
	// gate, for a national extract file, is where the loader hands the
	// producer the file with the lookups read from the tables loaded before
	// it; the producer waits there.
	gate chan BatchFile
	keys fileKeys
	done chan struct{} // closed when the producer is through with the file
	err  error         // the producer's error; read after done
}

// startProducers starts the goroutine that decodes and checks the batch's
// files one after the other. A file is decoded while DuckDB still writes the
// one before it: the end of a write, when DuckDB compresses its last row
// groups, leaves a core idle (0.4 s of settlements and 0.7 s of fee_items at
// 50 k persons). Each stream's channel bounds how far ahead it gets. stop
// cancels the producer, drains every stream and removes the spill files.
func (in *ingester) startProducers(ctx context.Context, files []BatchFile) (streams []*fileStream, stop func(), err error) {
	pctx, cancel := context.WithCancel(ctx)
	in.stopProducers = cancel
	stop = func() {
		cancel()
		for _, s := range streams {
			for rec := range s.ch {
				rec.Release()
			}
			<-s.done
			s.sp.close()
		}
	}
	for _, f := range files {
		sp, err := newSpill(in.cfg.Allocator, in.cfg.BatchRows)
		if err != nil {
			cancel()
			for _, s := range streams {
				s.sp.close()
			}
			return nil, nil, err
		}
		s := &fileStream{f: f, sp: sp, ch: make(chan arrow.RecordBatch, 2), done: make(chan struct{})}
		if f.national != nil {
			s.gate = make(chan BatchFile, 1)
		}
		streams = append(streams, s)
	}
	go func() {
		failed := false
		for _, s := range streams {
			s.err = context.Canceled
			if !failed {
				s.err = s.produce(pctx, in.cfg)
				failed = s.err != nil
			}
			close(s.ch)
			close(s.done)
		}
	}()
	return streams, stop, nil
}

// produce decodes and checks the stream's file into its channel and spill.
// A cancelled producer returns the cancellation, not a BatchError: the
// loader reports why the batch stopped.
func (s *fileStream) produce(ctx context.Context, cfg Config) error {
	f := s.f
	if s.gate != nil {
		select {
		case f = <-s.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	src, err := openSource(f, cfg)
	if err != nil {
		return &BatchError{File: f.Name, Err: err}
	}
	defer src.close()
	err = produce(ctx, src, f.Table, cfg, s.ch, s.sp, &s.keys)
	if err != nil && !errors.Is(err, context.Canceled) {
		return &BatchError{File: f.Name, Err: err}
	}
	return err
}

// loadFile streams the well-formed rows of one file straight into its table
// (one write, overlapping decoding), the malformed ones into a spill file,
// and then settles the new rows against the batch and the stored data.
func (in *ingester) loadFile(ctx context.Context, s *fileStream) (FileSummary, error) {
	f, sp := s.f, s.sp
	fs := FileSummary{File: f.Name, Table: f.Table.Name, Format: f.Format, Layout: f.layout()}
	if f.Dialect != (Dialect{}) {
		d := f.Dialect
		fs.Dialect = &d
	}
	if f.national != nil {
		aux, err := loadAux(ctx, in.conn, f.national.role)
		if err != nil {
			return fs, err
		}
		n := *f.national
		n.aux = aux
		f.national = &n
		s.gate <- f
	}
	valid, err := in.stream(ctx, s)
	if err != nil {
		return fs, err
	}
	if err := sp.finish(); err != nil {
		return fs, fmt.Errorf("spill %s: %w", f.Name, err)
	}
	fs.Read = valid + sp.quarantined + sp.void
	fs.Quarantined = sp.quarantined
	fs.Void = sp.void
	// The rows of an earlier file of the same table in this run could share
	// a key with this file's (findBatchFiles delivers each table once).
	m := merger{in: in, t: f.Table, file: f.Name, distinct: s.keys.distinct() && !in.merged[f.Table.Name]}
	in.merged[f.Table.Name] = true
	if sp.quarantined+sp.notes > 0 {
		if err := in.loadSpill(ctx, sp); err != nil {
			return fs, fmt.Errorf("load spill of %s: %w", f.Name, err)
		}
		defer in.conn.ExecContext(context.WithoutCancel(ctx), `DROP TABLE IF EXISTS spill_rows`)
		if err := m.quarantineMalformed(ctx); err != nil {
			return fs, err
		}
	}
	if err := m.run(ctx, &fs, valid); err != nil {
		return fs, fmt.Errorf("merge %s: %w", f.Name, err)
	}
	if sp.notes > 0 {
		if fs.Warnings, err = m.notes(ctx); err != nil {
			return fs, err
		}
	}
	if !fs.Balanced() {
		return fs, fmt.Errorf("ledger of %s does not add up: %+v", f.Name, fs)
	}
	_, err = in.conn.ExecContext(ctx, `INSERT INTO batch_ledger (run_id, batch_id, file, table_name, format, read, loaded, quarantined,
		unchanged, corrected, warnings, void, layout, encoding, delimiter, quote) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		in.runID, in.batchID, f.Name, f.Table.Name, string(f.Format), fs.Read, fs.Loaded, fs.Quarantined, fs.Unchanged, fs.Corrected, fs.Warnings,
		fs.Void, string(fs.Layout), nullIfEmpty(f.Dialect.Encoding), nullIfEmpty(f.Dialect.Delimiter), nullIfEmpty(f.Dialect.Quote))
	return fs, err
}

// stream lets DuckDB pull the well-formed rows of the stream's file as Arrow
// record batches through a view straight into the file's table, and returns
// the number of rows inserted once the producer is through with the file.
func (in *ingester) stream(ctx context.Context, s *fileStream) (int64, error) {
	rdr := newStreamReader(loadSchema(s.f.Table), s.ch)
	defer rdr.Release()
	release, err := in.registerView(rdr, "ingest_src")
	if err != nil {
		return 0, err
	}
	cols := columnList(s.f.Table, "")
	res, err := in.conn.ExecContext(ctx, fmt.Sprintf(`INSERT INTO %s (%s, batch_id, run_id, row_hash, extra, src_line)
		SELECT %s, ?, ?, _hash, _extra, _line FROM ingest_src`, quoteIdent(s.f.Table.Name), cols, cols), in.batchID, in.runID)
	if err != nil {
		// The producers stop, so that the stream ends before settle reads it.
		in.stopProducers()
		in.settle(ctx)
		release()
		return 0, fmt.Errorf("load %s: %w", s.f.Name, err)
	}
	release()
	// The statement has read the channel to its end: the producer is done.
	<-s.done
	if s.err != nil {
		return 0, s.err
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// registerView exposes an Arrow record reader to SQL on the pinned connection.
func (in *ingester) registerView(rdr array.RecordReader, name string) (release func(), err error) {
	err = in.conn.Raw(func(dc any) error {
		ar, err := duckdb.NewArrowFromConn(dc.(driver.Conn))
		if err != nil {
			return err
		}
		release, err = ar.RegisterView(rdr, name)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("register Arrow view %s: %w", name, err)
	}
	return release, nil
}

// loadSpill copies the spill file into the temp table spill_rows.
func (in *ingester) loadSpill(ctx context.Context, sp *spill) error {
	r, f, err := sp.reader(in.cfg.Allocator)
	if err != nil {
		return err
	}
	defer f.Close()
	defer r.Release()
	release, err := in.registerView(r, "spill_src")
	if err != nil {
		return err
	}
	defer release()
	if _, err = in.conn.ExecContext(ctx, `CREATE OR REPLACE TEMP TABLE spill_rows AS SELECT * FROM spill_src`); err != nil {
		in.settle(ctx)
	}
	return err
}

// settle lets DuckDB finish a statement that failed, or that it interrupted
// on a cancelled context, before the Arrow stream the statement read is
// released: DuckDB runs the statement's remaining scan tasks when the
// connection next starts one, and a released stream crashed the process
// (TestCancelledIngestRollsBack).
func (in *ingester) settle(ctx context.Context) {
	in.conn.ExecContext(context.WithoutCancel(ctx), "SELECT 1")
}

// produce reads every row of src and checks it: well-formed rows go to ch as
// record batches, malformed rows and data-quality notes to the spill.
// The key orders of the producer's builders go to keys.
func produce(ctx context.Context, src rowSource, t *contract.Table, cfg Config, ch chan<- arrow.RecordBatch, sp *spill, keys *fileKeys) (err error) {
	p := &producer{ctx: ctx, t: t, cfg: cfg, ch: ch, sp: sp, keys: keys, sb: newStageBuilder(cfg.Allocator, t), chk: newChecker(t, cfg)}
	if ns, ok := src.(*nationalSource); ok {
		p.chk.rename = ns.fieldOf
	}
	defer p.release()
	if as, ok := src.(*arrowSource); ok {
		// arrow-go's readers, and the arrays they return from a corrupt
		// file, may panic where they should return an error.
		defer func() {
			if r := recover(); r != nil {
				err = errCorrupt(as.format, r)
			}
		}()
		if as.passthrough {
			return p.columnar(as)
		}
	}
	if hasVecRules(t) {
		switch s := src.(type) {
		case *csvSource:
			return p.csvBlocks(s)
		case *nationalSource:
			if inner, ok := s.inner.(*csvSource); ok {
				return p.nationalBlocks(s, inner)
			}
		}
	}
	for {
		row, err := src.next()
		if err == io.EOF {
			return p.flush()
		}
		if err != nil {
			return err
		}
		if err := p.row(row, true); err != nil {
			return err
		}
	}
}

type producer struct {
	ctx  context.Context
	t    *contract.Table
	cfg  Config
	ch   chan<- arrow.RecordBatch
	sp   *spill
	keys *fileKeys
	sb   *stageBuilder
	chk  *checker
}

// release reports the builder's key order and frees it.
func (p *producer) release() {
	p.keys.add(&p.sb.keys)
	p.sb.release()
}

func (p *producer) send(rec arrow.RecordBatch) error {
	select {
	case p.ch <- rec:
		return nil
	case <-p.ctx.Done():
		rec.Release()
		return p.ctx.Err()
	}
}

func (p *producer) flush() error {
	if rec := p.sb.flush(); rec != nil {
		return p.send(rec)
	}
	return nil
}

// row checks one row: a malformed row and any data-quality note go to the
// spill; a well-formed row is appended to the builder when build is set.
// It reports whether the row is well formed in p.chk.
func (p *producer) row(row *srcRow, build bool) error {
	var err error
	if row.void {
		p.sp.addVoid()
		return nil
	}
	if row.bad != "" {
		p.chk.probs = append(p.chk.probs[:0], problem{msg: row.bad})
		err = p.sp.add(spillQuarantine, row.line, row.badCol, row.bad, row.raw(), "")
	} else if p.chk.check(row.cells); len(p.chk.probs) > 0 {
		col, msg := p.chk.reason()
		err = p.sp.add(spillQuarantine, row.line, col, msg, row.raw(), "")
	} else {
		if build {
			p.sb.appendValid(p.chk.vals, row.line, row.extra)
		}
		if len(p.chk.warns) > 0 {
			err = p.sp.add(spillNote, row.line, p.chk.warns[0].col, p.chk.warning(), "", recordKey(p.t, p.chk.idx, p.chk.vals))
		}
	}
	if err != nil {
		return fmt.Errorf("spill: %w", err)
	}
	if build && p.sb.rows >= p.cfg.BatchRows {
		return p.flush()
	}
	return nil
}

// columnar loads a Parquet or Arrow file whose columns already have their
// load types. The vectorised checker reads each record batch column by
// column; when every row passes, the batch's arrays are loaded as they are,
// with only the line, hash and extra columns built. A batch with a row it
// cannot pass, and every batch of a table it has no rules for, is checked
// and rebuilt row by row.
func (p *producer) columnar(as *arrowSource) error {
	b := newVecBlock(p.t, p.chk, vecBlockRows)
	for {
		rec, err := as.nextRecord()
		if err == io.EOF {
			return p.flush()
		}
		if err != nil {
			return err
		}
		n := int(rec.NumRows())
		if b != nil && n > 0 {
			hashes := array.NewUint64Builder(p.cfg.Allocator)
			extras := array.NewStringBuilder(p.cfg.Allocator)
			if p.vecPasses(as, rec, b, hashes, extras) {
				lines := array.NewInt64Builder(p.cfg.Allocator)
				lines.Reserve(n)
				for i := range n {
					lines.UnsafeAppend(as.line + 1 + int64(i))
				}
				as.skip(n)
				err := p.send(p.passthroughRecord(as, rec, lines, hashes, extras))
				lines.Release()
				hashes.Release()
				extras.Release()
				if err != nil {
					return err
				}
				continue
			}
			hashes.Release()
			extras.Release()
		}
		for i := range n {
			if err := p.row(as.rowAt(i), true); err != nil {
				return err
			}
		}
		if p.sb.rows >= p.cfg.BatchRows {
			if err := p.flush(); err != nil {
				return err
			}
		}
	}
}

// vecPasses checks every row of rec with the vectorised checker, block by
// block, and reports whether all pass; meanwhile it appends their hashes and
// extra columns.
func (p *producer) vecPasses(as *arrowSource, rec arrow.RecordBatch, b *vecBlock, hashes *array.Uint64Builder, extras *array.StringBuilder) bool {
	n := int(rec.NumRows())
	hashes.Reserve(n)
	for off := 0; off < n; off += vecBlockRows {
		m := min(vecBlockRows, n-off)
		b.start(m)
		b.extras = b.extras[:0]
		for r := range m {
			b.extras = append(b.extras, as.extraAt(off+r))
		}
		for ci, pos := range as.cols.index {
			var arr arrow.Array
			if pos >= 0 {
				arr = rec.Column(pos)
			}
			b.arrowColumn(ci, arr, off)
		}
		b.finish()
		if b.nbad > 0 {
			return false
		}
		for r := range m {
			hashes.UnsafeAppend(b.rowHash(p.sb, r))
			appendOptString(extras, b.extras[r])
		}
	}
	return true
}

// passthroughRecord assembles a load-schema record from the file's arrays
// (retained, not copied), NULL arrays for absent optional columns and the
// built meta columns.
func (p *producer) passthroughRecord(as *arrowSource, rec arrow.RecordBatch, lines *array.Int64Builder, hashes *array.Uint64Builder, extras *array.StringBuilder) arrow.RecordBatch {
	n := int(rec.NumRows())
	cols := make([]arrow.Array, 0, len(p.t.Columns)+3)
	for c, pos := range as.cols.index {
		if pos < 0 {
			cols = append(cols, array.MakeArrayOfNull(p.cfg.Allocator, ArrowType(p.t.Columns[c].Type), n))
		} else {
			a := rec.Column(pos)
			a.Retain()
			cols = append(cols, a)
		}
	}
	cols = append(cols, lines.NewArray(), hashes.NewArray(), extras.NewArray())
	out := array.NewRecordBatch(loadSchema(p.t), cols, int64(n))
	for _, a := range cols {
		a.Release()
	}
	return out
}

// merger settles the rows one run inserted into a table (run_id = the run):
// duplicates within the file, orphans, and versions already stored.
type merger struct {
	in   *ingester
	t    *contract.Table
	file string
	// distinct: this run's rows of the table are known to hold each key
	// once (fileKeys.distinct), so step 1 of run has nothing to find.
	distinct bool
}

func (m *merger) exec(ctx context.Context, q string, args ...any) (int64, error) {
	res, err := m.in.conn.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (m *merger) count(ctx context.Context, q string, args ...any) (int64, error) {
	var n int64
	err := m.in.conn.QueryRowContext(ctx, q, args...).Scan(&n)
	return n, err
}

// keyEq joins aliases a and b on the table's key columns.
func (m *merger) keyEq(a, b string) string {
	parts := make([]string, len(m.t.Key))
	for i, k := range m.t.Key {
		parts[i] = fmt.Sprintf("%s.%s = %s.%s", a, quoteIdent(k), b, quoteIdent(k))
	}
	return strings.Join(parts, " AND ")
}

// keyText renders the key of alias a as text for messages.
func (m *merger) keyText(a string) string {
	parts := make([]string, len(m.t.Key))
	for i, k := range m.t.Key {
		parts[i] = fmt.Sprintf("%s.%s::VARCHAR", a, quoteIdent(k))
	}
	return strings.Join(parts, " || '/' || ")
}

// csvOf renders the contract columns of alias a as one CSV line, the raw row
// of records quarantined after they were loaded (duplicates, orphans).
func (m *merger) csvOf(a string) string {
	parts := make([]string, len(m.t.Columns))
	for i, c := range m.t.Columns {
		v := fmt.Sprintf("%s.%s::VARCHAR", a, quoteIdent(c.Name))
		parts[i] = fmt.Sprintf(`CASE WHEN %[1]s IS NULL THEN '' WHEN regexp_matches(%[1]s, '[",\r\n]') THEN '"' || replace(%[1]s, '"', '""') || '"' ELSE %[1]s END`, v)
	}
	return strings.Join(parts, " || ',' || ")
}

// newRows is the condition selecting this run's rows of alias a.
func (m *merger) newRows(a string) string { return fmt.Sprintf("%s.run_id = %d", a, m.in.runID) }

// quarantineMalformed moves the spilled malformed rows into quarantine.
func (m *merger) quarantineMalformed(ctx context.Context) error {
	_, err := m.exec(ctx, `INSERT INTO quarantine
		SELECT ?, ?, q.line, q.column_name, q.text, q.raw, now() FROM spill_rows q
		WHERE q.kind = 'q' AND NOT EXISTS (SELECT 1 FROM quarantine x WHERE x.batch_id = ? AND x.file = ? AND x.line = q.line)`,
		m.in.batchID, m.file, m.in.batchID, m.file)
	if err != nil {
		return fmt.Errorf("quarantine malformed rows: %w", err)
	}
	return nil
}

// notes records the data-quality notes of rows that stayed loaded.
func (m *merger) notes(ctx context.Context) (int64, error) {
	n, err := m.exec(ctx, fmt.Sprintf(`INSERT INTO data_quality
		SELECT ?, ?, q.line, ?, q.record_key, q.column_name, q.text FROM spill_rows q
		WHERE q.kind = 'n' AND EXISTS (SELECT 1 FROM %s t WHERE %s AND t.src_line = q.line)`,
		quoteIdent(m.t.Name), m.newRows("t")), m.in.batchID, m.file, m.t.Name)
	if err != nil {
		return 0, fmt.Errorf("record data-quality notes: %w", err)
	}
	return n, nil
}

// quarantine moves this run's rows of the table matching cond (over alias
// s) to the quarantine with the reason expression, and returns how many.
func (m *merger) quarantine(ctx context.Context, cond, column, reason string) (int64, error) {
	table := quoteIdent(m.t.Name)
	cond = m.newRows("s") + " AND (" + cond + ")"
	q := fmt.Sprintf(`INSERT INTO quarantine
		SELECT ?, ?, s.src_line, %s, %s, %s, now() FROM %s s
		WHERE %s AND NOT EXISTS (SELECT 1 FROM quarantine x WHERE x.batch_id = ? AND x.file = ? AND x.line = s.src_line)`,
		column, reason, m.csvOf("s"), table, cond)
	if _, err := m.exec(ctx, q, m.in.batchID, m.file, m.in.batchID, m.file); err != nil {
		return 0, err
	}
	return m.exec(ctx, fmt.Sprintf(`DELETE FROM %s s WHERE %s`, table, cond))
}

func (m *merger) run(ctx context.Context, fs *FileSummary, inserted int64) error {
	table := quoteIdent(m.t.Name)

	// 1. The same key twice in one file: an identical repeat is unchanged; a
	// different one is ambiguous and quarantined (the first row stands).
	// The grouped count is skipped when the keys came in strictly
	// increasing order: inside the batch's transaction it cost 2.0–2.7 s of
	// the 4.1 M fee lines of 100 k persons.
	keys := strings.Join(quoteAll(m.t.Key), ", ")
	var dupKeys int64
	if !m.distinct {
		// (A grouped count runs on every thread; count(DISTINCT) on one.)
		var err error
		dupKeys, err = m.count(ctx, fmt.Sprintf(`SELECT count(*) FROM (SELECT 1 FROM %s s WHERE %s GROUP BY %s HAVING count(*) > 1)`,
			table, m.newRows("s"), keys))
		if err != nil {
			return fmt.Errorf("find duplicate keys: %w", err)
		}
	}
	if dupKeys > 0 {
		q, u, err := m.duplicates(ctx, keys)
		if err != nil {
			return err
		}
		fs.Quarantined += q
		fs.Unchanged += u
	}

	// 2. Orphans: a parent neither stored nor earlier in this batch.
	for _, p := range m.t.Parents {
		pt, _ := contract.TableByName(p.Table)
		cond := fmt.Sprintf(`s.%[3]s IS NOT NULL AND NOT EXISTS (SELECT 1 FROM %[1]s p WHERE p.%[2]s = s.%[3]s)`, quoteIdent(pt.Name), quoteIdent(pt.Key[0]), quoteIdent(p.Column))
		// The same condition as an anti join: DuckDB counts it about three times faster.
		orphans, err := m.count(ctx, fmt.Sprintf(`SELECT count(*) FROM %[1]s s ANTI JOIN %[2]s p ON p.%[3]s = s.%[4]s WHERE %[5]s AND s.%[4]s IS NOT NULL`,
			table, quoteIdent(pt.Name), quoteIdent(pt.Key[0]), quoteIdent(p.Column), m.newRows("s")))
		if err != nil {
			return fmt.Errorf("find orphans of %s: %w", p.Table, err)
		}
		if orphans == 0 {
			continue
		}
		reason := fmt.Sprintf(`'orphan: %[1]s ' || s.%[2]s || ' is not in %[3]s (neither loaded before nor in this batch)'`, p.Column, quoteIdent(p.Column), pt.Name)
		n, err := m.quarantine(ctx, cond, quoteLiteral(p.Column), reason)
		if err != nil {
			return fmt.Errorf("quarantine orphans of %s: %w", p.Table, err)
		}
		fs.Quarantined += n
	}

	// 3. Against the stored versions: the same content is unchanged (the new
	// copy is dropped, the stored row keeps its lineage); new content is a
	// correction whose old version moves to history.
	var same int64
	if err := m.in.conn.QueryRowContext(ctx, fmt.Sprintf(`SELECT
			count(*) FILTER (WHERE n.row_hash = o.row_hash), count(*) FILTER (WHERE n.row_hash <> o.row_hash)
		FROM %[1]s n JOIN %[1]s o ON %[2]s WHERE %[3]s AND o.run_id < %[4]d`, table, m.keyEq("n", "o"), m.newRows("n"), m.in.runID)).Scan(&same, &fs.Corrected); err != nil {
		return fmt.Errorf("compare with stored rows: %w", err)
	}
	if same > 0 {
		n, err := m.exec(ctx, fmt.Sprintf(`DELETE FROM %[1]s n WHERE %[2]s AND EXISTS (
			SELECT 1 FROM %[1]s o WHERE o.run_id < %[3]d AND %[4]s AND o.row_hash = n.row_hash)`, table, m.newRows("n"), m.in.runID, m.keyEq("n", "o")))
		if err != nil {
			return fmt.Errorf("drop unchanged rows: %w", err)
		}
		fs.Unchanged += n
	}
	if fs.Corrected > 0 {
		changed := fmt.Sprintf(`o.run_id < %[1]d AND EXISTS (SELECT 1 FROM %[2]s n WHERE %[3]s AND %[4]s AND n.row_hash <> o.row_hash)`,
			m.in.runID, table, m.newRows("n"), m.keyEq("n", "o"))
		if _, err := m.exec(ctx, fmt.Sprintf(`INSERT INTO %s_history BY NAME SELECT o.*, now() AS superseded_at, ?::VARCHAR AS superseded_by FROM %s o WHERE %s`,
			m.t.Name, table, changed), m.in.batchID); err != nil {
			return fmt.Errorf("keep history: %w", err)
		}
		if _, err := m.exec(ctx, fmt.Sprintf(`DELETE FROM %s o WHERE %s`, table, changed)); err != nil {
			return fmt.Errorf("replace corrected rows: %w", err)
		}
	}
	fs.Loaded = fs.Read - fs.Quarantined - fs.Unchanged - fs.Corrected - fs.Void
	kept, err := m.count(ctx, fmt.Sprintf(`SELECT count(*) FROM %s s WHERE %s`, table, m.newRows("s")))
	if err != nil {
		return err
	}
	if kept != fs.Loaded+fs.Corrected {
		return fmt.Errorf("%d rows of this run remain in %s, the ledger says %d loaded + %d corrected (%d inserted)",
			kept, m.t.Name, fs.Loaded, fs.Corrected, inserted)
	}
	return nil
}

// duplicates settles keys that occur more than once among this run's rows.
// It returns how many later rows were quarantined (different content) and
// how many were identical repeats (unchanged); both are removed.
func (m *merger) duplicates(ctx context.Context, keys string) (quarantined, unchanged int64, err error) {
	table := quoteIdent(m.t.Name)
	if _, err := m.exec(ctx, fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE dup_rows AS
		SELECT s.src_line, s.row_hash, f.src_line AS first_line, f.row_hash AS first_hash FROM %[1]s s
		JOIN (SELECT %[2]s, min(src_line) AS src_line FROM %[1]s x WHERE %[3]s GROUP BY ALL HAVING count(*) > 1) d ON %[4]s
		JOIN %[1]s f ON %[5]s AND f.src_line = d.src_line AND %[6]s
		WHERE %[7]s AND s.src_line > d.src_line`, table, keys, m.newRows("x"), m.keyEq("s", "d"), m.keyEq("f", "d"), m.newRows("f"), m.newRows("s"))); err != nil {
		return 0, 0, fmt.Errorf("find duplicate keys: %w", err)
	}
	defer m.exec(context.WithoutCancel(ctx), `DROP TABLE IF EXISTS dup_rows`)
	quarantined, err = m.quarantine(ctx, `EXISTS (SELECT 1 FROM dup_rows d WHERE d.src_line = s.src_line AND d.row_hash <> d.first_hash)`, "NULL",
		fmt.Sprintf(`'duplicate key ' || %s || ' with different content; the row at line ' || (SELECT d.first_line FROM dup_rows d WHERE d.src_line = s.src_line) || ' is kept'`, m.keyText("s")))
	if err != nil {
		return 0, 0, fmt.Errorf("quarantine conflicting duplicates: %w", err)
	}
	unchanged, err = m.exec(ctx, fmt.Sprintf(`DELETE FROM %s s WHERE %s AND s.src_line IN (SELECT src_line FROM dup_rows)`, table, m.newRows("s")))
	return quarantined, unchanged, err
}

// columnList is the table's contract columns, quoted, with an alias prefix.
func columnList(t *contract.Table, prefix string) string {
	parts := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		parts[i] = prefix + quoteIdent(c.Name)
	}
	return strings.Join(parts, ", ")
}

func quoteAll(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = quoteIdent(n)
	}
	return out
}
