// Package clftime writes a time the way API Gateway writes
// $context.requestTime: Common Log Format, "02/Jan/2006:15:04:05 +0000",
// always in UTC. The access log writes it on every line and the Lambda and
// WebSocket events carry it on every request, so it is a handful of digit
// writes rather than time.Time.AppendFormat, which parses its layout on
// every call (BenchmarkAppend).
package clftime

import (
	"bytes"
	"strconv"
	"sync/atomic"
	"time"
)

// monthNames holds the month abbreviations, three bytes each.
const monthNames = "JanFebMarAprMayJunJulAugSepOctNovDec"

// Append appends t, converted to UTC.
func Append(dst []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	hour, minute, sec := t.Clock()
	dst = append2(dst, day)
	dst = append(dst, '/')
	dst = append(dst, monthNames[3*(month-1):3*month]...)
	dst = append(dst, '/')
	if year >= 0 && year < 10000 {
		dst = append(dst, byte('0'+year/1000), byte('0'+year/100%10))
		dst = append2(dst, year%100)
	} else {
		dst = strconv.AppendInt(dst, int64(year), 10)
	}
	dst = append(dst, ':')
	dst = append2(dst, hour)
	dst = append(dst, ':')
	dst = append2(dst, minute)
	dst = append(dst, ':')
	dst = append2(dst, sec)
	return append(dst, " +0000"...)
}

// append2 appends n (0..99) as two digits.
func append2(dst []byte, n int) []byte {
	return append(dst, byte('0'+n/10), byte('0'+n%10))
}

// A Cache keeps the text of the second it was last asked for, as nginx
// keeps its log time: a busy server's requests arrive thousands to the
// second. Goroutines that see a new second each format it and the last to
// store wins; a text is never changed once stored, so a reader holding the
// previous one is not disturbed. The zero Cache is ready to use.
type Cache struct {
	last atomic.Pointer[second]
}

type second struct {
	unix int64
	text []byte
}

// Append appends t as the package's Append does, from the cache when t
// falls in the second it holds.
func (c *Cache) Append(dst []byte, t time.Time) []byte {
	unix := t.Unix()
	if s := c.last.Load(); s != nil && s.unix == unix {
		return append(dst, s.text...)
	}
	start := len(dst)
	dst = Append(dst, t)
	c.last.Store(&second{unix: unix, text: bytes.Clone(dst[start:])})
	return dst
}
