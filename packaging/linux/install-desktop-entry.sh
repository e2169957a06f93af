#!/usr/bin/env bash
# Add the unpacked Hearth to your desktop's application menu (for you only, no root needed):
# a menu entry that runs the `hearth` next to this script, its icon, and the GGUF file type.
#
#   ./install-desktop-entry.sh            install or update
#   ./install-desktop-entry.sh --remove   take them out again
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
data="${XDG_DATA_HOME:-$HOME/.local/share}"
entry="$data/applications/hearth.desktop"
icon="$data/icons/hicolor/256x256/apps/hearth.png"
mime="$data/mime/packages/hearth-gguf.xml"

refresh() {
    command -v update-mime-database >/dev/null && update-mime-database "$data/mime" >/dev/null 2>&1 || true
    command -v update-desktop-database >/dev/null && update-desktop-database -q "$data/applications" || true
}

if [ "${1:-}" = "--remove" ]; then
    rm -f "$entry" "$icon" "$mime"
    refresh
    echo "Removed Hearth's menu entry."
    exit 0
fi

mkdir -p "$(dirname "$entry")" "$(dirname "$icon")" "$(dirname "$mime")"
# Point Exec and TryExec at this copy; quote the path in case it holds spaces.
sed -e "s|^Exec=hearth|Exec=\"$here/hearth\"|" -e "s|^TryExec=hearth|TryExec=$here/hearth|" \
    "$here/hearth.desktop" >"$entry.tmp"
mv "$entry.tmp" "$entry"
cp "$here/hearth.png" "$icon"
cp "$here/hearth-gguf.xml" "$mime"
refresh
echo "Hearth is in your application menu. Run this script with --remove to take it out."
