// frontdesk's runtime loop for Node.js handlers: the Lambda Runtime API in
// the standard library only. It loads _HANDLER ("file.export",
// "dir/file.nested.export") from LAMBDA_TASK_ROOT as an ES module or a
// CommonJS one, and runs each event from GET /next through an async or a
// callback handler, posting the result or an error in AWS's shape.
import dns from 'node:dns';
import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const PREFIX = '/2018-06-01/runtime';
const [apiHost, apiPort] = splitAddress(process.env.AWS_LAMBDA_RUNTIME_API || '');
const agent = new http.Agent({ keepAlive: true });

function splitAddress(a) {
  const i = a.lastIndexOf(':');
  return [a.slice(0, i), Number(a.slice(i + 1))];
}

// RFC 6761: every name under .localhost is the loopback host. Many
// resolvers do not know that, and handlers build URLs from
// requestContext.domainName, which is "<api>.execute-api.localhost" here.
function patchLocalhostResolution() {
  const original = dns.lookup;
  dns.lookup = function lookup(hostname, options, callback) {
    if (typeof options === 'function') {
      callback = options;
      options = {};
    }
    const name = String(hostname).toLowerCase().replace(/\.$/, '');
    if (name === 'localhost' || name.endsWith('.localhost')) {
      if (typeof options === 'number') options = { family: options };
      if (options && options.all) {
        process.nextTick(callback, null, [{ address: '127.0.0.1', family: 4 }]);
      } else {
        process.nextTick(callback, null, '127.0.0.1', 4);
      }
      return {};
    }
    return original.call(this, hostname, options, callback);
  };
}

function call(method, p, body, headers) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: apiHost, port: apiPort, method, path: PREFIX + p, agent, headers: headers || {} },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function errorDocument(err) {
  if (err instanceof Error) {
    return {
      errorType: err.name || 'Error',
      errorMessage: err.message,
      trace: String(err.stack || '').split('\n'),
    };
  }
  if (typeof err === 'string') return { errorType: 'string', errorMessage: err, trace: [] };
  let message;
  try {
    message = JSON.stringify(err);
  } catch {
    message = String(err);
  }
  return { errorType: typeof err, errorMessage: message, trace: [] };
}

function postError(p, doc) {
  return call('POST', p, JSON.stringify(doc), {
    'Content-Type': 'application/json',
    'Lambda-Runtime-Function-Error-Type': doc.errorType,
  });
}

// splitHandler separates "dir/file.a.b" into the module "dir/file" and the
// export path ["a", "b"], as the Node.js runtime does.
function splitHandler(handler) {
  const slash = handler.lastIndexOf('/') + 1;
  const dot = handler.indexOf('.', slash);
  if (dot < 0) return [handler, []];
  return [handler.slice(0, dot), handler.slice(dot + 1).split('.')];
}

function findModule(root, name) {
  for (const ext of ['.js', '.mjs', '.cjs', '']) {
    const f = path.resolve(root, name + ext);
    try {
      if (fs.statSync(f).isFile()) return f;
    } catch {
      // try the next extension
    }
  }
  return null;
}

async function loadModule(file) {
  if (file.endsWith('.mjs')) return import(pathToFileURL(file).href);
  const require = createRequire(file);
  try {
    return require(file);
  } catch (err) {
    // A .js file under "type": "module" is an ES module.
    if (err && (err.code === 'ERR_REQUIRE_ESM' || err.code === 'ERR_REQUIRE_ASYNC_MODULE')) {
      return import(pathToFileURL(file).href);
    }
    throw err;
  }
}

class InitError extends Error {
  constructor(name, message) {
    super(message);
    this.name = name;
  }
}

async function loadHandler(root, handler) {
  const [moduleName, exportPath] = splitHandler(handler);
  const file = findModule(root, moduleName);
  if (!file) {
    throw new InitError('Runtime.ImportModuleError', `Error: Cannot find module '${moduleName}'`);
  }
  let mod;
  try {
    mod = await loadModule(file);
  } catch (err) {
    if (err instanceof SyntaxError) throw new InitError('Runtime.UserCodeSyntaxError', String(err));
    throw err;
  }
  let fn = mod;
  for (const key of exportPath) fn = fn == null ? undefined : fn[key];
  if (typeof fn !== 'function' && mod && mod.default) {
    fn = mod.default;
    for (const key of exportPath) fn = fn == null ? undefined : fn[key];
  }
  if (typeof fn !== 'function') {
    throw new InitError('Runtime.HandlerNotFound', `${handler} is undefined or not exported`);
  }
  return fn;
}

function makeContext(headers) {
  const deadline = Number(headers['lambda-runtime-deadline-ms'] || 0);
  const env = process.env;
  return {
    awsRequestId: headers['lambda-runtime-aws-request-id'],
    invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
    functionName: env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION,
    memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
    identity: undefined,
    clientContext: undefined,
    // Accepted for compatibility: the result is sent when the handler
    // settles, without waiting for the event loop to drain.
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis() {
      return Math.max(0, deadline - Date.now());
    },
  };
}

// invoke runs one event through handler: an async handler settles its
// promise, a callback handler (three parameters, or one that calls
// context.done/succeed/fail) calls back, a plain function's return value
// is its result.
// A handler that neither settles nor calls back before the event loop
// empties returns null, as in Lambda.
let settleOnEmptyLoop = null;

function invoke(handler, event, context) {
  return new Promise((resolve, reject) => {
    let settled = false;
    const callback = (err, result) => {
      if (settled) return;
      settled = true;
      settleOnEmptyLoop = null;
      if (err !== undefined && err !== null) reject(err);
      else resolve(result);
    };
    settleOnEmptyLoop = () => callback(null, null);
    context.done = callback;
    context.succeed = (result) => callback(null, result);
    context.fail = (err) => callback(err === undefined || err === null ? 'handled' : err);
    let out;
    try {
      out = handler(event, context, callback);
    } catch (err) {
      callback(err);
      return;
    }
    if (out && typeof out.then === 'function') {
      out.then((v) => callback(null, v), (e) => callback(e === undefined ? new Error('undefined') : e));
    } else if (handler.length < 3) {
      callback(null, out);
    }
  });
}

let current = null;

function fatal(err) {
  const doc = errorDocument(err);
  const p = current ? `/invocation/${current}/error` : '/init/error';
  postError(p, doc).finally(() => process.exit(1));
}

async function main() {
  patchLocalhostResolution();
  process.on('uncaughtException', fatal);
  process.on('beforeExit', () => {
    if (settleOnEmptyLoop) settleOnEmptyLoop();
  });
  process.on('unhandledRejection', (reason) => {
    const err = reason instanceof Error ? reason : new Error(String(reason));
    if (!(reason instanceof Error)) err.name = 'Runtime.UnhandledPromiseRejection';
    fatal(err);
  });
  const root = process.env.LAMBDA_TASK_ROOT || process.cwd();
  let handler;
  try {
    handler = await loadHandler(root, process.env._HANDLER || '');
  } catch (err) {
    await postError('/init/error', errorDocument(err));
    process.exit(1);
  }
  for (;;) {
    const next = await call('GET', '/invocation/next');
    const id = next.headers['lambda-runtime-aws-request-id'];
    const trace = next.headers['lambda-runtime-trace-id'];
    if (trace) process.env._X_AMZN_TRACE_ID = trace;
    else delete process.env._X_AMZN_TRACE_ID;
    current = id;
    let result;
    try {
      const event = next.body.length ? JSON.parse(next.body.toString('utf8')) : null;
      result = await invoke(handler, event, makeContext(next.headers));
    } catch (err) {
      await postError(`/invocation/${id}/error`, errorDocument(err));
      current = null;
      continue;
    }
    let payload;
    try {
      payload = JSON.stringify(result === undefined ? null : result);
    } catch (err) {
      await postError(`/invocation/${id}/error`, {
        errorType: 'Runtime.MarshalError',
        errorMessage: `Unable to stringify response body: ${err.message}`,
        trace: [],
      });
      current = null;
      continue;
    }
    await call('POST', `/invocation/${id}/response`, payload, { 'Content-Type': 'application/json' });
    current = null;
  }
}

main();
