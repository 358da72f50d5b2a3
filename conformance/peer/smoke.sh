#!/usr/bin/env bash
# Smoke check of the peer: starts it on 127.0.0.1, runs smoke.py against it
# (code flow + PKCE, token, userinfo, refresh, form_post, RP-initiated and
# back-channel logout, prompt=none), then stops it with SIGTERM.
# Needs node, python3 and `npm ci --prefix conformance/peer` done first.
# Usage: conformance/peer/smoke.sh [PORT [RP_PORT]]
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
port="${1:-18090}"
rp_port="${2:-$((port + 1))}"
rp="http://127.0.0.1:${rp_port}"
log="$(mktemp -d)"

clients=$(cat <<EOF
[{"client_id":"client","client_secret":"secret-1234567890",
  "redirect_uris":["${rp}/callback"],
  "post_logout_redirect_uris":["${rp}/post_logout_redirect"],
  "backchannel_logout_uri":"${rp}/backchannel_logout",
  "backchannel_logout_session_required":true,
  "grant_types":["authorization_code","refresh_token"],
  "response_types":["code"],
  "token_endpoint_auth_method":"client_secret_basic"}]
EOF
)

PORT="$port" CLIENTS="$clients" node "$here/server.mjs" >"$log/stdout" 2>"$log/stderr" &
peer=$!
stop() {
  if kill -0 "$peer" 2>/dev/null; then
    kill -TERM "$peer"
    wait "$peer" && echo "peer stopped cleanly (exit 0)" || echo "peer exit status $?"
  fi
}
trap stop EXIT

for _ in $(seq 1 100); do
  grep -q '^ready ' "$log/stdout" 2>/dev/null && break
  kill -0 "$peer" 2>/dev/null || { cat "$log/stderr"; exit 1; }
  sleep 0.1
done
grep '^ready ' "$log/stdout" || { echo "peer did not become ready"; cat "$log/stderr"; exit 1; }

python3 "$here/smoke.py" "http://127.0.0.1:${port}" "$rp_port"
