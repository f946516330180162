package accesslog

import (
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/frontdeskgw/frontdesk/internal/clftime"
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
// asked for, as nginx does: formatting it was an eighth of a JSON line's
// cost (BenchmarkFormat).
func appendLine(dst []byte, f Format, r *Record, tc *clftime.Cache) []byte {
	if f == FormatCLF {
		return appendCLF(dst, r, tc)
	}
	return appendJSON(dst, r, tc)
}

// appendJSON writes the fields in the order of API Gateway's JSON preset,
// then the ones it leaves out. Numbers are JSON numbers, not the quoted
// strings AWS's template substitution produces, so log tools can compare
// and sum them without a cast.
func appendJSON(dst []byte, r *Record, tc *clftime.Cache) []byte {
	dst = append(dst, `{"requestId":"`...)
	dst = appendJSONField(dst, r.RequestID, MaxShortField)
	if len(r.ExtendedRequestID) > 0 {
		dst = append(dst, `","extendedRequestId":"`...)
		dst = appendJSONField(dst, r.ExtendedRequestID, MaxShortField)
	}
	dst = append(dst, `","ip":"`...)
	dst = appendJSONField(dst, r.SourceIP, MaxShortField)
	dst = append(dst, `","requestTime":"`...)
	dst = appendRequestTime(dst, r.RequestTime, tc)
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
func appendCLF(dst []byte, r *Record, tc *clftime.Cache) []byte {
	dst = appendCLFField(dst, r.SourceIP, MaxShortField, false)
	dst = append(dst, " - - ["...)
	dst = appendRequestTime(dst, r.RequestTime, tc)
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

// appendRequestTime appends t as $context.requestTime, "-" for the zero
// time, from tc when it is not nil.
func appendRequestTime(dst []byte, t time.Time, tc *clftime.Cache) []byte {
	switch {
	case t.IsZero():
		return append(dst, '-')
	case tc == nil:
		return clftime.Append(dst, t)
	}
	return tc.Append(dst, t)
}
