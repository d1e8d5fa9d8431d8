#!/bin/bash
# Runs a command with this processor shown as a smaller x64 instruction class, through the LD_PRELOAD shim
# cpuid_mask.c beside this script (CPUID faulting; every process the command starts inherits it):
#
#   tests/CpuClass/with_class.sh <avx2|avx512|avxvnni|native> <command> [arguments...]
#   e.g. tests/CpuClass/with_class.sh avx2 dotnet pwsh -NoProfile -File bench/cmdlet_throughput.ps1
#
# The shim is compiled with gcc into out/cpuid_mask/ when missing or older than its source.
# Exit status 77 without running the command: the class cannot be shown here (no CPUID faulting, no gcc, or the
# processor lacks the class's instructions); the reason goes to stderr. A missing gcc is an error (exit 1) with
# CXAS_REQUIRE_ORACLES=1, as every missing test tool is in CI.
set -u
class=${1:?usage: with_class.sh <avx2|avx512|avxvnni|native> command [arguments...]}
shift
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
skip() { echo "$*" >&2; exit 77; }

# The class's instructions, by the kernel's flag names: the shim only hides, it never adds.
flags=" $(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | cut -d: -f2-) "
has() { for f in "$@"; do [[ $flags == *" $f "* ]] || return 1; done; }
case $class in
    native) exec "$@" ;;
    avx2) has avx2 || skip "this processor has no AVX2" ;;
    avx512) has avx2 avx512f avx512dq avx512bw avx512vl || skip "this processor has no AVX-512 (F, DQ, BW, VL) to show" ;;
    avxvnni) has avx2 avx_vnni || skip "this processor has no AVX-VNNI to show" ;;
    *) echo "unknown class '$class' (avx2, avx512, avxvnni, native)" >&2; exit 2 ;;
esac
has cpuid_fault || skip "no CPUID faulting here (no cpuid_fault flag in /proc/cpuinfo: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'))"

shim=$repo/out/cpuid_mask/cpuid_mask.so
if [ ! -f "$shim" ] || [ "$here/cpuid_mask.c" -nt "$shim" ]; then
    if ! command -v gcc >/dev/null; then
        # gcc is installed by tests/setup.sh: in CI (CXAS_REQUIRE_ORACLES=1) its absence is an error, not a skip.
        [ "${CXAS_REQUIRE_ORACLES:-}" = 1 ] && { echo "no gcc to build the CPUID shim, and CXAS_REQUIRE_ORACLES=1 forbids skipping" >&2; exit 1; }
        skip "no gcc to build the CPUID shim (Debian: apt-get install gcc libc6-dev)"
    fi
    mkdir -p "$(dirname "$shim")"
    tmp=$(mktemp "$shim.XXXXXX")
    gcc -shared -fPIC -O2 -Wall -Wextra -Werror -o "$tmp" "$here/cpuid_mask.c" -ldl || { rm -f "$tmp"; exit 1; }
    mv -f "$tmp" "$shim"
fi
export CXAS_CPUID_CLASS=$class
export LD_PRELOAD=$shim${LD_PRELOAD:+:$LD_PRELOAD}
exec "$@"
