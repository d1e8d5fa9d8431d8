#!/bin/bash
# The precision tests (tests/Cxas.Core.Tests/Precision: int8 and fp16 agreement with the float model, the int8
# kernels' integer arithmetic, the CPU class) again under each x64 instruction class this machine can show besides its
# own: AVX2 (no AVX-512, no VNNI), AVX-512 without VNNI, AVX-VNNI without AVX-512. The test host runs under
# tests/CpuClass/with_class.sh (CPUID faulting), so .NET and ONNX Runtime's MLAS pick that class's kernels on this
# processor. build.ps1 Test runs this after the main xunit run, which covers the machine's own class.
#
#   tests/cpu_classes.sh [Release|Debug] [class...]      (classes: avx2 avx512 avxvnni; default all three)
#
# Per class it prints the class the tests read and their agreement figures. It fails when a test fails, or when the
# tests read another class than the one shown (the shim not in effect). A class this machine cannot show is reported
# as skipped with the reason; exit status 77 when none could be shown (build.ps1 then warns that the leg was skipped).
set -u
config=${1:-Release}
shift $(( $# > 0 ? 1 : 0 ))
classes=("$@")
[ ${#classes[@]} -gt 0 ] || classes=(avx2 avx512 avxvnni)
repo=$(cd "$(dirname "$0")/.." && pwd)
dotnet=$(readlink -f "$(command -v dotnet)")
# ThisMachinesClassMatchesTheKernelsFlags compares the class with /proc/cpuinfo, which the shim does not change; the
# class line checked below stands for it.
filter='FullyQualifiedName~Cxas.Core.Tests.Precision&FullyQualifiedName!~ThisMachinesClassMatchesTheKernelsFlags'
declare -A expected=([avx2]='AVX2' [avx512]='AVX-512' [avxvnni]='AVX-VNNI')

# This machine's own class, by the kernel's flag names (as Cxas.Models.CpuClass.ClassifyFlags reads them).
flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2-) "
has() { for f in "$@"; do [[ $flags == *" $f "* ]] || return 1; done; }
own=avx2
if has avx512f avx512dq avx512bw avx512vl; then has avx512_vnni && own=avx512vnni || own=avx512
elif has avx_vnni; then own=avxvnni; fi
echo "CPU-class leg: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), own class $own"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dotnet build "$repo/tests/Cxas.Core.Tests" -c "$config" -v q -nologo > "$work/build" 2>&1 || { cat "$work/build"; exit 1; }
ran=0 failed=0
for class in "${classes[@]}"; do
    [ -n "${expected[$class]:-}" ] || { echo "unknown class '$class' (avx2, avx512, avxvnni)"; exit 2; }
    if [ "$class" = "$own" ]; then
        echo "== $class: this machine's own class, covered by the main xunit run"
        continue
    fi
    "$repo/tests/CpuClass/with_class.sh" "$class" true 2> "$work/why" >/dev/null
    rc=$?
    if [ $rc -eq 77 ]; then echo "== $class: SKIPPED: $(cat "$work/why")"; continue; fi
    [ $rc -eq 0 ] || { echo "== $class: the CPUID shim failed: $(cat "$work/why")"; exit 1; }
    # vstest starts the test host through the program named by DotNetHostPath: dotnet under the shim.
    printf '#!/bin/bash\nexec "%s" %s "%s" "$@"\n' "$repo/tests/CpuClass/with_class.sh" "$class" "$dotnet" > "$work/dotnet-$class"
    chmod +x "$work/dotnet-$class"
    dotnet test "$repo/tests/Cxas.Core.Tests" -c "$config" --no-build -nologo --filter "$filter" \
        --logger "console;verbosity=detailed" -- RunConfiguration.DotNetHostPath="$work/dotnet-$class" > "$work/log" 2>&1
    rc=$?
    ran=$((ran + 1))
    echo "== $class (shown by masking CPUID):"
    # The class line, the agreement figures and each failure with its message (the line after "Error Message:").
    grep -vE '^\[xUnit' "$work/log" | awk '/Error Message:/ { getline; print "   error: " $0; next }
        /^ CPU: |of range|pixel agreement|pair sum|^ +Failed |^ +(Total tests|Passed|Failed|Skipped):/ { sub(/^ +/, "   "); print }'
    if ! grep -qE "^ CPU: .* \(${expected[$class]}\)\$" "$work/log"; then
        echo "   FAILED: the tests did not read class ${expected[$class]} (the shim not in effect?)"
        failed=1
    fi
    [ $rc -eq 0 ] || { echo "   FAILED: dotnet test exited with $rc"; failed=1; }
done
[ $failed -eq 0 ] || exit 1
[ $ran -gt 0 ] || { echo "CPU-class leg: no class could be shown on this machine"; exit 77; }
exit 0
