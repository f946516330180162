package upstream

import (
	"io"
	"sync/atomic"
)

// Budget bounds the bytes of response bodies that pools have read whole
// and the server has not written yet. One budget shared by every pool
// bounds what slow clients can make the process hold: a body that does not
// fit streams instead, holding its upstream connection rather than memory.
type Budget struct {
	max  int64
	used atomic.Int64
}

// NewBudget returns a budget of max bytes (DefaultMaxBuffered when max is
// not positive, as for the other options).
func NewBudget(max int64) *Budget {
	if max <= 0 {
		max = DefaultMaxBuffered
	}
	return &Budget{max: max}
}

// InUse is the number of bytes taken and not yet given back.
func (b *Budget) InUse() int64 { return b.used.Load() }

func (b *Budget) take(n int64) bool {
	if b.used.Add(n) > b.max {
		b.used.Add(-n)
		return false
	}
	return true
}

func (b *Budget) give(n int64) { b.used.Add(-n) }

// heldBody is a body read whole, handed to the server as a body stream so
// that its bytes count against the budget until the server, having written
// them (or given up), closes it.
type heldBody struct {
	budget *Budget
	buf    []byte
	off    int
}

func (h *heldBody) Read(p []byte) (int, error) {
	if h.off >= len(h.buf) {
		return 0, io.EOF
	}
	n := copy(p, h.buf[h.off:])
	h.off += n
	return n, nil
}

// WriteTo spares the server's copy loop a buffer.
func (h *heldBody) WriteTo(w io.Writer) (int64, error) {
	n, err := w.Write(h.buf[h.off:])
	h.off += n
	return int64(n), err
}

// Close gives the bytes back to the budget.
func (h *heldBody) Close() error {
	if h.budget != nil {
		h.budget.give(int64(len(h.buf)))
		h.budget, h.buf = nil, nil
	}
	return nil
}
