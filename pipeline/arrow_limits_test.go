package pipeline

import (
	"encoding/binary"
	"runtime"
	"strings"
	"testing"
)

// heapAllocated returns the bytes the Go heap has handed out so far.
func heapAllocated() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.TotalAlloc
}

// A stream's first length field declares up to 2 GiB of message metadata.
// The reader must refuse a length longer than the file with an error naming
// the format, without allocating it (fuzz input 9a1b7aba27826e79: a 4.5 kB
// file made the reader allocate 1.8 GB, and under memory pressure the fuzz
// worker died with exit status 2).
func TestArrowStreamDeclaredLengthIsBounded(t *testing.T) {
	legacy := []byte("d_number") // pre-0.15 framing: "d_nu" read as an int32 length of 1.97e9
	cont := binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, 0xFFFFFFFF), 0x7FFFFFFF)
	for name, head := range map[string][]byte{"legacy": legacy, "continuation": cont} {
		t.Run(name, func(t *testing.T) {
			data := append(append([]byte(nil), head...), make([]byte, 4096)...)
			cfg, _ := fuzzConfig()
			bf := writeFuzzFile(t, fuzzTable(1), FormatArrow, data)
			before := heapAllocated()
			src, err := openSource(bf, cfg)
			allocated := heapAllocated() - before
			if err == nil {
				src.close()
				t.Fatal("a stream declaring more metadata than the file holds was opened")
			}
			if !strings.Contains(err.Error(), "Arrow") || !strings.Contains(err.Error(), "exceeds limit") {
				t.Errorf("error %q does not say the Arrow metadata length exceeds the limit", err)
			}
			if allocated > maxFuzzAlloc {
				t.Errorf("opening a %d-byte file allocated %d bytes", len(data), allocated)
			}
		})
	}
}
