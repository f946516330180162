# Echoes the variables frontdesk gives local functions for calling back.
import json
import os


def handler(event, context):
    keys = ("NODE_EXTRA_CA_CERTS", "AWS_CA_BUNDLE", "SSL_CERT_FILE",
            "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
    return {"statusCode": 200, "body": json.dumps({k: os.environ.get(k, "") for k in keys})}
