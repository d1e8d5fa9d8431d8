#!/bin/bash
# Runs xunit tests on an emulated AVX2-only CPU (no AVX-512, no VNNI), where ONNX Runtime's MLAS picks its AVX2 integer
# kernels (vpmaddubsw: two uint8 x int8 products added into a saturating 16-bit sum). QEMU user mode with
# -cpu Haswell hides AVX-512 and VNNI from CPUID (QEMU 7.2's TCG runs AVX2); vstest starts the test host through the
# wrapper named by RunConfiguration.DotNetHostPath, so only the test host is emulated. The tests print the CPU class
# they ran on ("Intel Core Processor (Haswell) (AVX2)").
#
#   bench/avx2_emulated.sh [test filter]     (needs qemu-user: apt-get install qemu-user)
#
# The default filter runs the width-reduced reference network and the tiny hand-checked networks (under a minute here).
# The whole precision class takes about 17 minutes emulated (each default-model conversion about 15), too long for CI,
# so tests/setup.sh does not install QEMU and CI does not run this.
#
# .NET under QEMU's emulation now and then dies with SIGSEGV while the test host starts (between one run in four and one in two here,
# mostly before any test runs); such a run is retried, up to 5 times. W^X is off for the emulated runtime (it double-maps
# JIT code, which QEMU user mode handles badly).
set -u
filter=${1:-FullyQualifiedName~PrecisionTests.ReducedReferenceNetworkInt8AgreesWithFloat|FullyQualifiedName~PrecisionTests.Tiny}
repo=$(cd "$(dirname "$0")/.." && pwd)
qemu=$(command -v qemu-x86_64) || { echo "qemu-x86_64 not found: apt-get install qemu-user"; exit 2; }
dotnet=$(readlink -f "$(command -v dotnet)")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/dotnet-haswell" <<WRAP
#!/bin/bash
export DOTNET_EnableWriteXorExecute=0
exec "$qemu" -cpu Haswell "$dotnet" "\$@"
WRAP
chmod +x "$work/dotnet-haswell"
echo "host CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'); emulated: qemu-x86_64 -cpu Haswell ($($qemu --version | head -1))"
dotnet build "$repo/tests/Cxas.Core.Tests" -c Release -v q -nologo | grep -E "error|Warn" || true
for attempt in 1 2 3 4 5; do
    dotnet test "$repo/tests/Cxas.Core.Tests" -c Release --no-build --filter "$filter" --logger "console;verbosity=detailed" \
        -- RunConfiguration.DotNetHostPath="$work/dotnet-haswell" > "$work/log" 2>&1
    rc=$?
    if grep -q "uncaught target signal" "$work/log"; then
        echo "attempt $attempt: the emulated test host crashed; retrying"
        continue
    fi
    grep -vE "TCG doesn't support" "$work/log" | grep -E "^\s+(Passed|Failed) |^ CPU|^ [0-9]+x[0-9]+|Total tests|Passed:|Failed:|Error Message" -A0
    exit $rc
done
echo "the emulated test host crashed 5 times"; exit 1
