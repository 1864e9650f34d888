#!/usr/bin/env bash
# Puts the supplementary fonts the report generator loads (report_gen::typeset::SUPPLEMENTARY_FONTS)
# into fonts/: DejaVu Sans (Arabic, Hebrew), Noto Sans CJK (Chinese, Japanese, Korean) and Noto
# Color Emoji, all under the SIL Open Font License or a free font licence. They are taken from
# where Debian's packages put them; when a file is missing and apt-get is there, the packages are
# installed first (as root, or through sudo when sudo asks no password; otherwise the script says
# what to run and stops: it never prompts). Elsewhere (macOS, other distributions) copy the
# files into fonts/ by hand or point MATURITY_FONT_DIRS at them; see the README.
set -euo pipefail
cd "$(dirname "$0")/../.."

files=(DejaVuSans.ttf DejaVuSans-Bold.ttf NotoSansCJK-Regular.ttc NotoSansCJK-Bold.ttc NotoColorEmoji.ttf)
dirs=(/usr/share/fonts/truetype/dejavu /usr/share/fonts/opentype/noto /usr/share/fonts/truetype/noto)
packages=(fonts-dejavu-core fonts-noto-cjk fonts-noto-color-emoji)

find_font() {
    for d in "${dirs[@]}"; do
        if [ -f "$d/$1" ]; then echo "$d/$1"; return 0; fi
    done
    return 1
}

missing=0
for f in "${files[@]}"; do find_font "$f" >/dev/null || missing=1; done
if [ "$missing" = 1 ] && command -v apt-get >/dev/null; then
    # Never a password prompt in the middle of a build: as root, or through sudo when it needs no
    # password; otherwise the exact command to run, and stop.
    as_root=()
    if [ "$(id -u)" != 0 ]; then
        if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
            as_root=(sudo -n)
        else
            echo "fonts: ${packages[*]} are not installed. Install them once, then run make again:" >&2
            echo "  sudo apt-get install -y --no-install-recommends ${packages[*]}" >&2
            echo "(or copy ${files[*]} into fonts/, or point MATURITY_FONT_DIRS at them)" >&2
            exit 1
        fi
    fi
    echo "fonts: installing ${packages[*]} from Debian's packages" >&2
    install() { "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${packages[@]}"; }
    install >&2 || { "${as_root[@]}" apt-get update -q >&2 && install >&2; }
fi

mkdir -p fonts
for f in "${files[@]}"; do
    if src=$(find_font "$f"); then
        cp -L "$src" "fonts/$f"
    else
        echo "fonts: $f not found in ${dirs[*]}; install ${packages[*]} or copy it into fonts/" >&2
        exit 1
    fi
done
echo "fonts: ${files[*]} in fonts/" >&2
