"""Drives frontdesk's control plane with boto3, the way scripts against
Amazon API Gateway do, and checks the data plane with http.client.

Environment: CP_ENDPOINT (admin listener), DATA (data-plane host:port),
UP_A and UP_B (upstreams answering "<name> <path>"), KEYED_API_ID (the
file API whose route needs an API key). Prints {"wsApiId": ...} for the
Go test to dial. Exits non-zero with a message on the first failure.
"""
import datetime
import http.client
import json
import os
import sys

import boto3

env = os.environ
kw = dict(endpoint_url="http://" + env["CP_ENDPOINT"], region_name="eu-west-1")
v2 = boto3.client("apigatewayv2", **kw)
v1 = boto3.client("apigateway", **kw)


def fail(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)


def get(host, path, headers=None):
    conn = http.client.HTTPConnection(env["DATA"], timeout=10)
    h = {"Host": host}
    h.update(headers or {})
    conn.request("GET", path, headers=h)
    r = conn.getresponse()
    body = r.read().decode()
    conn.close()
    return r.status, body


api = v2.create_api(Name="boto", ProtocolType="HTTP")
api_id = api["ApiId"]
host = api_id + ".execute-api.localhost"
if len(api_id) != 10 or host not in api["ApiEndpoint"] or not isinstance(api["CreatedDate"], datetime.datetime):
    fail("create_api answered %r" % api)
a = v2.create_integration(ApiId=api_id, IntegrationType="HTTP_PROXY", IntegrationMethod="GET",
                          IntegrationUri="http://%s/hello" % env["UP_A"], PayloadFormatVersion="1.0")
b = v2.create_integration(ApiId=api_id, IntegrationType="HTTP_PROXY", IntegrationMethod="GET",
                          IntegrationUri="http://%s/hello" % env["UP_B"], PayloadFormatVersion="1.0")
route = v2.create_route(ApiId=api_id, RouteKey="GET /hello", Target="integrations/" + a["IntegrationId"])
v2.create_stage(ApiId=api_id, StageName="prod", AutoDeploy=True)
status, body = get(host, "/prod/hello")
if (status, body) != (200, "A /hello"):
    fail("through the data plane: %d %r" % (status, body))

v2.update_route(ApiId=api_id, RouteId=route["RouteId"], Target="integrations/" + b["IntegrationId"])
status, body = get(host, "/prod/hello")
if (status, body) != (200, "B /hello"):
    fail("after update_route: %d %r" % (status, body))

try:
    v2.get_route(ApiId=api_id, RouteId="zzzzzzz")
    fail("get_route of an unknown id succeeded")
except v2.exceptions.NotFoundException:
    pass
try:
    v2.create_route(ApiId=api_id, RouteKey="GET /hello")
    fail("a duplicate route key was accepted")
except v2.exceptions.ConflictException:
    pass

v2.delete_route(ApiId=api_id, RouteId=route["RouteId"])
status, body = get(host, "/prod/hello")
if status != 404 or json.loads(body) != {"message": "Not Found"}:
    fail("after delete_route: %d %r" % (status, body))

names = [x["Name"] for x in v2.get_paginator("get_apis").paginate(PaginationConfig={"PageSize": 1}).build_full_result()["Items"]]
if sorted(names) != ["boto", "keyed"]:
    fail("get_apis pages list %r" % names)

ws = v2.create_api(Name="boto-chat", ProtocolType="WEBSOCKET", RouteSelectionExpression="$request.body.action")
wi = v2.create_integration(ApiId=ws["ApiId"], IntegrationType="HTTP_PROXY", IntegrationMethod="POST",
                           IntegrationUri="http://%s/events" % env["WS_BACKEND"])
wr = v2.create_route(ApiId=ws["ApiId"], RouteKey="$default", Target="integrations/" + wi["IntegrationId"])
v2.create_route_response(ApiId=ws["ApiId"], RouteId=wr["RouteId"], RouteResponseKey="$default")
v2.create_stage(ApiId=ws["ApiId"], StageName="prod", AutoDeploy=True)

value = "boto-made-key-0123456789abcdef"
key = v1.create_api_key(name="boto-key", value=value, enabled=True)
plan = v1.create_usage_plan(name="boto-plan", apiStages=[{"apiId": env["KEYED_API_ID"], "stage": "$default"}],
                            throttle={"burstLimit": 10, "rateLimit": 5}, quota={"limit": 50, "period": "DAY"})
v1.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
for i in range(2):
    status, body = get("localhost", "/metered", {"x-api-key": value})
    if status != 200:
        fail("request %d with the key: %d %r" % (i, status, body))
today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
usage = v1.get_usage(usagePlanId=plan["id"], startDate=today, endDate=today)
if usage["items"].get(key["id"]) != [[2, 48]]:
    fail("get_usage answered %r" % usage)

print(json.dumps({"wsApiId": ws["ApiId"]}))
