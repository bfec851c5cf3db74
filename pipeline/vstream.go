package pipeline

import (
	"context"
	"io"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"

	"golang.org/x/sync/errgroup"
)

// blockWorkers is the number of workers per file. One, beside the reader
// and DuckDB's threads, measured fastest on 2 cores: with two, their record
// batches interleave and committing the batch cost 1.8 s instead of 0.4 s
// (5 M contract rows), more than the second worker saved.
const blockWorkers = 1

// blockRun is how the rows of one kind of source enter blocks and leave
// them for the row checker.
type blockRun struct {
	// read fills blocks from free and hands them on to full; rows it
	// cannot put in a block it gives to the row checker itself.
	read func(ctx context.Context, free <-chan *vecBlock, full chan<- *vecBlock) error
	// prepare, when set, returns a worker's step that turns a filled block
	// into the rows to check, before parse (each worker calls it once).
	prepare func() func(w *producer, b *vecBlock) error
	// parse reads every column of a filled block.
	parse func(b *vecBlock)
	// held returns row r of a block as a row for the row checker.
	held func(b *vecBlock, r int) *srcRow
}

// blocks loads a file through the vectorised checker: run.read fills
// blocks in a goroutine of its own, and workers, each with its own checker
// and record builder, check the blocks column by column and build record
// batches of their well-formed rows; the rows the vectorised checker cannot
// pass go to the worker's row checker. Rows reach DuckDB in no particular
// order: each carries its line.
func (p *producer) blocks(run blockRun) error {
	workers := blockWorkers
	capRows := min(vecBlockRows, p.cfg.BatchRows)
	free := make(chan *vecBlock, workers+2)
	for range workers + 2 {
		free <- newVecBlock(p.t, p.chk, capRows)
	}
	full := make(chan *vecBlock, workers)
	g, ctx := errgroup.WithContext(p.ctx)
	for range workers {
		w := &producer{ctx: ctx, t: p.t, cfg: p.cfg, ch: p.ch, sp: p.sp, keys: p.keys, sb: newStageBuilder(p.cfg.Allocator, p.t), chk: newChecker(p.t, p.cfg)}
		w.chk.rename = p.chk.rename
		var prepare func(w *producer, b *vecBlock) error
		if run.prepare != nil {
			prepare = run.prepare()
		}
		g.Go(func() error {
			defer w.release()
			for b := range full {
				if prepare != nil {
					if err := prepare(w, b); err != nil {
						return err
					}
				}
				if err := w.block(b, run); err != nil {
					return err
				}
				free <- b
			}
			return w.flush()
		})
	}
	g.Go(func() error {
		defer close(full)
		if err := run.read(ctx, free, full); err != nil {
			return err
		}
		return p.flush() // rows the reader built itself
	})
	return g.Wait()
}

// block checks one block and adds its rows to the builder.
func (p *producer) block(b *vecBlock, run blockRun) error {
	b.start(len(b.lines))
	run.parse(b)
	b.finish()
	for r := 0; r < b.n && b.nbad > 0; r++ {
		if b.bad[r] {
			if err := p.row(run.held(b, r), true); err != nil {
				return err
			}
		}
	}
	p.sb.appendGood(b)
	if p.sb.rows >= p.cfg.BatchRows {
		return p.flush()
	}
	return nil
}

// blockFiller hands the reader of a blockRun an empty block and sends it
// on when it is full.
type blockFiller struct {
	ctx  context.Context
	free <-chan *vecBlock
	full chan<- *vecBlock
	b    *vecBlock
}

// block returns the block being filled, taking a free one when needed.
func (f *blockFiller) block() (*vecBlock, error) {
	if f.b == nil {
		select {
		case f.b = <-f.free:
		case <-f.ctx.Done():
			return nil, f.ctx.Err()
		}
		b := f.b
		b.fields, b.cells, b.raws, b.lines, b.extras = b.fields[:0], b.cells[:0], b.raws[:0], b.lines[:0], b.extras[:0]
	}
	return f.b, nil
}

// added sends the block on if the row just added filled it.
func (f *blockFiller) added() error {
	if len(f.b.lines) < len(f.b.bad) {
		return nil
	}
	return f.send()
}

// addRecord adds one CSV record with its line and extra columns to the
// block being filled, sending the block on when it is full.
func (f *blockFiller) addRecord(rec []string, line int64, extra string) error {
	b, err := f.block()
	if err != nil {
		return err
	}
	b.fields = append(b.fields, rec...)
	b.lines = append(b.lines, line)
	b.extras = append(b.extras, extra)
	return f.added()
}

// send hands the block being filled on, if it holds any row.
func (f *blockFiller) send() error {
	if f.b == nil || len(f.b.lines) == 0 {
		return nil
	}
	select {
	case f.full <- f.b:
		f.b = nil
		return nil
	case <-f.ctx.Done():
		return f.ctx.Err()
	}
}

// csvBlocks loads a contract CSV file through the vectorised checker; the
// blocks hold the records' fields. Malformed records go to the reader's row
// checker.
func (p *producer) csvBlocks(s *csvSource) error {
	return p.blocks(blockRun{
		read: func(ctx context.Context, free <-chan *vecBlock, full chan<- *vecBlock) error {
			f := &blockFiller{ctx: ctx, free: free, full: full}
			for {
				err := s.read()
				if err == io.EOF {
					return f.send()
				}
				if err != nil {
					return err
				}
				if s.row.bad != "" {
					if err := p.row(&s.row, false); err != nil {
						return err
					}
					continue
				}
				if err := f.addRecord(s.rec, s.row.line, s.extra(s.rec)); err != nil {
					return err
				}
			}
		},
		parse: func(b *vecBlock) {
			for ci, pos := range s.cols.index {
				b.textColumn(ci, func(r int) string {
					if pos < 0 {
						return ""
					}
					return b.fields[r*s.width+pos]
				})
			}
		},
		held: func(b *vecBlock, r int) *srcRow {
			return s.heldRow(b.fields[r*s.width:(r+1)*s.width], b.lines[r], b.extras[r])
		},
	})
}

// nationalBlocks loads the rows a national extract file (read as CSV) gives
// one table through the vectorised checker; the blocks hold the mapped
// rows' cells and the records they came from, for the quarantine. Where the
// role's rows map independently, the reader only reads records and each
// worker maps its blocks with a clone of the source; else the reader maps.
// Void and bad rows go to a row checker.
func (p *producer) nationalBlocks(s *nationalSource, inner *csvSource) error {
	ncols := len(p.t.Columns)
	run := blockRun{
		parse: func(b *vecBlock) {
			for ci := range ncols {
				b.cellColumn(ci, b.cells, ncols)
			}
		},
		held: func(b *vecBlock, r int) *srcRow {
			raw := b.raws[r*inner.width : (r+1)*inner.width]
			return &srcRow{line: b.lines[r], extra: b.extras[r], cells: b.cells[r*ncols : (r+1)*ncols],
				raw: func() string { return csvLine(raw) }}
		},
	}
	if !s.parallel() {
		run.read = func(ctx context.Context, free <-chan *vecBlock, full chan<- *vecBlock) error {
			f := &blockFiller{ctx: ctx, free: free, full: full}
			for {
				row, err := s.next()
				if err == io.EOF {
					return f.send()
				}
				if err != nil {
					return err
				}
				if row.void || row.bad != "" {
					if err := p.row(row, true); err != nil {
						return err
					}
					continue
				}
				b, err := f.block()
				if err != nil {
					return err
				}
				b.cells = append(b.cells, row.cells...)
				b.raws = append(b.raws, inner.rec...)
				b.lines = append(b.lines, row.line)
				b.extras = append(b.extras, row.extra)
				if err := f.added(); err != nil {
					return err
				}
			}
		}
		return p.blocks(run)
	}
	run.read = func(ctx context.Context, free <-chan *vecBlock, full chan<- *vecBlock) error {
		f := &blockFiller{ctx: ctx, free: free, full: full}
		for {
			err := inner.read()
			if err == io.EOF {
				return f.send()
			}
			if err != nil {
				return err
			}
			if inner.row.bad != "" {
				bad := srcRow{line: inner.row.line, bad: inner.row.bad, raw: inner.rawRow}
				if s.load(&bad) {
					if err := p.row(&s.row, false); err != nil {
						return err
					}
				}
				continue
			}
			if err := f.addRecord(inner.rec, inner.row.line, inner.extra(inner.rec)); err != nil {
				return err
			}
		}
	}
	run.prepare = func() func(w *producer, b *vecBlock) error {
		c := s.clone()
		var rec []string // the record c.cur was read from
		cur := srcRow{cells: make([]cell, len(inner.cols.index)), raw: func() string { return csvLine(rec) }}
		return func(w *producer, b *vecBlock) error {
			b.cells, b.raws = b.cells[:0], b.raws[:0]
			kept := 0
			for r := range b.lines {
				rec = b.fields[r*inner.width : (r+1)*inner.width]
				inner.fillRow(&cur, rec, b.lines[r], b.extras[r])
				if !c.load(&cur) {
					continue
				}
				if c.row.void || c.row.bad != "" {
					if err := w.row(&c.row, true); err != nil {
						return err
					}
					continue
				}
				b.cells = append(b.cells, c.row.cells...)
				b.raws = append(b.raws, rec...)
				b.lines[kept], b.extras[kept] = c.row.line, c.row.extra
				kept++
			}
			b.lines, b.extras = b.lines[:kept], b.extras[:kept]
			return nil
		}
	}
	return p.blocks(run)
}

// prefetchIter decodes the next record batch of a columnar file in a
// goroutine of its own while the producer checks the current one. The
// goroutine starts at the first call of next, so a file that is only probed
// decodes nothing.
type prefetchIter struct {
	in      recordIter
	format  string // for the error of a decoder panic
	ch      chan prefetched
	stop    chan struct{}
	started bool
	done    sync.WaitGroup
	cur     arrow.RecordBatch
}

type prefetched struct {
	rec arrow.RecordBatch
	err error
}

func newPrefetchIter(in recordIter, format string) *prefetchIter {
	return &prefetchIter{in: in, format: format, ch: make(chan prefetched, 1), stop: make(chan struct{})}
}

func (p *prefetchIter) run() {
	defer p.done.Done()
	defer close(p.ch)
	put := func(r prefetched) bool {
		select {
		case p.ch <- r:
			return true
		case <-p.stop:
			if r.rec != nil {
				r.rec.Release()
			}
			return false
		}
	}
	// arrow-go's decoders may panic on a corrupt file: here, in a
	// goroutine of ours, the panic becomes the file's error.
	defer func() {
		if r := recover(); r != nil {
			put(prefetched{err: errCorrupt(p.format, r)})
		}
	}()
	for {
		rec, err := p.in.next()
		if err == nil {
			rec.Retain()
		}
		if !put(prefetched{rec, err}) || err != nil {
			return
		}
	}
}

func (p *prefetchIter) next() (arrow.RecordBatch, error) {
	if !p.started {
		p.started = true
		p.done.Add(1)
		go p.run()
	}
	if p.cur != nil {
		p.cur.Release()
		p.cur = nil
	}
	r, ok := <-p.ch
	if !ok {
		return nil, io.EOF
	}
	if r.err != nil {
		return nil, r.err
	}
	p.cur = r.rec
	return r.rec, nil
}

func (p *prefetchIter) close() error {
	close(p.stop)
	if p.started {
		for r := range p.ch {
			if r.rec != nil {
				r.rec.Release()
			}
		}
		p.done.Wait()
	}
	if p.cur != nil {
		p.cur.Release()
		p.cur = nil
	}
	return p.in.close()
}
