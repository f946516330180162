import json


def lambda_handler(event, context):
    """The handler `sam init` writes for Python (hello-world template)."""
    return {
        "statusCode": 200,
        "body": json.dumps({
            "message": "hello world",
            "requestId": context.aws_request_id,
        }),
    }
