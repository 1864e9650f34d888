#!/usr/bin/env bash
# Release artifacts (docs/deployment.md): a tarball laid out as the file system it installs into
# (usr/bin, usr/share/maturity, usr/share/doc/maturity, usr/lib/systemd/system, etc/maturity; no
# entry for a folder the system already has, such as `.` or `usr`, so that unpacking it into /
# changes no folder's mode or symbolic link) and a Debian package of the same files. The tarball
# carries the fonts for firm names in other scripts; the package depends on Debian's font
# packages instead.
# Usage: tools/dist/build.sh [BIN_DIR] [OUT_DIR]   (default target/release and target/dist;
# `make dist` builds the binaries first). Output in OUT_DIR, which holds nothing else after:
# maturity-VERSION-linux-ARCH.tar.gz and maturity_VERSION_ARCH.deb
set -euo pipefail
cd "$(dirname "$0")/../.."
bin="${1:-target/release}"
out="${2:-target/dist}"
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
arch=$(uname -m)
deb_arch=$(dpkg --print-architecture 2>/dev/null || echo amd64)
stage="$out/stage"
rm -rf "$out"
mkdir -p "$stage/usr/bin" "$stage/usr/share/maturity" "$stage/usr/share/doc/maturity" "$stage/etc/maturity" \
  "$stage/usr/lib/systemd/system"
for program in maturity report-gen; do
  [ -x "$bin/$program" ] || { echo "dist: $bin/$program is missing; build it first (make dist does)" >&2; exit 1; }
  # Without the line tables the release profile keeps for profiling: a fifth of the size.
  install -m 0755 "$bin/$program" "$stage/usr/bin/$program"
  strip --strip-debug "$stage/usr/bin/$program"
done
cp -r models "$stage/usr/share/maturity/models"
# It may hold the database's password: readable by root and (once installed) the maturity group.
install -m 0640 deploy/maturity.toml "$stage/etc/maturity/maturity.toml"
install -m 0644 deploy/systemd/*.service deploy/systemd/*.timer "$stage/usr/lib/systemd/system/"
for doc in README.md CHANGELOG.md docs/deployment.md docs/operations.md docs/integration.md docs/method.md; do
  install -m 0644 "$doc" "$stage/usr/share/doc/maturity/"
done

# The Debian package: the staged files without the fonts, a system user, the state folder.
pkg="$out/deb"
rm -rf "$pkg"
cp -a "$stage" "$pkg"
mkdir -p "$pkg/DEBIAN"
size=$(du -sk "$pkg" | cut -f1)
cat >"$pkg/DEBIAN/control" <<CONTROL
Package: maturity
Version: $version
Architecture: $deb_arch
Maintainer: Social maturity benchmark maintainers <maintainers@localhost>
Installed-Size: $size
Depends: fonts-dejavu-core, fonts-noto-cjk, fonts-noto-color-emoji, adduser
Section: misc
Priority: optional
Description: Social maturity benchmark: scoring, anonymised benchmark and chapters
 Scores how socially mature a Dutch company is against a versioned maturity model, compares it
 anonymously with Dutch peers of its sector and size, and writes a chapter per assessment (PDF,
 Dutch or English). The server (maturity) and the report generator (report-gen), with systemd
 units for the server and the nightly batch.
CONTROL
echo "/etc/maturity/maturity.toml" >"$pkg/DEBIAN/conffiles"
cat >"$pkg/DEBIAN/postinst" <<'POSTINST'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
  if ! getent passwd maturity >/dev/null; then
    adduser --system --group --home /var/lib/maturity --no-create-home maturity
  fi
  install -d -o maturity -g maturity -m 0700 /var/lib/maturity
  chgrp maturity /etc/maturity/maturity.toml
  chmod 0640 /etc/maturity/maturity.toml
  if [ -d /run/systemd/system ]; then
    systemctl daemon-reload || true
  fi
fi
exit 0
POSTINST
chmod 0755 "$pkg/DEBIAN/postinst"
deb="$out/maturity_${version}_${deb_arch}.deb"
fakeroot dpkg-deb --build -Zxz "$pkg" "$deb" >/dev/null 2>&1 || dpkg-deb --root-owner-group --build -Zxz "$pkg" "$deb" >/dev/null
rm -rf "$pkg"

# The tarball, with the fonts.
mkdir -p "$stage/usr/share/maturity/fonts"
cp fonts/* "$stage/usr/share/maturity/fonts/"
tarball="$out/maturity-$version-linux-$arch.tar.gz"
tar --owner=0 --group=0 -czf "$tarball" -C "$stage" usr/bin usr/share/maturity usr/share/doc/maturity \
  usr/lib/systemd/system/maturity.service usr/lib/systemd/system/maturity-nightly.service \
  usr/lib/systemd/system/maturity-nightly.timer etc/maturity
rm -rf "$stage"
echo "dist: $tarball ($(du -h "$tarball" | cut -f1)), $deb ($(du -h "$deb" | cut -f1))"
