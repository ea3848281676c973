#!/usr/bin/env bash
# Installs the system packages the real-keyring tests (pytest -m keyring) and the zsh/fish
# completion tests and the terminal (tmux) tests need:
#   dbus-run-session      (package dbus-daemon, pulled in by dbus)  a private session bus
#   gnome-keyring-daemon  (gnome-keyring)                           the Secret Service
#   secret-tool           (libsecret-tools)                         reads an entry back
#   tmux                  (tmux)                                    a real terminal to screen-test
# dbus-x11 is named explicitly: it satisfies gnome-keyring's dbus-session-bus dependency,
# where apt would otherwise choose dbus-user-session, which needs a systemd user session.
#
# Idempotent: does nothing when the binaries exist. Never fails the build because apt is
# unavailable or fails: it warns, and the keyring tests skip with a reason naming the binary.
set -euo pipefail

packages=(gnome-keyring dbus dbus-x11 libsecret-tools zsh fish tmux)
binaries=(dbus-run-session gnome-keyring-daemon secret-tool zsh fish tmux)

missing=()
for binary in "${binaries[@]}"; do
    command -v "$binary" >/dev/null 2>&1 || missing+=("$binary")
done
if [ "${#missing[@]}" -eq 0 ]; then
    echo "install-system-deps: nothing to do (${binaries[*]} present)"
    exit 0
fi
echo "install-system-deps: missing ${missing[*]}"

warn() {
    echo "install-system-deps: WARNING: $*; the keyring tests will be skipped" >&2
    exit 0
}
[ "$(id -u)" -eq 0 ] || warn "not root, cannot install ${packages[*]}"
command -v apt-get >/dev/null 2>&1 || warn "apt-get not available, cannot install ${packages[*]}"

export DEBIAN_FRONTEND=noninteractive
echo "install-system-deps: apt-get update"
apt-get update -qq || warn "apt-get update failed"
echo "install-system-deps: apt-get install -y --no-install-recommends ${packages[*]}"
apt-get install -y -qq --no-install-recommends "${packages[@]}" \
    || warn "apt-get install failed"

for binary in "${binaries[@]}"; do
    command -v "$binary" >/dev/null 2>&1 || warn "$binary still missing after the install"
done
echo "install-system-deps: installed ${packages[*]}"
