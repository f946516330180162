# Test handler for the bundled Python loop: the event's "action" picks
# the behaviour; API Gateway events (path or rawPath) echo what they got.
import json
import os
import time

LOADED_AT = time.time()


def handler(event, context):
    action = event.get("action") if isinstance(event, dict) else None
    path = (event or {}).get("rawPath") or (event or {}).get("path") or ""
    if action == "error" or path.endswith("/fail"):
        raise ValueError("boom from python")
    if action == "sleep" or path.endswith("/slow"):
        time.sleep(float(event.get("seconds", 30)) if action else 30)
    first = context.get_remaining_time_in_millis()
    time.sleep(0.05)
    second = context.get_remaining_time_in_millis()
    rc = (event or {}).get("requestContext") or {}
    body = {
        "runtime": "python",
        "version": (event or {}).get("version"),
        "path": path,
        "method": (event or {}).get("httpMethod") or (rc.get("http") or {}).get("method"),
        "query": (event or {}).get("queryStringParameters"),
        "stage": rc.get("stage"),
        "domainName": rc.get("domainName"),
        "requestId": context.aws_request_id,
        "functionName": context.function_name,
        "memory": context.memory_limit_in_mb,
        "arn": context.invoked_function_arn,
        "remaining": [first, second],
        "cwd": os.getcwd(),
        "env": {k: os.environ.get(k) for k in (
            "GREETING", "LAMBDA_TASK_ROOT", "_HANDLER", "AWS_REGION", "AWS_DEFAULT_REGION",
            "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
            "AWS_EXECUTION_ENV", "LAMBDA_RUNTIME_DIR")},
    }
    if action:
        return body
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(body)}
