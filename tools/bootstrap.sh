#!/usr/bin/env bash
# bootstrap.sh: every set-up step on a fresh Debian 12 machine, then one job.
#
#   bash tools/bootstrap.sh run    # install, build (release), run the main job:
#                                  # ttai-marketsim + ttaid with the TTAI system
#   bash tools/bootstrap.sh test   # install, build (ASan+UBSan), run every test
#   bash tools/bootstrap.sh deps   # only install the Debian packages
#
# Builds go to build/release and build/asan. Idempotent: a second run only
# rebuilds what changed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"

packages=(build-essential cmake pkg-config clang libclang-rt-14-dev
          liblmdb-dev lmdb-utils libevent-dev libcurl4-openssl-dev
          libmsgpack-dev libjansson-dev curl jq openssl tzdata python3
          chromium fonts-dejavu-core)
# The console tests (tests/console) run playwright-core under Node.js with
# npm; Debian 12's nodejs and npm unless a Node.js is installed already
# (another build of it would conflict with Debian's npm package).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    packages+=(nodejs npm)
fi

install_deps() {
    local missing=()
    for p in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
            || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "bootstrap: installing ${missing[*]}"
        local sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
    fi
}

build() { # build DIR CMAKE-ARGS...
    local dir=$1; shift
    cmake -S . -B "$dir" "$@" >/dev/null
    cmake --build "$dir" -j"$(nproc)"
}

case "${1:-}" in
deps)
    install_deps
    ;;
run)
    install_deps
    build build/release -DCMAKE_BUILD_TYPE=Release
    shift
    # The main job: the market data simulator and ttaid with the TTAI
    # monitors and schedules, on the embedded LMDB store in ./ttai-data
    # (docs/quickstart.md). Extra arguments go to ttaid.
    build/release/tools/ttai-marketsim --listen "${TTAI_MARKETSIM_LISTEN:-127.0.0.1:7281}" &
    sim=$!
    trap 'kill $sim 2>/dev/null; wait $sim 2>/dev/null' EXIT
    build/release/tools/ttaid --market-url "http://${TTAI_MARKETSIM_LISTEN:-127.0.0.1:7281}" \
        --ttai-system on "$@"
    ;;
test)
    install_deps
    build build/asan -DCMAKE_BUILD_TYPE=Debug -DTTAI_SANITIZE=ON
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
    ctest --test-dir build/asan --output-on-failure -j"$(nproc)"
    # A short libFuzzer run of every fuzz target (clang's runtime).
    build build/fuzz -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang -DTTAI_FUZZ=ON
    ctest --test-dir build/fuzz --output-on-failure -L fuzz
    ;;
*)
    echo "usage: bash tools/bootstrap.sh run|test|deps" >&2
    exit 2
    ;;
esac
