#!/bin/bash
# Install and start a real OpenStack Keystone (PyPI keystone, default 30.0.0, run under Debian's
# uWSGI as devstack does) on 127.0.0.1:$KEYSTONE_PORT (5000), re-runnable from a clean /tmp:
#   - venv $KEYSTONE_VENV (default /tmp/bench-keystone-venv) from /usr/bin/python3
#   - SQLite database in $KEYSTONE_DIR (default /tmp/bench-keystone), fernet tokens, Keystone's
#     default password hashing (bcrypt, 12 rounds) and no cache (devstack adds memcached: a
#     cache speeds token validation, not issue, which is what the benchmark asks of Keystone)
#   - bootstrapped: user admin / $KEYSTONE_PASSWORD (default bench-secret), project admin,
#     role admin, region RegionOne, identity endpoints
#   - uWSGI: 1 process, 4 threads (the same shape as glance-setup.sh's Glance)
# Stop with keystone-stop.sh.
set -euo pipefail
V=${KEYSTONE_VENV:-/tmp/bench-keystone-venv}
K=${KEYSTONE_DIR:-/tmp/bench-keystone}
PORT=${KEYSTONE_PORT:-5000}
PASSWORD=${KEYSTONE_PASSWORD:-bench-secret}
KEYSTONE_VERSION=${KEYSTONE_VERSION:-30.0.0}
HERE=$(cd "$(dirname "$0")" && pwd)

need=()
command -v uwsgi >/dev/null || need+=(uwsgi-core)
[ -e /usr/lib/uwsgi/plugins/python3_plugin.so ] || need+=(uwsgi-plugin-python3)
/usr/bin/python3 -c 'import ensurepip' 2>/dev/null || need+=(python3-venv)
command -v curl >/dev/null || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

have=$("$V/bin/python" -c "import importlib.metadata as m; print(m.version('keystone'))" 2>/dev/null || true)
if [ "$have" != "$KEYSTONE_VERSION" ]; then
  rm -rf "$V"
  /usr/bin/python3 -m venv "$V"
  "$V/bin/pip" install -q --upgrade pip
  "$V/bin/pip" install -q "keystone==$KEYSTONE_VERSION"
fi
echo "keystone $("$V/bin/python" -c "import importlib.metadata as m; print(m.version('keystone'))")"

"$HERE/keystone-stop.sh" >/dev/null 2>&1 || true
rm -rf "$K"
mkdir -p "$K"/{etc,log,run,fernet-keys,credential-keys}
cat > "$K/etc/keystone.conf" <<EOF
[DEFAULT]
debug = false
log_file = $K/log/keystone.log

[database]
connection = sqlite:///$K/keystone.sqlite

[token]
provider = fernet

[fernet_tokens]
key_repository = $K/fernet-keys/

[fernet_receipts]
key_repository = $K/fernet-keys/

[credential]
key_repository = $K/credential-keys/
EOF

KM=("$V/bin/keystone-manage" --config-file "$K/etc/keystone.conf")
"${KM[@]}" db_sync > "$K/log/db_sync.log" 2>&1 || { tail -20 "$K/log/db_sync.log"; exit 1; }
"${KM[@]}" fernet_setup --keystone-user "$(id -un)" --keystone-group "$(id -gn)" >> "$K/log/db_sync.log" 2>&1
"${KM[@]}" credential_setup --keystone-user "$(id -un)" --keystone-group "$(id -gn)" >> "$K/log/db_sync.log" 2>&1
"${KM[@]}" bootstrap --bootstrap-password "$PASSWORD" \
  --bootstrap-admin-url "http://127.0.0.1:$PORT/v3" --bootstrap-public-url "http://127.0.0.1:$PORT/v3" \
  --bootstrap-internal-url "http://127.0.0.1:$PORT/v3" --bootstrap-region-id RegionOne \
  >> "$K/log/db_sync.log" 2>&1 || { tail -20 "$K/log/db_sync.log"; exit 1; }

# devstack's keystone uWSGI settings, 1 process 4 threads as for Glance
cat > "$K/etc/keystone-uwsgi.ini" <<EOF
[uwsgi]
plugins = python3
virtualenv = $V
module = keystone.wsgi.api:application
env = OS_KEYSTONE_CONFIG_FILES=$K/etc/keystone.conf
http-socket = 127.0.0.1:$PORT
master = true
processes = ${KEYSTONE_WORKERS:-1}
threads = ${KEYSTONE_THREADS:-4}
enable-threads = true
lazy-apps = true
thunder-lock = true
buffer-size = 65535
add-header = Connection: close
die-on-term = true
exit-on-reload = false
worker-reload-mercy = 90
pidfile = $K/run/uwsgi.pid
logto = $K/log/uwsgi.log
procname-prefix-spaced = keystone
EOF
uwsgi --ini "$K/etc/keystone-uwsgi.ini" --daemonize2 "$K/log/uwsgi.log"
for i in $(seq 120); do
  curl -sf "http://127.0.0.1:$PORT/v3" >/dev/null 2>&1 && break
  sleep 1
done
body='{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"admin","domain":{"id":"default"},"password":"'"$PASSWORD"'"}}},"scope":{"project":{"name":"admin","domain":{"id":"default"}}}}}'
curl -sf -o /dev/null -H "Content-Type: application/json" -d "$body" "http://127.0.0.1:$PORT/v3/auth/tokens" \
  || { echo "keystone did not issue a token"; tail -40 "$K/log/uwsgi.log" "$K/log/keystone.log"; exit 1; }
echo "keystone up on http://127.0.0.1:$PORT (uwsgi master pid $(cat "$K/run/uwsgi.pid")); logs in $K/log"
