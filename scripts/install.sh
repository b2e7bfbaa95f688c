#!/usr/bin/env bash
# Installs Ollama Warden on Linux or macOS from a checkout of its repository.
#
#   scripts/install.sh                      # interactive: asks, then `warden init` asks
#   scripts/install.sh --non-interactive --hostname gpu.lan --no-service
#   scripts/install.sh --uninstall          # removes program and service, keeps the data
#   curl -fsSL …/install.sh | sudo bash -s -- --from /home/me/ollama-warden-0.1.0.tgz
#
# Run through a pipe, it installs only from --from PATH (a checkout or an `npm pack` tarball);
# every source must belong to the invoking user (or root) and be writable by nobody else, up
# to /. npm runs no lifecycle scripts; the Node.js runtime it may fetch is checked against the
# SHA-512 pinned below before it is unpacked.
#
# What it does, in order, each step safe to repeat (a re-run upgrades in place and repairs a
# half-finished install):
#   1. finds Node.js >= 22.13, or downloads the pinned Node 24 (npm package node-<os>-<cpu>,
#      SHA-512 checked against the pin in this file) into PREFIX/runtime;
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
# SHA-512 of the npm registry's tarball of node-<platform>@24.21.0 (its dist.integrity, in hex).
# A download that does not match is never unpacked. test/install/node-pin.test.ts keeps the
# version in step; change both together.
node_sha512() {
  case "$1" in
    linux-x64) echo de750bb336795f47dc898a46d2de93add029273027f3e16520d3fa3a2317ed5f07aefa404cf37ddfa5352e545e389ae22d16b87bcc84a900580a72f23cd02ced ;;
    linux-arm64) echo 1692513c4cf63afbd32df8c83a5346158f492cf30a825e66f9de2819804b836e242759a6bcdd5997f1cf2601781c3689e752127afd65d5c459fc333e91e5d6e6 ;;
    *) return 1 ;;
  esac
}
# Where node-<platform> tarballs are fetched from (a mirror of the npm registry's layout).
NODE_REGISTRY="${WARDEN_NODE_REGISTRY:-https://registry.npmjs.org}"
NODE_REGISTRY="${NODE_REGISTRY%/}"

# Read from a pipe (curl … | bash, bash <(curl …)) there is no script file and no checkout
# around it: the current directory is nobody's choice.
FROM_PIPE=0
SCRIPT_DIR=""
if [ -n "${BASH_SOURCE[0]:-}" ] && [ -f "${BASH_SOURCE[0]}" ]; then
  SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
else
  FROM_PIPE=1
fi
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
  --from PATH           what to install: a Warden checkout or an `npm pack` tarball, owned
                        by you (or root) and writable by nobody else (default: the checkout
                        holding this script; required when the script comes through a pipe).
                        --source is the same
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
  --dry-run             print every step with its values and change nothing
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
DRY_RUN=0
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
    --source | --from) need_value "$@"; SOURCE_DIR="$2"; shift 2 ;;
    --dry-run) DRY_RUN=1; shift ;;
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
  link="$(state_get bin_dir)/warden"
  if [ "$DRY_RUN" = 1 ]; then
    say "Dry run: nothing is changed. --uninstall would:"
    if [ -x "$WRAPPER" ] && [ "$SERVICE" = 1 ]; then say "  run: $WRAPPER service uninstall --data-dir $DATA_DIR"; fi
    if [ -L "$link" ] && [ "$(readlink "$link")" = "$WRAPPER" ]; then say "  remove the command link $link"; fi
    say "  remove $PREFIX/app, $PREFIX/runtime, $PREFIX/bin, $PREFIX/service and $STATE_FILE"
    if [ "$PURGE" = 1 ]; then say "  delete the data directory $DATA_DIR (asks first; --force without a terminal)"; else say "  keep the data directory $DATA_DIR"; fi
    exit 0
  fi
  step "Removing Warden from $PREFIX"
  # Each line below reports something that happened, nothing else.
  if [ -x "$WRAPPER" ] && [ "$SERVICE" = 1 ]; then
    if "$WRAPPER" service uninstall --data-dir "$DATA_DIR"; then
      say "Removed the service"
    else
      warn "the service could not be removed cleanly (see above); continuing"
    fi
  fi
  if [ -L "$link" ] && [ "$(readlink "$link")" = "$WRAPPER" ]; then
    rm -f "$link"
    say "Removed the command link $link"
  fi
  removed=""
  for d in app app.new app.old runtime bin service; do
    if [ -e "$PREFIX/$d" ]; then
      rm -rf "${PREFIX:?}/$d"
      removed="$removed $d"
    fi
  done
  rm -f "$STATE_FILE"
  [ -n "$removed" ] && say "Removed from $PREFIX:$removed"
  if rmdir "$PREFIX" 2>/dev/null; then say "Removed $PREFIX"; fi
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
  elif [ -d "$DATA_DIR" ]; then
    say "Your data (config, keys, CA, audit log) is kept in: $DATA_DIR"
  fi
  exit 0
fi

# ---------------------------------------------------------------- 0. the source
# The invoking user: under sudo, the one who typed the command.
INVOKER_UID="$(id -u)"
if [ "$INVOKER_UID" = 0 ] && [ -n "${SUDO_UID:-}" ]; then INVOKER_UID="$SUDO_UID"; fi

owner_mode() { # owner_mode PATH: "<uid> <octal mode>"
  stat -c '%u %a' "$1" 2>/dev/null || stat -f '%u %Lp' "$1" 2>/dev/null
}

# trusted_path PATH: PATH and every directory above it belong to root or the invoking user and
# nobody else can write them (a root-owned sticky directory such as /tmp is allowed above PATH:
# no one can rename or replace an entry they do not own there). Sets WHY when it is not.
WHY=""
trusted_path() {
  local p="$1" info uid mode first=1
  while :; do
    if [ -L "$p" ]; then WHY="$p is a symbolic link"; return 1; fi
    info="$(owner_mode "$p")" || { WHY="cannot read the owner of $p"; return 1; }
    uid="${info%% *}"
    mode="${info#* }"
    if [ "$uid" != 0 ] && [ "$uid" != "$INVOKER_UID" ]; then
      WHY="$p belongs to another user (uid $uid)"
      return 1
    fi
    if [ $((8#$mode & 8#022)) -ne 0 ]; then
      if [ "$first" = 1 ] || [ "$uid" != 0 ] || [ $((8#$mode & 8#1000)) -eq 0 ]; then
        WHY="$p is writable by other users (mode $mode)"
        return 1
      fi
    fi
    [ "$p" = / ] && return 0
    p="$(dirname "$p")"
    first=0
  done
}

# trusted_tree DIR: nothing inside DIR belongs to another user or is writable by others.
trusted_tree() {
  local bad
  bad="$(find "$1" ! -type l \( -perm -0002 -o -perm -0020 \) -print 2>/dev/null | head -n 1)"
  if [ -n "$bad" ]; then WHY="$bad is writable by other users"; return 1; fi
  bad="$(find "$1" ! -user 0 ! -user "$INVOKER_UID" -print 2>/dev/null | head -n 1)"
  if [ -n "$bad" ]; then WHY="$bad belongs to another user"; return 1; fi
  return 0
}

if [ -z "$SOURCE_DIR" ]; then
  if [ "$FROM_PIPE" = 1 ]; then
    usage_error "run through a pipe, install.sh does not guess what to install (the current directory is nobody's choice). Pass --from PATH: a Warden checkout or an \`npm pack\` tarball that you own, e.g. curl -fsSL …/install.sh | sudo bash -s -- --from ~/ollama-warden-0.1.0.tgz"
  fi
  SOURCE_DIR="$(dirname "$SCRIPT_DIR")"
fi
SOURCE_DIR="$(abspath "$SOURCE_DIR")"
[ -e "$SOURCE_DIR" ] || usage_error "--from $SOURCE_DIR does not exist"
# Compare real paths: a link may not lead the checks elsewhere.
if [ -L "$SOURCE_DIR" ]; then usage_error "--from $SOURCE_DIR is a symbolic link; pass the real path"; fi
SOURCE_DIR="$(cd "$(dirname "$SOURCE_DIR")" && pwd -P)/$(basename "$SOURCE_DIR")"
SOURCE_DIR="${SOURCE_DIR%/.}"
trusted_path "$SOURCE_DIR" || die "refusing to install from $SOURCE_DIR: $WHY. Install only from a checkout or tarball you own that nobody else can change"
SOURCE_KIND=dir
if [ -f "$SOURCE_DIR" ]; then
  case "$SOURCE_DIR" in *.tgz | *.tar.gz) SOURCE_KIND=tarball ;; *) usage_error "--from $SOURCE_DIR: expected a directory or a .tgz from \`npm pack\`" ;; esac
else
  trusted_tree "$SOURCE_DIR" || die "refusing to install from $SOURCE_DIR: $WHY"
  grep -q '"name": *"ollama-warden"' "$SOURCE_DIR/package.json" 2>/dev/null ||
    die "$SOURCE_DIR is not a Warden checkout (no package.json for ollama-warden); pass --from PATH"
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

sha512_of() { # hex SHA-512 of a file
  if command -v sha512sum >/dev/null 2>&1; then
    sha512sum "$1" | cut -d ' ' -f 1
  else
    shasum -a 512 "$1" | cut -d ' ' -f 1
  fi
}

node_platform() { # npm's name for this OS and CPU, as in node-<platform>
  local os cpu
  case "$OS" in Linux) os=linux ;; Darwin) os=darwin ;; esac
  case "$(uname -m)" in
    x86_64 | amd64) cpu=x64 ;;
    aarch64 | arm64) cpu=arm64 ;;
    *) cpu="$(uname -m)" ;;
  esac
  printf '%s-%s\n' "$os" "$cpu"
}

fetch() { # fetch URL FILE
  if command -v curl >/dev/null 2>&1; then
    curl -fsSL --proto '=https,http' -o "$2" "$1"
  elif command -v wget >/dev/null 2>&1; then
    wget -q -O "$2" "$1"
  else
    die "curl or wget is needed to download Node.js; install one, or install Node.js >= $MIN_NODE_MAJOR.$MIN_NODE_MINOR yourself"
  fi
}

step "Checking Node.js"
RUNTIME_NODE="$PREFIX/runtime/bin/node"
if [ -n "$NODE_BIN" ]; then
  NODE_BIN="$(abspath "$NODE_BIN")"
  node_ok "$NODE_BIN" || die "--node $NODE_BIN is not Node.js >= $MIN_NODE_MAJOR.$MIN_NODE_MINOR"
elif command -v node >/dev/null 2>&1 && node_ok "$(command -v node)"; then
  NODE_BIN="$(command -v node)"
elif [ -x "$RUNTIME_NODE" ] && node_ok "$RUNTIME_NODE"; then
  NODE_BIN="$RUNTIME_NODE"
fi
NODE_PLATFORM="$(node_platform)"
NODE_URL="$NODE_REGISTRY/node-$NODE_PLATFORM/-/node-$NODE_PLATFORM-$WARDEN_NODE_VERSION.tgz"
if [ -z "$NODE_BIN" ] && [ "$DRY_RUN" = 0 ]; then
  if ! command -v npm >/dev/null 2>&1; then
    say "Warden needs Node.js >= $MIN_NODE_MAJOR.$MIN_NODE_MINOR and npm (npm installs Warden's dependencies). Install them with:" >&2
    install_hint >&2
    die "npm is missing"
  fi
  want="$(node_sha512 "$NODE_PLATFORM")" ||
    die "no pinned Node.js build for $NODE_PLATFORM; install Node.js >= $MIN_NODE_MAJOR.$MIN_NODE_MINOR yourself ($(install_hint | sed 's/^ *//'))"
  [ "$WARDEN_NODE_VERSION" = 24.21.0 ] || die "WARDEN_NODE_VERSION=$WARDEN_NODE_VERSION has no pinned checksum in this installer; unset it"
  say "No Node.js >= $MIN_NODE_MAJOR.$MIN_NODE_MINOR found; downloading Node $WARDEN_NODE_VERSION into $PREFIX/runtime"
  NODE_WORK="$(mktemp -d "${TMPDIR:-/tmp}/warden-node.XXXXXX")"
  fetch "$NODE_URL" "$NODE_WORK/node.tgz" || { rm -rf "$NODE_WORK"; die "could not download $NODE_URL"; }
  got="$(sha512_of "$NODE_WORK/node.tgz")"
  if [ "$got" != "$want" ]; then
    rm -rf "$NODE_WORK"
    die "the download of $NODE_URL does not match the pinned SHA-512 (got ${got:0:16}…, want ${want:0:16}…); nothing was unpacked"
  fi
  rm -rf "$PREFIX/runtime"
  mkdir -p "$PREFIX/runtime"
  tar -xzf "$NODE_WORK/node.tgz" -C "$PREFIX/runtime" --strip-components=1 --no-same-owner
  rm -rf "$NODE_WORK"
  node_ok "$RUNTIME_NODE" || die "$RUNTIME_NODE did not come out as Node >= $MIN_NODE_MAJOR.$MIN_NODE_MINOR"
  NODE_BIN="$RUNTIME_NODE"
fi
KEY_FILE="$DATA_DIR/first-admin-key"

# The port clients connect to: --listen, else the existing config's, else the default.
LISTEN_PORT=11443
if [ -n "$LISTEN" ]; then
  LISTEN_PORT="${LISTEN##*:}"
elif [ -f "$DATA_DIR/warden.yaml" ]; then
  configured="$(sed -n 's/^listen:[[:space:]]*["'\'']\{0,1\}\([^"'\'' #]*\).*/\1/p' "$DATA_DIR/warden.yaml" 2>/dev/null | head -n 1)"
  [ -n "$configured" ] && LISTEN_PORT="${configured##*:}"
fi

if [ "$DRY_RUN" = 1 ]; then
  say ""
  say "Dry run: nothing is downloaded, written or started. The install would:"
  if [ -n "$NODE_BIN" ]; then
    say "  1. use Node $("$NODE_BIN" -p 'process.versions.node') at $NODE_BIN"
  else
    say "  1. download $NODE_URL"
    say "     check its SHA-512 against $(node_sha512 "$NODE_PLATFORM" 2>/dev/null || echo '(no pin for this platform: refuse)')"
    say "     unpack it into $PREFIX/runtime"
  fi
  if [ "$SOURCE_KIND" = tarball ]; then
    say "  2. unpack $SOURCE_DIR into $PREFIX/app.new"
  else
    [ -f "$SOURCE_DIR/dist/src/cli/main.js" ] || say "  2. build $SOURCE_DIR (npm run build)"
    say "  2. pack $SOURCE_DIR (npm pack --ignore-scripts) into $PREFIX/app.new"
  fi
  say "     install its production dependencies as locked (npm ci --omit=dev --ignore-scripts)"
  say "     check that it starts, then swap it in as $PREFIX/app"
  say "  3. write $WRAPPER and $STATE_FILE"
  if [ "$LINK" = 1 ] && [ "$BIN_DIR" != "$PREFIX/bin" ]; then say "     link $BIN_DIR/warden -> $WRAPPER"; fi
  if [ "$INIT" = 1 ]; then
    say "  4. run: warden init --data-dir $DATA_DIR$([ "$INTERACTIVE" = 1 ] || printf ' --yes')$([ -n "$LISTEN" ] && printf ' --listen %s' "$LISTEN")$([ -n "$UPSTREAM" ] && printf ' --upstream %s' "$UPSTREAM")$([ -n "$TLS_MODE" ] && printf ' --tls %s' "$TLS_MODE") --key-file $KEY_FILE"
    say "     (an existing setup is kept$([ "$FORCE" = 1 ] && printf '; --force moves it to %s/backup-<time>/ first' "$DATA_DIR"))"
  fi
  if [ "$SERVICE" = 1 ]; then say "  5. run: warden service install --data-dir $DATA_DIR"; fi
  say "  6. print how to bind Ollama to loopback and connect clients to https://<this host>:$LISTEN_PORT"
  exit 0
fi
say "Using Node $("$NODE_BIN" -p 'process.versions.node') at $NODE_BIN"

# npm, npx and build tools must run on this Node, not an older one earlier on the PATH.
PATH="$(dirname "$NODE_BIN"):$PATH"
export PATH
need_cmd npm "$(install_hint)"
need_cmd tar "sudo apt-get install -y tar"

# ---------------------------------------------------------------- 2. the program
step "Installing Warden into $PREFIX"
if [ "$SOURCE_KIND" = dir ] && [ ! -f "$SOURCE_DIR/dist/src/cli/main.js" ]; then
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

if [ "$SOURCE_KIND" = tarball ]; then
  cp "$SOURCE_DIR" "$WORK/warden.tgz"
  TARBALL=warden.tgz
else
  # --ignore-scripts: packing runs no prepack/prepare script of the source (dist/ was checked
  # or built above; the prepack build would also need the dev dependencies).
  TARBALL="$(cd "$SOURCE_DIR" && npm pack --ignore-scripts --silent --pack-destination "$WORK" 2>/dev/null | tail -n 1)"
  [ -f "$WORK/$TARBALL" ] || die "npm pack in $SOURCE_DIR produced no tarball"
fi
mkdir -p "$PREFIX/app.new"
tar -xzf "$WORK/$TARBALL" -C "$PREFIX/app.new" --strip-components=1 --no-same-owner
grep -q '"name": *"ollama-warden"' "$PREFIX/app.new/package.json" 2>/dev/null || die "$SOURCE_DIR does not hold Warden (no package.json for ollama-warden)"
# The lock file pins every production dependency to what the project tested.
[ "$SOURCE_KIND" = dir ] && [ -f "$SOURCE_DIR/package-lock.json" ] && cp "$SOURCE_DIR/package-lock.json" "$PREFIX/app.new/"
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
      for f in warden.yaml warden.db warden.db-wal warden.db-shm tls audit first-admin-key; do
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
  # The first admin key goes to a 0600 file, never to this output (which may be logged).
  if [ ! -f "$DATA_DIR/warden.db" ]; then
    rm -f "$KEY_FILE"
    init_args+=(--key-file "$KEY_FILE")
  fi

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
Connect clients:   https://<this host>:$LISTEN_PORT with an API key (see docs/clients.md);
                   trust the local CA with: warden cert trust
EOF
if [ "$SERVICE" = 0 ]; then
  say "Start it by hand:  warden serve"
  # An upgrade with --no-service leaves a running service on the old code until it restarts.
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet warden 2>/dev/null; then
    warn "the warden service is running the previous version: sudo systemctl restart warden"
  fi
fi
