#!/usr/bin/env bash
# Installs the Debian packages the test suite drives for real: PostgreSQL (store contract),
# Chromium (admin UI), pebble (ACME), testssl.sh + dnsutils, nmap, openssl (TLS scans),
# openssh-client (ollama CLI keys), shellcheck, jq, systemd-analyze, ss (installer and docs
# tests), python3 (a pseudo-terminal for the interactive init test).
# Does nothing when they are all present. Needs root (or sudo) when something is missing.
set -euo pipefail

need=()
have() { command -v "$1" >/dev/null 2>&1; }
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
[ -n "$pg_bin" ] && [ -x "$pg_bin/initdb" ] || need+=(postgresql)
have chromium || need+=(chromium)
have pebble || [ -x /usr/bin/pebble ] || need+=(pebble)
have testssl || need+=(testssl.sh)
have dig || need+=(dnsutils)
have nmap || need+=(nmap)
have openssl || need+=(openssl)
have ssh-keygen || need+=(openssh-client)
have shellcheck || need+=(shellcheck)
have curl || need+=(curl)
have wrk || need+=(wrk)
have jq || need+=(jq)
have systemd-analyze || need+=(systemd)
have ss || need+=(iproute2)
have python3 || need+=(python3)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi

echo "test/deps.sh: installing Debian packages: ${need[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if have sudo; then SUDO="sudo"; else
    echo "test/deps.sh: missing ${need[*]} and not root; install them with: apt-get install -y ${need[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${need[@]}"
