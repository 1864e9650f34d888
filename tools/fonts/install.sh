#!/usr/bin/env bash
# Puts the supplementary fonts the report generator loads (report_gen::typeset::SUPPLEMENTARY_FONTS)
# into fonts/: DejaVu Sans (Arabic, Hebrew), Noto Sans CJK (Chinese, Japanese, Korean) and Noto
# Color Emoji, all under the SIL Open Font License or a free font licence. They are taken from
# where Debian's packages put them; when a file is missing and apt-get is there, the packages are
# installed first (as root, or through sudo). Elsewhere (macOS, other distributions) copy the
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
    echo "fonts: installing ${packages[*]} from Debian's packages" >&2
    as_root=()
    [ "$(id -u)" = 0 ] || as_root=(sudo)
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${packages[@]}" >/dev/null \
        || { "${as_root[@]}" apt-get update >/dev/null && "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${packages[@]}" >/dev/null; }
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
