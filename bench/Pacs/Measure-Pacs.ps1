#Requires -Version 7.4
<#
.SYNOPSIS
    PACS benchmark: instances per second through a loopback Orthanc (Find-CxasDicomInstance | Invoke-CxasSegmentation,
    WADO-RS retrieval overlapped with inference) against the same files read from disk (Invoke-CxasSegmentation -LiteralPath).
.DESCRIPTION
    Writes -Count copies of the shared real radiographs (new UIDs, same pixels and transfer syntaxes), starts a private
    Orthanc (tests/Pester/Orthanc.ps1), stores them over STOW-RS, then times both paths -Repeat times, alternating, and prints
    the median of each and the PACS path's extra cost. Run after `build.ps1 Build`:
        dotnet pwsh bench/Pacs/Measure-Pacs.ps1 [-Count 40] [-Repeat 3] [-Model cxas-anatomy-r18] [-Store]
    -Store also times storing the SEGs (STOW-RS, with the existence check) of the PACS results.
#>
param(
    [int] $Count = 40,
    [int] $Repeat = 3,
    [string] $Model,
    [switch] $Store
)
$ErrorActionPreference = 'Stop'
. (Join-Path $PSScriptRoot 'BenchSetup.ps1')
$server = $null; $bench = $null
try {
    $bench = Start-CxasPacsBench -Count $Count -Model $Model -Name pacs
    $shared = $bench.Shared; $modelArgs = $bench.ModelArgs; $files = $bench.Files; $paths = $bench.Paths
    $server = Start-CxasTestOrthanc
    $auth = @{ Credential = $server.Credential; AllowUnencryptedAuthentication = $true }
    for ($i = 0; $i -lt $paths.Count; $i += 10) { Send-CxasStow $server @($paths | Select-Object -Skip $i -First 10) | Out-Null }
    $bytes = (Get-ChildItem $files | Measure-Object Length -Sum).Sum

    # Warm up: model session, JIT, HTTP connections.
    Invoke-CxasSegmentation -LiteralPath $paths[0..1] @modelArgs | Out-Null
    Find-CxasDicomInstance -Uri $server.Uri @auth -Limit 2 | Invoke-CxasSegmentation @modelArgs | Out-Null

    $disk = @(); $pacs = @(); $stow = @(); $diskDecode = @(); $pacsDecode = @(); $diskInfer = @(); $pacsInfer = @()
    for ($r = 0; $r -lt $Repeat; $r++) {
        $t = [Diagnostics.Stopwatch]::StartNew()
        $fromDisk = @(Invoke-CxasSegmentation -LiteralPath $paths @modelArgs)
        $disk += $t.Elapsed.TotalSeconds
        $n = $fromDisk.Count
        $diskDecode += ($fromDisk | Measure-Object DecodeMs -Average).Average
        $diskInfer += ($fromDisk | Measure-Object InferenceMs -Average).Average
        if ($n -ne $paths.Count) { throw "disk run segmented $n of $($paths.Count)" }

        $t = [Diagnostics.Stopwatch]::StartNew()
        $results = @(Find-CxasDicomInstance -Uri $server.Uri @auth | Invoke-CxasSegmentation @modelArgs)
        $pacs += $t.Elapsed.TotalSeconds
        $pacsDecode += ($results | Measure-Object DecodeMs -Average).Average
        $pacsInfer += ($results | Measure-Object InferenceMs -Average).Average
        if ($results.Count -ne $paths.Count) { throw "PACS run segmented $($results.Count) of $($paths.Count)" }
        if ($Store) {
            $t = [Diagnostics.Stopwatch]::StartNew()
            $results | Export-CxasMask -DicomWebUri $server.Uri @auth -Force | Out-Null
            $stow += $t.Elapsed.TotalSeconds
        }
    }
    $median = { param($v) $s = @($v | Sort-Object); $s[[int][math]::Floor(($s.Count - 1) / 2)] }
    $d = & $median $disk; $p = & $median $pacs
    "{0} instances ({1:N1} MB: {2}), model {3}, {6}, {4} CPU cores, median of {5} runs" -f $paths.Count, ($bytes / 1MB),
        ((Get-ChildItem $shared -Filter *.dcm | Where-Object { $_.Name -notlike '*_mono1.dcm' } | ForEach-Object Name) -join ', '),
        $(if ($Model) { $Model } else { 'default' }), [Environment]::ProcessorCount, $Repeat, [Cxas.Models.CpuClass]::Description
    "from disk : {0,6:N2} s  {1,6:N2} instances/s" -f $d, ($paths.Count / $d)
    "from PACS : {0,6:N2} s  {1,6:N2} instances/s  (QIDO + WADO-RS, retrieval overlapped with inference)" -f $p, ($paths.Count / $p)
    $dMin = ($disk | Measure-Object -Minimum).Minimum; $pMin = ($pacs | Measure-Object -Minimum).Minimum
    "PACS extra: {0:+0.0;-0.0} % (median); {1:+0.0;-0.0} % (best run of each: {2:N2} s vs {3:N2} s)" -f (100 * ($p - $d) / $d), (100 * ($pMin - $dMin) / $dMin), $pMin, $dMin
    "per instance (median): disk decode {0:N0} ms, inference {1:N0} ms; PACS retrieve + decode {2:N0} ms, inference {3:N0} ms (decode overlaps inference)" -f `
        (& $median $diskDecode), (& $median $diskInfer), (& $median $pacsDecode), (& $median $pacsInfer)
    if (Test-Path /proc/loadavg) { 'load average: ' + (((Get-Content /proc/loadavg) -split ' ')[0..2] -join ' ') }
    if ($Store) { "STOW-RS   : {0,6:N2} s  {1,6:N2} SEGs/s (existence check + store, -Force)" -f (& $median $stow), ($paths.Count / (& $median $stow)) }
    "runs (s)  : disk {0}; PACS {1}" -f (($disk | ForEach-Object { $_.ToString('N2') }) -join ' '), (($pacs | ForEach-Object { $_.ToString('N2') }) -join ' ')
}
finally { Stop-CxasPacsBench $bench $server }
