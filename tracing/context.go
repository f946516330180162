package tracing

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"

	"go.opentelemetry.io/otel/trace"
)

// The trace headers are read and written here rather than by the SDK's
// propagators: the propagators work on strings and contexts, which would
// cost every request allocations and about as much CPU as proxying it,
// while only the sampled few need the SDK. The formats are W3C Trace
// Context's traceparent and AWS X-Ray's trace header.

// incoming is the trace context a request brought.
type incoming struct {
	traceID trace.TraceID
	parent  trace.SpanID
	// hasTrace: traceID came from the request; hasParent: so did parent;
	// decided: the caller said sampled or not, in sampled.
	hasTrace, hasParent, decided, sampled bool
}

// Header names in the form fasthttp normalises names to, as SetCanonical
// needs them.
var (
	hdrTraceparent = []byte("Traceparent")
	hdrXRay        = []byte("X-Amzn-Trace-Id")
)

// parseTraceparent reads "00-<32 hex>-<16 hex>-<2 hex>" (a later
// version may append fields after a '-'); ok is false for anything else,
// all-zero ids and version ff.
func parseTraceparent(v []byte) (in incoming, ok bool) {
	if len(v) < 55 || v[2] != '-' || v[35] != '-' || v[52] != '-' {
		return in, false
	}
	if len(v) > 55 && (string(v[:2]) == "00" || v[55] != '-') {
		return in, false // version 00 is exactly 55 characters
	}
	var ver [1]byte
	if _, err := hex.Decode(ver[:], v[0:2]); err != nil || ver[0] == 0xff || !lowerHex(v[:55]) {
		return in, false
	}
	if _, err := hex.Decode(in.traceID[:], v[3:35]); err != nil || !in.traceID.IsValid() {
		return in, false
	}
	if _, err := hex.Decode(in.parent[:], v[36:52]); err != nil || !in.parent.IsValid() {
		return in, false
	}
	var flags [1]byte
	if _, err := hex.Decode(flags[:], v[53:55]); err != nil {
		return in, false
	}
	in.hasTrace, in.hasParent, in.decided, in.sampled = true, true, true, flags[0]&1 == 1
	return in, true
}

// lowerHex reports that the hex digits of v are lower case, as W3C
// requires ('-' separators aside).
func lowerHex(v []byte) bool {
	for _, c := range v {
		if c >= 'A' && c <= 'F' {
			return false
		}
	}
	return true
}

// parseXRay reads "Root=1-<8 hex>-<24 hex>;Parent=<16 hex>;Sampled=<0|1|?>"
// in any order, other fields ignored. A Root alone names the trace
// without a parent; Sampled=? (or none) leaves the decision to frontdesk.
func parseXRay(v []byte) (in incoming, ok bool) {
	for len(v) > 0 {
		var part []byte
		part, v, _ = bytes.Cut(v, []byte{';'})
		k, val, found := bytes.Cut(bytes.TrimSpace(part), []byte{'='})
		if !found {
			continue
		}
		switch string(k) {
		case "Root":
			if len(val) != 35 || val[0] != '1' || val[1] != '-' || val[10] != '-' {
				return in, false
			}
			if _, err := hex.Decode(in.traceID[:4], val[2:10]); err != nil {
				return in, false
			}
			if _, err := hex.Decode(in.traceID[4:], val[11:35]); err != nil || !in.traceID.IsValid() {
				return in, false
			}
			in.hasTrace = true
		case "Parent":
			if len(val) != 16 {
				continue
			}
			if _, err := hex.Decode(in.parent[:], val); err == nil && in.parent.IsValid() {
				in.hasParent = true
			}
		case "Sampled":
			switch string(val) {
			case "1":
				in.decided, in.sampled = true, true
			case "0":
				in.decided, in.sampled = true, false
			}
		}
	}
	if !in.hasTrace {
		return incoming{}, false
	}
	return in, true
}

// appendTraceparent writes a W3C traceparent from a trace id and a span
// id already in lower-case hex.
func appendTraceparent(dst []byte, tid *[32]byte, id *[16]byte, sampled bool) []byte {
	dst = append(dst, "00-"...)
	dst = append(dst, tid[:]...)
	dst = append(dst, '-')
	dst = append(dst, id[:]...)
	if sampled {
		return append(dst, "-01"...)
	}
	return append(dst, "-00"...)
}

// appendXRay writes an X-Ray trace header from a trace id and a span id
// already in lower-case hex, as API Gateway passes it on:
// Root=1-<8 hex>-<24 hex>;Parent=<16 hex>;Sampled=1.
func appendXRay(dst []byte, tid *[32]byte, id *[16]byte, sampled bool) []byte {
	dst = append(dst, "Root=1-"...)
	dst = append(dst, tid[:8]...)
	dst = append(dst, '-')
	dst = append(dst, tid[8:]...)
	dst = append(dst, ";Parent="...)
	dst = append(dst, id[:]...)
	if sampled {
		return append(dst, ";Sampled=1"...)
	}
	return append(dst, ";Sampled=0"...)
}

// encodeHex is hex.Encode for ids, two digits per table lookup: a request
// encodes its trace id and each integration call's span id once, and
// every header and log line copies the digits.
func encodeHex(dst, src []byte) {
	const digits = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f" +
		"202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f" +
		"404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f" +
		"606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f" +
		"808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f" +
		"a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf" +
		"c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf" +
		"e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"
	_ = dst[2*len(src)-1]
	for i, b := range src {
		dst[2*i], dst[2*i+1] = digits[2*int(b)], digits[2*int(b)+1]
	}
}

// ratioSampled is the SDK's TraceIDRatioBased rule, so that frontdesk and
// any other service using it agree on a trace: the trace id's last eight
// bytes, shifted right by one, below ratio × 2⁶³.
func ratioSampled(tid trace.TraceID, bound uint64) bool {
	return binary.BigEndian.Uint64(tid[8:16])>>1 < bound
}
