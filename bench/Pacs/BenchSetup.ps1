# Shared by the PACS benchmarks (Measure-Pacs.ps1, bench/Dimse/Measure-Dimse.ps1): dot-source it. Start-CxasPacsBench imports
# the built module and the Orthanc helpers and writes -Count copies of the shared real radiographs (new UIDs, same pixels
# and transfer syntaxes); Stop-CxasPacsBench stops the server and removes what the run wrote.
. (Join-Path $PSScriptRoot '../../tests/Pester/Orthanc.ps1')

function Start-CxasPacsBench([int] $Count, [string] $Model, [string] $Name) {
    $root = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    Import-Module (Join-Path $root 'out/Cxas/Cxas.psd1') -Force -Global
    $modelArgs = @{ Device = 'Cpu'; WarningAction = 'SilentlyContinue' }
    if ($Model) { $modelArgs.Model = $Model }
    $work = Join-Path ([IO.Path]::GetTempPath()) ("cxas-$Name-bench-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
    $files = Join-Path $work 'files'
    $shared = Join-Path $root '../shared/dicom/real'
    & /usr/bin/python3 (Join-Path $root 'bench/Pacs/make_instances.py') $shared $files $Count
    if ($LASTEXITCODE -ne 0) { throw 'could not write the benchmark instances' }
    [pscustomobject]@{
        Root = $root; Shared = $shared; ModelArgs = $modelArgs; Work = $work; Files = $files
        Paths = @(Get-ChildItem $files -Filter *.dcm | Sort-Object Name | ForEach-Object FullName)
    }
}

function Stop-CxasPacsBench($Bench, $Server) {
    Stop-CxasTestOrthanc $Server -Remove
    if ($Bench) { Remove-Item $Bench.Work -Recurse -Force -ErrorAction SilentlyContinue }
    Remove-Module Cxas -ErrorAction SilentlyContinue
}
