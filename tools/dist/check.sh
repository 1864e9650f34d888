#!/usr/bin/env bash
# The release tarball installed into a scratch root and run from there, as an operator would run
# it from / (docs/deployment.md): migrate, seed synthetic peers, create a tenant and a key, serve,
# score the sample through the API (its chapter fetched from the server), the nightly batch over
# the same database; then `systemd-analyze verify` on the units and a look inside the Debian
# package. Exit 0 only when every step did what it says.
# Usage: tools/dist/check.sh [DIR]   (the artifacts tools/dist/build.sh wrote; default target/dist)
set -euo pipefail
cd "$(dirname "$0")/../.."
dir="${1:-target/dist}"
tarball=$(echo "$dir"/maturity-*-linux-*.tar.gz)
deb=$(echo "$dir"/maturity_*.deb)
[ -f "$tarball" ] && [ -f "$deb" ] || { echo "dist check: no single tarball and package in $dir" >&2; exit 1; }
root="$(mktemp -d)"
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$root"' EXIT
# Only the product's own folders: nothing that would replace a folder or link the system has.
if tar -tzf "$tarball" | grep -qvE '^(usr/bin|usr/share/maturity|usr/share/doc/maturity|usr/lib/systemd/system|etc/maturity)(/|$)'; then
  echo "dist check: the tarball holds an entry outside the product's folders" >&2
  exit 1
fi
tar -xzf "$tarball" -C "$root"
step() { echo "dist check: $*"; }

# The installed configuration, with the scratch root's paths where it names /var/lib and a port
# of its own.
state="$root/var/lib/maturity"
mkdir -p "$state"
export MATURITY_CONFIG="$root/etc/maturity/maturity.toml"
export MATURITY_DATABASE_URL="sqlite://$state/maturity.db?mode=rwc"
export MATURITY_PSEUDONYM_KEY_FILE="$state/pseudonym.key"
export MATURITY_FONT_DIRS="$root/usr/share/maturity/fonts"
export MATURITY_LOG_LEVEL=warn
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
maturity="$root/usr/bin/maturity"
report_gen="$root/usr/bin/report-gen"

"$maturity" --version
"$report_gen" --version
"$maturity" migrate
"$maturity" seed-demo --companies 3000
"$maturity" admin create-tenant dist --name "Dist check"
key="$("$maturity" admin issue-key dist --label dist-check | tail -n 1)"
"$maturity" serve --grpc-addr "127.0.0.1:$port" --http-addr off --admin-addr off &
server=$!
step "server started from $maturity"
"$maturity" demo --server "http://127.0.0.1:$port" --api-key "$key" --out "$root/out" >"$root/demo.txt"
grep -q "SYNTHETISCH" "$root/demo.txt"
pdf=$(find "$root/out" -name '*.pdf' | head -n 1)
head -c 5 "$pdf" | grep -q '%PDF-'
step "the sample scored through the API; its chapter: $(basename "$pdf") ($(stat -c %s "$pdf") bytes)"
kill -TERM "$server"
wait "$server"
server=""
step "the server stopped on SIGTERM with exit 0"
"$report_gen" nightly --out "$state/chapters" >"$root/night.txt"
grep -q " 2 chapters written" "$root/night.txt"
[ "$(find "$state/chapters" -name '*.pdf' | wc -l)" = 2 ]
step "report-gen nightly: $(grep -o '[0-9]* chapters written' "$root/night.txt")"

# The units as the tarball installs them, checked by systemd against the installed programs (the
# units name /usr/bin; here that is the scratch root's usr/bin).
units="$root/units"
mkdir -p "$units"
for unit in maturity.service maturity-nightly.service maturity-nightly.timer; do
  sed "s#/usr/bin/#$root/usr/bin/#g" "$root/usr/lib/systemd/system/$unit" >"$units/$unit"
done
(cd "$units" && systemd-analyze verify ./maturity.service ./maturity-nightly.service ./maturity-nightly.timer)
step "systemd-analyze verify: the server, the nightly batch and its timer"

# The Debian package: its metadata, and the same programs and units inside.
dpkg-deb --field "$deb" Package Version Depends
contents=$(dpkg-deb --contents "$deb")
for f in ./usr/bin/maturity ./usr/bin/report-gen ./etc/maturity/maturity.toml ./usr/lib/systemd/system/maturity.service \
  ./usr/lib/systemd/system/maturity-nightly.timer ./usr/share/doc/maturity/deployment.md; do
  grep -q " $f\$" <<<"$contents" || { echo "dist check: $f is not in $deb" >&2; exit 1; }
done
step "the Debian package holds the programs, the configuration, the units and the guide"
step "passed"
