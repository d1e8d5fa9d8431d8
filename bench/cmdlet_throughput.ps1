# Throughput of the cmdlet path itself: Get-ChildItem | Invoke-CxasSegmentation -OutputPath -OutputType png, as an
# admin runs it. In the cmdlets, mask export overlaps inference through the segmentation queue: while the pipeline
# thread writes one result's masks (and only then emits the result, which resuming a killed run relies on), the
# queue's tasks decode and infer the next two files. This prints images/s per round so that overlap is measured on
# the real path, beside bench/Cxas.Bench (which writes on a separate export worker).
#
#   dotnet pwsh -NoProfile -File bench/cmdlet_throughput.ps1 [-Path <folder of images>] [-Model <name or folder>]
#       [-Rounds 3] [-Module out/Cxas]
# Without -Path it uses (and if needed makes, through bench/Cxas.Bench) 24 synthetic 2048x2048 PNGs in the temp folder.
param(
    [string]$Path,
    [string]$Model = 'cxas-anatomy-r18',
    [int]$Rounds = 3,
    [string]$Module = (Join-Path $PSScriptRoot '../out/Cxas')
)
$ErrorActionPreference = 'Stop'
$repo = Split-Path $PSScriptRoot -Parent
if (-not $Path) {
    $Path = Join-Path ([IO.Path]::GetTempPath()) 'cxas-bench-2048-24'
    if (@(Get-ChildItem $Path -Filter *.png -ErrorAction SilentlyContinue).Count -lt 24) {
        # Cxas.Bench generates the images when its folder is missing; --no-write keeps that run short.
        & dotnet run -c Release --project (Join-Path $repo 'bench/Cxas.Bench') -- --count 24 --size 2048 --no-write | Out-Null
    }
}
Import-Module (Join-Path $Module 'Cxas.psd1')
$files = @(Get-ChildItem -LiteralPath $Path -File | Where-Object { -not $_.Name.StartsWith('.') })
$load = if (Test-Path /proc/loadavg) { (Get-Content /proc/loadavg).Split(' ')[0..2] -join ' ' } else { 'n/a' }
# Under tests/CpuClass/with_class.sh the class printed is the one masked CPUID shows, on this processor's cores.
$masked = if ($env:CXAS_CPUID_CLASS -and $env:CXAS_CPUID_CLASS -ne 'native') { " (shown by masking CPUID: $env:CXAS_CPUID_CLASS)" } else { '' }
"cmdlet throughput: $($files.Count) files in $Path, model $Model, $([Cxas.Models.CpuClass]::Description)$masked, $([Environment]::ProcessorCount) logical CPUs, load average $load"

function New-OutputFolder { Join-Path ([IO.Path]::GetTempPath()) ('cxas-cmdlet-bench-' + [guid]::NewGuid().ToString('N').Substring(0, 8)) }

# Warm-up outside the measurement: session creation and JIT, on one file.
$warm = New-OutputFolder
$files | Select-Object -First 1 | Invoke-CxasSegmentation -Model $Model -OutputPath $warm -OutputType png | Out-Null
Remove-Item -LiteralPath $warm -Recurse -Force

$rates = foreach ($round in 1..$Rounds) {
    $out = New-OutputFolder
    $peakBefore = [Diagnostics.Process]::GetCurrentProcess().PeakWorkingSet64
    $elapsed = Measure-Command { $results = @($files | Invoke-CxasSegmentation -Model $Model -OutputPath $out -OutputType png) }
    $masks = @(Get-ChildItem -LiteralPath $out -Recurse -File -Filter *.png).Count
    $peak = [Math]::Max($peakBefore, [Diagnostics.Process]::GetCurrentProcess().PeakWorkingSet64)
    Write-Host ('  round {0}: {1} results, {2} mask files in {3:F2} s -> {4:F2} images/s; process peak {5:F2} GB' -f `
        $round, $results.Count, $masks, $elapsed.TotalSeconds, ($results.Count / $elapsed.TotalSeconds), ($peak / 1GB))
    $results.Count / $elapsed.TotalSeconds
    Remove-Item -LiteralPath $out -Recurse -Force
}
$sorted = @($rates | Sort-Object)
'median {0:F2} images/s over {1} rounds (rounds {2})' -f $sorted[[int][Math]::Floor(($sorted.Count - 1) / 2)], $Rounds, (($rates | ForEach-Object { $_.ToString('F2') }) -join ', ')
