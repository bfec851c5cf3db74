package pipeline

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/transform"
)

// Text encodings of delimited files. Extracts of government systems are
// very often GB18030 (a superset of GBK and GB2312).
const (
	EncodingUTF8    = "utf-8"
	EncodingGB18030 = "gb18030"
)

// Dialect is how one delimited file is written: its text encoding, field
// delimiter and quote character. The zero value is the contract's UTF-8,
// comma, double quote.
type Dialect struct {
	Encoding  string `json:"encoding,omitempty"`
	Delimiter string `json:"delimiter,omitempty"`
	Quote     string `json:"quote,omitempty"`
	BOM       bool   `json:"bom,omitempty"`
}

func (d Dialect) comma() rune {
	if d.Delimiter == "" {
		return ','
	}
	r, _ := utf8.DecodeRuneInString(d.Delimiter)
	return r
}

func (d Dialect) singleQuoted() bool { return d.Quote == "'" }

// ParseEncoding accepts the names a user may give for an encoding ("" is
// auto-detection).
func ParseEncoding(s string) (string, error) {
	switch strings.ToLower(strings.ReplaceAll(s, "-", "")) {
	case "", "auto":
		return "", nil
	case "utf8":
		return EncodingUTF8, nil
	case "gb18030", "gbk", "gb2312", "cp936":
		return EncodingGB18030, nil
	}
	return "", fmt.Errorf("encoding %q is not utf-8 or gb18030 (gbk)", s)
}

// ParseDelimiter accepts ",", "|", "tab" or "\t", ";" ("" is sniffing).
func ParseDelimiter(s string) (string, error) {
	switch s {
	case "":
		return "", nil
	case ",", "|", ";", "\t":
		return s, nil
	case "tab", `\t`:
		return "\t", nil
	}
	return "", fmt.Errorf("delimiter %q is not one of , | ; tab", s)
}

// ParseQuote accepts `"` or `'` ("" is sniffing).
func ParseQuote(s string) (string, error) {
	switch s {
	case "", `"`, "'":
		return s, nil
	case "double":
		return `"`, nil
	case "single":
		return "'", nil
	}
	return "", fmt.Errorf(`quote %q is not " or '`, s)
}

// sniffBytes is how much decoded text the dialect is sniffed from.
const sniffBytes = 64 << 10

// detectDialect settles the dialect of a CSV or CSV.gz file: the encoding
// given in cfg, else UTF-8 when the whole file is valid UTF-8, else GB18030
// when its first 64 KiB decode as GB18030 without an invalid sequence (the
// rest is checked row by row as it loads: an invalid sequence further on
// fails the batch, which loads nothing), else the file cannot be read; the
// delimiter and quote given in cfg, else sniffed from the header line and
// the lines after it.
func detectDialect(f BatchFile, cfg Config) (Dialect, error) {
	d := Dialect{Encoding: cfg.Encoding, Delimiter: cfg.Delimiter, Quote: cfg.Quote}
	open := func() (io.Reader, func(), error) { return openPlain(f, cfg) }
	r, done, err := open()
	if err != nil {
		return d, err
	}
	br := bufio.NewReaderSize(r, 1<<20)
	if bom, _ := br.Peek(3); string(bom) == "\xef\xbb\xbf" {
		d.BOM = true
	}
	if d.Encoding == "" {
		valid, err := validUTF8(br)
		done()
		if err != nil {
			return d, err
		}
		if valid {
			d.Encoding = EncodingUTF8
		} else {
			r, done, err = open()
			if err != nil {
				return d, err
			}
			if err := validGB18030(io.LimitReader(r, sniffBytes)); err != nil {
				done()
				return d, err
			}
			done()
			d.Encoding = EncodingGB18030
		}
		if r, done, err = open(); err != nil {
			return d, err
		}
		br = bufio.NewReaderSize(r, 1<<20)
	}
	defer done()
	text, err := decodedReader(br, d.Encoding)
	if err != nil {
		return d, err
	}
	head := make([]byte, sniffBytes)
	n, err := io.ReadFull(text, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return d, err
	}
	head = bytes.TrimPrefix(head[:n], []byte("\xef\xbb\xbf"))
	if d.Delimiter == "" {
		d.Delimiter = sniffDelimiter(head)
	}
	if d.Quote == "" {
		d.Quote = sniffQuote(head, d.Delimiter)
	}
	return d, nil
}

// openPlain opens f and returns its uncompressed bytes.
func openPlain(f BatchFile, cfg Config) (io.Reader, func(), error) {
	fh, err := os.Open(f.Path)
	if err != nil {
		return nil, nil, err
	}
	if f.Format != FormatCSVGz {
		return fh, func() { fh.Close() }, nil
	}
	buffered := bufio.NewReaderSize(fh, 1<<20)
	gz, err := gzip.NewReader(buffered)
	if err != nil {
		fh.Close()
		return nil, nil, fmt.Errorf("not a gzip file: %w", err)
	}
	return &gzipGuard{gz: gz, f: fh, buffered: buffered, ratio: int64(cfg.MaxGzipRatio)}, func() { gz.Close(); fh.Close() }, nil
}

// decodedReader turns r into UTF-8 text.
func decodedReader(r io.Reader, encoding string) (io.Reader, error) {
	switch encoding {
	case "", EncodingUTF8:
		return r, nil
	case EncodingGB18030:
		return transform.NewReader(r, simplifiedchinese.GB18030.NewDecoder()), nil
	}
	return nil, fmt.Errorf("unsupported encoding %q", encoding)
}

// validUTF8 reads r to the end and reports whether it is valid UTF-8.
func validUTF8(r io.Reader) (bool, error) {
	buf := make([]byte, 1<<20)
	carry := 0
	for {
		n, err := r.Read(buf[carry:])
		n += carry
		end := n
		// Hold back an incomplete rune at the end of the buffer.
		for i := 1; i <= utf8.UTFMax-1 && i <= n; i++ {
			if b := buf[n-i]; b >= 0xC0 {
				if !utf8.FullRune(buf[n-i : n]) {
					end = n - i
				}
				break
			} else if b < 0x80 {
				break
			}
		}
		if err == io.EOF {
			return utf8.Valid(buf[:n]), nil
		}
		if err != nil {
			return false, err
		}
		if !utf8.Valid(buf[:end]) {
			return false, nil
		}
		carry = copy(buf, buf[end:n])
	}
}

// errNotText is a file that is neither UTF-8 nor GB18030.
var errNotText = errors.New("the file is neither valid UTF-8 nor valid GB18030/GBK text (give --encoding, or re-export it)")

// validGB18030 decodes r (a bounded prefix of a file) and fails on an
// invalid sequence, which golang.org/x/text's decoder turns into U+FFFD; a
// character cut at the end of the prefix is not one.
func validGB18030(r io.Reader) error {
	text, err := io.ReadAll(transform.NewReader(r, simplifiedchinese.GB18030.NewDecoder()))
	if err != nil {
		return fmt.Errorf("%w: %v", errNotText, err)
	}
	if bytes.Contains(bytes.TrimSuffix(text, []byte("\uFFFD")), []byte("\uFFFD")) {
		return errNotText
	}
	return nil
}

// sniffDelimiter picks the most frequent of comma, pipe, tab and semicolon
// outside quotes on the header line; comma when none occurs.
func sniffDelimiter(head []byte) string {
	line := head
	if i := bytes.IndexByte(head, '\n'); i >= 0 {
		line = head[:i]
	}
	best, bestN := ",", 0
	for _, c := range []string{",", "|", "\t", ";"} {
		if n := bytes.Count(line, []byte(c)); n > bestN {
			best, bestN = c, n
		}
	}
	return best
}

// sniffQuote counts fields that open with a quote character (at the start of
// a line or after a delimiter) and close with the same one; single quotes
// win only when they are seen more often than double quotes.
func sniffQuote(head []byte, delim string) string {
	count := func(q byte) int {
		n := 0
		for _, line := range bytes.Split(head, []byte("\n")) {
			for _, f := range bytes.Split(bytes.TrimRight(line, "\r"), []byte(delim)) {
				if len(f) >= 2 && f[0] == q && f[len(f)-1] == q {
					n++
				}
			}
		}
		return n
	}
	if count('\'') > count('"') {
		return "'"
	}
	return `"`
}

// quoteSwapper exchanges the bytes ' and " so that encoding/csv, which knows
// only double quotes, reads a file quoted with single quotes; the fields it
// returns are swapped back with swapQuotes. Both bytes are ASCII and never
// part of a multi-byte UTF-8 sequence, so the swap is a bijection.
type quoteSwapper struct{ r io.Reader }

func (s quoteSwapper) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	for i, b := range p[:n] {
		switch b {
		case '\'':
			p[i] = '"'
		case '"':
			p[i] = '\''
		}
	}
	return n, err
}

var quoteSwap = strings.NewReplacer(`'`, `"`, `"`, `'`)

// swapQuotes undoes quoteSwapper on one field.
func swapQuotes(s string) string {
	if strings.ContainsAny(s, `'"`) {
		return quoteSwap.Replace(s)
	}
	return s
}
