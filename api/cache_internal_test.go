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

// TestReadCacheEvictsByBytes: a full cache makes room by bytes, not by
// emptying itself: answers of older versions go first, then just enough
// others for the new answer to fit.
func TestReadCacheEvictsByBytes(t *testing.T) {
	c := newReadCache(1 << 20)
	c.maxBytes = 10_000
	body := bytes.Repeat([]byte("x"), 986) // with its 14-byte key: 1,000 bytes
	for i := range 15 {
		c.put(fmt.Sprintf("GET /v1?p=%04d", i), cacheEntry{version: 1, body: body})
	}
	if len(c.entries) != 10 || c.bytes != 10_000 {
		t.Fatalf("version 1: %d entries, %d bytes; want 10 and 10000", len(c.entries), c.bytes)
	}
	for i := range 3 {
		c.put(fmt.Sprintf("GET /v2?p=%04d", i), cacheEntry{version: 2, body: body})
	}
	if len(c.entries) != 3 || c.bytes != 3_000 {
		t.Errorf("version 2: %d entries, %d bytes; want the 3 new ones (the old version evicted)", len(c.entries), c.bytes)
	}
	big := bytes.Repeat([]byte("y"), 2_986)
	for i := range 7 {
		c.put(fmt.Sprintf("GET /v2?q=%04d", i), cacheEntry{version: 2, body: big})
	}
	if c.bytes > c.maxBytes || len(c.entries) < 3 {
		t.Errorf("after large answers: %d entries, %d bytes (cap %d)", len(c.entries), c.bytes, c.maxBytes)
	}
}
