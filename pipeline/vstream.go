package pipeline

import (
	"context"
	"io"
	"runtime"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"

	"golang.org/x/sync/errgroup"
)

// csvBlocks loads a contract CSV file through the vectorised checker: this
// goroutine reads records into blocks, and workers, each with its own
// checker and record builder, check the blocks column by column and build
// record batches of their well-formed rows. Rows the vectorised checker
// cannot pass go to the worker's row checker; malformed records to this
// goroutine's. Rows reach DuckDB in no particular order: each carries its
// line.
func (p *producer) csvBlocks(s *csvSource) error {
	workers := min(max(runtime.GOMAXPROCS(0), 1), 4)
	capRows := min(vecBlockRows, p.cfg.BatchRows)
	free := make(chan *vecBlock, workers+2)
	for range workers + 2 {
		b := newVecBlock(p.t, p.chk, capRows)
		b.fields = make([]string, 0, capRows*s.width)
		free <- b
	}
	full := make(chan *vecBlock, workers)
	g, ctx := errgroup.WithContext(p.ctx)
	for range workers {
		w := &producer{ctx: ctx, t: p.t, cfg: p.cfg, ch: p.ch, sp: p.sp, sb: newStageBuilder(p.cfg.Allocator, p.t), chk: newChecker(p.t, p.cfg)}
		g.Go(func() error {
			defer w.sb.release()
			for b := range full {
				if err := w.block(s, b); err != nil {
					return err
				}
				free <- b
			}
			return w.flush()
		})
	}
	g.Go(func() error {
		defer close(full)
		return p.readBlocks(ctx, s, free, full)
	})
	return g.Wait()
}

// readBlocks reads s into blocks from free and hands them on to full.
func (p *producer) readBlocks(ctx context.Context, s *csvSource, free <-chan *vecBlock, full chan<- *vecBlock) error {
	var b *vecBlock
	send := func() error {
		if b == nil || len(b.lines) == 0 {
			return nil
		}
		select {
		case full <- b:
			b = nil
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for {
		err := s.read()
		if err == io.EOF {
			return send()
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
		if b == nil {
			select {
			case b = <-free:
			case <-ctx.Done():
				return ctx.Err()
			}
			b.fields, b.lines, b.extras = b.fields[:0], b.lines[:0], b.extras[:0]
		}
		b.fields = append(b.fields, s.rec...)
		b.lines = append(b.lines, s.row.line)
		b.extras = append(b.extras, s.extra(s.rec))
		if len(b.lines) == len(b.bad) {
			if err := send(); err != nil {
				return err
			}
		}
	}
}

// block checks one block of CSV records and adds its rows to the builder.
func (p *producer) block(s *csvSource, b *vecBlock) error {
	n := len(b.lines)
	b.start(n)
	for ci, pos := range s.cols.index {
		b.textColumn(ci, b.fields, s.width, pos)
	}
	b.finish()
	for r := 0; r < n && b.nbad > 0; r++ {
		if b.bad[r] {
			if err := p.row(s.heldRow(b.fields[r*s.width:(r+1)*s.width], b.lines[r], b.extras[r]), true); err != nil {
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
