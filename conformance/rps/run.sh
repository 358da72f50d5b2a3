#!/usr/bin/env bash
# Interoperability of Sesame with two real relying parties, all on 127.0.0.1:
#   authlib-rp  Python Authlib (Flask client): code flow + PKCE, id_token, userinfo,
#               RP-initiated logout, then prompt=none must answer login_required;
#   apache-rp   Apache mod_auth_openidc protecting a folder, logout through /end_session.
# It starts an SMTP sink, Sesame (SQLite in a temp dir) and Apache, runs both scenarios,
# prints PASS/FAIL per scenario, stops what it started and exits non-zero on any failure.
#
# Environment:
#   SESAME_BIN     the sesame binary (default: `sesame` in PATH, else target/{release,debug})
#   APACHE_BIN     default /usr/sbin/apache2;  APACHE_MODULES  default /usr/lib/apache2/modules
#   RPS_PYTHON     a Python that has requirements.txt installed (default: a venv made once
#                  under RPS_VENV, default ~/.cache/sesame-rps/venv-<hash of requirements>)
#   RPS_INSTALL=1  apt-get install apache2 and libapache2-mod-auth-openidc when missing
#   RPS_ONLY       authlib or apache: run one scenario
#   RPS_KEEP=1     keep the temp dir (configs, logs, mails) and print where it is
#   RPS_VERBOSE=1  tracebacks on failure; mod_auth_openidc logs at debug level
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
T0=$EPOCHREALTIME
export PYTHONDONTWRITEBYTECODE=1
umask 077 # the configs carry secrets; what Apache's children read is opened up below

say() { printf 'run.sh: %s\n' "$*" >&2; }
die() { say "$*"; exit 2; }

# --- what we need -----------------------------------------------------------------------

if [[ -z "${SESAME_BIN:-}" ]]; then
    if command -v sesame >/dev/null 2>&1; then
        SESAME_BIN=$(command -v sesame)
    elif [[ -x "$REPO/target/release/sesame" ]]; then
        SESAME_BIN="$REPO/target/release/sesame"
    elif [[ -x "$REPO/target/debug/sesame" ]]; then
        SESAME_BIN="$REPO/target/debug/sesame"
    else
        die "no sesame binary: set SESAME_BIN, put sesame in PATH or build it"
    fi
fi
[[ -x "$SESAME_BIN" ]] || die "SESAME_BIN=$SESAME_BIN is not executable"
# Sesame reads every SESAME_* variable as a setting and stops on an unknown one (README,
# "Configuration reference"): SESAME_BIN must not reach it, and no other setting from the
# caller's environment should change the run.
SESAME=$SESAME_BIN
while read -r name; do unset "$name"; done < <(compgen -e SESAME_ || true)

APACHE_BIN=${APACHE_BIN:-/usr/sbin/apache2}
APACHE_MODULES=${APACHE_MODULES:-/usr/lib/apache2/modules}
if [[ ! -x "$APACHE_BIN" || ! -f "$APACHE_MODULES/mod_auth_openidc.so" ]] && [[ "${RPS_INSTALL:-}" == 1 ]]; then
    say "installing apache2 and libapache2-mod-auth-openidc"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -q apache2 libapache2-mod-auth-openidc >/dev/null
fi

if [[ -n "${RPS_PYTHON:-}" ]]; then
    PY=$RPS_PYTHON
else
    hash=$(sha256sum "$HERE/requirements.txt" | cut -c1-12)
    VENV=${RPS_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/sesame-rps/venv-$hash}
    if [[ ! -x "$VENV/bin/python" || ! -f "$VENV/.installed" ]]; then
        say "creating $VENV"
        python3 -m venv "$VENV"
        "$VENV/bin/pip" install -q --disable-pip-version-check -r "$HERE/requirements.txt"
        touch "$VENV/.installed"
    fi
    PY="$VENV/bin/python"
fi

# --- the temp dir and stopping everything on exit ----------------------------------------

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sesame-rps.XXXXXX")
PIDS=()
cleanup() {
    local status=$?
    local i
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
        kill -TERM "${PIDS[i]}" 2>/dev/null || true
    done
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
        wait "${PIDS[i]}" 2>/dev/null || true
        # not a child of this shell (Apache's PidFile): wait until it is gone
        local n=0
        while kill -0 "${PIDS[i]}" 2>/dev/null && ((n++ < 50)); do sleep 0.1; done
    done
    if [[ "${RPS_KEEP:-}" == 1 ]]; then
        say "kept $WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT TERM

free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
secret() {
    "$PY" -c 'import secrets; print(secrets.token_urlsafe(48))'
}
# wait_http URL SECONDS PID: until URL answers 2xx, or the process died, or time is up.
wait_http() {
    local url=$1 deadline=$((SECONDS + $2)) pid=$3
    while ((SECONDS < deadline)); do
        kill -0 "$pid" 2>/dev/null || return 1
        "$PY" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "$url" 2>/dev/null && return 0
        sleep 0.2
    done
    return 1
}

SESAME_PORT=$(free_port)
SMTP_PORT=$(free_port)
AUTHLIB_PORT=$(free_port)
APACHE_PORT=$(free_port)
ISSUER="http://127.0.0.1:$SESAME_PORT"
AUTHLIB_URL="http://127.0.0.1:$AUTHLIB_PORT"
APACHE_URL="http://127.0.0.1:$APACHE_PORT"
AUTHLIB_SECRET=$(secret)
APACHE_SECRET=$(secret)
PASSWORD='Rps-Interop-Pass-42!'
AUTHLIB_NUMBER=31415926
AUTHLIB_EMAIL=authlib-participant@rps.test
APACHE_NUMBER=27182818
APACHE_EMAIL=apache-participant@rps.test

# --- the SMTP sink -----------------------------------------------------------------------

mkdir -p "$WORK/mail"
"$PY" "$HERE/smtp_sink.py" "$SMTP_PORT" "$WORK/mail" >"$WORK/smtp.log" 2>&1 &
PIDS+=($!)

# --- Sesame ------------------------------------------------------------------------------

cat >"$WORK/sesame.toml" <<EOF
issuer = "$ISSUER"

[http]
listen = "127.0.0.1:$SESAME_PORT"

[database]
url = "sqlite://$WORK/sesame.db?mode=rwc"

[secrets]
master_key = "$(secret)"
cookie_key = "$(secret)"
captcha_key = "$(secret)"

[email]
smtp_url = "smtp://127.0.0.1:$SMTP_PORT"
from = "Sesame <noreply@rps.test>"

[ui]
themes_dir = "$WORK/no-theme-overrides"

[[clients]]
id = "authlib-rp"
name = "Authlib RP"
secret = "$AUTHLIB_SECRET"
redirect_uris = ["$AUTHLIB_URL/callback"]
post_logout_redirect_uris = ["$AUTHLIB_URL/logged-out"]
token_endpoint_auth_method = "client_secret_basic"
scopes = ["profile", "email", "cohort"]

[[clients]]
id = "apache-rp"
name = "Apache RP"
secret = "$APACHE_SECRET"
redirect_uris = ["$APACHE_URL/protected/redirect_uri"]
post_logout_redirect_uris = ["$APACHE_URL/loggedout.html"]
token_endpoint_auth_method = "client_secret_basic"
scopes = ["profile", "email", "cohort"]
EOF

cat >"$WORK/participants.jsonl" <<EOF
{"number": "$AUTHLIB_NUMBER", "email": "$AUTHLIB_EMAIL", "email_verified": true, "password": "$PASSWORD", "given_name": "Jeanne", "family_name": "Dupont", "locale": "fr"}
{"number": "$APACHE_NUMBER", "email": "$APACHE_EMAIL", "email_verified": true, "password": "$PASSWORD", "given_name": "Paul", "family_name": "Martin", "locale": "fr"}
EOF

# Requests show in sesame.log as method and path (Sesame redacts link tokens; no query).
export RUST_LOG=${RUST_LOG:-info,tower_http=debug} NO_COLOR=1
SESAME_OK=1
import_status=0
"$SESAME" user import "$WORK/participants.jsonl" --config "$WORK/sesame.toml" >"$WORK/import.log" 2>&1 || import_status=$?
if ((import_status != 0)); then
    SESAME_OK=0
    SESAME_WHY="sesame user import failed (exit $import_status): $(tail -n 3 "$WORK/import.log" | tr '\n' ' ')"
else
    "$SESAME" serve --config "$WORK/sesame.toml" >"$WORK/sesame.log" 2>&1 &
    SESAME_PID=$!
    PIDS+=("$SESAME_PID")
    if ! wait_http "$ISSUER/readyz" 30 "$SESAME_PID"; then
        SESAME_OK=0
        SESAME_WHY="sesame serve did not become ready: $(tail -n 3 "$WORK/sesame.log" | tr '\n' ' ')"
    fi
fi

# --- Apache ------------------------------------------------------------------------------

APACHE_OK=1
APACHE_WHY=""
start_apache() {
    if [[ ! -x "$APACHE_BIN" || ! -f "$APACHE_MODULES/mod_auth_openidc.so" ]]; then
        APACHE_WHY="apache2 or mod_auth_openidc not installed (apt-get install -y apache2 libapache2-mod-auth-openidc, or RPS_INSTALL=1)"
        return 1
    fi
    local root="$WORK/apache" user_lines=""
    mkdir -p "$root/run" "$root/logs" "$root/htdocs/protected"
    cp "$HERE/apache/claims.cgi" "$root/htdocs/protected/claims.cgi"
    cp "$HERE/apache/loggedout.html" "$root/htdocs/loggedout.html"
    chmod 711 "$WORK"
    chmod 755 "$root" "$root/htdocs" "$root/htdocs/protected" "$root/htdocs/protected/claims.cgi"
    chmod 644 "$root/htdocs/loggedout.html"
    if [[ $(id -u) == 0 ]]; then
        # Children drop root as Debian's own configuration does.
        user_lines=$'User www-data\nGroup www-data'
    fi
    local level=info
    [[ "${RPS_VERBOSE:-}" == 1 ]] && level=debug
    sed -e "s|@ROOT@|$root|g" -e "s|@PORT@|$APACHE_PORT|g" -e "s|@MODULES@|$APACHE_MODULES|g" \
        -e "s|@ISSUER@|$ISSUER|g" -e "s|@BASE@|$APACHE_URL|g" -e "s|@SECRET@|$APACHE_SECRET|g" \
        -e "s|@PASSPHRASE@|$(secret)|g" -e "s|@OIDC_LOG_LEVEL@|$level|g" \
        "$HERE/apache/httpd.conf.in" >"$root/httpd.conf"
    "$PY" - "$root/httpd.conf" "$user_lines" <<'PYEOF'
import sys
path, lines = sys.argv[1], sys.argv[2]
text = open(path).read().replace("@USER_LINES@", lines)
open(path, "w").write(text)
PYEOF
    if ! "$APACHE_BIN" -f "$root/httpd.conf" -t >"$root/logs/configtest.log" 2>&1; then
        APACHE_WHY="apache config test failed: $(tail -n 3 "$root/logs/configtest.log" | tr '\n' ' ')"
        return 1
    fi
    # Its own session: at shutdown the prefork MPM signals its whole process group, which
    # would otherwise be this script and whoever started it.
    setsid "$APACHE_BIN" -f "$root/httpd.conf" -DFOREGROUND >"$root/logs/stdout.log" 2>&1 &
    APACHE_PID=$!
    PIDS+=("$APACHE_PID")
    if ! wait_http "$APACHE_URL/loggedout.html" 20 "$APACHE_PID"; then
        APACHE_WHY="apache did not start: $(tail -n 3 "$root/logs/error.log" "$root/logs/stdout.log" 2>/dev/null | tr '\n' ' ')"
        return 1
    fi
    # setsid forks when started as a group leader (a shell with job control): then the
    # process to stop is the one in the PidFile.
    local pid
    pid=$(cat "$root/run/httpd.pid" 2>/dev/null || true)
    if [[ -n "$pid" && "$pid" != "$APACHE_PID" ]]; then
        PIDS+=("$pid")
    fi
}
if [[ $SESAME_OK == 1 ]] && [[ -z "${RPS_ONLY:-}" || "${RPS_ONLY}" == apache ]]; then
    start_apache || APACHE_OK=0
fi

# --- the scenarios -----------------------------------------------------------------------

export RPS_ISSUER=$ISSUER RPS_MAIL_DIR="$WORK/mail" RPS_PASSWORD=$PASSWORD \
    RPS_AUTHLIB_PORT=$AUTHLIB_PORT RPS_AUTHLIB_SECRET=$AUTHLIB_SECRET \
    RPS_AUTHLIB_NUMBER=$AUTHLIB_NUMBER RPS_AUTHLIB_EMAIL=$AUTHLIB_EMAIL \
    RPS_APACHE_URL=$APACHE_URL RPS_APACHE_NUMBER=$APACHE_NUMBER RPS_APACHE_EMAIL=$APACHE_EMAIL

PASSED=0
FAILED=0
run_scenario() { # key label
    local key=$1 label=$2
    if [[ -n "${RPS_ONLY:-}" && "$RPS_ONLY" != "$key" ]]; then
        return
    fi
    if [[ $SESAME_OK != 1 ]]; then
        echo "FAIL $label: $SESAME_WHY"
        FAILED=$((FAILED + 1))
        return
    fi
    if [[ $key == apache && $APACHE_OK != 1 ]]; then
        echo "FAIL $label: $APACHE_WHY"
        FAILED=$((FAILED + 1))
        return
    fi
    # The Flask RP's request log goes to a file; the scenario's verdict to stdout.
    if (cd "$HERE" && "$PY" scenarios.py "$key" 2>>"$WORK/$key.log"); then
        PASSED=$((PASSED + 1))
    else
        FAILED=$((FAILED + 1))
        if [[ "${RPS_VERBOSE:-}" == 1 ]]; then
            tail -n 40 "$WORK/$key.log" >&2 || true
        fi
    fi
}
run_scenario authlib "authlib-rp"
run_scenario apache "apache-rp (mod_auth_openidc)"

# Sesame must not have crashed or logged an error while serving the two RPs.
if [[ $SESAME_OK == 1 ]]; then
    if ! kill -0 "$SESAME_PID" 2>/dev/null; then
        echo "FAIL sesame: the process ended during the run: $(tail -n 3 "$WORK/sesame.log" | tr '\n' ' ')"
        FAILED=$((FAILED + 1))
    elif grep -Eq 'status=5[0-9][0-9]' "$WORK/sesame.log"; then
        echo "FAIL sesame: answered 5xx: $(grep -E 'status=5[0-9][0-9]' "$WORK/sesame.log" | grep -o 'method=[A-Z]* path=[^ ]*' | head -n 3 | tr '\n' ' ')"
        FAILED=$((FAILED + 1))
    fi
    if grep -q ' ERROR ' "$WORK/sesame.log"; then
        echo "NOTE sesame logged errors: $(grep ' ERROR ' "$WORK/sesame.log" | head -n 3 | tr '\n' ' ')"
    fi
fi

printf '%d passed, %d failed\n' "$PASSED" "$FAILED"
awk -v a="$T0" -v b="$EPOCHREALTIME" 'BEGIN { printf "duration: %.1fs\n", b - a }'
[[ $FAILED == 0 ]]
