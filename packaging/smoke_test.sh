#!/usr/bin/env bash
# Prove the built Linux artifacts work on a machine without Python: unpack the .deb (dpkg -x) and
# the .tar.gz into temporary folders, run `hearth --self-test` from each with a clean environment
# (env -i, HOME an empty folder, no virtualenv, no PYTHONPATH), and check the package's metadata,
# desktop entry, icons and file types.
#
#   packaging/smoke_test.sh [path/to.deb] [path/to.tar.gz]   (default: the newest ones in dist/)
#
# Run as root where `unshare` works, every Python installation on the machine and this checkout
# are hidden from the app while it runs (a private mount namespace with empty folders over them),
# so a bundle that still leaned on them would fail here.
# Needs: dpkg-deb, tar, desktop-file-validate (apt-get install desktop-file-utils), update-mime-database.
set -uo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEB="${1:-$(ls -t "$ROOT"/dist/hearth_*.deb 2>/dev/null | head -n1)}"
TARBALL="${2:-$(ls -t "$ROOT"/dist/hearth-*-linux-*.tar.gz 2>/dev/null | head -n1)}"
failures=0

say() { printf '[smoke] %s\n' "$*"; }
pass() { printf '[smoke] PASS %s\n' "$*"; }
fail() { printf '[smoke] FAIL %s\n' "$*"; failures=$((failures + 1)); }
check() { # description command...
    local what="$1"; shift
    if "$@" >/dev/null 2>&1; then pass "$what"; else fail "$what"; fi
}

[ -f "$DEB" ] || { say "no .deb found (build with packaging/build_linux.sh)"; exit 2; }
[ -f "$TARBALL" ] || { say "no .tar.gz found (build with packaging/build_linux.sh)"; exit 2; }
for tool in dpkg-deb tar desktop-file-validate update-mime-database; do
    command -v "$tool" >/dev/null || { say "$tool is missing (apt-get install desktop-file-utils shared-mime-info)"; exit 2; }
done

SCRATCH="$(mktemp -d /tmp/hearth-smoke.XXXXXX)"
trap 'rm -rf "$SCRATCH"' EXIT
say "deb:     $DEB"
say "tarball: $TARBALL"

# Paths to hide while the app runs: Python installations and this checkout (and its .venv).
HIDE=("$ROOT")
for dir in /usr/lib/python3* /usr/local/lib/python3* /opt/python* /root/.pyenv "$HOME/.pyenv" \
    "$HOME/.local/lib"; do
    [ -d "$dir" ] && HIDE+=("$dir")
done
if [ "$(id -u)" = 0 ] && unshare --mount true 2>/dev/null; then
    ISOLATION="Python installations and the checkout hidden (private mount namespace)"
    isolated() {
        unshare --mount sh -c '
            for path in "$@"; do
                [ "$path" = -- ] && break
                mount -t tmpfs -o ro,size=1k none "$path" || exit 97
            done
            for exe in /usr/bin/python* /usr/local/bin/python*; do
                [ -f "$exe" ] && mount --bind /dev/null "$exe"
            done
            while [ "$1" != -- ]; do shift; done
            shift
            exec "$@"' sh "${HIDE[@]}" -- "$@"
    }
else
    ISOLATION="clean environment only (not root, or unshare unavailable: Python stays visible)"
    isolated() { "$@"; }
fi
say "isolation: $ISOLATION"

# run_self_test LABEL EXECUTABLE: the self-test with nothing inherited from this shell.
run_self_test() {
    local label="$1" exe="$2" home="$SCRATCH/home-$1" log="$SCRATCH/self-test-$1.log"
    mkdir -p "$home"
    local started=$(date +%s%N)
    isolated env -i HOME="$home" PATH=/usr/bin:/bin LANG=C.UTF-8 "$exe" --self-test >"$log" 2>&1
    local rc=$?
    local elapsed=$(( ($(date +%s%N) - started) / 1000000 ))
    local summary
    summary="$(grep -E '^hearth self-test: ' "$log" | tail -n1)"
    if [ $rc -eq 0 ] && [[ "$summary" == "hearth self-test: ok"* ]]; then
        pass "self-test from the $label (exit 0, $((elapsed / 1000)).$(printf '%03d' $((elapsed % 1000))) s)"
    else
        fail "self-test from the $label (exit $rc)"
        sed 's/^/    | /' "$log" | tail -n 30
    fi
    say "  $summary"
    # Nothing may be written into HOME except under Hearth's own folders.
    local strays
    strays="$(cd "$home" && find . -mindepth 1 -maxdepth 3 | grep -vE '^\./\.(config|cache|local)(/|$)' | head -n5)"
    [ -z "$strays" ] || fail "the $label wrote unexpected files to HOME: $strays"
}

# --- the .deb ------------------------------------------------------------------------------------
say "--- .deb"
DEBROOT="$SCRATCH/deb"
dpkg-deb -x "$DEB" "$DEBROOT" && pass "dpkg-deb -x" || fail "dpkg-deb -x"
dpkg-deb -e "$DEB" "$SCRATCH/DEBIAN" && pass "dpkg-deb -e (control files)" || fail "dpkg-deb -e"
for field in Package Version Architecture Maintainer Installed-Size Depends Description; do
    value="$(dpkg-deb -f "$DEB" "$field")"
    [ -n "$value" ] && pass "control field $field" || fail "control field $field is empty"
done
say "  Depends: $(dpkg-deb -f "$DEB" Depends)"
check "md5sums match the unpacked files" sh -c "cd '$DEBROOT' && md5sum --quiet -c '$SCRATCH/DEBIAN/md5sums'"
check "postinst is executable" test -x "$SCRATCH/DEBIAN/postinst"
check "/usr/bin/hearth points at /opt/hearth/hearth" \
    test "$(readlink "$DEBROOT/usr/bin/hearth")" = /opt/hearth/hearth
check "/opt/hearth/hearth is executable" test -x "$DEBROOT/opt/hearth/hearth"
dangling="$(find "$DEBROOT" -xtype l ! -path '*/usr/bin/hearth' | head -n3)"
[ -z "$dangling" ] && pass "no dangling symbolic links in the bundle" ||
    fail "dangling symbolic links in the bundle: $dangling"
DESKTOP="$DEBROOT/usr/share/applications/hearth.desktop"
if desktop-file-validate "$DESKTOP" >"$SCRATCH/dfv.log" 2>&1 && [ ! -s "$SCRATCH/dfv.log" ]; then
    pass "desktop-file-validate hearth.desktop (no errors, no hints)"
else
    desktop-file-validate "$DESKTOP" >/dev/null 2>&1 && pass "desktop-file-validate hearth.desktop" ||
        fail "desktop-file-validate hearth.desktop"
    sed 's/^/    | /' "$SCRATCH/dfv.log"
fi
check "desktop entry opens PDF and GGUF files" \
    grep -qx 'MimeType=application/pdf;application/x-gguf;' "$DESKTOP"
icon="$(sed -n 's/^Icon=//p' "$DESKTOP")"
for size in 16 22 24 32 48 64 128 256 512 1024; do
    check "icon ${size}x${size}" test -s "$DEBROOT/usr/share/icons/hicolor/${size}x${size}/apps/$icon.png"
done
check "scalable icon" test -s "$DEBROOT/usr/share/icons/hicolor/scalable/apps/$icon.svg"
MIMEDB="$SCRATCH/mime"
mkdir -p "$MIMEDB/packages"
cp "$DEBROOT/usr/share/mime/packages/hearth-gguf.xml" "$MIMEDB/packages/"
update-mime-database "$MIMEDB" >/dev/null 2>&1
check "shared-mime-info maps *.gguf to application/x-gguf" \
    grep -qx 'application/x-gguf:\*.gguf' "$MIMEDB/globs"
run_self_test deb "$DEBROOT/opt/hearth/hearth"
# The command modules are imported by name; a bundle that missed one would not list it.
help="$(isolated env -i HOME="$SCRATCH/home-deb" PATH=/usr/bin:/bin "$DEBROOT/opt/hearth/hearth" --help 2>&1)"
check "hearth --help lists the command-line tools" \
    grep -q "info.*chat.*index.*search.*ask.*library" <<<"$(echo "$help" | tr '\n' ' ')"

# --- the .tar.gz ---------------------------------------------------------------------------------
say "--- .tar.gz"
TARROOT="$SCRATCH/tar"
mkdir -p "$TARROOT"
tar -xzf "$TARBALL" -C "$TARROOT" && pass "tar -xzf" || fail "tar -xzf"
TOP="$(find "$TARROOT" -mindepth 1 -maxdepth 1 -type d | head -n1)"
check "one top folder in the tarball" test "$(find "$TARROOT" -mindepth 1 -maxdepth 1 | wc -l)" = 1
check "hearth is executable" test -x "$TOP/hearth"
check "desktop-file-validate hearth.desktop (tarball)" desktop-file-validate "$TOP/hearth.desktop"
check "same bundle as the .deb" diff -rq --no-dereference "$TOP" "$DEBROOT/opt/hearth" \
    -x hearth.desktop -x hearth.png -x hearth-gguf.xml -x install-desktop-entry.sh
run_self_test tarball "$TOP/hearth"

echo
if [ $failures -eq 0 ]; then
    say "all checks passed ($ISOLATION)"
else
    say "$failures check(s) failed"
fi
exit $((failures > 0))
