# frontdesk's runtime loop for Python handlers: the Lambda Runtime API in
# the standard library only. It imports _HANDLER ("module.function",
# "pkg/module.function") from LAMBDA_TASK_ROOT and runs each event from
# GET /next, posting the result or an error in AWS's shape.
import http.client
import importlib
import json
import os
import socket
import sys
import time
import traceback

API_PREFIX = "/2018-06-01/runtime"


def _patch_localhost_resolution():
    # RFC 6761: every name under .localhost is the loopback host. Many
    # resolvers (glibc without systemd-resolved) do not know that, and
    # handlers build URLs from requestContext.domainName, which is
    # "<api>.execute-api.localhost" locally.
    original = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else host
        if isinstance(name, str):
            low = name.lower().rstrip(".")
            if low == "localhost" or low.endswith(".localhost"):
                host = "127.0.0.1"
        return original(host, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo


class RuntimeAPI:
    def __init__(self, address):
        host, _, port = address.rpartition(":")
        self.host, self.port = host, int(port)
        self.conn = None

    def call(self, method, path, body=None, headers=None):
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port)
            try:
                self.conn.request(method, API_PREFIX + path, body=body, headers=headers or {})
                resp = self.conn.getresponse()
                return resp, resp.read()
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise


class LambdaContext:
    def __init__(self, request_id, deadline_ms, arn):
        self.aws_request_id = request_id
        self.invoked_function_arn = arn
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.identity = None
        self.client_context = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        return int(max(self._deadline_ms - time.time() * 1000, 0))


def error_document(exc, error_type=None, message=None, request_id=None):
    tb = traceback.extract_tb(exc.__traceback__) if exc is not None else []
    doc = {
        "errorMessage": message if message is not None else str(exc),
        "errorType": error_type or type(exc).__name__,
    }
    if request_id:
        doc["requestId"] = request_id
    doc["stackTrace"] = traceback.format_list(tb)
    return doc


def post_error(api, path, doc):
    body = json.dumps(doc).encode()
    api.call("POST", path, body, {
        "Content-Type": "application/json",
        "Lambda-Runtime-Function-Error-Type": doc["errorType"],
    })


def load_handler(task_root, handler):
    module_path, _, function_name = handler.rpartition(".")
    module_name = module_path.replace("/", ".")
    if task_root not in sys.path:
        sys.path.insert(0, task_root)
    try:
        module = importlib.import_module(module_name)
    except SyntaxError as exc:
        return None, error_document(exc, "Runtime.UserCodeSyntaxError",
                                    "Syntax error in module '%s': %s" % (module_name, exc))
    except ImportError as exc:
        return None, error_document(exc, "Runtime.ImportModuleError",
                                    "Unable to import module '%s': %s" % (module_name, exc))
    except Exception as exc:  # the module raised while it initialised
        return None, error_document(exc)
    fn = getattr(module, function_name, None)
    if not callable(fn):
        return None, error_document(None, "Runtime.HandlerNotFound",
                                    "Handler '%s' missing on module '%s'" % (function_name, module_name))
    return fn, None


def main():
    _patch_localhost_resolution()
    api = RuntimeAPI(os.environ["AWS_LAMBDA_RUNTIME_API"])
    task_root = os.environ.get("LAMBDA_TASK_ROOT") or os.getcwd()
    handler, init_error = load_handler(task_root, os.environ.get("_HANDLER", ""))
    if init_error is not None:
        post_error(api, "/init/error", init_error)
        sys.exit(1)
    while True:
        resp, body = api.call("GET", "/invocation/next")
        request_id = resp.getheader("Lambda-Runtime-Aws-Request-Id")
        deadline_ms = int(resp.getheader("Lambda-Runtime-Deadline-Ms") or 0)
        arn = resp.getheader("Lambda-Runtime-Invoked-Function-Arn")
        trace = resp.getheader("Lambda-Runtime-Trace-Id")
        if trace:
            os.environ["_X_AMZN_TRACE_ID"] = trace
        else:
            os.environ.pop("_X_AMZN_TRACE_ID", None)
        base = "/invocation/" + request_id
        try:
            event = json.loads(body) if body else None
            result = handler(event, LambdaContext(request_id, deadline_ms, arn))
        except Exception as exc:
            post_error(api, base + "/error", error_document(exc, request_id=request_id))
            continue
        try:
            payload = json.dumps(result).encode()
        except (TypeError, ValueError) as exc:
            post_error(api, base + "/error", error_document(
                exc, "Runtime.MarshalError", "Unable to marshal response: %s" % exc, request_id))
            continue
        api.call("POST", base + "/response", payload, {"Content-Type": "application/json"})


if __name__ == "__main__":
    main()
