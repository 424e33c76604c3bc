# Shared steps of ops/up and ops/test. Every step is idempotent: it skips what is
# already there and installs what is not. Sourced, not run.
set -euo pipefail
OPS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$OPS_DIR/.." && pwd)"
# shellcheck source=ops/env.sh
source "$OPS_DIR/env.sh"

TORCH_VERSION=2.13.0
S3S_VERSION=0.14.1
export KRONOS_S3_PORT="${KRONOS_S3_PORT:-9000}"
export KRONOS_S3_DATA="${KRONOS_S3_DATA:-$KRONOS_CACHE/s3-data}"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_updated=0
apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  if [ $apt_updated = 0 ]; then as_root apt-get update -qq; apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

ensure_system_packages() {
  apt_install build-essential pkg-config libssl-dev libpq-dev python3-venv unzip curl ca-certificates jq
  command -v cargo >/dev/null || { echo "cargo is required (rustup)"; exit 1; }
  command -v cargo-nextest >/dev/null || { log "installing cargo-nextest"; cargo install --locked cargo-nextest; }
  for tool in clippy rustfmt; do
    cargo "${tool/rustfmt/fmt}" --version >/dev/null 2>&1 || { log "installing $tool"; rustup component add "$tool"; }
  done
}

ensure_postgres() {
  if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then return 0; fi
  if ! command -v pg_ctlcluster >/dev/null; then apt_install postgresql postgresql-client; fi
  log "starting PostgreSQL"
  local version
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || as_root pg_ctlcluster "$version" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  pg_isready -q -h 127.0.0.1 -p 5432 || { echo "PostgreSQL did not start"; exit 1; }
  # trust auth on loopback for the postgres role, as the platform's default URL expects
  if ! psql -h 127.0.0.1 -U postgres -c 'SELECT 1' >/dev/null 2>&1; then
    local hba
    hba=$(ls /etc/postgresql/"$version"/main/pg_hba.conf)
    as_root sed -i 's/^\(host\s\+all\s\+all\s\+127.0.0.1\/32\s\+\).*/\1trust/' "$hba"
    pg_ctlcluster --skip-systemctl-redirect "$version" main reload
  fi
}

ensure_redis() {
  if redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then return 0; fi
  command -v redis-server >/dev/null || apt_install redis-server redis-tools
  log "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/kronos.log
  for _ in $(seq 1 20); do redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && break; sleep 0.5; done
}

# Creates the virtualenv $1 (kept if present) and installs the pinned requirement $2.
venv_install() {
  python3 -m venv "$1"
  "$1/bin/pip" install -q --upgrade pip
  "$1/bin/pip" install -q "$2"
}

ensure_torch() {
  if [ -x "$KRONOS_TORCH_VENV/bin/python" ] && \
     "$KRONOS_TORCH_VENV/bin/python" -c "import torch,sys; sys.exit(torch.__version__.split('+')[0] != '$TORCH_VERSION')" 2>/dev/null; then
    return 0
  fi
  log "installing torch==$TORCH_VERSION into $KRONOS_TORCH_VENV (about 2 minutes)"
  venv_install "$KRONOS_TORCH_VENV" "torch==$TORCH_VERSION"
  source "$OPS_DIR/env.sh"
}

# vectorbt, the reference backtest engine the tests cross-check against (a dev/CI tool
# only: Apache-2.0 + Commons Clause; never shipped).
VECTORBT_VERSION=1.2.0
VECTORBT_VENV="$KRONOS_CACHE/vectorbt-venv"
ensure_vectorbt() {
  if [ -x "$VECTORBT_VENV/bin/python" ] && \
     "$VECTORBT_VENV/bin/python" -c "import vectorbt,sys; sys.exit(vectorbt.__version__ != '$VECTORBT_VERSION')" 2>/dev/null; then
    return 0
  fi
  log "installing vectorbt==$VECTORBT_VERSION into $VECTORBT_VENV (about 1 minute)"
  venv_install "$VECTORBT_VENV" "vectorbt==$VECTORBT_VERSION"
}

SCHEMATHESIS_VERSION=4.32.5
SCHEMATHESIS_VENV="$KRONOS_CACHE/schemathesis-venv"
# ensure_schemathesis: the OpenAPI fuzzer (PyPI) the test suite runs against the API's
# /openapi.json (no 5xx, no answer outside its schema), in its own virtualenv.
ensure_schemathesis() {
  if ! { [ -x "$SCHEMATHESIS_VENV/bin/schemathesis" ] && \
         "$SCHEMATHESIS_VENV/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; }; then
    log "installing schemathesis==$SCHEMATHESIS_VERSION into $SCHEMATHESIS_VENV"
    venv_install "$SCHEMATHESIS_VENV" "schemathesis==$SCHEMATHESIS_VERSION"
  fi
  # Python 3.11's ast module now and then fails while hypothesis parses its own sources
  # to describe a lambda: "SystemError: AST constructor recursion depth mismatch"
  # (CPython gh-106905), a crash of the fuzzer rather than a finding. The venv raises the
  # recursion limit and lets such a parse fail as a SyntaxError, which hypothesis
  # already handles (the lambda is described as "<unknown>").
  local site
  site="$("$SCHEMATHESIS_VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  if ! grep -q "gh-106905" "$site/sitecustomize.py" 2>/dev/null; then
    cat >"$site/sitecustomize.py" <<'PY'
# Written by ops/lib.sh (ensure_schemathesis): a workaround of CPython gh-106905.
import ast
import sys

sys.setrecursionlimit(20000)
_parse = ast.parse


def _parse_or_syntax_error(*args, **kwargs):
    try:
        return _parse(*args, **kwargs)
    except SystemError as e:
        if "recursion depth mismatch" not in str(e):
            raise
        raise SyntaxError(f"not parsed: CPython gh-106905 ({e})") from e


ast.parse = _parse_or_syntax_error
PY
  fi
}

# The SMTP server emails are delivered to on this machine: aiosmtpd (PyPI) filing every
# message in a maildir. ops/test reads what the platform sent there; ops/up uses it when
# no SMTP server is configured (KRONOS_SMTP_HOST), so sign-up links can be followed
# locally.
AIOSMTPD_VERSION=1.4.6
SMTP_VENV="$KRONOS_CACHE/smtp-venv"
ensure_smtp_capture() {
  if [ -x "$SMTP_VENV/bin/python" ] && \
     "$SMTP_VENV/bin/python" -c "import aiosmtpd,sys; sys.exit(aiosmtpd.__version__ != '$AIOSMTPD_VERSION')" 2>/dev/null; then
    return 0
  fi
  log "installing aiosmtpd==$AIOSMTPD_VERSION into $SMTP_VENV"
  venv_install "$SMTP_VENV" "aiosmtpd==$AIOSMTPD_VERSION"
}

# start_smtp_capture PORT MAILDIR: starts aiosmtpd on 127.0.0.1:PORT (if nothing listens
# there) filing messages in MAILDIR.
start_smtp_capture() {
  local port="$1" maildir="$2"
  mkdir -p "$maildir"/tmp "$maildir"/new "$maildir"/cur "$KRONOS_CACHE/run"
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
  log "starting the SMTP capture server on 127.0.0.1:$port (messages in $maildir)"
  (cd "$maildir" && exec nohup "$SMTP_VENV/bin/python" -m aiosmtpd -n -l "127.0.0.1:$port" \
    -c aiosmtpd.handlers.Mailbox "$maildir" >"$KRONOS_CACHE/run/smtp-$port.log" 2>&1) &
  echo $! >"$KRONOS_CACHE/run/smtp-$port.pid"
  for _ in $(seq 1 40); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0; sleep 0.25; done
  echo "the SMTP capture server did not start; see $KRONOS_CACHE/run/smtp-$port.log"; exit 1
}

# ensure_jwt_keys: the access-token signing key of this machine's platform, made once
# ($KRONOS_HOME/jwt.keys, readable by this user only) and kept, so tokens survive a
# restart; KRONOS_JWT_KEYS in the environment wins.
ensure_jwt_keys() {
  local file="$KRONOS_HOME/jwt.keys"
  if [ -z "${KRONOS_JWT_KEYS:-}" ]; then
    if [ ! -s "$file" ]; then
      mkdir -p "$KRONOS_HOME"
      (umask 077; echo "k$(date -u +%Y%m%d)=$(head -c 48 /dev/urandom | base64 | tr -d '/+=\n')" >"$file")
      log "made an access-token signing key ($file)"
    fi
    KRONOS_JWT_KEYS="$(cat "$file")"
    export KRONOS_JWT_KEYS
  fi
}

S3S_BIN="$KRONOS_CACHE/s3s/bin/s3s-fs"
ensure_s3_server() {
  if [ -x "$S3S_BIN" ] && "$S3S_BIN" --version 2>/dev/null | grep -q "$S3S_VERSION"; then return 0; fi
  log "installing the S3-compatible server s3s-fs $S3S_VERSION from crates.io"
  CARGO_TARGET_DIR="$KRONOS_CACHE/s3s-build" cargo install --quiet --locked s3s-fs --version "$S3S_VERSION" \
    --features binary --root "$KRONOS_CACHE/s3s"
}

# start_s3_server NAME: starts s3s-fs (if not already listening) with bucket NAME.
start_s3_server() {
  local bucket="$1"
  export KRONOS_S3_ENDPOINT="http://127.0.0.1:$KRONOS_S3_PORT"
  export KRONOS_S3_ACCESS_KEY_ID="${KRONOS_S3_ACCESS_KEY_ID:-kronos}"
  export KRONOS_S3_SECRET_ACCESS_KEY="${KRONOS_S3_SECRET_ACCESS_KEY:-kronos-secret-key}"
  mkdir -p "$KRONOS_S3_DATA/$bucket"
  if curl -s -o /dev/null "http://127.0.0.1:$KRONOS_S3_PORT/" 2>/dev/null; then return 0; fi
  log "starting s3s-fs on 127.0.0.1:$KRONOS_S3_PORT"
  mkdir -p "$KRONOS_CACHE/run"
  # started from its data directory: s3s-fs stages uploads relative to its working
  # directory, and the clone that started it may be deleted while it runs
  (cd "$KRONOS_S3_DATA" && exec nohup "$S3S_BIN" --host 127.0.0.1 --port "$KRONOS_S3_PORT" \
    --access-key "$KRONOS_S3_ACCESS_KEY_ID" --secret-key "$KRONOS_S3_SECRET_ACCESS_KEY" \
    "$KRONOS_S3_DATA" >"$KRONOS_CACHE/run/s3s-fs.log" 2>&1) &
  echo $! >"$KRONOS_CACHE/run/s3s-fs.pid"
  for _ in $(seq 1 40); do curl -s -o /dev/null "http://127.0.0.1:$KRONOS_S3_PORT/" && return 0; sleep 0.25; done
  echo "s3s-fs did not start; see $KRONOS_CACHE/run/s3s-fs.log"; exit 1
}

# Demo data: genuine OHLCV files shipped inside PyPI wheels (see docs/DATA.md).
DEMO_DIR="$KRONOS_CACHE/demo"
declare -A DEMO_SHA=(
  [stocks.csv.gz]=5abadf99b2d394f920120a27de6f0df129859d71d4cfb0bf661bcc99446ab1fd
  [sp500.csv.gz]=1e028cbb9c400cc018c816ccc439b33c919387e726c3ed5ca2c05c82746059de
  [nasdaq.csv.gz]=b2009535343ebb14e0aa11ed086788d2997a416ffe4f9450eed9a561ae30ac59
  [EURUSD.csv]=81e977905a006cc8fbc034ebdb83c999a8ed6ba00191dc7ea5ef5b386fb74a82
  [STOCKS_GOOGL.csv]=1a3d459fdbcddb9362a157b07438b0fd83e6eb04406a136b5b0a10c5b0df107a
)
ensure_demo_data() {
  local ok=1
  for f in "${!DEMO_SHA[@]}"; do
    [ -f "$DEMO_DIR/files/$f" ] && echo "${DEMO_SHA[$f]}  $DEMO_DIR/files/$f" | sha256sum -c --quiet - 2>/dev/null || ok=0
  done
  [ $ok = 1 ] && return 0
  log "fetching demo market data from PyPI wheels"
  mkdir -p "$DEMO_DIR/wheels" "$DEMO_DIR/files"
  local pip="$KRONOS_TORCH_VENV/bin/pip"
  [ -x "$pip" ] || pip="python3 -m pip"
  for pkg in bokeh-sampledata==2026.1 backtesting==0.6.6 arch==8.0.0 gym-anytrading==2.0.0; do
    $pip download -q --no-deps -d "$DEMO_DIR/wheels" "$pkg"
  done
  unzip -o -j -q "$DEMO_DIR"/wheels/bokeh_sampledata-*.whl 'bokeh_sampledata/_data/stocks.csv.gz' -d "$DEMO_DIR/files"
  unzip -o -j -q "$DEMO_DIR"/wheels/backtesting-*.whl 'backtesting/test/EURUSD.csv' -d "$DEMO_DIR/files"
  unzip -o -j -q "$DEMO_DIR"/wheels/arch-*.whl 'arch/data/sp500/sp500.csv.gz' 'arch/data/nasdaq/nasdaq.csv.gz' -d "$DEMO_DIR/files"
  unzip -o -j -q "$DEMO_DIR"/wheels/gym_anytrading-*.whl 'gym_anytrading/datasets/data/STOCKS_GOOGL.csv' -d "$DEMO_DIR/files"
  for f in "${!DEMO_SHA[@]}"; do
    echo "${DEMO_SHA[$f]}  $DEMO_DIR/files/$f" | sha256sum -c --quiet - || { echo "checksum mismatch for $f"; exit 1; }
  done
}

build_release() {
  log "building (release)"
  (cd "$ROOT" && cargo build --release --locked --bins)
}

ensure_database() {
  local url="$1" name
  name="${url##*/}"; name="${name%%\?*}"
  psql "${url%/*}/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname = '$name'" | grep -q 1 || \
    psql "${url%/*}/postgres" -qc "CREATE DATABASE \"$name\""
}

# ensure_api_docs: Swagger UI's files for kronos-api's /docs, from the npm registry at
# the versions of api/docs-ui/package-lock.json (install scripts off: swagger-ui-dist
# pulls in a telemetry postinstall); skipped when they are installed and the lock file
# has not changed since. Sets KRONOS_API_DOCS_ASSETS.
ensure_api_docs() {
  npm_ci_once "$ROOT/api/docs-ui" "installing Swagger UI for /docs (npm ci)"
  export KRONOS_API_DOCS_ASSETS="$ROOT/api/docs-ui/node_modules/swagger-ui-dist"
}

# npm_ci_once DIR MESSAGE: DIR's npm packages at its lock file's versions (no install
# scripts run), skipped when they were installed from this lock file.
npm_ci_once() {
  local dir="$1" stamp="$1/node_modules/.installed-lock"
  cmp -s "$dir/package-lock.json" "$stamp" 2>/dev/null && return 0
  command -v npm >/dev/null || apt_install nodejs npm
  log "$2"
  (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  cp "$dir/package-lock.json" "$stamp"
}

# ensure_web: the web application (api/web), served by kronos-api at /: its npm
# packages at the lock file's versions (skipped when installed from this lock file; no
# install scripts run) and its build in api/web/dist (skipped when no source changed
# since the last build). Sets KRONOS_WEB_DIR.
ensure_web() {
  local dir="$ROOT/api/web"
  npm_ci_once "$dir" "installing the web application's packages (npm ci)"
  local built="$dir/dist/index.html"
  if [ ! -f "$built" ] || [ -n "$(find "$dir/src" "$dir/index.html" "$dir/vite.config.js" "$dir/svelte.config.js" \
      "$dir/package-lock.json" "$dir/scripts" -newer "$built" -print -quit)" ]; then
    log "building the web application"
    (cd "$dir" && npm run build --silent)
  fi
  export KRONOS_WEB_DIR="$dir/dist"
}

# ensure_chromium: Debian's Chromium, the browser of the web tests.
ensure_chromium() {
  apt_install chromium fonts-dejavu-core
}

# write_env_file: the one configuration every Kronos process reads ($KRONOS_HOME/kronos.env,
# after its own environment): the services ops/up starts, ops/kronos and a kronos
# binary run by hand all agree on the database, Redis, the object store and the model
# cache. Written atomically, readable by this user only (it holds the token signing key
# and may hold S3 and SMTP secrets).
write_env_file() {
  local file="$KRONOS_HOME/kronos.env"
  mkdir -p "$KRONOS_HOME"
  (
    umask 077
    {
      echo "# Written by ops/up on $(date -u +%Y-%m-%dT%H:%M:%SZ); every Kronos process reads it (README: Configuration)."
      echo "DATABASE_URL=$DATABASE_URL"
      echo "REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}"
      echo "KRONOS_API_ADDR=${KRONOS_API_ADDR:-127.0.0.1:8080}"
      echo "KRONOS_MODEL_CACHE=${KRONOS_MODEL_CACHE:-$KRONOS_HOME/model-cache}"
      echo "KRONOS_JWT_KEYS=$KRONOS_JWT_KEYS"
      echo "KRONOS_PUBLIC_URL=${KRONOS_PUBLIC_URL:-http://${KRONOS_API_ADDR:-127.0.0.1:8080}}"
      echo "KRONOS_SMTP_HOST=$KRONOS_SMTP_HOST"
      echo "KRONOS_SMTP_PORT=$KRONOS_SMTP_PORT"
      echo "KRONOS_SMTP_SECURITY=$KRONOS_SMTP_SECURITY"
      if [ -n "${KRONOS_SMTP_USERNAME:-}" ]; then echo "KRONOS_SMTP_USERNAME=$KRONOS_SMTP_USERNAME"; fi
      if [ -n "${KRONOS_SMTP_PASSWORD:-}" ]; then echo "KRONOS_SMTP_PASSWORD=$KRONOS_SMTP_PASSWORD"; fi
      echo "KRONOS_EMAIL_FROM=${KRONOS_EMAIL_FROM:-Kronos <no-reply@kronos.localhost>}"
      if [ -n "${KRONOS_API_DOCS_ASSETS:-}" ]; then echo "KRONOS_API_DOCS_ASSETS=$KRONOS_API_DOCS_ASSETS"; fi
      if [ -n "${KRONOS_WEB_DIR:-}" ]; then echo "KRONOS_WEB_DIR=$KRONOS_WEB_DIR"; fi
      if [ "${KRONOS_STORAGE:-local}" = s3 ]; then
        echo "KRONOS_STORAGE=s3"
        echo "KRONOS_S3_BUCKET=$KRONOS_S3_BUCKET"
        echo "KRONOS_S3_ENDPOINT=${KRONOS_S3_ENDPOINT:-}"
        echo "KRONOS_S3_REGION=${KRONOS_S3_REGION:-us-east-1}"
        echo "KRONOS_S3_ACCESS_KEY_ID=${KRONOS_S3_ACCESS_KEY_ID:-}"
        echo "KRONOS_S3_SECRET_ACCESS_KEY=${KRONOS_S3_SECRET_ACCESS_KEY:-}"
      else
        echo "KRONOS_STORAGE=local"
        echo "KRONOS_STORAGE_PATH=$KRONOS_STORAGE_PATH"
      fi
    } >"$file.tmp"
  )
  mv "$file.tmp" "$file"
  log "configuration written to $file"
}
