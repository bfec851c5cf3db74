package api

import (
	"bytes"
	"fmt"
	"testing"
)

// TestReadCacheBytesCapped: however many distinct pages are cached, the
// cache never holds more than maxBytes; an answer larger than the cap is
// not kept.
func TestReadCacheBytesCapped(t *testing.T) {
	c := newReadCache(1 << 20)
	c.maxBytes = 10_000
	body := bytes.Repeat([]byte("x"), 900)
	for i := range 1000 {
		c.put(fmt.Sprintf("GET /api/v1/flags?limit=1000&offset=%d", i), cacheEntry{body: body})
		var held int64
		for k, e := range c.entries {
			held += int64(len(k) + len(e.body))
		}
		if held != c.bytes || held > c.maxBytes {
			t.Fatalf("after %d puts: %d bytes held, %d counted, cap %d", i+1, held, c.bytes, c.maxBytes)
		}
	}
	c.put("big", cacheEntry{body: bytes.Repeat([]byte("x"), 20_000)})
	if _, ok := c.entries["big"]; ok {
		t.Error("an answer over the cap was kept")
	}
}
