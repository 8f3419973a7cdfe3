#!/bin/bash
# Stop the keystone started by keystone-setup.sh (uWSGI master pid from its pid file).
K=${KEYSTONE_DIR:-/tmp/bench-keystone}
[ -f "$K/run/uwsgi.pid" ] || exit 0
pid=$(cat "$K/run/uwsgi.pid")
kill -INT "$pid" 2>/dev/null || true
for i in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
rm -f "$K/run/uwsgi.pid"
echo "stopped keystone (uwsgi $pid)"
