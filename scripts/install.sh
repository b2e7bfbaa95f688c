#!/usr/bin/env bash
# Installs Ollama Warden on Linux or macOS from a checkout of its repository.
#
#   scripts/install.sh                      # interactive: asks, then `warden init` asks
#   scripts/install.sh --non-interactive --hostname gpu.lan --no-service
#   scripts/install.sh --uninstall          # removes program and service, keeps the data
#
# What it does, in order, each step safe to repeat (a re-run upgrades in place and repairs a
# half-finished install):
#   1. finds Node.js >= 22.13, or installs the pinned Node 24 from the npm registry (npm
#      package "node") into PREFIX/runtime;
#   2. packs the checkout (npm pack) and installs it with its production dependencies, exactly
#      as locked in package-lock.json, into PREFIX/app; the old version is swapped out only
#      once the new one is complete;
#   3. writes PREFIX/bin/warden (runs the right Node with the right data dir) and links it
#      into a directory on the PATH;
#   4. runs `warden init`, which never overwrites an existing config, CA or key store; with
#      --force an existing setup is moved to DATA/backup-<time>/ and a fresh one is made;
#   5. registers and starts the service (`warden service install`) unless --no-service;
#   6. prints how to bind Ollama to loopback and how clients connect.
#
# Written for bash 3.2 (macOS's /bin/bash): no associative arrays, no mapfile.
set -eo pipefail

# Node.js 24 LTS, the version the project is tested with (package-lock.json, "node"). A test
# keeps the two in step.
WARDEN_NODE_VERSION="${WARDEN_NODE_VERSION:-24.21.0}"
MIN_NODE_MAJOR=22
MIN_NODE_MINOR=13

SCRIPT_DIR="$(cd "$(dirname "$0")" && pwd)"
# npm's "new version available" banner is noise in an installer's output.
export NPM_CONFIG_UPDATE_NOTIFIER=false
# Run from inside another npm project (npm test, npm exec), npm would inherit that project's
# prefix and install into it instead of into PREFIX.
unset npm_config_prefix npm_config_local_prefix npm_config_global_prefix

# ---------------------------------------------------------------- output helpers
say() { printf '%s\n' "$*"; }
step() { printf '\n==> %s\n' "$*"; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() {
  printf 'install.sh: %s\n' "$*" >&2
  exit 1
}
usage_error() {
  printf 'install.sh: %s\n(see --help)\n' "$*" >&2
  exit 2
}

usage() {
  cat <<'EOF'
Usage: install.sh [options]

Where:
  --prefix DIR          program directory (default /opt/warden as root,
                        ~/.local/share/warden-app otherwise; env WARDEN_PREFIX)
  --data-dir DIR        data directory: config, keys, CA, audit log (default
                        /var/lib/warden or "/Library/Application Support/warden" as
                        root, else the per-user data dir; env WARDEN_DATA_DIR)
  --bin-dir DIR         where the `warden` command is linked (default /usr/local/bin
                        as root, ~/.local/bin otherwise); --no-link to skip
  --source DIR          Warden checkout to install (default: the one holding this script)
  --node PATH           Node.js binary to use (must be >= 22.13)

Settings (asked by `warden init` when interactive; from flags or env otherwise):
  --hostname NAME       extra name/IP for the certificate, repeatable (env WARDEN_TLS_HOSTNAMES, comma-separated)
  --tls local|files|acme  certificate source (env WARDEN_TLS_MODE; default local)
  --tls-cert FILE --tls-key FILE   your own certificate (env WARDEN_TLS_CERT, WARDEN_TLS_KEY)
  --acme-domain NAME    repeatable (env WARDEN_TLS_ACME_DOMAINS)
  --acme-email ADDR     (env WARDEN_TLS_ACME_EMAIL)
  --listen ADDR         (env WARDEN_LISTEN; default 0.0.0.0:11443)
  --upstream URL        (env WARDEN_UPSTREAM; default http://127.0.0.1:11434)
  --client-auth off|optional|require   mutual TLS (env WARDEN_TLS_CLIENT_AUTH)
  --audit on|off        audit log (env WARDEN_AUDIT_ENABLED; default on)

Behaviour:
  --non-interactive     never ask; take every answer from flags/env (also when no terminal)
  --force               with an existing setup: move it to DATA/backup-<time>/ and start over
  --no-service          do not register the system service
  --no-init             install the program only
  --uninstall           remove program, command link and service; keeps the data dir
  --purge               with --uninstall: also delete the data dir (asks; --force when
                        non-interactive)
  -h, --help
EOF
}

# ---------------------------------------------------------------- arguments
PREFIX="${WARDEN_PREFIX:-}"
DATA_DIR="${WARDEN_DATA_DIR:-}"
BIN_DIR=""
LINK=1
SOURCE_DIR=""
NODE_BIN=""
INTERACTIVE=auto
FORCE=0
SERVICE=1
INIT=1
UNINSTALL=0
PURGE=0
HOSTNAMES=()
ACME_DOMAINS=()
TLS_MODE="${WARDEN_TLS_MODE:-}"
TLS_CERT="${WARDEN_TLS_CERT:-}"
TLS_KEY="${WARDEN_TLS_KEY:-}"
ACME_EMAIL="${WARDEN_TLS_ACME_EMAIL:-}"
LISTEN="${WARDEN_LISTEN:-}"
UPSTREAM="${WARDEN_UPSTREAM:-}"
CLIENT_AUTH="${WARDEN_TLS_CLIENT_AUTH:-}"
AUDIT="${WARDEN_AUDIT_ENABLED:-}"

split_commas() { # appends the comma-separated words of $2 to the array named $1
  local IFS=, word
  for word in $2; do
    word="${word# }"
    word="${word% }"
    [ -n "$word" ] && eval "$1+=(\"\$word\")"
  done
  return 0
}
split_commas HOSTNAMES "${WARDEN_TLS_HOSTNAMES:-}"
split_commas ACME_DOMAINS "${WARDEN_TLS_ACME_DOMAINS:-}"

need_value() {
  if [ $# -lt 2 ] || [ -z "$2" ]; then usage_error "$1 needs a value"; fi
}

while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) need_value "$@"; PREFIX="$2"; shift 2 ;;
    --data-dir) need_value "$@"; DATA_DIR="$2"; shift 2 ;;
    --bin-dir) need_value "$@"; BIN_DIR="$2"; shift 2 ;;
    --no-link) LINK=0; shift ;;
    --source) need_value "$@"; SOURCE_DIR="$2"; shift 2 ;;
    --node) need_value "$@"; NODE_BIN="$2"; shift 2 ;;
    --hostname) need_value "$@"; HOSTNAMES+=("$2"); shift 2 ;;
    --tls) need_value "$@"; TLS_MODE="$2"; shift 2 ;;
    --tls-cert) need_value "$@"; TLS_CERT="$2"; shift 2 ;;
    --tls-key) need_value "$@"; TLS_KEY="$2"; shift 2 ;;
    --acme-domain) need_value "$@"; ACME_DOMAINS+=("$2"); shift 2 ;;
    --acme-email) need_value "$@"; ACME_EMAIL="$2"; shift 2 ;;
    --listen) need_value "$@"; LISTEN="$2"; shift 2 ;;
    --upstream) need_value "$@"; UPSTREAM="$2"; shift 2 ;;
    --client-auth) need_value "$@"; CLIENT_AUTH="$2"; shift 2 ;;
    --audit) need_value "$@"; AUDIT="$2"; shift 2 ;;
    --non-interactive | --yes | -y) INTERACTIVE=0; shift ;;
    --force) FORCE=1; shift ;;
    --no-service) SERVICE=0; shift ;;
    --no-init) INIT=0; shift ;;
    --uninstall) UNINSTALL=1; shift ;;
    --purge) PURGE=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage_error "unknown option: $1" ;;
  esac
done

case "$TLS_MODE" in "" | local | files | acme) ;; *) usage_error "--tls: got '$TLS_MODE'; allowed: local | files | acme" ;; esac
case "$CLIENT_AUTH" in "" | off | optional | require) ;; *) usage_error "--client-auth: got '$CLIENT_AUTH'; allowed: off | optional | require" ;; esac
case "$AUDIT" in
  "") ;;
  on | true | yes | 1) AUDIT=true ;;
  off | false | no | 0) AUDIT=false ;;
  *) usage_error "--audit: got '$AUDIT'; allowed: on | off" ;;
esac
if [ "$TLS_MODE" = files ] && { [ -z "$TLS_CERT" ] || [ -z "$TLS_KEY" ]; }; then
  usage_error "--tls files needs --tls-cert FILE and --tls-key FILE"
fi
if [ "$TLS_MODE" = acme ] && [ "${#ACME_DOMAINS[@]}" -eq 0 ]; then
  usage_error "--tls acme needs at least one --acme-domain NAME"
fi

# Prompts read the terminal even when the script itself arrives on a pipe (curl … | bash).
TTY=""
if [ "$INTERACTIVE" = auto ]; then
  INTERACTIVE=0
  if [ -t 1 ] && { [ -t 0 ] || { [ -r /dev/tty ] && : </dev/tty; } 2>/dev/null; }; then
    INTERACTIVE=1
    if [ -t 0 ]; then TTY=/dev/stdin; else TTY=/dev/tty; fi
  fi
elif [ "$INTERACTIVE" = 1 ]; then
  TTY=/dev/stdin
fi

ask_yes_no() { # ask_yes_no "question" default(y|n)
  local answer hint="[y/N]"
  [ "$2" = y ] && hint="[Y/n]"
  printf '%s %s ' "$1" "$hint"
  IFS= read -r answer <"$TTY" || answer=""
  case "$answer" in
    [yY]*) return 0 ;;
    [nN]*) return 1 ;;
    *) [ "$2" = y ] ;;
  esac
}

# ---------------------------------------------------------------- platform defaults
OS="$(uname -s)"
case "$OS" in
  Linux | Darwin) ;;
  *) die "unsupported system $OS: on Windows use scripts/install.ps1" ;;
esac
IS_ROOT=0
[ "$(id -u)" = 0 ] && IS_ROOT=1

abspath() { # absolute form of a path that may not exist yet
  case "$1" in
    /*) printf '%s\n' "$1" ;;
    *) printf '%s/%s\n' "$(pwd)" "$1" ;;
  esac
}

if [ -z "$PREFIX" ]; then
  if [ "$IS_ROOT" = 1 ]; then PREFIX=/opt/warden; else PREFIX="$HOME/.local/share/warden-app"; fi
fi
PREFIX="$(abspath "$PREFIX")"
PREFIX="${PREFIX%/}"
case "$PREFIX" in
  "" | /usr | /usr/local | "$HOME") usage_error "--prefix ${PREFIX:-/} would mix Warden with other programs; choose a directory of its own" ;;
esac

STATE_FILE="$PREFIX/install.state"
state_get() { [ -f "$STATE_FILE" ] && sed -n "s/^$1=//p" "$STATE_FILE" | head -n 1; return 0; }

if [ -z "$DATA_DIR" ]; then DATA_DIR="$(state_get data_dir)"; fi
if [ -z "$DATA_DIR" ]; then
  if [ "$OS" = Darwin ]; then
    if [ "$IS_ROOT" = 1 ]; then DATA_DIR="/Library/Application Support/warden"; else DATA_DIR="$HOME/Library/Application Support/warden"; fi
  else
    if [ "$IS_ROOT" = 1 ]; then DATA_DIR=/var/lib/warden; else DATA_DIR="${XDG_DATA_HOME:-$HOME/.local/share}/warden"; fi
  fi
fi
DATA_DIR="$(abspath "$DATA_DIR")"
DATA_DIR="${DATA_DIR%/}"

if [ -z "$BIN_DIR" ]; then BIN_DIR="$(state_get bin_dir)"; fi
if [ -z "$BIN_DIR" ]; then
  if [ "$IS_ROOT" = 1 ]; then BIN_DIR=/usr/local/bin; else BIN_DIR="$HOME/.local/bin"; fi
fi
BIN_DIR="$(abspath "$BIN_DIR")"

# A newline in a path would break the wrapper script and the state file.
for p in "$PREFIX" "$DATA_DIR" "$BIN_DIR"; do
  case "$p" in *$'\n'* | *$'\r'*) usage_error "paths must not contain line breaks" ;; esac
done

WRAPPER="$PREFIX/bin/warden"

# ---------------------------------------------------------------- uninstall
if [ "$UNINSTALL" = 1 ]; then
  # Only a directory this installer made is emptied: never a mistyped --prefix.
  if [ ! -f "$STATE_FILE" ] && [ ! -x "$WRAPPER" ]; then
    die "no Warden installation in $PREFIX (no $STATE_FILE); pass the --prefix it was installed with"
  fi
  step "Removing Warden from $PREFIX"
  if [ -x "$WRAPPER" ] && [ "$SERVICE" = 1 ]; then
    "$WRAPPER" service uninstall --data-dir "$DATA_DIR" || warn "the service could not be removed cleanly (see above); continuing"
  fi
  link="$(state_get bin_dir)/warden"
  if [ -L "$link" ] && [ "$(readlink "$link")" = "$WRAPPER" ]; then rm -f "$link"; fi
  rm -rf "${PREFIX:?}/app" "${PREFIX:?}/app.new" "${PREFIX:?}/app.old" "${PREFIX:?}/runtime" "${PREFIX:?}/bin" "${PREFIX:?}/service"
  rm -f "$STATE_FILE"
  rmdir "$PREFIX" 2>/dev/null || true
  if [ "$PURGE" = 1 ]; then
    if [ "$INTERACTIVE" = 1 ]; then
      ask_yes_no "Delete the data directory $DATA_DIR (keys, CA, audit log)? This cannot be undone." n || {
        say "Kept $DATA_DIR"
        exit 0
      }
    elif [ "$FORCE" != 1 ]; then
      die "--purge without a terminal needs --force (it deletes $DATA_DIR)"
    fi
    rm -rf "$DATA_DIR"
    say "Deleted $DATA_DIR"
  else
    say "Warden removed. Your data (config, keys, CA, audit log) is kept in: $DATA_DIR"
  fi
  exit 0
fi

# ---------------------------------------------------------------- 1. Node.js
install_hint() {
  if [ "$OS" = Darwin ]; then
    say "  brew install node"
  elif command -v apt-get >/dev/null 2>&1; then
    say "  sudo apt-get install -y nodejs npm"
  elif command -v dnf >/dev/null 2>&1; then
    say "  sudo dnf install -y nodejs npm"
  else
    say "  install Node.js and npm with your package manager"
  fi
}

need_cmd() { # need_cmd CMD "how to install"
  command -v "$1" >/dev/null 2>&1 || die "$1 is missing; install it with: $2"
}

node_ok() { # node_ok PATH: version >= 22.13?
  local v major minor
  v="$("$1" -p 'process.versions.node' 2>/dev/null)" || return 1
  major="${v%%.*}"
  minor="${v#*.}"
  minor="${minor%%.*}"
  [ "$major" -gt "$MIN_NODE_MAJOR" ] || { [ "$major" -eq "$MIN_NODE_MAJOR" ] && [ "$minor" -ge "$MIN_NODE_MINOR" ]; }
}

step "Checking Node.js"
RUNTIME_NODE="$PREFIX/runtime/node_modules/node/bin/node"
if [ -n "$NODE_BIN" ]; then
  NODE_BIN="$(abspath "$NODE_BIN")"
  node_ok "$NODE_BIN" || die "--node $NODE_BIN is not Node.js >= $MIN_NODE_MAJOR.$MIN_NODE_MINOR"
elif command -v node >/dev/null 2>&1 && node_ok "$(command -v node)"; then
  NODE_BIN="$(command -v node)"
elif [ -x "$RUNTIME_NODE" ] && node_ok "$RUNTIME_NODE"; then
  NODE_BIN="$RUNTIME_NODE"
fi
if [ -z "$NODE_BIN" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    say "Warden needs Node.js >= $MIN_NODE_MAJOR.$MIN_NODE_MINOR, or npm to fetch Node $WARDEN_NODE_VERSION. Install them with:" >&2
    install_hint >&2
    die "npm is missing"
  fi
  say "No Node.js >= $MIN_NODE_MAJOR.$MIN_NODE_MINOR found; installing Node $WARDEN_NODE_VERSION from the npm registry into $PREFIX/runtime"
  mkdir -p "$PREFIX/runtime"
  # The "node" package picks the binary for this OS and CPU in a preinstall script, which
  # npm runs only for packages the project allows.
  printf '{"private":true,"allowScripts":{"node":true}}\n' >"$PREFIX/runtime/package.json"
  (cd "$PREFIX/runtime" && npm install --no-audit --no-fund --no-save --loglevel=error "node@$WARDEN_NODE_VERSION") ||
    die "could not install node@$WARDEN_NODE_VERSION with npm (is the npm registry reachable?)"
  node_ok "$RUNTIME_NODE" || die "$RUNTIME_NODE did not come out as Node >= $MIN_NODE_MAJOR.$MIN_NODE_MINOR"
  NODE_BIN="$RUNTIME_NODE"
fi
say "Using Node $("$NODE_BIN" -p 'process.versions.node') at $NODE_BIN"

# npm, npx and build tools must run on this Node, not an older one earlier on the PATH.
PATH="$(dirname "$NODE_BIN"):$PATH"
export PATH
need_cmd npm "$(install_hint)"
need_cmd tar "sudo apt-get install -y tar"

# ---------------------------------------------------------------- 2. the program
step "Installing Warden into $PREFIX"
[ -n "$SOURCE_DIR" ] || SOURCE_DIR="$(cd "$SCRIPT_DIR/.." && pwd)"
SOURCE_DIR="$(cd "$SOURCE_DIR" && pwd)" || die "--source $SOURCE_DIR does not exist"
grep -q '"name": *"ollama-warden"' "$SOURCE_DIR/package.json" 2>/dev/null ||
  die "$SOURCE_DIR is not a Warden checkout (no package.json for ollama-warden); pass --source DIR"

if [ ! -f "$SOURCE_DIR/dist/src/cli/main.js" ]; then
  if [ -x "$SOURCE_DIR/node_modules/.bin/tsc" ]; then
    say "Building $SOURCE_DIR (npm run build)"
    (cd "$SOURCE_DIR" && npm run build --silent) || die "the build failed; fix it, or run \`npm ci && npm run build\` in $SOURCE_DIR"
  else
    die "$SOURCE_DIR is not built; run this first: (cd \"$SOURCE_DIR\" && npm ci && npm run build)"
  fi
fi

mkdir -p "$PREFIX"
# Leftovers of an interrupted run are thrown away; app/ is only ever replaced whole.
rm -rf "$PREFIX/app.new" "$PREFIX/app.old"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/warden-install.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# --ignore-scripts: dist/ was checked (or built) above; package.json's prepack build would
# need the dev dependencies, which an unpacked release tarball used as --source does not have.
TARBALL="$(cd "$SOURCE_DIR" && npm pack --ignore-scripts --silent --pack-destination "$WORK" 2>/dev/null | tail -n 1)"
[ -f "$WORK/$TARBALL" ] || die "npm pack in $SOURCE_DIR produced no tarball"
mkdir -p "$PREFIX/app.new"
tar -xzf "$WORK/$TARBALL" -C "$PREFIX/app.new" --strip-components=1
# The lock file pins every production dependency to what the project tested.
[ -f "$SOURCE_DIR/package-lock.json" ] && cp "$SOURCE_DIR/package-lock.json" "$PREFIX/app.new/"
(
  cd "$PREFIX/app.new"
  # No install scripts: Warden's production dependencies are plain JavaScript.
  if [ -f package-lock.json ]; then
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error
  else
    npm install --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error
  fi
) || die "installing Warden's dependencies failed (is the npm registry reachable?)"
"$NODE_BIN" "$PREFIX/app.new/dist/src/cli/main.js" --version >/dev/null ||
  die "the new build does not start (tried: $NODE_BIN $PREFIX/app.new/dist/src/cli/main.js --version)"

if [ -d "$PREFIX/app" ]; then mv "$PREFIX/app" "$PREFIX/app.old"; fi
mv "$PREFIX/app.new" "$PREFIX/app"
rm -rf "$PREFIX/app.old"
say "Installed $(cd "$PREFIX/app" && "$NODE_BIN" -p 'require("./package.json").version')"

# ---------------------------------------------------------------- 3. the command
sh_quote() { # single-quote for a POSIX shell script
  printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"
}

mkdir -p "$PREFIX/bin"
cat >"$WRAPPER.tmp" <<EOF
#!/bin/sh
# Written by install.sh: runs Warden on the Node.js it was installed with. Re-run the
# installer to change it.
default_data_dir=$(sh_quote "$DATA_DIR")
WARDEN_DATA_DIR="\${WARDEN_DATA_DIR:-\$default_data_dir}"
export WARDEN_DATA_DIR
node=$(sh_quote "$NODE_BIN")
main=$(sh_quote "$PREFIX/app/dist/src/cli/main.js")
# root managing keys of a service that runs as its own account would leave root-owned
# database files behind that the service cannot write: run as the data dir's owner instead.
# (Registering the service and trusting the CA system-wide do need root.)
case "\$1 \$2" in service\ * | "cert trust") ;; *)
  if [ "\$(id -u)" = 0 ] && [ -d "\$WARDEN_DATA_DIR" ]; then
    owner=\$(stat -c %U "\$WARDEN_DATA_DIR" 2>/dev/null || stat -f %Su "\$WARDEN_DATA_DIR" 2>/dev/null || echo root)
    if [ "\$owner" != root ] && [ "\$owner" != UNKNOWN ]; then
      if command -v runuser >/dev/null 2>&1; then exec runuser -u "\$owner" -- "\$node" "\$main" "\$@"; fi
      exec sudo -u "\$owner" WARDEN_DATA_DIR="\$WARDEN_DATA_DIR" "\$node" "\$main" "\$@"
    fi
  fi ;;
esac
exec "\$node" "\$main" "\$@"
EOF
chmod 755 "$WRAPPER.tmp"
mv "$WRAPPER.tmp" "$WRAPPER"

{
  printf 'prefix=%s\n' "$PREFIX"
  printf 'data_dir=%s\n' "$DATA_DIR"
  printf 'bin_dir=%s\n' "$BIN_DIR"
  printf 'node=%s\n' "$NODE_BIN"
} >"$STATE_FILE"

if [ "$LINK" = 1 ] && [ "$BIN_DIR" != "$PREFIX/bin" ]; then
  mkdir -p "$BIN_DIR"
  if [ -e "$BIN_DIR/warden" ] && ! [ -L "$BIN_DIR/warden" ]; then
    warn "$BIN_DIR/warden exists and is not a link to Warden; left alone. Run $WRAPPER directly."
  else
    ln -sfn "$WRAPPER" "$BIN_DIR/warden"
  fi
  case ":$PATH:" in
    *":$BIN_DIR:"*) ;;
    *) warn "$BIN_DIR is not on your PATH; add it (e.g. in ~/.profile: export PATH=\"$BIN_DIR:\$PATH\")" ;;
  esac
fi

# ---------------------------------------------------------------- 4. warden init
has_setup() { [ -f "$DATA_DIR/warden.yaml" ] || [ -f "$DATA_DIR/warden.db" ] || [ -d "$DATA_DIR/tls" ]; }

if [ "$INIT" = 1 ]; then
  step "Setting up $DATA_DIR"
  if has_setup; then
    start_over=0
    if [ "$FORCE" = 1 ]; then
      start_over=1
    elif [ "$INTERACTIVE" = 1 ]; then
      say "An existing setup (config, CA, keys) is in $DATA_DIR; it is kept unless you start over."
      ask_yes_no "Start over? The old files are moved to a backup folder, not deleted." n && start_over=1
    fi
    if [ "$start_over" = 1 ]; then
      backup="$DATA_DIR/backup-$(date -u +%Y%m%dT%H%M%SZ)"
      mkdir -p "$backup"
      for f in warden.yaml warden.db warden.db-wal warden.db-shm tls audit; do
        if [ -e "$DATA_DIR/$f" ]; then mv "$DATA_DIR/$f" "$backup/"; fi
      done
      say "Moved the old setup to $backup"
    fi
  fi
  had_config=0
  [ -f "$DATA_DIR/warden.yaml" ] && had_config=1

  init_args=(init --data-dir "$DATA_DIR")
  [ "$INTERACTIVE" = 1 ] || init_args+=(--yes)
  for h in ${HOSTNAMES[@]+"${HOSTNAMES[@]}"}; do init_args+=(--hostname "$h"); done
  [ -n "$LISTEN" ] && init_args+=(--listen "$LISTEN")
  [ -n "$UPSTREAM" ] && init_args+=(--upstream "$UPSTREAM")
  [ -n "$TLS_MODE" ] && init_args+=(--tls "$TLS_MODE")
  [ -n "$TLS_CERT" ] && init_args+=(--tls-cert "$(abspath "$TLS_CERT")")
  [ -n "$TLS_KEY" ] && init_args+=(--tls-key "$(abspath "$TLS_KEY")")

  # Settings `warden init` has no flag for go into the environment (so init already acts on
  # them, e.g. creates the CA for mTLS) and are then written into the new config file.
  extra=0
  if [ -n "$CLIENT_AUTH" ]; then export WARDEN_TLS_CLIENT_AUTH="$CLIENT_AUTH"; extra=1; fi
  if [ -n "$AUDIT" ]; then export WARDEN_AUDIT_ENABLED="$AUDIT"; extra=1; fi
  if [ -n "$ACME_EMAIL" ]; then export WARDEN_TLS_ACME_EMAIL="$ACME_EMAIL"; extra=1; fi
  if [ "${#ACME_DOMAINS[@]}" -gt 0 ]; then
    WARDEN_TLS_ACME_DOMAINS="$(IFS=,; printf '%s' "${ACME_DOMAINS[*]}")"
    export WARDEN_TLS_ACME_DOMAINS
    extra=1
  fi

  if [ "$INTERACTIVE" = 1 ]; then
    "$WRAPPER" "${init_args[@]}" <"$TTY" || die "warden init failed (see above); re-run this installer to retry"
  else
    "$WRAPPER" "${init_args[@]}" </dev/null || die "warden init failed (see above); re-run this installer to retry"
  fi

  if [ "$had_config" = 0 ] && [ "$extra" = 1 ] && [ -f "$DATA_DIR/warden.yaml" ]; then
    WI_APP="$PREFIX/app" WI_FILE="$DATA_DIR/warden.yaml" "$NODE_BIN" --input-type=module -e '
      import { createRequire } from "node:module";
      import { readFileSync, writeFileSync, chmodSync } from "node:fs";
      const YAML = createRequire(process.env.WI_APP + "/package.json")("yaml");
      const file = process.env.WI_FILE;
      const doc = YAML.parseDocument(readFileSync(file, "utf8"));
      const env = process.env;
      if (env.WARDEN_TLS_CLIENT_AUTH) doc.setIn(["tls", "clientAuth"], env.WARDEN_TLS_CLIENT_AUTH);
      if (env.WARDEN_AUDIT_ENABLED) doc.setIn(["audit", "enabled"], env.WARDEN_AUDIT_ENABLED === "true");
      if (env.WARDEN_TLS_ACME_EMAIL) doc.setIn(["tls", "acme", "email"], env.WARDEN_TLS_ACME_EMAIL);
      if (env.WARDEN_TLS_ACME_DOMAINS) doc.setIn(["tls", "acme", "domains"], env.WARDEN_TLS_ACME_DOMAINS.split(","));
      writeFileSync(file, String(doc), { mode: 0o600 });
      chmodSync(file, 0o600);
    ' || die "could not write the remaining settings into $DATA_DIR/warden.yaml"
  fi
  unset WARDEN_TLS_CLIENT_AUTH WARDEN_AUDIT_ENABLED WARDEN_TLS_ACME_EMAIL WARDEN_TLS_ACME_DOMAINS
fi

# ---------------------------------------------------------------- 5. the service
if [ "$SERVICE" = 1 ]; then
  step "Registering the service"
  if [ "$OS" = Linux ] && ! command -v systemctl >/dev/null 2>&1; then
    die "systemctl is missing (no systemd). Re-run with --no-service and run \`$WRAPPER serve\` under your own supervisor"
  fi
  "$WRAPPER" service install --data-dir "$DATA_DIR" ||
    die "the service could not be registered (see above). Fix that and re-run the installer, or use --no-service"
fi

# ---------------------------------------------------------------- 6. next steps
step "Done"
cat <<EOF
Warden is installed: $WRAPPER (data: $DATA_DIR)

Bind Ollama to loopback so that only Warden can reach it:
EOF
if [ "$OS" = Darwin ]; then
  cat <<'EOF'
  launchctl setenv OLLAMA_HOST 127.0.0.1:11434     # then quit and reopen the Ollama app
EOF
else
  cat <<'EOF'
  sudo systemctl edit ollama          # add the two lines below, save, then:
      [Service]
      Environment="OLLAMA_HOST=127.0.0.1:11434"
  sudo systemctl restart ollama
EOF
fi
cat <<EOF

Check the setup:   warden doctor
Connect clients:   https://<this host>:11443 with an API key (see docs/clients.md);
                   trust the local CA with: warden cert trust
EOF
if [ "$SERVICE" = 0 ]; then
  say "Start it by hand:  warden serve"
  # An upgrade with --no-service leaves a running service on the old code until it restarts.
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet warden 2>/dev/null; then
    warn "the warden service is running the previous version: sudo systemctl restart warden"
  fi
fi
