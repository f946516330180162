package upstream

import (
	"bufio"
	"io"
	"net/http/httputil"
)

// newChunkedReader decodes a chunked body. The standard library's decoder
// is used as is; it allocates, but only on the streaming path.
func newChunkedReader(br *bufio.Reader) io.Reader {
	return httputil.NewChunkedReader(br)
}
