#!/usr/bin/env bash
# bench/peer/bench.sh - Tollgate's copy of ../shared/peers/bench.sh (never edited there), adapted:
#   * target g (the gateway → upstream) redirects first to the gateway's own origin (the
#     sign-in hand-off), which then redirects to the IdP: the check follows the chain;
#   * target h (gateway → guard → upstream) is a second workload host of the same gateway,
#     chain.localhost:19400, reached on 127.0.0.1 with a Host header (curl --resolve, wrk -H),
#     signed in with bench/peer/login.ts (login.mjs follows URLs literally and Node cannot
#     resolve *.localhost);
#   * per-target expectations (GATEWAY_EXPECT for g, GATEWAY_CHAIN_EXPECT for h);
#   * the guard's pid ($PEERS_DIR/run/guard.pid) is pinned with the other servers.
# The harness's own scripts (start-all.sh, stop-all.sh, login.mjs, versions.sh, wrk/report.lua,
# lib.sh) are used from PEERS_SRC (default ../shared/peers) unchanged.
#
# Original header:
# peers/bench.sh - side-by-side reverse-proxy benchmark on this machine, loopback only.
#
# Starts the peer stack (start-all.sh), checks every target, runs wrk against each, prints
# one line per target and stops everything it started (by PID) on exit, error or Ctrl-C.
#
# Targets (TARGETS="a b c d e", in this order):
#   a  upstream-direct     http://127.0.0.1:19100/app/bench   node upstream, no proxy
#   b  nginx-proxy         http://127.0.0.1:19150/app/bench   nginx, pooled keep-alive upstream
#   c  apache-noauth       http://127.0.0.1:19200/app/bench   Apache mod_proxy_http, no auth
#   d  apache-oidc-shm     http://127.0.0.1:19201/app/bench   + mod_auth_openidc, server-cache
#                                                             session in the shm cache (default)
#   e  apache-oidc-cookie  http://127.0.0.1:19202/app/bench   + mod_auth_openidc, client-cookie
#   g  gateway             $GATEWAY_URL (only when set)       e.g. the TypeScript ZTNA gateway
# d, e and g: an unauthenticated request must redirect to the IdP; login.mjs then logs in
# and wrk replays the session cookie; the upstream's echo must show the identity headers.
#
# Environment:
#   THREADS=2 CONNS=32 DURATION=10s     throughput run (wrk -t -c -d), also gives loaded p50/p99
#   LAT_CONNS=1 LAT_DURATION=10s        latency run (wrk -t1 -c$LAT_CONNS), unloaded p50/p99
#   LAT_PIN=1                           during the latency run pin wrk and every server process
#                                       to CPU 0 (0 = don't). On this 2-vCPU VM a cross-CPU
#                                       wake-up costs ~0.5-3 ms and otherwise dominates c1 p90/p99.
#   WARMUP=3s                           untimed warm-up per target at $CONNS connections
#   ROUNDS=1                            repeat the whole a..e sequence; report the medians
#   TARGETS="a b c d e"                 subset/order of targets
#   GATEWAY_URL=http://127.0.0.1:19400/app/   add target g (must be a loopback URL)
#   GATEWAY_START="node /path/gateway.js"     optional: started after the IdP is up, stopped at exit
#   GATEWAY_EXPECT='"x-forwarded-user":"alice"'  regex the upstream echo must contain via g
#   PEERS_IDP_TLS=1                     serve the IdP over https (self-signed, tls.sh)
#   BENCH_OUT=/tmp/peers/results/<timestamp>  where raw wrk output and summary.tsv go
# Durations are whole seconds with an "s" suffix.
set -euo pipefail
MINE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
HERE="${PEERS_SRC:-$(cd "$MINE/../../../shared/peers" && pwd)}"
. "$HERE/lib.sh"

THREADS="${THREADS:-2}"
CONNS="${CONNS:-32}"
DURATION="${DURATION:-10s}"
LAT_CONNS="${LAT_CONNS:-1}"
LAT_DURATION="${LAT_DURATION:-10s}"
LAT_PIN="${LAT_PIN:-1}"
WARMUP="${WARMUP:-3s}"
ROUNDS="${ROUNDS:-1}"
GATEWAY_URL="${GATEWAY_URL:-}"
GATEWAY_START="${GATEWAY_START:-}"
GATEWAY_CHAIN_HOST="${GATEWAY_CHAIN_HOST:-}"
GATEWAY_CHAIN_EXPECT="${GATEWAY_CHAIN_EXPECT:-}"
TARGETS="${TARGETS:-a b c d e${GATEWAY_URL:+ g}${GATEWAY_CHAIN_HOST:+ h}}"
TEST_USER="${IDP_USER:-alice}"
TEST_GROUPS="${IDP_GROUPS:-engineering,ztna-users}"
OIDC_EXPECT="\"x-forwarded-user\":\"$TEST_USER\".*\"oidc_claim_groups\":\"$TEST_GROUPS\""
GATEWAY_EXPECT="${GATEWAY_EXPECT:-$TEST_USER}"
OUT="${BENCH_OUT:-$PEERS_DIR/results/$(date +%Y%m%d-%H%M%S)}"

secs() { case "$1" in *s) echo "${1%s}" ;; *) die "duration '$1' must look like 10s" ;; esac; }
for d in "$DURATION" "$LAT_DURATION" "$WARMUP"; do
  secs "$d" >/dev/null
  [ "$(secs "$d")" -lt 55 ] || log "WARNING: $d runs outlast mod_auth_openidc's 60 s session-refresh window; the" \
    "client-cookie target will then re-encrypt and Set-Cookie on every request (flagged INVALID)"
done

# ---------------------------------------------------------------- preflight
for tool in wrk curl node ss taskset /usr/sbin/apache2 /usr/sbin/nginx; do
  command -v "$tool" >/dev/null || die "$tool missing; run peers/setup.sh"
done
[ -f "${PEERS_DIR:-/tmp/peers}/idp-app/node_modules/oidc-provider/package.json" ] || die "oidc-provider missing; run peers/setup.sh"
if [ -n "$GATEWAY_URL" ]; then
  gw_host="$(node -e 'console.log(new URL(process.argv[1]).hostname)' "$GATEWAY_URL")"
  [[ "$gw_host" =~ ^(127\.[0-9]+\.[0-9]+\.[0-9]+|localhost)$ ]] || die "GATEWAY_URL must be a loopback URL"
fi
for p in "$UPSTREAM_PORT" "$NGINX_PORT" "$APACHE_PLAIN_PORT" "$APACHE_OIDC_PORT" "$APACHE_OIDC_COOKIE_PORT" "$IDP_PORT"; do
  if ss -Hltn "sport = :$p" | grep -q .; then
    die "port $p is already in use (an earlier run still up? try peers/stop-all.sh)"
  fi
done
mkdir -p "$OUT"
# other CPU consumers on a 2-core box distort everything: measure 1 s of CPU use first
cpu_sample() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9, $5+$6}' /proc/stat; }
read -r b1 i1 < <(cpu_sample); sleep 1; read -r b2 i2 < <(cpu_sample)
BUSY_START=$(( 100 * (b2 - b1) / ( (b2 - b1) + (i2 - i1) + 1 ) ))
if [ "$BUSY_START" -gt 20 ]; then
  log "WARNING: the CPUs are already ${BUSY_START}% busy before the benchmark starts; results will be skewed:"
  ps -eo pcpu,pid,args --sort=-pcpu | sed -n '2,4p' | cut -c1-120 >&2
fi

STARTED=0
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ "$STARTED" = 1 ]; then
    log "stopping everything this run started"
    stop_bg gateway
    "$HERE/stop-all.sh" || true
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- start
STARTED=1
"$HERE/start-all.sh"
if [ "$PEERS_IDP_TLS" = 1 ]; then export NODE_EXTRA_CA_CERTS="$TLS_DIR/cert.pem"; fi
if [ -n "$GATEWAY_START" ]; then
  start_bg gateway bash -c "exec $GATEWAY_START"
  wait_http "$GATEWAY_URL" 30 || die "gateway did not answer at $GATEWAY_URL; see $PEERS_DIR/logs/gateway.log"
fi

declare -A NAME URL LOGIN EXPECT COOKIE EXPSIZE HOSTHDR
NAME[a]=upstream-direct;    URL[a]="http://127.0.0.1:$UPSTREAM_PORT/app/bench"
NAME[b]=nginx-proxy;        URL[b]="http://127.0.0.1:$NGINX_PORT/app/bench"
NAME[c]=apache-noauth;      URL[c]="http://127.0.0.1:$APACHE_PLAIN_PORT/app/bench"
NAME[d]=apache-oidc-shm;    URL[d]="http://127.0.0.1:$APACHE_OIDC_PORT/app/bench"
NAME[e]=apache-oidc-cookie; URL[e]="http://127.0.0.1:$APACHE_OIDC_COOKIE_PORT/app/bench"
LOGIN[d]="http://127.0.0.1:$APACHE_OIDC_PORT/app/";        EXPECT[d]="$OIDC_EXPECT"
LOGIN[e]="http://127.0.0.1:$APACHE_OIDC_COOKIE_PORT/app/"; EXPECT[e]="$OIDC_EXPECT"
if [ -n "$GATEWAY_URL" ]; then
  NAME[g]=gateway; URL[g]="$GATEWAY_URL"; LOGIN[g]="$GATEWAY_URL"; EXPECT[g]="$GATEWAY_EXPECT"
fi
if [ -n "$GATEWAY_CHAIN_HOST" ]; then
  # Same gateway, another workload host whose endpoint is a guard in front of the upstream.
  NAME[h]=gateway-guard; URL[h]="$GATEWAY_URL"
  LOGIN[h]="http://$GATEWAY_CHAIN_HOST/${GATEWAY_URL#http://*/}"; EXPECT[h]="$GATEWAY_CHAIN_EXPECT"; HOSTHDR[h]="$GATEWAY_CHAIN_HOST"
fi
for t in $TARGETS; do [ -n "${URL[$t]:-}" ] || die "unknown target '$t' (GATEWAY_URL unset for g?)"; done

# ---------------------------------------------------------------- functional checks
# fetch URL [cookie] -> sets BODY, CODE, SIZE (response header+body bytes, as wrk counts them)
fetch_url() {
  local url="$1" cookie="${2:-}" host="${3:-}" raw
  local args=(-s --max-time 10 -w '\n%{http_code} %{size_header} %{size_download}')
  [ -n "$cookie" ] && args+=(-H "Cookie: $cookie")
  [ -n "$host" ] && args+=(-H "Host: $host")
  raw="$(curl "${args[@]}" "$url")" || die "request to $url failed"
  BODY="${raw%$'\n'*}"
  local meta="${raw##*$'\n'}"
  CODE="${meta%% *}"
  local sizes="${meta#* }"
  SIZE=$(( ${sizes% *} + ${sizes#* } ))
}

# login TARGET - a fresh OIDC login through the target (no-op for targets without auth).
# wrk replays a fixed cookie and cannot take the refreshed cookie that mod_auth_openidc
# sends once the session's inactivity timer is due for an update (10% of
# OIDCSessionInactivityTimeout, at most 60 s): with client-cookie sessions every later
# request would then be re-encrypted and answered with a Set-Cookie. So every wrk run
# starts from a fresh login and must stay shorter than that (the size check catches it).
login() {
  local t="$1"
  [ -n "${LOGIN[$t]:-}" ] || return 0
  if [ -n "${HOSTHDR[$t]:-}" ]; then
    COOKIE[$t]="$(node --import tsx "$MINE/login.ts" "${LOGIN[$t]}")" || die "${NAME[$t]}: bench/peer/login.ts failed"
  else
    COOKIE[$t]="$(node "$HERE/login.mjs" --url "${LOGIN[$t]}")" || die "${NAME[$t]}: login.mjs failed"
  fi
}

check_target() {
  local t="$1" name="${NAME[$1]}"
  if [ "$t" = h ] && [ -n "${GUARD_HEALTHZ:-}" ]; then
    # The guard started before the gateway and retries the JWKS every ~2 s: wait until it has keys.
    local i=0
    until [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$GUARD_HEALTHZ")" = 200 ]; do
      i=$((i + 1)); [ $i -lt 150 ] || die "guard not healthy at $GUARD_HEALTHZ"; sleep 0.2
    done
  fi
  if [ -n "${LOGIN[$t]:-}" ]; then
    # unauthenticated: must be a redirect to the IdP's authorization endpoint
    local r code loc hh=()
    [ -n "${HOSTHDR[$t]:-}" ] && hh=(-H "Host: ${HOSTHDR[$t]}")
    r="$(curl -s -o /dev/null --max-time 10 -H 'Accept: text/html' "${hh[@]}" -w '%{http_code} %{redirect_url}' "${URL[$t]}")"
    code="${r%% *}"; loc="${r#* }"
    if [[ "$t" == g || "$t" == h ]] && [[ "$code" =~ ^30[1237]$ && "$loc" != "$IDP_ISSUER/"* ]]; then
      # Tollgate: first its own origin (the hand-off binds this browser), then the IdP.
      local hop=0
      while [[ "$loc" != "$IDP_ISSUER/"* && $hop -lt 5 ]]; do
        r="$(curl -s -o /dev/null --max-time 10 -H 'Accept: text/html' -w '%{http_code} %{redirect_url}' "$loc")"
        code="${r%% *}"; loc="${r#* }"; hop=$((hop + 1))
      done
    fi
    [[ "$code" =~ ^30[1237]$ && "$loc" == "$IDP_ISSUER/"* ]] \
      || die "$name: unauthenticated request should redirect to $IDP_ISSUER, got $code $loc"
    log "$name: unauthenticated -> $code ${loc%%\?*}"
    login "$t"
    log "$name: logged in, cookie $(printf '%s' "${COOKIE[$t]}" | cut -c1-60)... (${#COOKIE[$t]} bytes)"
  fi
  fetch_url "${URL[$t]}" "${COOKIE[$t]:-}" "${HOSTHDR[$t]:-}"
  [ "$CODE" = 200 ] || die "$name: expected 200 from ${URL[$t]}, got $CODE: $BODY"
  if [ -n "${EXPECT[$t]:-}" ]; then
    printf '%s' "$BODY" | grep -Eq "${EXPECT[$t]}" \
      || die "$name: upstream did not see the identity headers (want /${EXPECT[$t]}/): $BODY"
    log "$name: 200, identity passed: $(printf '%s' "$BODY" | cut -c1-160)..."
  else
    log "$name: 200 ($BODY)"
  fi
  EXPSIZE[$t]="$SIZE"
  printf '%s\n' "$BODY" >"$OUT/$t-${NAME[$t]}.body.json"
}

for t in $TARGETS; do check_target "$t"; done

# ---------------------------------------------------------------- wrk
kv() { sed -n "s/.* $2=\([0-9]*\).*/\1/p" <<<"$1"; }

# every server process (and its children) that serves the benchmarked requests
server_pids() {
  local f p
  for f in "$PEERS_DIR/run/upstream.pid" "$PEERS_DIR/run/gateway.pid" "$PEERS_DIR/run/guard.pid" \
           "$PEERS_DIR/nginx/nginx.pid" "$PEERS_DIR/apache/run/httpd.pid"; do
    [ -s "$f" ] || continue
    p="$(cat "$f")"; echo "$p"; pgrep -P "$p" || true
  done
}
# pin_servers CPULIST - set the CPU affinity of all their threads
pin_servers() {
  local p
  for p in $(server_pids); do taskset -a -pc "$1" "$p" >/dev/null 2>&1 || true; done
}
ALL_CPUS="0-$(( $(nproc) - 1 ))"

# run_wrk TARGET LABEL THREADS CONNS DURATION [PIN] -> prints the WRK summary line
run_wrk() {
  local t="$1" label="$2" th="$3" c="$4" d="$5" pin="${6:-0}"
  local out="$OUT/$t-${NAME[$t]}.$label.txt" hdr=() pre=()
  login "$t"
  [ -n "${COOKIE[$t]:-}" ] && hdr=(-H "Cookie: ${COOKIE[$t]}")
  [ -n "${HOSTHDR[$t]:-}" ] && hdr+=(-H "Host: ${HOSTHDR[$t]}")
  if [ "$pin" = 1 ]; then pin_servers 0; pre=(taskset -c 0); fi
  if ! timeout --signal=INT $(( $(secs "$d") + 30 )) "${pre[@]}" \
      wrk -t"$th" -c"$c" -d"$d" --timeout 5s --latency -s "$HERE/wrk/report.lua" "${hdr[@]}" "${URL[$t]}" >"$out" 2>&1; then
    [ "$pin" = 1 ] && pin_servers "$ALL_CPUS"
    die "wrk failed for ${NAME[$t]} ($label); see $out"
  fi
  [ "$pin" = 1 ] && pin_servers "$ALL_CPUS"
  grep '^WRK ' "$out" || die "no summary from wrk for ${NAME[$t]} ($label); see $out"
}

# validate LINE TARGET LABEL -> "" or a problem description
validate() {
  local line="$1" t="$2" label="$3" problems="" f n req bytes per exp
  for f in err_connect err_read err_write err_status err_timeout; do
    n="$(kv "$line" "$f")"; [ "${n:-0}" = 0 ] || problems+=" $f=$n"
  done
  req="$(kv "$line" requests)"; bytes="$(kv "$line" bytes)"; exp="${EXPSIZE[$t]}"
  if [ "${req:-0}" -gt 0 ]; then
    # every response must be the 200 echo: a redirect or 401 has a different size
    per=$(( bytes / req ))
    if [ $(( per * 100 )) -lt $(( exp * 95 )) ] || [ $(( per * 100 )) -gt $(( exp * 105 )) ]; then
      problems+=" bytes/response=$per expected~$exp"
    fi
  else
    problems+=" no-requests"
  fi
  [ -z "$problems" ] || echo "$label:$problems"
}

median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END{if (NR%2) print a[(NR+1)/2]; else printf "%.0f\n", (a[NR/2]+a[NR/2+1])/2}'; }

declare -A ALL_RPS ALL_P50 ALL_P99 ALL_L50 ALL_L99 BAD
for t in $TARGETS; do BAD[$t]=""; done
for round in $(seq "$ROUNDS"); do
  for t in $TARGETS; do
    n="${NAME[$t]}"; r=""; [ "$ROUNDS" = 1 ] || r=".r$round"
    log "$n$r: warm-up $WARMUP"
    run_wrk "$t" "warmup$r" "$THREADS" "$CONNS" "$WARMUP" >/dev/null
    log "$n$r: throughput run -t$THREADS -c$CONNS -d$DURATION"
    line="$(run_wrk "$t" "throughput$r" "$THREADS" "$CONNS" "$DURATION")"
    v="$(validate "$line" "$t" "throughput$r")"; [ -z "$v" ] || BAD[$t]+=" $v"
    ALL_RPS[$t]+=" $(awk -v r="$(kv "$line" requests)" -v d="$(kv "$line" duration_us)" 'BEGIN{printf "%.0f", r/(d/1e6)}')"
    ALL_P50[$t]+=" $(kv "$line" p50_us)"; ALL_P99[$t]+=" $(kv "$line" p99_us)"
    log "$n$r: latency run -t1 -c$LAT_CONNS -d$LAT_DURATION$([ "$LAT_PIN" = 1 ] && echo ', pinned to CPU 0')"
    line="$(run_wrk "$t" "latency$r" 1 "$LAT_CONNS" "$LAT_DURATION" "$LAT_PIN")"
    v="$(validate "$line" "$t" "latency$r")"; [ -z "$v" ] || BAD[$t]+=" $v"
    ALL_L50[$t]+=" $(kv "$line" p50_us)"; ALL_L99[$t]+=" $(kv "$line" p99_us)"
    # the session (if any) must still be good after the runs
    fetch_url "${URL[$t]}" "${COOKIE[$t]:-}" "${HOSTHDR[$t]:-}"
    [ "$CODE" = 200 ] || BAD[$t]+=" after-run-status=$CODE"
    [ -z "${BAD[$t]}" ] || log "$n: INVALID: ${BAD[$t]}"
  done
done
declare -A RPS P50 P99 L50 L99
for t in $TARGETS; do
  RPS[$t]="$(median <<<"${ALL_RPS[$t]}")"; P50[$t]="$(median <<<"${ALL_P50[$t]}")"
  P99[$t]="$(median <<<"${ALL_P99[$t]}")"; L50[$t]="$(median <<<"${ALL_L50[$t]}")"
  L99[$t]="$(median <<<"${ALL_L99[$t]}")"
done

# ---------------------------------------------------------------- report
"$HERE/versions.sh" >"$OUT/versions.txt" 2>&1 || true
cp "$PEERS_DIR/apache/conf/httpd.conf" "$OUT/httpd.conf" 2>/dev/null || true
cp "$PEERS_DIR/nginx/nginx.conf" "$OUT/nginx.conf" 2>/dev/null || true

ms() { awk -v u="$1" 'BEGIN{printf "%.3f", u/1000}'; }
ratio() { if [ -n "${2:-}" ] && [ "${2:-0}" != 0 ]; then awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; else echo n/a; fi; }
base_rps="${RPS[a]:-}"; base_p50="${P50[a]:-}"; base_l50="${L50[a]:-}"

echo
echo "peer benchmark  $(date -u +%FT%TZ)  $(nproc) cores  wrk -t$THREADS -c$CONNS -d$DURATION (loaded p50/p99) and -t1 -c$LAT_CONNS -d$LAT_DURATION (c$LAT_CONNS p50/p99$([ "$LAT_PIN" = 1 ] && echo ', all on CPU 0'))$([ "$ROUNDS" = 1 ] || echo ", median of $ROUNDS rounds")"
L="c$LAT_CONNS"
FMT='%-22s %8s %7s %7s %8s %8s  %8s %8s %9s %9s%s\n'
printf "$FMT" target req/s p50ms p99ms "${L}p50ms" "${L}p99ms" rps/dir p50/dir "${L}p50/dir" "+${L}p50us" ""
{
  printf 'target\tname\trps\tp50_us\tp99_us\tlat_p50_us\tlat_p99_us\trps_ratio\tp50_ratio\tlat_p50_ratio\tvalid\trps_rounds\n'
} >"$OUT/summary.tsv"
status=0
for t in $TARGETS; do
  add="n/a"; [ -n "$base_l50" ] && add=$(( ${L50[$t]} - base_l50 ))
  flag=""; [ -z "${BAD[$t]}" ] || { flag="  INVALID:${BAD[$t]}"; status=1; }
  printf "$FMT" "$t ${NAME[$t]}" "${RPS[$t]}" "$(ms "${P50[$t]}")" "$(ms "${P99[$t]}")" \
    "$(ms "${L50[$t]}")" "$(ms "${L99[$t]}")" \
    "x$(ratio "${RPS[$t]}" "$base_rps")" "x$(ratio "${P50[$t]}" "$base_p50")" "x$(ratio "${L50[$t]}" "$base_l50")" "$add" "$flag"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "${NAME[$t]}" "${RPS[$t]}" "${P50[$t]}" "${P99[$t]}" \
    "${L50[$t]}" "${L99[$t]}" "$(ratio "${RPS[$t]}" "$base_rps")" "$(ratio "${P50[$t]}" "$base_p50")" \
    "$(ratio "${L50[$t]}" "$base_l50")" "$([ -z "${BAD[$t]}" ] && echo yes || echo no)" "${ALL_RPS[$t]# }" >>"$OUT/summary.tsv"
done
echo "CPU busy before start: ${BUSY_START}% (anything else running during the runs skews them)"
echo "raw wrk output, bodies, configs and versions: $OUT"
exit "$status"
