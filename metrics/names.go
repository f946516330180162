package metrics

import (
	"strings"
	"unicode/utf8"
)

// Metric family names. Every family frontdesk exports is listed in
// describe, which gives scrapes their HELP and TYPE lines.
const (
	nameRequests            = "frontdesk_requests_total"
	nameRequestDuration     = "frontdesk_request_duration_seconds"
	nameIntegrationDuration = "frontdesk_integration_duration_seconds"
	nameUpstreamErrors      = "frontdesk_upstream_errors_total"
	nameThrottled           = "frontdesk_throttled_requests_total"
	nameQuotaExceeded       = "frontdesk_quota_exceeded_total"
	nameInFlight            = "frontdesk_requests_in_flight"
	nameOpenConnections     = "frontdesk_open_connections"
	nameBadRequests         = "frontdesk_bad_requests_total"
	nameReloads             = "frontdesk_config_reloads_total"
	nameLastReloadOK        = "frontdesk_config_last_reload_successful"
	nameLastReloadTime      = "frontdesk_config_last_reload_timestamp_seconds"
	nameCacheHits           = "frontdesk_cache_hits_total"
	nameCacheMisses         = "frontdesk_cache_misses_total"
	nameCacheEvictions      = "frontdesk_cache_evictions_total"
	nameCacheBytes          = "frontdesk_cache_bytes"
	nameCacheEntries        = "frontdesk_cache_entries"
	nameWSConnections       = "frontdesk_websocket_connections"
	nameWSMessages          = "frontdesk_websocket_messages_total"
	nameWSQueueFull         = "frontdesk_websocket_queue_full_total"
	nameWSDisconnectsDrop   = "frontdesk_websocket_disconnects_dropped_total"
	nameLogLines            = "frontdesk_access_log_lines_total"
	nameLogDropped          = "frontdesk_access_log_dropped_total"
	nameLogWriteErrors      = "frontdesk_access_log_write_errors_total"
	nameFnInvocations       = "frontdesk_function_invocations_total"
	nameFnErrors            = "frontdesk_function_errors_total"
	nameFnDuration          = "frontdesk_function_duration_seconds"
	nameFnColdStarts        = "frontdesk_function_cold_starts_total"
	nameFnInstances         = "frontdesk_function_instances"
	nameFnQueued            = "frontdesk_function_queued"
	nameTraceExported       = "frontdesk_tracing_spans_exported_total"
	nameTraceDropped        = "frontdesk_tracing_spans_dropped_total"
)

// describe returns a family's Prometheus type and help text.
func describe(family string) (typ, help string, ok bool) {
	switch family {
	case nameRequests:
		return "counter", "Requests served, by API, stage, route, method and status class.", true
	case nameRequestDuration:
		return "histogram", "Time from a request's arrival to the end of its response, in seconds.", true
	case nameIntegrationDuration:
		return "histogram", "Time the integration took to answer, in seconds.", true
	case nameUpstreamErrors:
		return "counter", "Failed calls to an API's upstream, by kind.", true
	case nameThrottled:
		return "counter", "Requests refused with 429 by a rate limit, by the level of the limit.", true
	case nameQuotaExceeded:
		return "counter", "Requests refused because the API key's usage plan quota was used up.", true
	case nameInFlight:
		return "gauge", "Requests being served.", true
	case nameOpenConnections:
		return "gauge", "Open client connections.", true
	case nameBadRequests:
		return "counter", "Requests refused because they could not be read: malformed, over a size limit, or too slow.", true
	case nameReloads:
		return "counter", "Configuration reloads, by result.", true
	case nameLastReloadOK:
		return "gauge", "1 if the last configuration reload succeeded, else 0.", true
	case nameLastReloadTime:
		return "gauge", "Unix time of the last configuration load or reload attempt.", true
	case nameCacheHits:
		return "counter", "Response cache look-ups that found a fresh entry.", true
	case nameCacheMisses:
		return "counter", "Response cache look-ups that found no usable entry.", true
	case nameCacheEvictions:
		return "counter", "Response cache entries dropped to make room.", true
	case nameCacheBytes:
		return "gauge", "Memory the response cache holds for entries, in bytes.", true
	case nameCacheEntries:
		return "gauge", "Entries in the response cache.", true
	case nameWSConnections:
		return "gauge", "Open WebSocket client connections.", true
	case nameWSMessages:
		return "counter", "WebSocket messages, by direction (in: from clients, out: to clients).", true
	case nameWSQueueFull:
		return "counter", "WebSocket messages refused because a client's send queue was full.", true
	case nameWSDisconnectsDrop:
		return "counter", "WebSocket $disconnect events that never reached the backend ($disconnect queue full, or every attempt failed).", true
	case nameLogLines:
		return "counter", "Access log lines handed to the output.", true
	case nameLogDropped:
		return "counter", "Access log lines dropped because the log queue was full.", true
	case nameLogWriteErrors:
		return "counter", "Failed writes to the access log output.", true
	case nameTraceExported:
		return "counter", "Trace spans the OTLP collector accepted.", true
	case nameTraceDropped:
		return "counter", "Sampled trace spans dropped: the export queue was full, or the collector refused them or could not be reached.", true
	case nameFnInvocations:
		return "counter", "Function invocations, local and remote.", true
	case nameFnErrors:
		return "counter", "Failed function invocations, by kind (function: the function failed; timeout; other).", true
	case nameFnDuration:
		return "histogram", "Time a function invocation took, queueing included, in seconds.", true
	case nameFnColdStarts:
		return "counter", "Instances a local function started.", true
	case nameFnInstances:
		return "gauge", "Live instances of a local function (starting, idle or busy).", true
	case nameFnQueued:
		return "gauge", "Invocations of a local function waiting for an instance.", true
	}
	return "", "", false
}

// familyOf returns the family a sample line's metric name belongs to, and
// whether it is one of ours. Histogram samples carry a _bucket, _sum or
// _count suffix.
func familyOf(name string) (string, bool) {
	if typ, _, ok := describe(name); ok && typ != "histogram" {
		return name, true
	}
	for _, suffix := range [...]string{"_bucket", "_sum", "_count"} {
		if base, found := strings.CutSuffix(name, suffix); found {
			if typ, _, ok := describe(base); ok && typ == "histogram" {
				return base, true
			}
		}
	}
	return "", false
}

// label renders one label pair, value escaped as the text exposition
// format wants: backslash, double quote and newline escaped; invalid UTF-8
// replaced, since Prometheus refuses it.
func label(name, value string) string {
	value = strings.ToValidUTF8(value, string(utf8.RuneError))
	var b strings.Builder
	b.Grow(len(name) + len(value) + 3)
	b.WriteString(name)
	b.WriteString(`="`)
	for i := 0; i < len(value); i++ {
		switch c := value[i]; c {
		case '\\':
			b.WriteString(`\\`)
		case '"':
			b.WriteString(`\"`)
		case '\n':
			b.WriteString(`\n`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// seriesName builds family{labels,k1="v1",...} from pre-rendered labels
// and further name/value pairs.
func seriesName(family, labels string, pairs ...string) string {
	var b strings.Builder
	b.WriteString(family)
	b.WriteByte('{')
	b.WriteString(labels)
	for i := 0; i+1 < len(pairs); i += 2 {
		if b.Len() > len(family)+1 {
			b.WriteByte(',')
		}
		b.WriteString(label(pairs[i], pairs[i+1]))
	}
	b.WriteByte('}')
	return b.String()
}
