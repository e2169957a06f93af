#!/usr/bin/env bash
# Render resources/icons/hearth.svg into every icon file the installers need, and commit the results.
#
#   hicolor PNGs 16..1024  -> resources/icons/hicolor/<N>x<N>/apps/hearth.png (Linux .deb, window icon)
#   hearth.png (256 px)    -> resources/icons/hearth.png (window icon, Qt)
#   hearth.ico             -> Windows executable and installer (16, 24, 32, 48, 64, 128, 256)
#   hearth.icns            -> macOS .app bundle (16, 32, 48, 128, 256, 512, 1024)
#
# Sizes up to 32 px use hearth-small.svg (the flame alone) so they stay readable.
# Tools (Debian): librsvg2-bin (rsvg-convert), icoutils (icotool), icnsutils (png2icns).
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
icons="$here/resources/icons"
for tool in rsvg-convert icotool png2icns; do
    command -v "$tool" >/dev/null || { echo "make_icons: $tool is missing (apt-get install librsvg2-bin icoutils icnsutils)" >&2; exit 1; }
done

render() { # size output
    local source="$icons/hearth.svg"
    [ "$1" -le 32 ] && source="$icons/hearth-small.svg"
    rsvg-convert --width "$1" --height "$1" --keep-aspect-ratio "$source" --output "$2"
}

for size in 16 22 24 32 48 64 128 256 512 1024; do
    mkdir -p "$icons/hicolor/${size}x${size}/apps"
    render "$size" "$icons/hicolor/${size}x${size}/apps/hearth.png"
done
mkdir -p "$icons/hicolor/scalable/apps"
cp "$icons/hearth.svg" "$icons/hicolor/scalable/apps/hearth.svg"
cp "$icons/hicolor/256x256/apps/hearth.png" "$icons/hearth.png"

png() { echo "$icons/hicolor/$1x$1/apps/hearth.png"; }
icotool --create --output "$icons/hearth.ico" \
    "$(png 16)" "$(png 24)" "$(png 32)" "$(png 48)" "$(png 64)" "$(png 128)" --raw="$(png 256)"

# png2icns picks the icon type from each PNG's size; 48 px is the old "ih32" slot.
png2icns "$icons/hearth.icns" "$(png 16)" "$(png 32)" "$(png 48)" "$(png 128)" "$(png 256)" \
    "$(png 512)" "$(png 1024)" >/dev/null
echo "make_icons: wrote $(find "$icons" -type f -newer "$icons/hearth.svg" | wc -l) files under $icons"
