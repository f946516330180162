import json


def lambda_handler(event, context):
    """The handler `sam init` writes for Python, which also says what
    event it was given so that the test can check the payload format."""
    return {
        "statusCode": 200,
        "body": json.dumps({
            "message": "hello world",
            "requestId": context.aws_request_id,
            "event": {
                "version": event.get("version"),
                "httpMethod": event.get("httpMethod"),
                "path": event.get("path"),
                "resource": event.get("resource"),
                "rawPath": event.get("rawPath"),
                "routeKey": event.get("routeKey"),
                "stage": event["requestContext"].get("stage"),
                "contextPath": event["requestContext"].get("path"),
            },
        }),
    }
