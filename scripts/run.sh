#!/bin/sh
# make run: start the demo upstream and frontdesk on examples/quickstart.yaml,
# print the requests to try, and stop both on Ctrl-C or SIGTERM (exit 0).
set -eu
BIN=${BIN:-bin}
PORT=${PORT:-8080}
UPSTREAM_PORT=${UPSTREAM_PORT:-9000}
ADMIN_PORT=${ADMIN_PORT:-9901}
export PORT UPSTREAM_PORT ADMIN_PORT

"$BIN/demo-upstream" -listen "127.0.0.1:$UPSTREAM_PORT" &
UP=$!
"$BIN/frontdesk" serve -c examples/quickstart.yaml &
FD=$!
# Stop both children and wait for them. Under set -e a failing kill (a
# child already gone) would end the trap with status 1, so make would
# report an error for a plain Ctrl-C or SIGTERM.
stop() {
  trap - INT TERM EXIT
  kill "$FD" "$UP" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap 'stop; exit 0' INT TERM
trap 'status=$?; stop; exit $status' EXIT

# Wait until frontdesk answers.
i=0
until curl -s -o /dev/null "http://127.0.0.1:$PORT/ping" 2>/dev/null; do
  i=$((i+1)); [ $i -gt 50 ] && { echo "frontdesk did not start" >&2; exit 1; }
  sleep 0.1
done

B="http://127.0.0.1:$PORT"
cat <<MSG

frontdesk is serving examples/quickstart.yaml on $B (demo upstream on 127.0.0.1:$UPSTREAM_PORT).
Try:

  curl -i $B/ping                       # mock integration
  curl -i $B/hello/ada                  # Lambda function (aws-lambda-go) run by frontdesk itself
  curl -i $B/pets/42                    # http_proxy, {id} filled into the upstream URL
  curl -i "$B/files/a/b/c?x=1"          # greedy {proxy+}, path and query forwarded
  curl -i $B/nope                       # HTTP API dialect: 404 {"message":"Not Found"}
  curl -i $B/shop/v1/orders/7           # REST API, stage v1, stage variable in the URL
  curl -i $B/shop/v1/nope               # REST dialect: 403 Missing Authentication Token
  curl -i "$B/slow?ms=3000"             # integration timeout 2s: 503 {"message":"Service Unavailable"}

  curl -s http://127.0.0.1:$ADMIN_PORT/routes          # admin: the compiled route table
  curl -s http://127.0.0.1:$ADMIN_PORT/metrics         # admin: Prometheus metrics
  curl -s -X POST http://127.0.0.1:$ADMIN_PORT/reload  # admin: reload (also SIGHUP, or just edit the file)

  open http://127.0.0.1:$ADMIN_PORT/console/           # the web console: routes, live charts, cache, reload
  aws apigatewayv2 get-apis --endpoint-url http://127.0.0.1:$ADMIN_PORT --no-sign-request --region us-east-1
                                                       # the control plane the AWS CLI speaks (docs/control-plane.md)

Ctrl-C stops both.
MSG
wait $FD
