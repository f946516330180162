// Shared by the CommonJS and ES module test handlers: the reply that
// echoes the event and the context as the handler saw them.
function reply(runtime, event, context, first, second) {
  const rc = (event && event.requestContext) || {};
  const env = {};
  for (const k of ['GREETING', 'LAMBDA_TASK_ROOT', '_HANDLER', 'AWS_REGION', 'AWS_DEFAULT_REGION',
    'AWS_LAMBDA_FUNCTION_NAME', 'AWS_LAMBDA_FUNCTION_MEMORY_SIZE', 'AWS_LAMBDA_FUNCTION_VERSION',
    'AWS_EXECUTION_ENV', 'LAMBDA_RUNTIME_DIR']) env[k] = process.env[k] ?? null;
  const body = {
    runtime,
    version: event.version ?? null,
    path: event.rawPath || event.path || '',
    method: event.httpMethod || (rc.http && rc.http.method) || null,
    query: event.queryStringParameters ?? null,
    stage: rc.stage ?? null,
    domainName: rc.domainName ?? null,
    requestId: context.awsRequestId,
    functionName: context.functionName,
    memory: context.memoryLimitInMB,
    arn: context.invokedFunctionArn,
    remaining: [first, second],
    cwd: process.cwd(),
    env,
  };
  if (event.action) return body;
  return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

function pathOf(event) {
  return (event && (event.rawPath || event.path)) || '';
}

module.exports = { reply, pathOf };
