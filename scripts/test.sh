#!/usr/bin/env bash
# Runs every test Olymp has, on a fresh machine as on a developer's: installs what the
# tests need from Debian's packages, builds, runs the unit and integration tests, then the
# main job (a 2,000-participant rehearsal on the embedded store) in release mode.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests use; later suites add theirs here (prometheus for promtool,
# chromium). memcached: the cache tests start their own on a free loopback port.
packages=(memcached)
missing=()
for package in "${packages[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  # The package may start a system memcached; the tests start their own, so stop it.
  if [[ " ${missing[*]} " == *" memcached "* ]]; then
    service memcached stop >/dev/null 2>&1 || true
  fi
fi

test -f ../shared/data/zno-math/tests/math_raw.json || {
  echo "the shared exam data (../shared/data) is missing next to this checkout" >&2
  exit 1
}

echo "== format"
cargo fmt --all --check

echo "== unit and integration tests"
cargo test --workspace --no-fail-fast

echo "== rehearsal: 2,000 participants on the embedded store (release build)"
cargo run --quiet --release -p gateway --bin olymp -- rehearse --participants 2000 | tail -n 12
