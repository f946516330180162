// Package accesslog writes one line per request in the shape of Amazon API
// Gateway's access logs: a JSON object with AWS $context field names, or
// AWS's Common Log Format preset. It knows nothing of configuration or of
// the gateway's types: the gateway fills a Record from the request it just
// served and calls Logger.Log.
//
// Hot path: Logger.Log. It locks the first free shard of the queue and
// formats the record at the end of the shard's buffer with append-style
// encoders (no fmt, no encoding/json, no strings). One writer goroutine
// swaps each shard's buffer for an empty one every millisecond while lines
// come, and writes the lines through a 64 KiB bufio.Writer. When a shard
// has no room for a line (the output is slower than the traffic), Log
// drops the line and counts it instead of waiting: a slow disk costs log
// lines, never request latency. In steady state Log allocates nothing;
// with output off the gateway holds a nil *Logger, whose Log returns at
// once.
package accesslog
