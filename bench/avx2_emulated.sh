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
# Where the processor has Linux CPUID faulting (the cpuid_fault flag), tests/cpu_classes.sh does the same without
# emulation, in about a minute per class, for AVX2, AVX-512 without VNNI and AVX-VNNI, and build.ps1 Test runs it.
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
    [ $rc -eq 0 ] || exit $rc
    break
done
grep -q "uncaught target signal" "$work/log" && { echo "the emulated test host crashed 5 times"; exit 1; }

# The cmdlets' warning for an int8 model with 8-bit weights on this CPU without VNNI (when the module is built in
# out/Cxas): a copy of the default model whose model.json says int8 without a scheme (as every int8 model made before
# the scheme was recorded) must warn; the same copy saying U8S7 must not.
pwsh_dll=$(ls ~/.nuget/packages/powershell/*/tools/net10.0/any/unix/pwsh.dll 2>/dev/null | tail -1)
if [ -f "$repo/out/Cxas/Cxas.psd1" ] && [ -n "$pwsh_dll" ]; then
    for scheme in none U8S7; do
        cp -r "$repo/models/cxas-anatomy-r18" "$work/m-$scheme"
        python3 - "$work/m-$scheme/model.json" "$scheme" <<'PY'
import json, sys
path, scheme = sys.argv[1], sys.argv[2]
m = json.load(open(path))
m["name"] = "emulated-" + scheme.lower(); m["precision"] = "int8"
if scheme != "none":
    m.setdefault("provenance", {})["precision.scheme"] = scheme
json.dump(m, open(path, "w"), indent=2)
PY
        for attempt in 1 2 3 4 5; do
            "$work/dotnet-haswell" "$pwsh_dll" -NoProfile -c "Import-Module '$repo/out/Cxas/Cxas.psd1'; \$w = @(); \$null = Invoke-CxasSegmentation -Path '$repo/samples/00000001_000.png' -Model '$work/m-$scheme' -WarningVariable w -WarningAction SilentlyContinue; 'warnings: ' + \$w.Count; \$w | ForEach-Object { 'WARNING: ' + \$_ }" > "$work/pwsh.log" 2>&1
            grep -q "uncaught target signal" "$work/pwsh.log" || break
        done
        count=$(grep -o "^warnings: [0-9]*" "$work/pwsh.log" | cut -d' ' -f2)
        grep "^WARNING" "$work/pwsh.log"
        if [ "$scheme" = none ] && [ "${count:-0}" != 1 ]; then echo "FAILED: no warning for 8-bit weights on AVX2"; cat "$work/pwsh.log"; exit 1; fi
        if [ "$scheme" = U8S7 ] && [ "${count:-1}" != 0 ]; then echo "FAILED: a warning for U8S7 weights"; cat "$work/pwsh.log"; exit 1; fi
        echo "warning check ($scheme): passed"
    done
fi
exit 0
