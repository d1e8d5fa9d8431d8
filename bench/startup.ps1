# Start-up cost, figure by figure, each measurement a fresh PowerShell process (as a scheduled job or a new shell
# starts). Per model and configuration, -Rounds of these, interleaved:
#   pwsh alone        "pwsh -c exit": the shell's own start, the floor no module can go below;
#   cold start        pwsh + Import-Module + Invoke-CxasSegmentation of one image with its PNG masks written;
#   breakdown         another process, timed inside: Import-Module; a first model session alone (ONNX Runtime's native
#                     load, graph optimisation or the cached graph, weight pre-packing); then Invoke-CxasSegmentation of one
#                     image (its own session, now warm, plus the first image: first-call JIT and ONNX Runtime's first-run
#                     allocations); again with one image; again with two: the difference is the steady cost of an image;
#   fixed cost        cold start - pwsh alone - one steady image: what every run pays before its images.
# Configurations: the optimised-graph cache off (CXAS_CACHE_PATH=off) and warm (a folder filled by an unmeasured run).
# Each figure is wall seconds / process CPU seconds; on a busy machine wall time stretches, CPU time much less.
#
#   dotnet pwsh -NoProfile -File bench/startup.ps1 [-Model <name or folder>]... [-Image <file>] [-Rounds 5] [-Module out/Cxas]
param(
    [string[]]$Model = @('cxas-anatomy-r18'),
    [string]$Image = (Join-Path $PSScriptRoot '../samples/00000001_000.png'),
    [int]$Rounds = 5,
    [string]$Module = (Join-Path $PSScriptRoot '../out/Cxas')
)
$ErrorActionPreference = 'Stop'
$Module = (Resolve-Path $Module).Path
$Image = (Resolve-Path $Image).Path
# The running shell's own command: pwsh itself, or dotnet with pwsh.dll (the repository's local tool).
$exe = [Environment]::ProcessPath
$prefix = @(if ([IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') { [Environment]::GetCommandLineArgs()[0] })

$temp = Join-Path ([IO.Path]::GetTempPath()) ('cxas-startup-' + [guid]::NewGuid().ToString('N').Substring(0, 8))
New-Item -ItemType Directory -Path (Join-Path $temp 'two') | Out-Null
Copy-Item -LiteralPath $Image (Join-Path $temp 'two/a.png'); Copy-Item -LiteralPath $Image (Join-Path $temp 'two/b.png')
$cold = Join-Path $temp 'cold.ps1'
@'
param($Module, $Model, $Image, $Out)
Import-Module (Join-Path $Module 'Cxas.psd1')
Invoke-CxasSegmentation -Path $Image -Model $Model -OutputPath $Out -OutputType png | Out-Null
Remove-Item -LiteralPath $Out -Recurse -Force
'@ | Set-Content -LiteralPath $cold
$breakdown = Join-Path $temp 'breakdown.ps1'
@'
param($Module, $Model, $Image, $Two, $Out)
$p = [Diagnostics.Process]::GetCurrentProcess()
$w = [Diagnostics.Stopwatch]::StartNew()
$cpu = $p.TotalProcessorTime.TotalSeconds
function Lap { $p.Refresh(); $c = $p.TotalProcessorTime.TotalSeconds; $r = '{0:F3} {1:F3}' -f $w.Elapsed.TotalSeconds, ($c - $script:cpu); $script:cpu = $c; $w.Restart(); $r }
Import-Module (Join-Path $Module 'Cxas.psd1')
$import = Lap
$m = [Cxas.Models.CxasModel]::Load((Get-CxasModel -Name $Model | Select-Object -First 1).Directory)
$s = [Cxas.Segmentation.Segmenter]::new($m, [Cxas.Models.DeviceSpec]::Cpu)
$session = Lap
$fromCache = $s.FromCache; $s = $null
Invoke-CxasSegmentation -Path $Image -Model $Model -OutputPath "$Out/1" -OutputType png | Out-Null
$first = Lap
Invoke-CxasSegmentation -Path $Image -Model $Model -OutputPath "$Out/2" -OutputType png | Out-Null
$again = Lap
Invoke-CxasSegmentation -Path $Two -Model $Model -OutputPath "$Out/3" -OutputType png | Out-Null
$two = Lap
Remove-Item -LiteralPath $Out -Recurse -Force
"$import|$session|$first|$again|$two|$fromCache|$([Cxas.Models.CpuClass]::Description)"
'@ | Set-Content -LiteralPath $breakdown

function Invoke-Timed([string[]]$arguments, [hashtable]$environment) {
    $saved = @{}
    foreach ($k in $environment.Keys) { $saved[$k] = [Environment]::GetEnvironmentVariable($k); [Environment]::SetEnvironmentVariable($k, $environment[$k]) }
    try {
        $w = [Diagnostics.Stopwatch]::StartNew()
        $output = & $exe @prefix -NoProfile @arguments
        [pscustomobject]@{ Seconds = $w.Elapsed.TotalSeconds; Output = ($output | Select-Object -Last 1) }
    }
    finally { foreach ($k in $saved.Keys) { [Environment]::SetEnvironmentVariable($k, $saved[$k]) } }
}
function Median($values) { $s = @($values | Sort-Object); $s[[int][Math]::Floor(($s.Count - 1) / 2)] }

# Under tests/CpuClass/with_class.sh the class printed is the one masked CPUID shows, on this processor's cores.
$masked = if ($env:CXAS_CPUID_CLASS -and $env:CXAS_CPUID_CLASS -ne 'native') { " (shown by masking CPUID: $env:CXAS_CPUID_CLASS)" } else { '' }
$load = if (Test-Path /proc/loadavg) { (Get-Content /proc/loadavg).Split(' ')[0..2] -join ' ' } else { 'n/a' }
$cache = Join-Path $temp 'cache'
$out = Join-Path $temp 'out'
try {
    $first = $true
    foreach ($name in $Model) {
        $coldArgs = @('-File', $cold, $Module, $name, $Image, $out)
        $breakArgs = @('-File', $breakdown, $Module, $name, $Image, (Join-Path $temp 'two'), $out)
        # One unmeasured run fills the cache folder for the "warm" configuration.
        $fill = Invoke-Timed $breakArgs @{ CXAS_CACHE_PATH = $cache }
        if ($first) {
            "start-up: $($fill.Output.Split('|')[6])$masked, $([Environment]::ProcessorCount) logical CPUs, load average $load; image $Image; $Rounds rounds"
            $first = $false
        }
        $rows = @{ pwsh = @(); 'cold off' = @(); 'cold warm' = @(); 'break off' = @(); 'break warm' = @() }
        for ($r = 0; $r -lt $Rounds; $r++) {
            $rows.pwsh += Invoke-Timed @('-c', 'exit') @{}
            foreach ($kind in 'off', 'warm') {
                $env = @{ CXAS_CACHE_PATH = $(if ($kind -eq 'off') { 'off' } else { $cache }) }
                $rows["cold $kind"] += Invoke-Timed $coldArgs $env
                $rows["break $kind"] += Invoke-Timed $breakArgs $env
            }
        }
        $bare = Median ($rows.pwsh | ForEach-Object Seconds)
        "model $name (medians of $Rounds; wall s / process CPU s):"
        '  {0,-11} {1,5:F2} s' -f 'pwsh alone', $bare
        foreach ($kind in 'off', 'warm') {
            $parts = @($rows["break $kind"] | ForEach-Object { , ($_.Output.Split('|')) })
            $fig = { param($i) , @((Median @($parts | ForEach-Object { [double]($_[$i].Split(' ')[0]) })), (Median @($parts | ForEach-Object { [double]($_[$i].Split(' ')[1]) }))) }
            $import = & $fig 0; $session = & $fig 1; $one = & $fig 2; $again = & $fig 3; $two = & $fig 4
            $steady = @(($two[0] - $again[0]), ($two[1] - $again[1]))
            $whole = Median ($rows["cold $kind"] | ForEach-Object Seconds)
            '  cache {0,-5} cold start {1:F2} s, fixed cost {2:F2} s above pwsh | import {3:F2}/{4:F2}, first session {5:F2}/{6:F2} (from cache: {7}), first call (session + first image) {8:F2}/{9:F2}, next call {10:F2}/{11:F2}, steady image {12:F2}/{13:F2}' -f `
                $kind, $whole, ($whole - $bare - $steady[0]), $import[0], $import[1], $session[0], $session[1], $parts[0][5], $one[0], $one[1], $again[0], $again[1], $steady[0], $steady[1]
        }
    }
}
finally {
    Remove-Item -LiteralPath $temp -Recurse -Force -ErrorAction SilentlyContinue
}
