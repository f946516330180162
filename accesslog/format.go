package accesslog

import (
	"bytes"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/frontdeskgw/frontdesk/internal/jsonstr"
)

// Format is the shape of a log line.
type Format uint8

const (
	// FormatJSON is one JSON object a line with API Gateway's $context
	// field names.
	FormatJSON Format = iota
	// FormatCLF is API Gateway's Common Log Format preset:
	//
	//	$context.identity.sourceIp - - [$context.requestTime] "$context.httpMethod $context.routeKey $context.protocol" $context.status $context.responseLength $context.requestId
	FormatCLF
)

// ParseFormat maps the configuration's access_log.format to a Format. The
// empty string is JSON, the contract's default.
func ParseFormat(s string) (Format, error) {
	switch s {
	case "", "json":
		return FormatJSON, nil
	case "clf":
		return FormatCLF, nil
	}
	return 0, fmt.Errorf("accesslog: unknown format %q: want json or clf", s)
}

// String returns the configuration name of f.
func (f Format) String() string {
	switch f {
	case FormatJSON:
		return "json"
	case FormatCLF:
		return "clf"
	}
	return "Format(" + strconv.Itoa(int(f)) + ")"
}

// Field limits, in input bytes. Longer values are cut at a character
// boundary and end in "...". They make a line's size bounded whatever a
// client sends, which is what bounds the queue's memory (see MaxLineBytes).
// Short fields are identifiers the gateway produces or configures; long
// fields carry what a client chose.
const (
	MaxShortField = 128  // requestId, extendedRequestId, ip, httpMethod, protocol, apiId, stage, apiKey, traceId
	MaxErrorField = 256  // errorMessage, integrationErrorMessage, authorizerError, validationErrorString
	MaxLongField  = 1024 // routeKey, path, userAgent
)

// MaxLineBytes bounds one formatted line, newline included. The worst case
// is JSON with every field at its limit and made only of bytes that need a
// six-byte escape (\u00XX, or \ufffd for invalid UTF-8):
// 6 × (8 × MaxShortField + 4 × MaxErrorField + 3 × MaxLongField) = 30,720
// bytes, plus about 500 bytes of names, punctuation and numbers. A CLF line is at most a third of
// that. TestWorstCaseLineFitsMaxLineBytes checks the bound.
const MaxLineBytes = 32 << 10

const hexDigits = "0123456789abcdef"

// appendLine formats r as one line in format f, newline included. tc,
// when not nil, keeps the request time's text for the second it was last
// asked for.
func appendLine(dst []byte, f Format, r *Record, tc *timeCache) []byte {
	if f == FormatCLF {
		return appendCLF(dst, r, tc)
	}
	return appendJSON(dst, r, tc)
}

// appendJSON writes the fields in the order of API Gateway's JSON preset,
// then the ones it leaves out. Numbers are JSON numbers, not the quoted
// strings AWS's template substitution produces, so log tools can compare
// and sum them without a cast.
func appendJSON(dst []byte, r *Record, tc *timeCache) []byte {
	dst = append(dst, `{"requestId":"`...)
	dst = appendJSONField(dst, r.RequestID, MaxShortField)
	if len(r.ExtendedRequestID) > 0 {
		dst = append(dst, `","extendedRequestId":"`...)
		dst = appendJSONField(dst, r.ExtendedRequestID, MaxShortField)
	}
	dst = append(dst, `","ip":"`...)
	dst = appendJSONField(dst, r.SourceIP, MaxShortField)
	dst = append(dst, `","requestTime":"`...)
	dst = tc.append(dst, r.RequestTime)
	dst = append(dst, `","httpMethod":"`...)
	dst = appendJSONField(dst, r.HTTPMethod, MaxShortField)
	dst = append(dst, `","routeKey":"`...)
	dst = appendJSONField(dst, r.RouteKey, MaxLongField)
	dst = append(dst, `","path":"`...)
	dst = appendJSONField(dst, r.Path, MaxLongField)
	dst = append(dst, `","status":`...)
	dst = strconv.AppendInt(dst, int64(r.Status), 10)
	dst = append(dst, `,"protocol":"`...)
	dst = appendJSONField(dst, r.Protocol, MaxShortField)
	dst = append(dst, `","responseLength":`...)
	dst = strconv.AppendInt(dst, r.ResponseLength, 10)
	if r.IntegrationLatency >= 0 {
		dst = append(dst, `,"integrationLatency":`...)
		dst = strconv.AppendInt(dst, r.IntegrationLatency.Milliseconds(), 10)
	}
	dst = append(dst, `,"responseLatency":`...)
	dst = strconv.AppendInt(dst, r.ResponseLatency.Milliseconds(), 10)
	dst = append(dst, `,"apiId":"`...)
	dst = appendJSONField(dst, r.APIID, MaxShortField)
	dst = append(dst, `","stage":"`...)
	dst = appendJSONField(dst, r.Stage, MaxShortField)
	dst = append(dst, `","userAgent":"`...)
	dst = appendJSONField(dst, r.UserAgent, MaxLongField)
	if len(r.APIKey) > 0 {
		dst = append(dst, `","apiKey":"`...)
		dst = appendMaskedKey(dst, r.APIKey)
	}
	if len(r.ErrorMessage) > 0 {
		dst = append(dst, `","errorMessage":"`...)
		dst = appendJSONField(dst, r.ErrorMessage, MaxErrorField)
	}
	if len(r.IntegrationErrorMessage) > 0 {
		dst = append(dst, `","integrationErrorMessage":"`...)
		dst = appendJSONField(dst, r.IntegrationErrorMessage, MaxErrorField)
	}
	if len(r.AuthorizerError) > 0 {
		dst = append(dst, `","authorizerError":"`...)
		dst = appendJSONField(dst, r.AuthorizerError, MaxErrorField)
	}
	if len(r.ValidationErrorString) > 0 {
		dst = append(dst, `","validationErrorString":"`...)
		dst = appendJSONField(dst, r.ValidationErrorString, MaxErrorField)
	}
	if len(r.TraceID) > 0 {
		dst = append(dst, `","traceId":"`...)
		dst = appendJSONField(dst, r.TraceID, MaxShortField)
	}
	return append(dst, "\"}\n"...)
}

// appendCLF writes API Gateway's CLF preset. The request part repeats the
// method because AWS's preset uses $context.routeKey, which for HTTP APIs
// already starts with it ("GET GET /pets HTTP/1.1"); keeping AWS's shape
// lets parsers written for its logs read these.
func appendCLF(dst []byte, r *Record, tc *timeCache) []byte {
	dst = appendCLFField(dst, r.SourceIP, MaxShortField, false)
	dst = append(dst, " - - ["...)
	dst = tc.append(dst, r.RequestTime)
	dst = append(dst, `] "`...)
	dst = appendCLFField(dst, r.HTTPMethod, MaxShortField, true)
	dst = append(dst, ' ')
	dst = appendCLFField(dst, r.RouteKey, MaxLongField, true)
	dst = append(dst, ' ')
	dst = appendCLFField(dst, r.Protocol, MaxShortField, true)
	dst = append(dst, `" `...)
	dst = strconv.AppendInt(dst, int64(r.Status), 10)
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, r.ResponseLength, 10)
	dst = append(dst, ' ')
	dst = appendCLFField(dst, r.RequestID, MaxShortField, false)
	return append(dst, '\n')
}

// appendMaskedKey writes MaskKey(key) as the inside of a JSON string
// without building the masked copy: the visible prefix is escaped like any
// value, the rest is stars.
func appendMaskedKey(dst, key []byte) []byte {
	key, _ = clip(key, MaxShortField)
	keep := min(keyVisible, len(key)/2)
	dst = jsonstr.AppendEscaped(dst, key[:keep])
	for range len(key) - keep {
		dst = append(dst, '*')
	}
	return dst
}

// clip cuts s to at most limit bytes without splitting a UTF-8 sequence,
// and reports whether it cut.
func clip(s []byte, limit int) ([]byte, bool) {
	if len(s) <= limit {
		return s, false
	}
	n := limit
	// s[n] exists; if it continues a sequence, cut before that sequence.
	// Invalid input may have long runs of continuation bytes: give up after
	// the longest valid sequence and cut where we are.
	for i := 0; i < utf8.UTFMax-1 && n > 0 && !utf8.RuneStart(s[n]); i++ {
		n--
	}
	if !utf8.RuneStart(s[n]) {
		n = limit
	}
	return s[:n], true
}

// appendJSONField appends s as the inside of a JSON string, "-" when
// empty, cut to limit bytes.
func appendJSONField(dst, s []byte, limit int) []byte {
	if len(s) == 0 {
		return append(dst, '-')
	}
	s, cut := clip(s, limit)
	dst = jsonstr.AppendEscaped(dst, s)
	if cut {
		dst = append(dst, "..."...)
	}
	return dst
}

// appendCLFField appends s for a CLF line, "-" when empty, cut to limit
// bytes. Bytes that could break the line's shape or a terminal — control
// characters, DEL, quote, backslash, invalid UTF-8, and spaces outside the
// quoted request part — are written as \xHH, as nginx does, so one request
// is always one line with a fixed number of fields.
func appendCLFField(dst, s []byte, limit int, quoted bool) []byte {
	if len(s) == 0 {
		return append(dst, '-')
	}
	s, cut := clip(s, limit)
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if (c > 0x20 && c < 0x7f && c != '"' && c != '\\') || (c == ' ' && quoted) {
				i++
				continue
			}
		} else if r, size := utf8.DecodeRune(s[i:]); r != utf8.RuneError || size > 1 {
			i += size
			continue
		}
		dst = append(dst, s[start:i]...)
		dst = append(dst, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xf])
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	if cut {
		dst = append(dst, "..."...)
	}
	return dst
}

// monthNames holds CLF's month abbreviations, three bytes each.
const monthNames = "JanFebMarAprMayJunJulAugSepOctNovDec"

// A timeCache holds the text of one second's $context.requestTime, as
// nginx keeps its log time: a server's lines arrive in the same second
// thousands at a time, and formatting the time was an eighth of a JSON
// line's cost (BenchmarkFormat). Goroutines that see a new second each
// format it and the last to store wins; the text is never changed in
// place, so a reader holding the previous one is not disturbed.
type timeCache struct {
	last atomic.Pointer[secondText]
}

type secondText struct {
	unix int64
	text []byte
}

// append appends t as appendCLFTime does, from the cache when t falls in
// the second it holds. A nil cache formats every time.
func (c *timeCache) append(dst []byte, t time.Time) []byte {
	if c == nil || t.IsZero() {
		return appendCLFTime(dst, t)
	}
	unix := t.Unix()
	if s := c.last.Load(); s != nil && s.unix == unix {
		return append(dst, s.text...)
	}
	start := len(dst)
	dst = appendCLFTime(dst, t)
	c.last.Store(&secondText{unix: unix, text: bytes.Clone(dst[start:])})
	return dst
}

// appendCLFTime appends t as API Gateway's $context.requestTime,
// "02/Jan/2006:15:04:05 +0000", always in UTC. time.Time.AppendFormat
// would do, but it re-parses the layout on every call; this is a handful of
// digit writes.
func appendCLFTime(dst []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(dst, '-')
	}
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
