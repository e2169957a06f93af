#!/usr/bin/env bash
# Build Hearth.app and a drag-to-Applications .dmg from this checkout.
#
# NOT RUN in Hearth's own build environment (Linux): the "macos" job of
# .github/workflows/installers.yml runs it on a macOS runner. By hand, on macOS 12+ with Python
# 3.11 and the Xcode command-line tools (for llama.cpp's build):
#
#   python3.11 -m venv .venv
#   CMAKE_ARGS="-DGGML_METAL=on" .venv/bin/pip install -e '.[packaging]'
#   packaging/macos/build_macos.sh
#
# Output: dist/Hearth-<version>-macos-<arch>.dmg (Hearth.app plus a link to /Applications).
# Signing: PyInstaller signs ad hoc, which runs on the machine that built it. For other Macs set
#   HEARTH_CODESIGN_IDENTITY="Developer ID Application: ..." (used by packaging/hearth.spec), and
#   HEARTH_NOTARY_PROFILE=<notarytool keychain profile> to notarize and staple the .dmg.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
WORK="$ROOT/build/packaging/pyinstaller"
VERSION="$("$PYTHON" -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')"
ARCH="$(uname -m)"
DMG="$ROOT/dist/Hearth-$VERSION-macos-$ARCH.dmg"
mkdir -p "$ROOT/dist"
started=$(date +%s)

HF_HUB_OFFLINE=1 "$PYTHON" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath "$WORK/dist" --workpath "$WORK/work" packaging/hearth.spec
APP="$WORK/dist/Hearth.app"
[ -d "$APP" ] || { echo "build_macos: PyInstaller did not produce $APP" >&2; exit 1; }

# The windowed executable still prints to the terminal it was started from.
env -i HOME="$(mktemp -d)" PATH=/usr/bin:/bin "$APP/Contents/MacOS/Hearth" --self-test

STAGE="$(mktemp -d)"
trap 'rm -rf "$STAGE"' EXIT
cp -R "$APP" "$STAGE/"
ln -s /Applications "$STAGE/Applications"
rm -f "$DMG"
hdiutil create -volname "Hearth $VERSION" -srcfolder "$STAGE" -fs HFS+ -format UDZO -ov "$DMG"
if [ -n "${HEARTH_CODESIGN_IDENTITY:-}" ]; then
    codesign --sign "$HEARTH_CODESIGN_IDENTITY" --timestamp "$DMG"
fi
if [ -n "${HEARTH_NOTARY_PROFILE:-}" ]; then
    xcrun notarytool submit "$DMG" --keychain-profile "$HEARTH_NOTARY_PROFILE" --wait
    xcrun stapler staple "$DMG"
fi

echo "Hearth.app (unpacked): $(du -sh "$APP" | cut -f1)"
echo "$(basename "$DMG"): $(du -h "$DMG" | cut -f1)"
echo "total time: $(( $(date +%s) - started )) s"
