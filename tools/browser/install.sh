#!/usr/bin/env bash
# What the browser tests of the questionnaire need (tests/browser/, in make test): Debian's
# Chromium and its WebDriver (packages chromium and chromium-driver: /usr/bin/chromium and
# /usr/bin/chromedriver), installed when missing (as root, or through sudo when sudo asks no
# password; otherwise the script says what to run and stops: it never prompts), and axe-core from
# the npm registry (pinned) into target/tools/npm, where the proto check keeps buf.
set -euo pipefail
cd "$(dirname "$0")/../.."

packages=(chromium chromium-driver)
if ! [ -x /usr/bin/chromium ] || ! [ -x /usr/bin/chromedriver ]; then
    command -v apt-get >/dev/null || { echo "browser: install Chromium and ChromeDriver (${packages[*]} on Debian)" >&2; exit 1; }
    as_root=()
    if [ "$(id -u)" != 0 ]; then
        if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
            as_root=(sudo -n)
        else
            echo "browser: ${packages[*]} are not installed. Install them once, then run make again:" >&2
            echo "  sudo apt-get install -y --no-install-recommends ${packages[*]}" >&2
            exit 1
        fi
    fi
    echo "browser: installing ${packages[*]} from Debian's packages" >&2
    install() { "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${packages[@]}"; }
    install >&2 || { "${as_root[@]}" apt-get update -q >&2 && install >&2; }
fi

axe_version=4.14.1
prefix=target/tools/npm
axe="$prefix/node_modules/axe-core/axe.min.js"
if ! [ -f "$axe" ] || [ "$(node -p "require('./$prefix/node_modules/axe-core/package.json').version")" != "$axe_version" ]; then
    command -v npm >/dev/null || { echo "browser: npm is needed to install axe-core (see the README)" >&2; exit 1; }
    if [ -z "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f /etc/ssl/certs/ca-certificates.crt ]; then
        export NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
    fi
    timeout 300 npm install --prefix "$prefix" --no-audit --no-fund --silent --fetch-retries 2 "axe-core@$axe_version" >&2 \
        || { echo "browser: installing axe-core@$axe_version from the npm registry failed" >&2; exit 1; }
fi
echo "browser: $(/usr/bin/chromium --version 2>/dev/null), axe-core $axe_version" >&2
