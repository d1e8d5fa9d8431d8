# The Windows leg (build.ps1 Test runs it in WinHost.exe under Wine): installs Cxas as an admin does, from a local
# repository into the Wine user's module path, runs the main job on Windows paths (Z:\ is the Linux root, C:\ the Wine
# prefix's drive), then the Pester files that can run here. Exit code: 0 when everything passed.
param(
    [Parameter(Mandatory)] [string] $Repository,     # out\package\repo (Z:\...)
    [Parameter(Mandatory)] [string] $PSResourceGet,  # the PSResourceGet module of the pwsh tool's Windows build
    [Parameter(Mandatory)] [string] $Pester,         # Pester.psd1
    [Parameter(Mandatory)] [string] $OutputPath      # where the main job's masks go (C:\...)
)
$ErrorActionPreference = 'Stop'
$root = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path

# 1. Install: the SDK host ships no modules of its own beyond PowerShell's; PSResourceGet comes from the pwsh tool.
Import-Module $PSResourceGet
Register-PSResourceRepository -Name cxas-leg -Uri $Repository -Trusted
Install-PSResource Cxas -Repository cxas-leg -Scope CurrentUser -Quiet
Import-Module Cxas
$module = Get-Module Cxas
$userModules = Join-Path ([Environment]::GetFolderPath('MyDocuments')) 'PowerShell\Modules'
if (-not $module.ModuleBase.StartsWith($userModules, [StringComparison]::OrdinalIgnoreCase)) {
    throw "Cxas was imported from '$($module.ModuleBase)', not from the user's module path '$userModules'."
}
"Installed Cxas $($module.Version) in $($module.ModuleBase)"

# 2. The main job on Windows paths.
$results = @(Invoke-CxasSegmentation (Join-Path $root 'samples') -OutputPath $OutputPath -Device Cpu -Verbose 4>&1 |
    ForEach-Object { if ($_ -is [System.Management.Automation.VerboseRecord]) { if ($_.Message -like '*ONNX Runtime from*') { $_.Message } } else { $_ } })
$results | Where-Object { $_ -is [string] }
$segmented = @($results | Where-Object { $_ -isnot [string] })
if ($segmented.Count -ne 2) { throw "The main job gave $($segmented.Count) results, not 2." }
$segmented | Get-CxasFeature -Feature CTR | Format-Table -AutoSize

# 3. Pester: the files that run under Wine, against the installed module; the test models come from the repository.
# Every other file is named here with the reason it cannot run.
$skipped = [ordered]@{
    'Binding.Tests.ps1'   = 'its job and remote-session cells start pwsh.exe and an SSH server; the SDK host has neither'
    'Cxas.Tests.ps1'      = 'its oracles are Linux programs (/usr/bin/python3, chmod) run from the test'
    'Fleet.Tests.ps1'     = 'PowerShell remoting over SSH to a Linux sshd'
    'Install.Tests.ps1'   = 'its loopback model server is /usr/bin/python3'
    'Isolation.Tests.ps1' = 'it starts fresh pwsh processes; the SDK host has no pwsh.exe'
    'Package.Tests.ps1'   = 'this leg is the Windows package test (steps 1 and 2 above)'
    'Pacs.Tests.ps1'      = 'Orthanc and its pydicom oracles are Linux programs'
    'Precision.Tests.ps1' = 'its agreement oracle is /usr/bin/python3 with PyTorch'
    'Trust.Tests.ps1'     = 'its oracles are /usr/bin/python3'
    'Overlap.Tests.ps1'   = 'it races two pwsh processes and makes FIFOs and POSIX links (mkfifo, ln); the SDK host has no pwsh.exe'
    'HostilePeers.Tests.ps1' = 'its misbehaving servers are /usr/bin/python3, and it kills an install process with SIGTERM'
    'Dimse.Tests.ps1'     = 'dcmtk, Orthanc''s DICOM port and the pydicom oracle are Linux programs'
    'Runspaces.Tests.ps1' = 'its loopback DICOMweb servers are /usr/bin/python3'
}
# Single tests left out of the files that run, by tag.
$skippedTags = [ordered]@{
    'PwshProcess' = 'Help.Tests.ps1 "links every cmdlet and the manifest to the documentation..." (runs the build''s help generator in a pwsh process) and Features.Tests.ps1 "sends statuses across a job..." (Start-Job): the SDK host has no pwsh.exe'
}
$files = Get-ChildItem (Join-Path $root 'tests\Pester') -Filter *.Tests.ps1 | Where-Object Name -notin $skipped.Keys
foreach ($name in $skipped.Keys) { "Skipped under Wine: $name ($($skipped[$name]))" }
foreach ($tag in $skippedTags.Keys) { "Skipped under Wine: $($skippedTags[$tag])" }
Import-Module $Pester -RequiredVersion 6.2.0
$env:CXAS_MODULE = $module.ModuleBase
$env:CXAS_MODEL_PATH = Join-Path $root 'models'
$config = New-PesterConfiguration
$config.Run.Path = @($files.FullName)
$config.Run.PassThru = $true
$config.Filter.ExcludeTag = @($skippedTags.Keys)
$config.Output.Verbosity = 'Detailed'
$run = Invoke-Pester -Configuration $config
"Windows leg: $($run.PassedCount) passed, $($run.FailedCount) failed, $($run.SkippedCount) skipped, in $([int] $run.Duration.TotalSeconds) s"
if ($run.FailedCount -gt 0 -or $run.Result -ne 'Passed') { exit 1 }
