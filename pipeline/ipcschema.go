package pipeline

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// arrow-go decodes an IPC schema by allocating slices as long as the vector
// lengths the file's flatbuffer claims, before it checks them against the
// buffer: a corrupt length in a two-kilobyte file asks for hundreds of
// gigabytes and the runtime ends the process ("fatal error: out of memory",
// which no recover catches; found by FuzzDecodeArrow). checkIPCSchema walks
// the schema first and refuses any vector that does not fit in its buffer.
// Offsets and slots follow Arrow's format/Schema.fbs, Message.fbs and
// File.fbs.

var errIPCSchema = errors.New("Arrow IPC schema is corrupt (a length points outside the file)")

// maxIPCSchemaBytes bounds the schema flatbuffer read for the check; a
// contract schema is a few kilobytes.
const maxIPCSchemaBytes = 16 << 20

// fbuf is a flatbuffer with bounds-checked reads.
type fbuf []byte

func (b fbuf) u32(pos int) (int, bool) {
	if pos < 0 || pos+4 > len(b) {
		return 0, false
	}
	return int(binary.LittleEndian.Uint32(b[pos:])), true
}

// field returns the position of slot i of the table at t, 0 if absent.
func (b fbuf) field(t, i int) (int, bool) {
	soff, ok := b.u32(t)
	if !ok {
		return 0, false
	}
	vt := t - int(int32(soff))
	if vt < 0 || vt+4 > len(b) {
		return 0, false
	}
	vtSize := int(binary.LittleEndian.Uint16(b[vt:]))
	if vt+vtSize > len(b) {
		return 0, false
	}
	if 4+2*i+2 > vtSize {
		return 0, true
	}
	off := int(binary.LittleEndian.Uint16(b[vt+4+2*i:]))
	if off == 0 {
		return 0, true
	}
	return t + off, t+off < len(b)
}

// ref follows the offset stored in slot i of the table at t (a table, a
// vector or a string), 0 if the slot is absent.
func (b fbuf) ref(t, i int) (int, bool) {
	p, ok := b.field(t, i)
	if !ok || p == 0 {
		return 0, ok
	}
	off, ok := b.u32(p)
	return p + off, ok && p+off < len(b)
}

// vector returns the start and length of the vector in slot i of table t,
// checking that length elements of size bytes fit in the buffer.
func (b fbuf) vector(t, i, size int) (start, n int, ok bool) {
	v, ok := b.ref(t, i)
	if !ok || v == 0 {
		return 0, 0, ok
	}
	n, ok = b.u32(v)
	if !ok || n > (len(b)-v-4)/size {
		return 0, 0, false
	}
	return v + 4, n, true
}

// tables checks a vector of tables in slot i of t and calls each on them.
func (b fbuf) tables(t, i int, each func(int) bool) bool {
	start, n, ok := b.vector(t, i, 4)
	for j := 0; ok && j < n; j++ {
		e := start + 4*j
		off, _ := b.u32(e)
		ok = e+off < len(b) && each(e+off)
	}
	return ok
}

// keyValues checks a custom_metadata vector ([KeyValue] with key and value strings).
func (b fbuf) keyValues(t, i int) bool {
	return b.tables(t, i, func(kv int) bool {
		_, _, k := b.vector(kv, 0, 1)
		_, _, v := b.vector(kv, 1, 1)
		return k && v
	})
}

// checkField checks a Field: name, children (recursively) and metadata.
func (b fbuf) checkField(f, depth int) bool {
	if depth > 64 {
		return false
	}
	_, _, name := b.vector(f, 0, 1)
	return name && b.keyValues(f, 6) && b.tables(f, 5, func(c int) bool { return b.checkField(c, depth+1) })
}

// checkSchema checks the Schema table at s: fields, metadata and features.
func (b fbuf) checkSchema(s int) bool {
	_, _, features := b.vector(s, 3, 8)
	return features && b.keyValues(s, 2) && b.tables(s, 1, func(f int) bool { return b.checkField(f, 0) })
}

// checkIPCSchema checks the schema of an Arrow IPC file (in its footer) or
// stream (its first message) before arrow-go decodes it. Anything else it
// leaves to arrow-go, which reports it as an error.
func checkIPCSchema(fh *os.File, isFile bool, size int64) error {
	var buf fbuf
	var root int
	if isFile {
		// ... footer flatbuffer, int32 footer length, "ARROW1".
		tail := make([]byte, 10)
		if size < 16 {
			return nil
		}
		if _, err := fh.ReadAt(tail, size-10); err != nil {
			return nil
		}
		n := int64(binary.LittleEndian.Uint32(tail))
		if n <= 0 || n > size-16 || n > maxIPCSchemaBytes {
			return nil
		}
		buf = make(fbuf, n)
		if _, err := fh.ReadAt(buf, size-10-n); err != nil {
			return nil
		}
		r, ok := buf.u32(0)
		if !ok {
			return errIPCSchema
		}
		if root, ok = buf.ref(r, 1); !ok { // Footer.schema
			return errIPCSchema
		}
	} else {
		// 0xFFFFFFFF, int32 metadata length, Message flatbuffer.
		head := make([]byte, 8)
		if _, err := io.ReadFull(fh, head); err != nil {
			return nil
		}
		n := int64(binary.LittleEndian.Uint32(head[4:]))
		if binary.LittleEndian.Uint32(head) != 0xFFFFFFFF || n <= 0 || n > maxIPCSchemaBytes || n > size-8 {
			return nil
		}
		buf = make(fbuf, n)
		if _, err := io.ReadFull(fh, buf); err != nil {
			return nil
		}
		r, ok := buf.u32(0)
		typ, ok2 := buf.field(r, 1) // Message.header_type: 1 = Schema
		if !ok || !ok2 || typ == 0 || buf[typ] != 1 {
			return nil
		}
		if root, ok = buf.ref(r, 2); !ok {
			return errIPCSchema
		}
	}
	if root != 0 && !buf.checkSchema(root) {
		return errIPCSchema
	}
	return nil
}

// checkIPC runs checkIPCSchema and rewinds the file.
func checkIPC(fh *os.File, isFile bool, size int64) error {
	err := checkIPCSchema(fh, isFile, size)
	if _, serr := fh.Seek(0, io.SeekStart); serr != nil {
		return serr
	}
	if err != nil {
		return fmt.Errorf("not a readable Arrow IPC file: %w", err)
	}
	return nil
}
