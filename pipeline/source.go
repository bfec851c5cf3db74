package pipeline

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/medaudit/medaudit/contract"
)

// Format is the encoding of one batch file.
type Format string

// Supported file formats, by file name suffix.
const (
	FormatCSV     Format = "csv"
	FormatCSVGz   Format = "csv.gz"
	FormatParquet Format = "parquet"
	FormatArrow   Format = "arrow"
)

// Formats lists the supported formats in the order their suffixes are tried.
var Formats = []Format{FormatCSVGz, FormatCSV, FormatParquet, FormatArrow}

// BatchFile is one contract file found in a batch folder.
type BatchFile struct {
	Table  *contract.Table
	Name   string // base name, e.g. settlements.csv.gz; setl_d.csv#persons for a table derived from a national file
	Path   string
	Format Format
	Size   int64
	Layout Layout
	// Dialect is how a delimited file is read, settled before the batch
	// loads (the zero value: UTF-8, comma, double quote).
	Dialect  Dialect
	national *national // the role of a national extract file, nil for a contract file
}

func (f BatchFile) layout() Layout {
	if f.Layout == "" {
		return LayoutContract
	}
	return f.Layout
}

// ErrNoFiles is returned for a folder holding none of the contract files.
var ErrNoFiles = errors.New("no contract files (institutions, persons, … as .csv, .csv.gz, .parquet or .arrow)")

// FindBatchFiles lists the files of a batch folder in load order (parents
// first) and the names of the other files, which are ignored.
func FindBatchFiles(dir string) (files []BatchFile, ignored []string, err error) {
	return findBatchFiles(dir, DefaultConfig())
}

// srcRow is one decoded input row, its cells aligned with the table's columns.
type srcRow struct {
	line  int64
	cells []cell
	extra string        // JSON object of the columns the contract does not name
	bad   string        // a row-level syntax problem (wrong field count, broken quoting)
	raw   func() string // the row as read, CSV-encoded; called only for quarantined rows
	void  bool          // marked invalid at the source: counted, not loaded
	// badCol names the field of a row-level problem found before the checks
	// (a national code not in its dictionary, a failed amount identity).
	badCol string
}

// rowSource decodes one file. next returns io.EOF at the end; any other error
// makes the file unreadable and fails the batch.
type rowSource interface {
	next() (*srcRow, error)
	close() error
}

// columnMap matches a file's header to the table's columns.
type columnMap struct {
	index  []int    // for each table column, its position in the file or -1
	extras []int    // positions of columns the contract does not name
	names  []string // the file's column names
}

func mapColumns(t *contract.Table, names []string) (columnMap, error) {
	m := columnMap{index: make([]int, len(t.Columns)), names: names}
	pos := make(map[string]int, len(names))
	for i, n := range names {
		if _, dup := pos[n]; dup {
			return m, fmt.Errorf("column %q appears twice in the header", n)
		}
		pos[n] = i
	}
	var missing []string
	for i, c := range t.Columns {
		p, ok := pos[c.Name]
		if !ok {
			p = -1
			if c.Required {
				missing = append(missing, c.Name)
			}
		}
		m.index[i] = p
		delete(pos, c.Name)
	}
	if len(missing) > 0 {
		return m, fmt.Errorf("missing required column(s) %s (names are case-sensitive)", strings.Join(missing, ", "))
	}
	for i, n := range names {
		if _, unknown := pos[n]; unknown {
			m.extras = append(m.extras, i)
		}
	}
	return m, nil
}

// extraJSON renders the non-empty unknown columns of a row as a JSON object
// in file order, or "" when there are none.
func (m *columnMap) extraJSON(get func(i int) (string, bool)) string {
	if len(m.extras) == 0 {
		return ""
	}
	var b strings.Builder
	for _, i := range m.extras {
		v, ok := get(i)
		if !ok {
			continue
		}
		if b.Len() == 0 {
			b.WriteByte('{')
		} else {
			b.WriteByte(',')
		}
		writeJSONString(&b, m.names[i])
		b.WriteByte(':')
		writeJSONString(&b, v)
	}
	if b.Len() == 0 {
		return ""
	}
	b.WriteByte('}')
	return b.String()
}

// writeJSONString writes s as json.Marshal quotes it: directly when no
// character of s needs an escape, else through json.Marshal.
func writeJSONString(b *strings.Builder, s string) {
	plain := utf8.ValidString(s)
	for i := 0; i < len(s) && plain; i++ {
		switch c := s[i]; {
		case c < 0x20, c == '"', c == '\\', c == '<', c == '>', c == '&':
			plain = false
		case c == 0xE2 && i+2 < len(s) && s[i+1] == 0x80 && (s[i+2] == 0xA8 || s[i+2] == 0xA9):
			plain = false // U+2028, U+2029
		}
	}
	if !plain {
		q, _ := json.Marshal(s)
		b.Write(q)
		return
	}
	b.WriteByte('"')
	b.WriteString(s)
	b.WriteByte('"')
}

// countingReader reports bytes read to a progress callback.
type countingReader struct {
	r        io.Reader
	progress func(int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 && c.progress != nil {
		c.progress(int64(n))
	}
	return n, err
}

func openSource(f BatchFile, cfg Config) (rowSource, error) {
	if f.national != nil {
		return openNational(f, cfg)
	}
	switch f.Format {
	case FormatCSV, FormatCSVGz:
		return openCSV(f, cfg)
	case FormatParquet:
		return openParquet(f, cfg)
	case FormatArrow:
		return openArrowIPC(f, cfg)
	}
	return nil, fmt.Errorf("unsupported format %q", f.Format)
}
