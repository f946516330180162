// Package accesslog writes one line per request in the shape of Amazon API
// Gateway's access logs: a JSON object with AWS $context field names, or
// AWS's Common Log Format preset. It knows nothing of configuration or of
// the gateway's types: the gateway fills a Record from the request it just
// served and calls Logger.Log.
//
// Hot path: Logger.Log. It takes a line buffer from a fixed free list,
// formats the record into it with append-style encoders (no fmt, no
// encoding/json, no strings), and hands the buffer to a bounded queue with a
// channel send that never blocks. One writer goroutine drains the queue
// through a 64 KiB bufio.Writer and returns buffers to the free list. When
// every buffer is queued or being written (the output is slower than the
// traffic), Log drops the line and counts it instead of waiting: a slow disk
// costs log lines, never request latency. In steady state Log allocates
// nothing; with output off the gateway holds a nil *Logger, whose Log returns
// at once.
package accesslog
