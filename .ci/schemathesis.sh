#!/usr/bin/env bash
# Fuzz the JSON API of a running jwtapp (a release build) with schemathesis, from the OpenAPI 3.1
# document the server itself serves at GET /api/openapi.json: every check, on every operation,
# authenticated, plus stateful runs along the document's links (login -> info -> refresh -> logout).
# Passes only with zero failures and zero errors.
#
# Environment:
#   JWTAPP_URL             required: the server's base URL, e.g. http://127.0.0.1:8000
#   JWTAPP_ADMIN_USER      required: an administrator (admin routes must answer 200, not 403)
#   JWTAPP_ADMIN_PASSWORD  required: its password
#   JWTAPP_OPENAPI         the document, a URL or a file (default: $JWTAPP_URL/api/openapi.json)
#   ST_VENV                the virtualenv to create or reuse (default: ./target/st-venv)
#   ST_SEED                Hypothesis seed, for a reproducible run (default: 20261202)
#   ST_MAX_EXAMPLES        generated cases per operation in the fuzzing phase (default: 50)
#   ST_STATEFUL_EXAMPLES   stateful scenarios (default: 100)
#   ST_WORKERS             concurrent workers (default: 2, the CI machine's cores)
#   ST_TIMEOUT             hard limit on the schemathesis run, in seconds (default: 170; a run
#                          takes about a minute)
#   ST_REPORT_DIR          JUnit XML and NDJSON reports (default: ./target/schemathesis-report)
# Arguments are passed on to `st run` after the script's own, so they override them, e.g.
#   .ci/schemathesis.sh --phases stateful --output-sanitize false   (tokens unmasked in the output)
# Relative paths are taken from the repository's root.
#
# The server under test must not throttle logins from 127.0.0.1 during the run: fuzzing
# POST /api/auth/login sends hundreds of wrong passwords, and past login_address_ceiling (50) even
# the right password gets 429, which leaves schemathesis without tokens. Start it with e.g.
#   ROCKET_AUTH='{secret="...", login_failures_per_window=1000000, login_address_ceiling=1000000}'
# The admin account must be a throwaway: the run logs it in and out and ends its sessions, many times.
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
: "${JWTAPP_URL:?set JWTAPP_URL, e.g. http://127.0.0.1:8000}"
: "${JWTAPP_ADMIN_USER:?set JWTAPP_ADMIN_USER to an administrator of the server under test}"
: "${JWTAPP_ADMIN_PASSWORD:?set JWTAPP_ADMIN_PASSWORD}"
JWTAPP_URL=${JWTAPP_URL%/}
JWTAPP_OPENAPI=${JWTAPP_OPENAPI:-$JWTAPP_URL/api/openapi.json}
ST_VENV=${ST_VENV:-./target/st-venv}
ST_SEED=${ST_SEED:-20261202}
ST_MAX_EXAMPLES=${ST_MAX_EXAMPLES:-50}
ST_STATEFUL_EXAMPLES=${ST_STATEFUL_EXAMPLES:-100}
ST_WORKERS=${ST_WORKERS:-2}
ST_TIMEOUT=${ST_TIMEOUT:-170}
ST_REPORT_DIR=${ST_REPORT_DIR:-./target/schemathesis-report}
export JWTAPP_URL JWTAPP_ADMIN_USER JWTAPP_ADMIN_PASSWORD ST_STATEFUL_EXAMPLES
# Absolute paths: schemathesis runs in a temporary directory (it and Hypothesis keep caches in the
# working directory, which must not be the work tree).
absolute() { case $1 in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$PWD/${1#./}" ;; esac; }
ST_VENV=$(absolute "$ST_VENV")
ST_REPORT_DIR=$(absolute "$ST_REPORT_DIR")
case $JWTAPP_OPENAPI in *://*) ;; *) JWTAPP_OPENAPI=$(absolute "$JWTAPP_OPENAPI") ;; esac

# --- The virtualenv, with schemathesis and everything it imports at exact versions (a seed only
# reproduces a run with the same Hypothesis and the same generators).
if ! "$ST_VENV/bin/st" --version 2>/dev/null | grep -qx "schemathesis, version $SCHEMATHESIS_VERSION"; then
    if ! python3 -m venv --clear "$ST_VENV" >/dev/null 2>&1; then
        # Debian's own python3 ships venv without ensurepip.
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq python3-venv
        python3 -m venv --clear "$ST_VENV"
    fi
    constraints=$(mktemp)
    cat >"$constraints" <<'EOF'
anyio==4.16.0
certifi==2026.10.19.post1
charset-normalizer==3.5.3
click==8.5.1
graphql-core==3.3.2
harfile==0.6.0
hypothesis==6.170.17
hypothesis-graphql==0.13.5
idna==3.20
iniconfig==2.3.1
jsonschema_rs==0.60.3
markdown-it-py==4.3.0
MarkupSafe==3.0.4
mdurl==0.1.2
packaging==26.4
pluggy==1.7.0
Pygments==2.21.0
pyrate-limiter==4.5.1
pytest==9.2.0
PyYAML==6.0.4
requests==2.34.2
rich==15.0.0
sortedcontainers==2.4.0
typing_extensions==4.16.0
urllib3==2.8.0
Werkzeug==3.1.9
EOF
    "$ST_VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        -c "$constraints" "schemathesis==$SCHEMATHESIS_VERSION"
    rm -f "$constraints"
fi
"$ST_VENV/bin/st" --version

work=$(mktemp -d)
trap 'cd / && rm -rf "$work"' EXIT

# --- Log in first: wrong credentials, a non-admin, or a server that is not up yet fail here with a
# plain message instead of as a pile of 401s. Waits up to 60 s for the server to answer.
"$ST_VENV/bin/python" - <<'EOF'
import os, sys, time
import requests

base = os.environ["JWTAPP_URL"]
creds = {"username": os.environ["JWTAPP_ADMIN_USER"], "password": os.environ["JWTAPP_ADMIN_PASSWORD"]}
deadline = time.monotonic() + 60
while True:
    try:
        r = requests.post(f"{base}/api/auth/login", json=creds, timeout=10)
        break
    except requests.ConnectionError:
        if time.monotonic() > deadline:
            sys.exit(f"schemathesis.sh: nothing answers at {base}")
        time.sleep(1)
if r.status_code != 200:
    sys.exit(f"schemathesis.sh: login as {creds['username']} failed: {r.status_code} {r.text}")
tokens = r.json()
info = requests.get(f"{base}/api/auth/info", headers={"Authorization": f"Bearer {tokens['accessToken']}"}, timeout=10)
if info.status_code != 200 or info.json().get("isAdmin") is not True:
    sys.exit(f"schemathesis.sh: {creds['username']} is not an administrator: {info.status_code} {info.text}")
requests.post(f"{base}/api/auth/logout", headers={"Authorization": f"Bearer {tokens['refreshToken']}"}, timeout=10)
print(f"schemathesis.sh: logged in at {base} as administrator {creds['username']}")
EOF

# --- Authentication, as a hooks file. Why not [auth.dynamic.openapi.*] in schemathesis.toml, which
# can log in per security scheme: that auth overwrites the Authorization header that an OpenAPI link
# carries, so a stateful login -> refresh would refresh with the fuzzer's token, not the one the
# login in that scenario returned. This provider picks the token by the operation's security scheme
# (bearerAccess: the access token, bearerRefresh: the refresh token, none: no header), logs in once
# per scheme and again when a request gets 401 (after a logout or an "end all sessions" ends the
# fuzzer's own login), and leaves alone a Bearer token that a link took from an earlier response.
cat >"$work/hooks.py" <<'EOF'
import os
import sys
import threading

import requests
import schemathesis
import schemathesis.auths

BASE = os.environ["JWTAPP_URL"].rstrip("/")
CREDENTIALS = {"username": os.environ["JWTAPP_ADMIN_USER"], "password": os.environ["JWTAPP_ADMIN_PASSWORD"]}
# Bearer security schemes of the document -> the field of the login answer that holds their token.
TOKEN_FIELDS = {"bearerAccess": "accessToken", "bearerRefresh": "refreshToken"}

_lock = threading.Lock()
_issued = set()  # live tokens the server handed to generated requests (login, refresh): links carry them
_ours = set()  # live tokens of this provider's own logins


def _token_field(operation):
    """The login field whose token the operation's first Bearer-only security requirement wants."""
    raw = operation.schema.raw_schema
    schemes = raw.get("components", {}).get("securitySchemes", {})
    for requirement in operation.definition.raw.get("security", raw.get("security", [])):
        if len(requirement) != 1:
            continue
        (name,) = requirement
        scheme = schemes.get(name, {})
        if scheme.get("type") == "http" and scheme.get("scheme", "").lower() == "bearer":
            return TOKEN_FIELDS.get(name, "refreshToken" if "refresh" in name.lower() else "accessToken")
    return None


def _carried_token(case):
    value = (case.headers or {}).get("Authorization")
    if isinstance(value, str) and value.startswith("Bearer "):
        return value[len("Bearer "):]
    return None


# One cached token per field, from a login of its own.
@schemathesis.auth(cache_by_key=lambda case, context: _token_field(context.operation) or "")
class JwtappAuth:
    def get(self, case, context):
        field = _token_field(context.operation)
        if field is None:
            return None  # a public operation: send no credentials
        response = requests.post(f"{BASE}/api/auth/login", json=CREDENTIALS, timeout=30)
        if response.status_code != 200:
            message = f"login for the {field} failed: {response.status_code} {response.text}"
            if response.status_code == 429:
                message += " (the server throttles failed logins: raise login_address_ceiling and login_failures_per_window)"
            # Schemathesis reports a failed token fetch without its reason: print it here.
            print(f"schemathesis.sh hooks: {message}", file=sys.stderr, flush=True)
            raise RuntimeError(message)
        token = response.json()[field]
        with _lock:
            _ours.add(token)
        return token

    def set(self, case, data, context):
        with _lock:
            if _carried_token(case) in _issued:
                return  # a link passed a live token from an earlier step: keep the scenario's own
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


# The cache schemathesis keeps around JwtappAuth. Schemathesis empties it and replays a request that
# got 401 in the examples, coverage and fuzzing phases, but not in the stateful one; so a 401 to one
# of our tokens empties it here, and the next step logs in again instead of using a dead token.
_cache = schemathesis.auths.GLOBAL_AUTH_STORAGE.providers[-1]


@schemathesis.hook
def after_call(context, case, response):
    token = _carried_token(case)
    with _lock:
        if response.status_code == 401:
            _issued.discard(token)  # its login has ended: a retry must not keep it
            if token in _ours:
                _ours.discard(token)
                _cache.invalidate()
        if response.status_code == 200 and case.operation.path in ("/api/auth/login", "/api/auth/refresh"):
            try:
                body = response.json()
            except ValueError:
                return
            if isinstance(body, dict):
                _issued.update(value for key, value in body.items()
                               if key in ("accessToken", "refreshToken") and isinstance(value, str))
EOF

# --- Configuration. Written by Python so that the credentials are quoted correctly for TOML.
"$ST_VENV/bin/python" - "$work/schemathesis.toml" <<'EOF'
import json, os, sys

def s(value):
    """A TOML basic string: JSON's escapes are TOML's, but TOML also wants DEL escaped and has no
    surrogate pairs, hence ensure_ascii=False."""
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")

user, password = os.environ["JWTAPP_ADMIN_USER"], os.environ["JWTAPP_ADMIN_PASSWORD"]
with open(sys.argv[1], "w") as f:
    f.write(f"""
# No crash cache carried from one run to the next: a run depends on its seed alone.
[cache]
enabled = false

# A run whose operations only ever got 401/403, or was throttled, or hit a route the document names
# with a method the server does not serve, or could not resolve a $ref, has tested nothing: fail it.
[warnings]
fail-on = ["missing_auth", "rate_limited", "method_not_allowed", "base_url_mismatch", "unresolvable_reference"]

# ... except where missing_auth means nothing: a login is public, and its 401 is a wrong password
# (many scenarios have no right one); a password change always gets 403 here (the fuzzer cannot
# know the current password, and must not: it would change the admin's).
[[operations]]
include-path = ["/api/auth/login", "/api/auth/password"]
warnings = {{ fail-on = ["rate_limited", "method_not_allowed", "base_url_mismatch", "unresolvable_reference"] }}

# The coverage phase sends every method a path does not document and expects 405 with Allow
# (check unsupported_method). All but QUERY: Rocket 0.5 cannot parse a method it does not know,
# so a QUERY request never reaches routing and gets the 400 catcher, whatever the app does.
[phases.coverage]
unexpected-methods = ["get", "put", "post", "delete", "options", "patch", "trace"]

# Stateful scenarios get their own count: few of them follow every link (a link is only followed
# from a 200, and about half of the generated logins fail on purpose).
[phases.stateful.generation]
max-examples = {int(os.environ["ST_STATEFUL_EXAMPLES"])}

# About half of the generated logins use the real credentials (0.7 x 0.7), so that the login also
# answers 200: stateful scenarios follow its links (to info, refresh, logout) only from a 200.
[dictionaries]
ci-username = {{ values = [{s(user)}] }}
ci-password = {{ values = [{s(password)}] }}

[[operations]]
include-path = "/api/auth/login"
include-method = "POST"
parameters = {{ "body.username" = {{ dictionary = "ci-username", probability = 0.7 }}, "body.password" = {{ dictionary = "ci-password", probability = 0.7 }} }}
""")
EOF

# --- The run.
#   --checks all            every built-in check, object_level_authorization included (a no-op
#                           without a second identity)
#   --phases ...            all four, named so that none is dropped by a future default
#   --max-examples          bounds the fuzzing phase (stateful has its own count, above; coverage
#                           and examples are finite by themselves). No --max-time: with it
#                           schemathesis repeats fuzzing and stateful runs until the time is spent,
#                           which makes every run last that long.
#   --seed                  the same cases on every run; a failure reproduces with the same seed
#   --generation-database none   no example database under the work tree: runs do not depend on
#                           earlier ones (with the seed, that is what makes them repeatable)
#   --request-timeout       a request that hangs is a failure, not a hung CI step
#   --wait-for-schema       the server may still be starting
#   --report                JUnit for CI, NDJSON with every request and response for debugging.
#                           Tokens are masked in both; the NDJSON keeps the login bodies, so it holds
#                           the (throwaway) admin password in clear: do not publish it.
#   timeout                 the hard bound of the step; schemathesis exits 0 pass, 1 failures,
#                           2 errors (schema, config, nothing tested), 130 interrupted
mkdir -p "$ST_REPORT_DIR"
status=0
cd "$work"
SCHEMATHESIS_HOOKS="$work/hooks.py" timeout --kill-after=10 "$ST_TIMEOUT" \
    "$ST_VENV/bin/st" --config-file "$work/schemathesis.toml" run "$JWTAPP_OPENAPI" \
    --url "$JWTAPP_URL" \
    --checks all \
    --phases examples,coverage,fuzzing,stateful \
    --max-examples "$ST_MAX_EXAMPLES" \
    --seed "$ST_SEED" \
    --generation-database none \
    --workers "$ST_WORKERS" \
    --request-timeout 10 \
    --wait-for-schema 60 \
    --report junit,ndjson --report-dir "$ST_REPORT_DIR" \
    --report-junit-path "$ST_REPORT_DIR/junit.xml" --report-ndjson-path "$ST_REPORT_DIR/events.ndjson" \
    --no-color \
    "$@" || status=$?
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
    echo "schemathesis.sh: the run did not finish within ${ST_TIMEOUT}s" >&2
fi
if [ "$status" -ne 0 ]; then
    echo "schemathesis.sh: FAILED (exit $status); reports in $ST_REPORT_DIR" >&2
    exit "$status"
fi
echo "schemathesis.sh: passed; reports in $ST_REPORT_DIR"
