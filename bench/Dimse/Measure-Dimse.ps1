#Requires -Version 7.4
<#
.SYNOPSIS
    DIMSE benchmark beside the DICOMweb path, on one loopback Orthanc (DICOM port and DICOMweb): instances per second
    found and segmented (C-FIND + C-GET against QIDO + WADO-RS), SEGs stored (C-STORE against STOW-RS, both with their
    existence check, -Force), and as a node: received from storescu (Receive-CxasDicomInstance), and received, segmented
    and stored back (Receive-CxasDicomInstance | Invoke-CxasSegmentation | Export-CxasMask -ComputerName).
.DESCRIPTION
    Writes -Count copies of the shared real radiographs (new UIDs; bench/Pacs/make_instances.py), stores them in a private
    Orthanc (tests/Pester/Orthanc.ps1), then runs each path -Repeat times, alternating, and prints medians. Run after
    `build.ps1 Build`:
        dotnet pwsh bench/Dimse/Measure-Dimse.ps1 [-Count 20] [-Repeat 3] [-Model m]
#>
param(
    [int] $Count = 20,
    [int] $Repeat = 3,
    [string] $Model
)
$ErrorActionPreference = 'Stop'
. (Join-Path $PSScriptRoot '../Pacs/BenchSetup.ps1')
$server = $null; $bench = $null
try {
    $bench = Start-CxasPacsBench -Count $Count -Model $Model -Name dimse
    $modelArgs = $bench.ModelArgs; $work = $bench.Work; $files = $bench.Files; $paths = $bench.Paths
    $dicomPort = Get-CxasFreePort; $receivePort = Get-CxasFreePort
    $server = Start-CxasTestOrthanc -Extra @{ DicomServerEnabled = $true; DicomPort = $dicomPort; DicomAet = 'ORTHANC'; DicomModalities = @{ cxas = @('CXAS', '127.0.0.1', $receivePort) } }
    $auth = @{ Credential = $server.Credential; AllowUnencryptedAuthentication = $true }
    $node = @{ ComputerName = '127.0.0.1'; Port = $dicomPort; CalledAETitle = 'ORTHANC' }
    for ($i = 0; $i -lt $paths.Count; $i += 10) { Send-CxasStow $server @($paths | Select-Object -Skip $i -First 10) | Out-Null }

    # Warm up: model session, JIT, connections.
    Find-CxasDicomInstance -Uri $server.Uri @auth -Limit 2 | Invoke-CxasSegmentation @modelArgs | Out-Null
    Find-CxasDicomInstance @node -Limit 2 | Invoke-CxasSegmentation @modelArgs | Out-Null

    # storescu sends every file to the listener as soon as it answers C-ECHO (bounded wait).
    function Start-Sender {
        $script = "for i in `$(seq 300); do echoscu -aet MOD -aec CXAS 127.0.0.1 $receivePort && break; sleep 0.05; done; storescu -xy -aet MOD -aec CXAS 127.0.0.1 $receivePort " + (($paths | ForEach-Object { "'$_'" }) -join ' ')
        $file = Join-Path $work 'send.sh'
        Set-Content $file $script
        Start-Process bash -ArgumentList $file -PassThru -RedirectStandardOutput (Join-Path $work 'send.out') -RedirectStandardError (Join-Path $work 'send.err')
    }
    function Measure-Run([scriptblock] $Block) { $t = [Diagnostics.Stopwatch]::StartNew(); $n = @(& $Block).Count; [pscustomobject]@{ Seconds = $t.Elapsed.TotalSeconds; Count = $n } }

    $runs = @{}
    foreach ($k in 'web-find', 'dimse-find', 'web-store', 'dimse-store', 'receive', 'node') { $runs[$k] = @() }
    for ($r = 0; $r -lt $Repeat; $r++) {
        $webResults = @(); $dimseResults = @()
        $runs['web-find'] += Measure-Run { $script:webResults = @(Find-CxasDicomInstance -Uri $server.Uri @auth | Invoke-CxasSegmentation @modelArgs); $webResults }
        $runs['dimse-find'] += Measure-Run { $script:dimseResults = @(Find-CxasDicomInstance @node | Invoke-CxasSegmentation @modelArgs); $dimseResults }
        $runs['web-store'] += Measure-Run { $webResults | Export-CxasMask -DicomWebUri $server.Uri @auth -Force }
        $runs['dimse-store'] += Measure-Run { $dimseResults | Export-CxasMask -Format dicom-seg @node -Force }
        $sender = Start-Sender
        $runs['receive'] += Measure-Run { Receive-CxasDicomInstance -ListenAddress 127.0.0.1 -Port $receivePort -SpoolPath (Join-Path $work "spool-r$r") -Count $paths.Count -Timeout 600 }
        $sender.WaitForExit(60000) | Out-Null
        $sender = Start-Sender
        $runs['node'] += Measure-Run {
            Receive-CxasDicomInstance -ListenAddress 127.0.0.1 -Port $receivePort -SpoolPath (Join-Path $work "spool-n$r") -Count $paths.Count -Timeout 600 |
                Invoke-CxasSegmentation @modelArgs | Export-CxasMask -Format dicom-seg @node -Force
        }
        $sender.WaitForExit(60000) | Out-Null
    }
    $median = { param($v) $s = @($v | Sort-Object); $s[[int][math]::Floor(($s.Count - 1) / 2)] }
    "{0} instances ({1:N1} MB), model {2}, {3} CPU cores, median of {4} runs" -f $paths.Count, ((Get-ChildItem $files | Measure-Object Length -Sum).Sum / 1MB),
        $(if ($Model) { $Model } else { 'default' }), [Environment]::ProcessorCount, $Repeat
    $labels = [ordered]@{
        'web-find' = 'DICOMweb find + segment (QIDO, WADO-RS)'; 'dimse-find' = 'DIMSE find + segment (C-FIND, C-GET)'
        'web-store' = 'DICOMweb store SEGs (QIDO + STOW-RS)'; 'dimse-store' = 'DIMSE store SEGs (C-FIND + C-STORE)'
        'receive' = 'DIMSE receive (storescu -> Receive-CxasDicomInstance)'; 'node' = 'DIMSE node: receive + segment + store back'
    }
    foreach ($k in $labels.Keys) {
        $m = & $median ($runs[$k] | ForEach-Object Seconds)
        $counts = ($runs[$k] | ForEach-Object Count | Sort-Object -Unique) -join '/'
        "{0,-56} {1,7:N2} s  {2,7:N2} instances/s  (outputs per run: {3}; runs {4})" -f $labels[$k], $m, ($paths.Count / $m), $counts, (($runs[$k] | ForEach-Object { $_.Seconds.ToString('N2') }) -join ' ')
    }
    if (Test-Path /proc/loadavg) { 'load average: ' + (((Get-Content /proc/loadavg) -split ' ')[0..2] -join ' ') }
}
finally { Stop-CxasPacsBench $bench $server }
