#!/usr/bin/env bash
# Installs what bramble needs, builds the single binary and runs a single-node server in the
# background, then points ~/.kube/config at it. Safe to run again: an already-running server
# is left alone, and the script only waits for it to be ready.
#
#   bash scripts/install.sh [extra `bramble server` flags...]
#
# Environment (all optional):
#   BRAMBLE_DATA_DIR    state folder             (default /var/lib/bramble as root, else ~/.bramble)
#   BRAMBLE_BIN_DIR     where the binary goes    (default /usr/local/bin as root, else ~/.local/bin)
#   BRAMBLE_KUBECONFIG  kubeconfig to write      (default ~/.kube/config; an existing foreign one is backed up)
#   BRAMBLE_PORT        API server HTTPS port    (default 6443)
#   BRAMBLE_READY_TIMEOUT seconds to wait for /readyz (default 60)
#   DOCKER_HOST         unix://<socket> of the Docker engine to use (default Docker's own); the
#                       server's node uses the same one unless BRAMBLE_DOCKER_SOCKET names another
set -euo pipefail

BUN_VERSION=1.4.4
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ "$(id -u)" = 0 ]; then
  DATA_DIR="${BRAMBLE_DATA_DIR:-/var/lib/bramble}"
  BIN_DIR="${BRAMBLE_BIN_DIR:-/usr/local/bin}"
else
  DATA_DIR="${BRAMBLE_DATA_DIR:-$HOME/.bramble}"
  BIN_DIR="${BRAMBLE_BIN_DIR:-$HOME/.local/bin}"
fi
KUBECONFIG_OUT="${BRAMBLE_KUBECONFIG:-$HOME/.kube/config}"
PORT="${BRAMBLE_PORT:-6443}"
READY_TIMEOUT="${BRAMBLE_READY_TIMEOUT:-60}"
PID_FILE="$DATA_DIR/server/bramble.pid"
LOG_FILE="$DATA_DIR/server/bramble.log"
ADMIN_KUBECONFIG="$DATA_DIR/server/admin.kubeconfig"

say() { printf '[bramble install] %s\n' "$*"; }
die() { printf '[bramble install] error: %s\n' "$*" >&2; exit 1; }

# --- toolchain: Bun from the npm registry (it ships its binary inside the package) -----------
if ! command -v bun >/dev/null 2>&1 || [ "$(bun --version)" != "$BUN_VERSION" ]; then
  command -v npm >/dev/null 2>&1 || die "npm is needed to install Bun (apt-get install -y nodejs npm)"
  say "installing bun@$BUN_VERSION with npm"
  npm install -g "bun@$BUN_VERSION" >/dev/null
  hash -r
fi
[ "$(bun --version)" = "$BUN_VERSION" ] || die "bun $BUN_VERSION is not first on PATH (found $(command -v bun): $(bun --version))"

# The engine this script checks (docker reads DOCKER_HOST) is the one the server's node runs pods on.
if [ -z "${BRAMBLE_DOCKER_SOCKET:-}" ] && [[ "${DOCKER_HOST:-}" == unix://* ]]; then
  export BRAMBLE_DOCKER_SOCKET="${DOCKER_HOST#unix://}"
fi

# --- container engine: Docker from Debian's packages, started without systemd if needed ---------
# The server runs an embedded agent (kubelet on Docker). Skipped with BRAMBLE_NO_DOCKER=1 (then
# pass --disable-agent: a control plane only).
if [ "${BRAMBLE_NO_DOCKER:-0}" != 1 ]; then
  # iptables, iproute2 and conntrack: the pod network routes, Service rules and their stale UDP flows.
  if ! command -v dockerd >/dev/null 2>&1 || ! command -v iptables >/dev/null 2>&1 || ! command -v ip >/dev/null 2>&1 || ! command -v conntrack >/dev/null 2>&1; then
    say "installing docker.io, iptables and iproute2 with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq docker.io iptables iproute2 conntrack >/dev/null
  fi
  if ! docker info >/dev/null 2>&1; then
    say "starting dockerd (log: /var/log/dockerd.log)"
    setsid nohup dockerd >>/var/log/dockerd.log 2>&1 </dev/null &
    for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
    docker info >/dev/null 2>&1 || die "dockerd did not come up; see /var/log/dockerd.log"
  fi
fi

# --- build -----------------------------------------------------------------------------------
cd "$REPO"
say "installing dependencies"
bun install --frozen-lockfile >/dev/null
say "building dist/bramble"
bun run build

running_pid() {
  # The pid file is only trusted if that process is still a bramble server.
  [ -f "$PID_FILE" ] || return 1
  local pid
  pid="$(cat "$PID_FILE")"
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'bramble server' || return 1
  echo "$pid"
}

# --- start (once) ----------------------------------------------------------------------------
if pid="$(running_pid)"; then
  say "bramble server already running (pid $pid); leaving it as it is"
else
  mkdir -p "$BIN_DIR" "$DATA_DIR/server"
  # Copy to a temp name and rename: replacing a binary that is executing fails ("text file busy").
  cp "$REPO/dist/bramble" "$BIN_DIR/.bramble.new" && mv -f "$BIN_DIR/.bramble.new" "$BIN_DIR/bramble"
  # A kubeconfig this server did not write is kept, not silently replaced.
  if [ -f "$KUBECONFIG_OUT" ] && ! cmp -s "$KUBECONFIG_OUT" "$ADMIN_KUBECONFIG"; then
    backup="$KUBECONFIG_OUT.bak-$(date +%Y%m%d%H%M%S)"
    cp -p "$KUBECONFIG_OUT" "$backup"
    say "existing $KUBECONFIG_OUT backed up to $backup"
  fi
  say "starting bramble server (log: $LOG_FILE)"
  # setsid + nohup: the server outlives this shell and the terminal it came from.
  setsid nohup "$BIN_DIR/bramble" server \
    --data-dir "$DATA_DIR" --https-listen-port "$PORT" --write-kubeconfig "$KUBECONFIG_OUT" "$@" \
    >>"$LOG_FILE" 2>&1 </dev/null &
  echo $! >"$PID_FILE"
fi

# --- wait for /readyz ------------------------------------------------------------------------
say "waiting for the API server to be ready"
deadline=$((SECONDS + READY_TIMEOUT))
until bun -e '
  const [caPath, port] = process.argv.slice(1);
  const res = await fetch(`https://127.0.0.1:${port}/readyz`, { tls: { ca: await Bun.file(caPath).text() } });
  process.exit(res.status === 200 ? 0 : 1);
' "$DATA_DIR/server/tls/server-ca.crt" "$PORT" >/dev/null 2>&1; do
  if ! running_pid >/dev/null; then
    tail -n 20 "$LOG_FILE" >&2 || true
    die "bramble server exited; see $LOG_FILE"
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    tail -n 20 "$LOG_FILE" >&2 || true
    die "API server not ready after ${READY_TIMEOUT}s; see $LOG_FILE"
  fi
  sleep 0.5
done

# An already-running server wrote its kubeconfig when it started; make sure it is in place.
if [ ! -f "$KUBECONFIG_OUT" ] && [ -f "$ADMIN_KUBECONFIG" ]; then
  mkdir -p "$(dirname "$KUBECONFIG_OUT")"
  install -m 0600 "$ADMIN_KUBECONFIG" "$KUBECONFIG_OUT"
fi

# --- wait for the node (the embedded agent registers it) -------------------------------------
if command -v kubectl >/dev/null 2>&1 && [[ " $* " != *" --disable-agent "* ]] && [ "${BRAMBLE_NO_DOCKER:-0}" != 1 ]; then
  say "waiting for the node to be Ready"
  until kubectl --kubeconfig "$ADMIN_KUBECONFIG" wait --for=condition=Ready nodes --all --timeout=5s >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      tail -n 20 "$LOG_FILE" >&2 || true
      die "no Ready node after ${READY_TIMEOUT}s; see $LOG_FILE"
    fi
    sleep 1
  done
fi

say "ready: $(grep -m1 'server:' "$ADMIN_KUBECONFIG" | awk '{print $2}')"
say "kubeconfig: $KUBECONFIG_OUT  (try: kubectl get nodes)"
say "stop it with: kill \$(cat $PID_FILE)"
