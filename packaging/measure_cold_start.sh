#!/usr/bin/env bash
# Time from starting the bundled app to its main window being on screen, several runs.
#
#   packaging/measure_cold_start.sh [EXECUTABLE] [RUNS]
#     EXECUTABLE  default build/packaging/pyinstaller/dist/hearth/hearth
#     RUNS        default 5
#   COLD=1        drop the page cache before the first run (root only; slows the whole machine
#                 for a moment), so run 1 reads every file from disk like a first start after boot
#
# The app's HEARTH_EXIT_WHEN_SHOWN switch makes it print "shown <s>" once the window is shown and
# then close; the time is measured here, from the exec to that line, so it includes the bundle's
# unpacking of Python and all imports. Runs under Xvfb (Qt's real X11 plugin) when there is no
# display and xvfb-run exists, offscreen otherwise. Each run gets an empty HOME.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
EXE="${1:-$ROOT/build/packaging/pyinstaller/dist/hearth/hearth}"
RUNS="${2:-5}"
[ -x "$EXE" ] || { echo "measure_cold_start: no executable at $EXE" >&2; exit 2; }

if [ -z "${DISPLAY:-}" ] && [ -z "${MEASURE_INNER:-}" ] && command -v xvfb-run >/dev/null; then
    MEASURE_INNER=1 exec xvfb-run -a -s "-screen 0 1280x800x24" "$0" "$EXE" "$RUNS"
fi
platform=offscreen
[ -n "${DISPLAY:-}" ] && platform=xcb

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
times=()
for run in $(seq 1 "$RUNS"); do
    if [ "$run" = 1 ] && [ "${COLD:-0}" = 1 ]; then
        sync
        echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || echo "measure_cold_start: cannot drop the page cache" >&2
    fi
    home="$scratch/home-$run"
    mkdir -p "$home"
    started=$(date +%s%N)
    shown_at="$(
        env -i HOME="$home" PATH=/usr/bin:/bin LANG=C.UTF-8 ${DISPLAY:+DISPLAY="$DISPLAY"} \
            ${XAUTHORITY:+XAUTHORITY="$XAUTHORITY"} QT_QPA_PLATFORM="$platform" \
            HEARTH_EXIT_WHEN_SHOWN=1 "$EXE" 2>"$scratch/stderr-$run" |
            while IFS= read -r line; do
                case "$line" in shown*) date +%s%N ;; esac
            done
    )"
    if [ -z "$shown_at" ]; then
        echo "run $run: the window was never shown" >&2
        tail -n 20 "$scratch/stderr-$run" >&2
        exit 1
    fi
    ms=$(( (shown_at - started) / 1000000 ))
    times+=("$ms")
    echo "run $run: window shown after $ms ms ($platform)"
done
sorted=($(printf '%s\n' "${times[@]}" | sort -n))
echo "first run ${times[0]} ms, median $((sorted[${#sorted[@]} / 2])) ms, best ${sorted[0]} ms over $RUNS runs"
