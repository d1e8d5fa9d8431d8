<#
.SYNOPSIS
    Fan-out benchmark: the same images segmented locally and through 1, 2 and 3 PowerShell remoting sessions (SSH to a
    test sshd on this machine, as tests/Pester/Fleet.Tests.ps1 starts it), printing seconds, images/s and the per-file
    overhead of the remote path. On one machine the cores bound the speed-up: read the overhead, not the scaling.
.EXAMPLE
    dotnet pwsh bench/Fleet/Measure-Fleet.ps1 -Count 24
#>
param([int] $Count = 24, [string] $Model = '')
$ErrorActionPreference = 'Stop'
$root = Resolve-Path (Join-Path $PSScriptRoot '../..')
. (Join-Path $root 'tests/Pester/SshServer.ps1')
$moduleDir = Join-Path $root 'out/Cxas'
Import-Module (Join-Path $moduleDir 'Cxas.psd1')
$work = Join-Path ([IO.Path]::GetTempPath()) ('cxas-fleet-bench-' + [guid]::NewGuid().ToString('N').Substring(0, 6))
$in = Join-Path $work 'in'
New-Item -ItemType Directory $in | Out-Null
$samples = @(Get-ChildItem (Join-Path $root 'samples') -Filter *.png)
for ($i = 0; $i -lt $Count; $i++) { Copy-Item $samples[$i % $samples.Count].FullName (Join-Path $in ('img{0:d3}.png' -f $i)) }
$extra = @{}; if ($Model) { $extra.Model = $Model }
$ssh = Start-CxasSshServer @{ PSModulePath = (Split-Path $moduleDir) }
try {
    $sessions = @(1..3 | ForEach-Object { New-CxasTestSession $ssh })
    # Warm-up: the model loads once per process, here and on each node.
    Invoke-CxasSegmentation $samples[0].FullName -Device Cpu @extra | Out-Null
    Invoke-Command $sessions { Import-Module Cxas; Invoke-CxasSegmentation $using:samples[0].FullName -Device Cpu | Out-Null }
    $rows = foreach ($n in 0..3) {
        $out = Join-Path $work "out$n"
        $watch = [Diagnostics.Stopwatch]::StartNew()
        if ($n -eq 0) { $r = @(Invoke-CxasSegmentation $in -OutputPath $out -OutputType png -Device Cpu @extra) }
        else { $r = @(Invoke-CxasSegmentation $in -Session $sessions[0..($n - 1)] -OutputPath $out -OutputType png -Device Cpu @extra) }
        $s = $watch.Elapsed.TotalSeconds
        [pscustomobject] @{ Path = $(if ($n -eq 0) { 'local' } else { "$n session(s)" }); Images = $r.Count; Seconds = [Math]::Round($s, 2); ImagesPerSecond = [Math]::Round($r.Count / $s, 2) }
    }
    "CPU: $([Cxas.Models.CpuClass]::Description), $([Environment]::ProcessorCount) logical CPUs (the sessions run on this machine too)"
    $rows | Format-Table -AutoSize
    $overhead = ($rows[1].Seconds - $rows[0].Seconds) / $Count * 1000
    "Per-file overhead of one remote session against the local run: {0:F0} ms ({1:F1} %)" -f $overhead, (100 * ($rows[1].Seconds / $rows[0].Seconds - 1))
    $sessions | Remove-PSSession
}
finally {
    Stop-CxasSshServer $ssh
    Remove-Item $work -Recurse -Force -ErrorAction SilentlyContinue
}
