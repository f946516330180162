// Package vtl is a template engine for the dialect of the Velocity
// Template Language that Amazon API Gateway runs in REST API mapping
// templates and gateway responses: references with property, method and
// index chains, #set, #if/#elseif/#else, #foreach (with $foreach and
// $velocityCount), #break, #stop, #define, #macro, comments, escapes and
// literals, the Java string, list and map methods templates call, and the
// variables API Gateway provides ($input with JSONPath, $util, $context
// with its request and response overrides, $stageVariables).
//
// It knows nothing of HTTP: the caller fills an Input (body bytes,
// parameter maps, a context tree, stage variables) and gets the output
// bytes and the overrides the template set. docs/transform.md describes
// the dialect and its bounds.
//
// A template is parsed once (Parse: errors carry line:column) and then
// evaluated many times, concurrently, into a caller-provided buffer.
// Every evaluation is bounded: output size, #foreach iterations, macro
// depth and the number of evaluation steps, so no template can hang or
// exhaust memory; running out of a bound is an error the caller answers
// as a 500.
//
// Hot path: Template.Execute. A pooled evaluation state is reused, the
// body is parsed at most once per evaluation and only when the template
// reads it, and literal JSONPath and regular expression arguments are
// compiled at parse time.
package vtl
