package wsbridge

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
)

// chunkConn hands out a byte stream at most chunk bytes per Read.
type chunkConn struct {
	net.Conn // nil: only Read is used
	r        *bytes.Reader
	chunk    int
}

func (c *chunkConn) Read(p []byte) (int, error) {
	if len(p) > c.chunk {
		p = p[:c.chunk]
	}
	return c.r.Read(p)
}

// clientFrame builds a masked client frame, with a 64-bit length when
// long is set, whatever the payload's size (RFC 6455 asks for the
// shortest form; the guard must follow any).
func clientFrame(opcode byte, payload []byte, long bool) []byte {
	out := []byte{0x80 | opcode}
	switch n := len(payload); {
	case long:
		out = append(out, 0x80|127)
		out = binary.BigEndian.AppendUint64(out, uint64(n))
	case n < 126:
		out = append(out, 0x80|byte(n))
	case n < 1<<16:
		out = append(out, 0x80|126)
		out = binary.BigEndian.AppendUint16(out, uint16(n))
	default:
		out = append(out, 0x80|127)
		out = binary.BigEndian.AppendUint64(out, uint64(n))
	}
	out = append(out, 1, 2, 3, 4) // mask key; the guard does not unmask
	return append(out, payload...)
}

// readAll reads g until an error and returns what it delivered.
func readAll(g *frameGuard, bufSize int) ([]byte, error) {
	var out []byte
	p := make([]byte, bufSize)
	for {
		n, err := g.Read(p)
		out = append(out, p[:n]...)
		if err != nil {
			return out, err
		}
	}
}

func TestFrameGuardFollowsFramesAcrossReads(t *testing.T) {
	valid := bytes.Join([][]byte{
		clientFrame(0x1, []byte("hello"), false),
		clientFrame(0x9, []byte("ping"), false),
		clientFrame(0x1, bytes.Repeat([]byte{0x88}, 300), false), // payload bytes that look like close headers
		clientFrame(0x1, nil, false),
		clientFrame(0x2, bytes.Repeat([]byte{0x81}, 70000), false),
		clientFrame(0x1, []byte{1}, true),
		clientFrame(0x8, nil, false),
		clientFrame(0x8, []byte{0x03, 0xe8}, false),
	}, nil)
	oneByte := clientFrame(0x8, []byte{0x03}, false)
	oneByteLong := clientFrame(0x8, []byte{0x03}, true)
	for _, tc := range []struct {
		name    string
		stream  []byte
		deliver int // bytes the library may see
		wantErr error
	}{
		{"valid frames pass untouched", valid, len(valid), io.EOF},
		{"1-byte close stops at its length", append(append([]byte{}, valid[:len(valid)-8]...), oneByte...), len(valid) - 8 + 2, errOneByteClose},
		{"1-byte close with a 64-bit length", append(clientFrame(0x1, []byte("x"), false), oneByteLong...), 7 + 10, errOneByteClose},
	} {
		for _, chunk := range []int{1, 2, 3, 7, 13, 256, 1 << 20} {
			g := &frameGuard{Conn: &chunkConn{r: bytes.NewReader(tc.stream), chunk: chunk}}
			got, err := readAll(g, 256)
			if !errors.Is(err, tc.wantErr) || !bytes.Equal(got, tc.stream[:tc.deliver]) {
				t.Fatalf("%s, reads of %d: delivered %d of %d bytes (want %d), err %v (want %v)",
					tc.name, chunk, len(got), len(tc.stream), tc.deliver, err, tc.wantErr)
			}
		}
	}
}

func BenchmarkFrameGuardScan(b *testing.B) {
	stream := bytes.Repeat(clientFrame(0x1, bytes.Repeat([]byte("x"), 1024), false), 64)
	g := &frameGuard{}
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	for b.Loop() {
		for off := 0; off < len(stream); off += 256 {
			if g.scan(stream[off:min(off+256, len(stream))]) >= 0 {
				b.Fatal("cut a valid stream")
			}
		}
	}
}
