#!/usr/bin/env bash
# Print the Debian packages that provide the system libraries a bundle links against, as a
# Depends value ("libc6, libgl1, ..."). Like dpkg-shlibdeps, but for a folder that is not a
# Debian source package: every ELF file's NEEDED entries, minus the libraries the bundle ships,
# mapped to their package with `dpkg -S`; libc6 gets the newest glibc symbol version used.
#
#   packaging/linux/shlib_depends.sh BUNDLE [--skip GLOB]... [--only GLOB]...
#
# --skip leaves out files whose path matches (optional plugins: their libraries go to Recommends);
# --only looks at matching files alone.
set -euo pipefail

bundle="$1"; shift
filter=()
while [ $# -gt 0 ]; do
    case "$1" in
        --skip) filter+=(-not -path "$2"); shift 2 ;;
        --only) [ ${#filter[@]} -eq 0 ] && filter+=(\() || filter+=(-o)
                filter+=(-path "$2"); only=1; shift 2 ;;
        *) echo "shlib_depends: unknown argument $1" >&2; exit 2 ;;
    esac
done
[ "${only:-0}" = 1 ] && filter+=(\))
shipped="$(mktemp)"; needed="$(mktemp)"; scanned="$(mktemp)"; cache="$(mktemp)"
trap 'rm -f "$shipped" "$needed" "$scanned" "$cache"' EXIT
ldconfig -p >"$cache"  # read once; `ldconfig -p | awk ...; exit` could die of SIGPIPE

find "$bundle" -type f \( -name '*.so' -o -name '*.so.*' \) -printf '%f\n' | sort -u >"$shipped"
find "$bundle" -type f \( -name '*.so' -o -name '*.so.*' -o -perm -u+x \) "${filter[@]}" -print0 \
    >"$scanned"
xargs -0 -r readelf -d <"$scanned" 2>/dev/null |
    sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort -u >"$needed" || true  # readelf fails on non-ELF files

packages=()
for lib in $(comm -23 "$needed" "$shipped"); do
    path="$(awk -v lib="$lib" '$1 == lib && /x86-64|x86_64/ {print $NF; exit}' "$cache")"
    if [ -z "$path" ]; then
        echo "shlib_depends: $lib is not installed here; add its package to Depends by hand" >&2
        continue
    fi
    package="$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | sed -n '1s/:.*//p' || true)"
    [ -z "$package" ] && package="$(dpkg -S "$path" 2>/dev/null | sed -n '1s/:.*//p' || true)"
    if [ -z "$package" ]; then
        echo "shlib_depends: no Debian package owns $path ($lib)" >&2
        continue
    fi
    packages+=("$package")
done
# The newest glibc symbol version any file uses is the oldest libc6 the bundle runs on.
glibc="$(xargs -0 -r objdump -T <"$scanned" 2>/dev/null | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' |
    sort -uV | tail -n1 || true)"
printf '%s\n' "${packages[@]}" | sort -u |
    sed "s/^libc6\$/libc6 (>= ${glibc:-2.17})/" | paste -sd, - | sed 's/,/, /g'
