#!/bin/bash
# (A copy of the shared peers/glance-setup.sh, with CEPH_CONF required: the benchmarks pass the
# conf of a cluster they started with scripts/ceph-dev-cluster.)
# Install and start a real OpenStack Glance API (PyPI glance, run under Debian's uWSGI,
# as devstack does) on 127.0.0.1:9292, re-runnable from a clean /tmp:
#   - venv $GLANCE_VENV (default /tmp/glance-venv) from /usr/bin/python3; Debian's
#     python3-rados/python3-rbd made importable through a .pth file naming a folder that
#     holds links to just those two modules (--system-site-packages would also pull in
#     Debian's old pyOpenSSL, which breaks with the newer cryptography from PyPI)
#   - SQLite database, no auth (paste flavor without keystone), 2 stores through
#     enabled_backends: "fast" (file, /tmp/glance/data/fast) and "ceph" (rbd, pool images)
#   - import methods glance-direct, web-download, copy-image
# Ceph: CEPH_CONF (required; its conf must name its keyring).
# GLANCE_THIN=1 turns on rbd_thin_provisioning / filesystem_thin_provisioning (default off).
# Stop with glance-stop.sh.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
V=${GLANCE_VENV:-/tmp/glance-venv}
G=${GLANCE_DIR:-/tmp/glance}
PORT=${GLANCE_PORT:-9292}
THIN=$([ "${GLANCE_THIN:-0}" = 1 ] && echo true || echo false)
GLANCE_VERSION=${GLANCE_VERSION:-33.0.0}

need=()
command -v uwsgi >/dev/null || need+=(uwsgi-core)
[ -e /usr/lib/uwsgi/plugins/python3_plugin.so ] || need+=(uwsgi-plugin-python3)
/usr/bin/python3 -c 'import rados, rbd' 2>/dev/null || need+=(python3-rbd python3-rados)
/usr/bin/python3 -c 'import ensurepip' 2>/dev/null || need+=(python3-venv)
command -v curl >/dev/null || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

if ! "$V/bin/python" -c "import glance, glance_store, glanceclient, rbd, rados, oslo_messaging" 2>/dev/null; then
  rm -rf "$V"
  /usr/bin/python3 -m venv "$V"
  mkdir -p "$V/ceph-bindings"
  ln -sf /usr/lib/python3/dist-packages/rados.cpython-*.so /usr/lib/python3/dist-packages/rbd.cpython-*.so "$V/ceph-bindings/"
  echo "$V/ceph-bindings" > "$("$V/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/ceph-bindings.pth"
  "$V/bin/pip" install -q --upgrade pip
  "$V/bin/pip" install -q "glance==$GLANCE_VERSION" python-glanceclient
fi
"$V/bin/python" -c "import glance_store, rbd; print('glance', __import__('importlib.metadata').metadata.version('glance'), 'glance_store', __import__('importlib.metadata').metadata.version('glance_store'))"

[ -n "${CEPH_CONF:-}" ] || { echo "CEPH_CONF must name the conf of a running cluster (scripts/ceph-dev-cluster start DIR)" >&2; exit 2; }
grep -q '^keyring' "$CEPH_CONF" || echo "warning: $CEPH_CONF names no keyring; librados will look in /etc/ceph" >&2

# stop a previous instance started by this script
"$HERE/glance-stop.sh" >/dev/null 2>&1 || true
rm -rf "$G"
mkdir -p "$G"/{etc,log,data/fast,staging,tasks,run}
cp "$V/etc/glance/glance-api-paste.ini" "$G/etc/"
sed -i -e '/^\[composite:api\]/,/^$/{/^keystone = /a trusted = cors http_proxy_to_wsgi versionnegotiation osprofiler context rootapp
}' "$G/etc/glance-api-paste.ini"
printf '\n[composite:glance-api-trusted]\npaste.composite_factory = glance.api:root_app_factory\n/: api\n/healthcheck: healthcheck\n' >> "$G/etc/glance-api-paste.ini"
cat > "$G/etc/glance-api.conf" <<EOF
[DEFAULT]
debug = false
log_file = $G/log/glance-api.log
enabled_backends = fast:file, ceph:rbd
enabled_import_methods = [glance-direct,web-download,copy-image]
worker_self_reference_url = http://127.0.0.1:$PORT
public_endpoint = http://127.0.0.1:$PORT
image_size_cap = 10737418240

[database]
connection = sqlite:///$G/glance.sqlite

[paste_deploy]
# flavor "trusted": Glance's own context middleware without keystone's authtoken in front,
# so the client sends the identity headers that authtoken would set (X-Identity-Status,
# X-Roles, X-Project-Id, X-User-Id) and Glance's default RBAC policies apply as in production
flavor = trusted
config_file = $G/etc/glance-api-paste.ini

[glance_store]
default_backend = fast

[fast]
store_description = local file store
filesystem_store_datadir = $G/data/fast/
filesystem_thin_provisioning = $THIN

[ceph]
store_description = throwaway ceph rbd store
rbd_store_pool = images
rbd_store_user = admin
rbd_store_ceph_conf = $CEPH_CONF
rbd_store_chunk_size = 8
rbd_thin_provisioning = $THIN

[os_glance_staging_store]
filesystem_store_datadir = $G/staging/

[os_glance_tasks_store]
filesystem_store_datadir = $G/tasks/

[wsgi]
task_pool_threads = 4
EOF

export OS_GLANCE_CONFIG_DIR=$G/etc
"$V/bin/glance-manage" --config-dir "$G/etc" db_sync > "$G/log/db_sync.log" 2>&1 \
  || { tail -20 "$G/log/db_sync.log"; exit 1; }

# uWSGI settings as devstack writes them for glance-api (one worker process here, so
# its RSS is the service's RSS; http-socket: the worker speaks HTTP itself)
cat > "$G/etc/glance-uwsgi.ini" <<EOF
[uwsgi]
plugins = python3
virtualenv = $V
module = glance.wsgi.api:application
env = OS_GLANCE_CONFIG_DIR=$G/etc
http-socket = 127.0.0.1:$PORT
master = true
processes = ${GLANCE_WORKERS:-1}
threads = ${GLANCE_THREADS:-4}
enable-threads = true
lazy-apps = true
thunder-lock = true
buffer-size = 65535
# glanceclient uploads in 1 MiB chunks; uWSGI refuses chunks over its 1 MB default
chunked-input-limit = 16777216
http-chunked-input = true
http-raw-body = true
http-auto-chunked = true
add-header = Connection: close
die-on-term = true
exit-on-reload = false
worker-reload-mercy = 90
socket-timeout = 300
pidfile = $G/run/uwsgi.pid
logto = $G/log/uwsgi.log
procname-prefix-spaced = glance-api
EOF
uwsgi --ini "$G/etc/glance-uwsgi.ini" --daemonize2 "$G/log/uwsgi.log"
for i in $(seq 120); do
  curl -sf "http://127.0.0.1:$PORT/versions" >/dev/null 2>&1 && break
  sleep 1
done
curl -sf -H "X-Identity-Status: Confirmed" -H "X-Roles: admin,member,reader" -H "X-Project-Id: 0123456789abcdef0123456789abcdef" -H "X-User-Id: fedcba9876543210fedcba9876543210" "http://127.0.0.1:$PORT/v2/info/stores" || { echo "glance-api did not answer"; tail -40 "$G/log/uwsgi.log" "$G/log/glance-api.log"; exit 1; }
echo
echo "glance-api up on http://127.0.0.1:$PORT (uwsgi master pid $(cat $G/run/uwsgi.pid)); logs in $G/log"
