package wsbridge

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	mrand "math/rand/v2"
)

// newConnectionID returns 16 URL-safe characters from 96 random bits, so
// ids never repeat across restarts and need no escaping in @connections
// URLs. They are capabilities of a sort (a loopback caller that knows one
// can post to it), hence crypto/rand. An id never starts with '-' or '_',
// which command-line tools (the AWS CLI's --connection-id) would take for
// an option.
func newConnectionID() string {
	var b [12]byte
	for {
		_, _ = rand.Read(b[:]) // never fails on supported platforms (Go 1.24+)
		if b[0]>>2 < 62 {      // the first character is a letter or digit
			return base64.RawURLEncoding.EncodeToString(b[:])
		}
	}
}

// requestIDLen is the length of an AWS-looking request or message id
// such as "R1knPH17NjMFftw=": 11 bytes in standard base64.
const requestIDLen = 16

// appendRequestID appends a new request or message id to dst. Only
// uniqueness in logs matters, so the fast generator is enough.
func appendRequestID(dst []byte) []byte {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], mrand.Uint64())
	binary.LittleEndian.PutUint64(b[8:], mrand.Uint64())
	return base64.StdEncoding.AppendEncode(dst, b[:11])
}
