#!/bin/bash
# Runs one benchmark command under several x64 instruction classes, interleaved: round 1 under each class in turn,
# then round 2 with the order rotated, and so on, so that a machine whose load changes treats the classes alike.
# A class other than native is shown by masking CPUID (tests/CpuClass/with_class.sh): its figures are that class's
# kernels (ONNX Runtime's MLAS, .NET's vector paths) on this processor's cores, not a processor of that generation.
#
#   bench/by_class.sh "native avx2" <rounds> <command> [arguments...]
#   e.g. bench/by_class.sh "native avx2" 3 dotnet pwsh -NoProfile -File bench/cmdlet_throughput.ps1 -Rounds 1
#
# Each run's output is printed after a line naming its round, class and the load average before it.
set -u
classes=($1)
rounds=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
with_class=$here/../tests/CpuClass/with_class.sh
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')
echo "by class: ${classes[*]}, $rounds interleaved rounds, on $cpu ($(nproc) logical CPUs)"
for class in "${classes[@]}"; do
    "$with_class" "$class" true || { echo "class $class cannot be shown here"; exit 77; }
done
status=0
for ((round = 0; round < rounds; round++)); do
    n=${#classes[@]}
    for ((i = 0; i < n; i++)); do
        class=${classes[$(((i + round) % n))]}
        echo "== round $((round + 1)), class $class (load average before: $(cut -d' ' -f1-3 /proc/loadavg))"
        "$with_class" "$class" "$@" || status=$?
    done
done
exit $status
