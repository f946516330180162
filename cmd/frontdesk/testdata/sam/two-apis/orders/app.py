import json
import os


def lambda_handler(event, context):
    """Says what event it was given and which function ran, so that the
    test can tell the two APIs apart."""
    return {
        "statusCode": 200,
        "body": json.dumps({
            "message": os.environ["WHO"],
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
