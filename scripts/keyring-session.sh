#!/usr/bin/env bash
# Run a command inside a private D-Bus session with a throwaway, unlocked GNOME keyring.
#   bash scripts/keyring-session.sh <command> [args...]
# The keyring lives in a fresh temporary XDG_DATA_HOME and its control socket in a fresh XDG_RUNTIME_DIR, so it never
# touches (or collides with) the user's real keyring or another test run's, and the unlock password always matches
# the keyring it unlocks. Everything is removed afterwards.
set -euo pipefail
if ! command -v dbus-run-session >/dev/null || ! command -v gnome-keyring-daemon >/dev/null; then
  echo "keyring-session: needs dbus-run-session and gnome-keyring-daemon (apt-get install dbus gnome-keyring libsecret-1-dev)" >&2
  exit 1
fi
scratch=$(mktemp -d "${TMPDIR:-/tmp}/parley-keyring.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/data" "$scratch/runtime"
chmod 700 "$scratch/runtime"
export XDG_DATA_HOME="$scratch/data" XDG_RUNTIME_DIR="$scratch/runtime"
password=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
export PARLEY_KEYRING_SESSION=1
dbus-run-session -- bash -c 'printf %s "$0" | gnome-keyring-daemon --unlock --components=secrets >/dev/null; shift; exec "$@"' "$password" _ "$@"
