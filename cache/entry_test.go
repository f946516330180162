package cache

import (
	"bytes"
	"strings"
	"testing"
)

func TestEntryRoundTripsThroughStore(t *testing.T) {
	binary := make([]byte, 256)
	for i := range binary {
		binary[i] = byte(i)
	}
	tests := []struct {
		name  string
		entry *Entry
	}{
		{"typical JSON response", sampleEntry(1024, testNow+int64(DefaultTTL))},
		{"no headers, empty body", &Entry{Status: 204, Expires: testNow + 1}},
		{"binary body", &Entry{Status: 200, Expires: testNow + 1, Body: binary}},
		{"empty header value", &Entry{Status: 200, Expires: testNow + 1, Headers: []Header{
			{Name: []byte("X-Empty"), Value: nil},
		}}},
		{"repeated header names keep order", &Entry{Status: 200, Expires: testNow + 1, Headers: []Header{
			{Name: []byte("Set-Cookie"), Value: []byte("a=1")},
			{Name: []byte("Set-Cookie"), Value: []byte("b=2")},
		}}},
		{"non-2xx status", &Entry{Status: 429, Expires: testNow + 1, Body: []byte(`{"message":"Too Many Requests"}`)}},
		{"body near the item cap", &Entry{Status: 200, Expires: testNow + 1, Body: bytes.Repeat([]byte("b"), DefaultMaxItemSize-64)}},
	}
	s := newTestStore(t, Config{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := []byte("key/" + tt.name)
			mustSet(t, s, key, tt.entry)
			var got Entry
			if !s.Get(key, testNow, &got) {
				t.Fatal("Get missed a fresh entry")
			}
			if diff := sameEntry(&got, tt.entry); diff != "" {
				t.Fatal(diff)
			}
		})
	}
}

func TestSetDropsHopByHopHeaders(t *testing.T) {
	s := newTestStore(t, Config{})
	e := &Entry{Status: 200, Expires: testNow + 1}
	for _, name := range []string{"Connection", "keep-alive", "TE", "Trailer", "Transfer-Encoding", "Upgrade",
		"Proxy-Authenticate", "Proxy-Authorization", "Proxy-Connection", "Content-Type", "Tea"} {
		e.AddHeader([]byte(name), []byte("v"))
	}
	mustSet(t, s, []byte("k"), e)
	var got Entry
	if !s.Get([]byte("k"), testNow, &got) {
		t.Fatal("miss")
	}
	var names []string
	for _, h := range got.Headers {
		names = append(names, string(h.Name))
	}
	if want := "Content-Type,Tea"; strings.Join(names, ",") != want {
		t.Fatalf("stored headers %v, want %s", names, want)
	}
}

func TestEntryHeaderLookupIgnoresCase(t *testing.T) {
	e := sampleEntry(0, 0)
	tests := []struct {
		name, want string
	}{
		{"content-type", "application/json"},
		{"ETAG", `"33a64df551425fcc55e4d42a148795d9f25f89d4"`},
		{"X-Missing", ""},
	}
	for _, tt := range tests {
		if got := string(e.Header(tt.name)); got != tt.want {
			t.Errorf("Header(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestDecodeRefusesEveryTruncation(t *testing.T) {
	key := []byte("petstore/prod/GET /pets")
	enc := appendEntry(nil, key, sampleEntry(100, testNow))
	var e Entry
	for n := range len(enc) {
		if got := decodeEntry(enc[:n:n], key, &e); got == decodeOK {
			t.Fatalf("decoded a %d-byte prefix of a %d-byte entry", n, len(enc))
		}
	}
	if got := decodeEntry(append(enc[:len(enc):len(enc)], 0), key, &e); got == decodeOK {
		t.Fatal("decoded an entry with a trailing byte")
	}
	if got := decodeEntry(enc, key, &e); got != decodeOK {
		t.Fatalf("decode of the full entry = %d", got)
	}
}

func FuzzDecodeEntry(f *testing.F) {
	key := []byte("k")
	f.Add(appendEntry(nil, key, sampleEntry(10, testNow)))
	f.Add([]byte{entryVersion, 0, 0})
	f.Fuzz(func(t *testing.T, v []byte) {
		var e Entry
		decodeEntry(v, key, &e) // must not panic on any input
	})
}

func TestGetReusesEntryAcrossHits(t *testing.T) {
	s := newTestStore(t, Config{})
	want := sampleEntry(64, testNow+1)
	mustSet(t, s, []byte("k"), want)
	var e Entry
	if !s.Get([]byte("k"), testNow, &e) {
		t.Fatal("miss")
	}
	headers := &e.Headers[:1][0]
	for range 3 {
		if !s.Get([]byte("k"), testNow, &e) {
			t.Fatal("miss")
		}
	}
	if &e.Headers[0] != headers {
		t.Fatal("Get reallocated the Headers slice instead of reusing it")
	}
	if diff := sameEntry(&e, want); diff != "" {
		t.Fatal(diff)
	}
}

func TestAppendToDecodedFieldDoesNotCorruptNeighbours(t *testing.T) {
	s := newTestStore(t, Config{})
	want := sampleEntry(16, testNow+1)
	mustSet(t, s, []byte("k"), want)
	var e Entry
	if !s.Get([]byte("k"), testNow, &e) {
		t.Fatal("miss")
	}
	_ = append(e.Headers[0].Value, "XXXXXXXX"...)
	_ = append(e.Headers[0].Name, "XXXXXXXX"...)
	if diff := sameEntry(&e, want); diff != "" {
		t.Fatalf("after appending to a header: %s", diff)
	}
}
