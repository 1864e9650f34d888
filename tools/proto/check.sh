#!/usr/bin/env bash
# The public protos as a CRM team depends on them (in make lint): `buf lint` (buf.yaml), then
# `buf breaking` against the last committed version: HEAD when proto/ has uncommitted changes (a
# developer before committing), else the commit before HEAD (what the last commit changed, as CI
# sees it); BUF_AGAINST=REF for another, such as the last release's tag. A field renumbered,
# renamed in JSON, retyped or removed, or a method or message removed, fails. Then the check is shown to work: a planted breaking change (a field
# renumbered in a copy) must be refused. buf comes from the npm registry (@bufbuild/buf, pinned),
# installed into target/tools/npm the first time.
set -euo pipefail
cd "$(dirname "$0")/../.."
version=1.75.0
prefix=target/tools/npm
buf="$prefix/node_modules/.bin/buf"
if ! [ -x "$buf" ] || [ "$("$buf" --version)" != "$version" ]; then
  command -v npm >/dev/null || { echo "proto check: npm is needed to install buf (see the README)" >&2; exit 1; }
  # Node trusts only its own certificate authorities unless told otherwise: the system's, where
  # a network's own authority (a company proxy's) is installed, are added.
  if [ -z "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f /etc/ssl/certs/ca-certificates.crt ]; then
    export NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
  fi
  # Bounded: a registry that cannot be reached fails the check within minutes, with npm's error.
  timeout 300 npm install --prefix "$prefix" --no-audit --no-fund --silent --fetch-retries 2 "@bufbuild/buf@$version" >&2 \
    || { echo "proto check: installing @bufbuild/buf@$version from the npm registry failed" >&2; exit 1; }
fi
"$buf" lint
if [ -n "${BUF_AGAINST:-}" ]; then
  against="$BUF_AGAINST"
elif ! git diff --quiet HEAD -- proto; then
  against=HEAD
elif git rev-parse --verify --quiet HEAD~1 >/dev/null; then
  against=HEAD~1
else
  against=HEAD
  echo "proto check: no commit before HEAD here (a shallow clone?); comparing with HEAD" >&2
fi
"$buf" breaking --against ".git#ref=$against,subdir=proto"
echo "proto check: buf lint passed; no breaking change against $against"

planted="$(mktemp -d)"
trap 'rm -rf "$planted"' EXIT
cp -r proto buf.yaml "$planted/"
sed -i 's/^  string sbi_section = 1;$/  string sbi_section = 4;/' "$planted/proto/maturity/v1/benchmark.proto"
if cmp -s proto/maturity/v1/benchmark.proto "$planted/proto/maturity/v1/benchmark.proto"; then
  echo "proto check: the planted change did not apply (PeerGroup.sbi_section moved?)" >&2
  exit 1
fi
if (cd "$planted" && "$OLDPWD/$buf" breaking --against "$OLDPWD" >"$planted/report.txt" 2>&1); then
  echo "proto check: a renumbered field was not reported as breaking" >&2
  exit 1
fi
echo "proto check: a planted breaking change is refused: $(head -n 1 "$planted/report.txt")"
