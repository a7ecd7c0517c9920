#!/bin/sh
# wrk against s6-position's HTTP side and against nginx serving the same
# bytes, on this machine, in one run (docs/performance.md, "HTTP API").
#
#   tests/bench/http/run.sh [build-dir] [seconds] [connections] [threads]
#
# s6: tests/bench/http/bench_server.c (every route, a real engine on memory
# edges holding one position).  nginx: worker_processes 1 (S6 serves from
# one loop), access_log off, each location answering with `return 200` the
# body S6 gave for the same request, so both send the same bytes.
# Endpoints: GET /health and POST /positions/manage (STOP_MOVE, dry_run).
# S6 runs with S6_LOG_LEVEL=warn (no access line, like nginx's access_log
# off), then once more at info with the access log written to a file.
# Prints one Markdown table: req/s, p99, S6's rate as a ratio of nginx's, and
# the CPU each server spent per answer (from /proc/<pid>/stat) with nginx's
# as a ratio of S6's.
set -eu

root=$(cd "$(dirname "$0")/../../.." && pwd)
build=${1:-$root/build}
secs=${2:-10}
conns=${3:-50}
threads=${4:-2}
server=$build/s6-bench-http-server
token=bench-token-0123456789

for tool in wrk nginx curl; do
    command -v $tool >/dev/null || { echo "run.sh: $tool not found" >&2; exit 2; }
done
[ -x "$server" ] || { echo "run.sh: build $server first" >&2; exit 2; }

work=$(mktemp -d /tmp/s6-bench-http.XXXXXX)
s6_pid=""
ng_pid=""
cleanup() {
    [ -n "$s6_pid" ] && kill "$s6_pid" 2>/dev/null && wait "$s6_pid" 2>/dev/null || true
    [ -n "$ng_pid" ] && kill "$ng_pid" 2>/dev/null && wait "$ng_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

# A free loopback port from the kernel.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Starts the S6 bench server at log level $1 (stderr to $2); sets s6_port, pos.
start_s6() {
    # The last server's "ready" line must not be read as this one's: the
    # redirect below truncates only once the child runs.
    rm -f "$work/s6.out"
    S6_CONFIG=$root/config/s6.json S6_AUTH_TOKEN=$token S6_SOURCE_DIR=$root \
        S6_LOG_LEVEL=$1 "$server" >"$work/s6.out" 2>"$2" &
    s6_pid=$!
    i=0
    until grep -q '^ready ' "$work/s6.out" 2>/dev/null; do
        i=$((i + 1))
        if [ $i -gt 200 ] || ! kill -0 "$s6_pid" 2>/dev/null; then
            echo "run.sh: the bench server did not start:" >&2
            tail -5 "$2" >&2
            exit 1
        fi
        sleep 0.05
    done
    s6_port=$(awk '/^ready /{print $2}' "$work/s6.out")
    pos=$(awk '/^ready /{print $3}' "$work/s6.out")
}

stop_s6() {
    kill "$s6_pid"
    wait "$s6_pid" || true
    s6_pid=""
}

start_s6 warn "$work/s6.err"
body="{\"symbol\":\"BTCUSDT\",\"market\":\"FUT\",\"position_id\":\"$pos\",\"action\":\"STOP_MOVE\",\"new_stop_price\":59000,\"reason\":\"bench\",\"dry_run\":true}"
cat >"$work/post.lua" <<EOF
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $token"
EOF

# The bodies nginx will send: S6's own answers.
curl -sf "http://127.0.0.1:$s6_port/health" >"$work/health.json"
curl -sf -X POST -H "Authorization: Bearer $token" -d "$body" \
    "http://127.0.0.1:$s6_port/positions/manage" >"$work/manage.json"
for f in health manage; do
    if grep -q "[\$'\\\\]" "$work/$f.json"; then
        echo "run.sh: $f answer has a character nginx's return would need escaped" >&2
        exit 1
    fi
done

ng_port=$(free_port)
mkdir -p "$work/nginx/logs"
cat >"$work/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $work/nginx/body;
    proxy_temp_path $work/nginx/proxy;
    fastcgi_temp_path $work/nginx/fastcgi;
    uwsgi_temp_path $work/nginx/uwsgi;
    scgi_temp_path $work/nginx/scgi;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$ng_port;
        location = /health {
            default_type application/json;
            return 200 '$(cat "$work/health.json")';
        }
        location = /positions/manage {
            default_type application/json;
            return 200 '$(cat "$work/manage.json")';
        }
    }
}
EOF
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" &
ng_pid=$!
i=0
ng_worker=""
until curl -sf "http://127.0.0.1:$ng_port/health" >/dev/null 2>&1; do
    i=$((i + 1))
    [ $i -gt 200 ] && { echo "run.sh: nginx did not start" >&2; exit 1; }
    sleep 0.05
done
# worker_processes 1: the one child of the master serves
ng_worker=$(pgrep -P "$ng_pid" | head -1)
[ -n "$ng_worker" ] || { echo "run.sh: no nginx worker" >&2; exit 1; }

# The CPU time a process has used, in clock ticks (user + system).
cpu_ticks() {
    awk '{print $14 + $15}' "/proc/$1/stat"
}

# One wrk run: prints "req/s p99_ms cpu_us_per_request"; fails on any
# non-2xx answer.  The CPU the server spent per answer moves far less with
# the machine's load than the rate does (both sides share the cores with
# wrk and whatever else runs).
run_wrk() { # port path [post]
    pid=$s6_pid
    [ "$1" = "$ng_port" ] && pid=$ng_worker
    t0=$(cpu_ticks "$pid")
    script=""
    [ "${3:-}" = post ] && script="-s $work/post.lua"
    # shellcheck disable=SC2086
    wrk -t"$threads" -c"$conns" -d"${secs}s" --latency $script \
        "http://127.0.0.1:$1$2" >"$work/wrk.out" 2>&1
    if grep -q "Non-2xx" "$work/wrk.out"; then
        echo "run.sh: errors from $2 on port $1:" >&2
        cat "$work/wrk.out" >&2
        exit 1
    fi
    t1=$(cpu_ticks "$pid")
    awk -v ticks=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" \
        '/requests in/ {n=$1}
         /Requests\/sec/ {rps=$2}
         /^ +99%/ {v=$2; u=v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
                   ms = u=="us" ? v/1000 : u=="s" ? v*1000 : v}
         END {printf "%.0f %.2f %.1f\n", rps, ms, ticks / hz * 1e6 / n}' "$work/wrk.out"
}

# Warm both (caches, the JIT of the rules), then measure.
wrk -t1 -c4 -d2s "http://127.0.0.1:$s6_port/health" >/dev/null
wrk -t1 -c4 -d2s -s "$work/post.lua" "http://127.0.0.1:$s6_port/positions/manage" >/dev/null
wrk -t1 -c4 -d2s "http://127.0.0.1:$ng_port/health" >/dev/null

row() { # label s6-result nginx-result
    set -- "$1" $2 $3
    ratio=$(awk -v a="$2" -v b="$5" 'BEGIN {printf "%.2f", a / b}')
    cpu=$(awk -v a="$4" -v b="$7" 'BEGIN {printf "%.2f", b / a}')
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$1" "$2" "$3" \
        "$5" "$6" "$ratio" "$4" "$7" "$cpu"
}

s6_health=$(run_wrk "$s6_port" /health)
ng_health=$(run_wrk "$ng_port" /health)
s6_manage=$(run_wrk "$s6_port" /positions/manage post)
ng_manage=$(run_wrk "$ng_port" /positions/manage post)
stop_s6

start_s6 info "$work/access.log"
wrk -t1 -c4 -d2s "http://127.0.0.1:$s6_port/health" >/dev/null
s6_health_log=$(run_wrk "$s6_port" /health)
stop_s6
lines=$(grep -c '"msg":"request"' "$work/access.log" || true)

echo "wrk -t$threads -c$conns -d${secs}s, $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
echo "health body $(wc -c <"$work/health.json") B, manage body $(wc -c <"$work/manage.json") B"
echo
echo "| endpoint | S6 req/s | S6 p99 ms | nginx req/s | nginx p99 ms | S6 / nginx | S6 CPU µs/req | nginx CPU µs/req | nginx / S6 CPU |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
row "GET /health" "$s6_health" "$ng_health"
row "POST /positions/manage (dry run)" "$s6_manage" "$ng_manage"
row "GET /health, S6 access log on" "$s6_health_log" "$ng_health"
echo
echo "access log lines written in the last run: $lines"
