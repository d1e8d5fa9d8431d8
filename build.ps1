<#
.SYNOPSIS
    Builds, tests and demonstrates the Cxas module.
.DESCRIPTION
    Build  : compiles Cxas.Core and Cxas.PowerShell and lays out an importable module in out/Cxas
             (assemblies, manifest, format/type files, models/, ONNX Runtime native libraries for this OS).
    Test   : Build, then the xunit tests (Cxas.Core), the precision tests again under each x64 class this machine can
             show by masking CPUID (AVX2, AVX-512 without VNNI, AVX-VNNI; tests/cpu_classes.sh), the Pester tests
             (cmdlets, against out/Cxas), the Windows leg (the package installed and tested by a win-x64 PowerShell
             under Wine, see tests/WinHost) and the Desktop leg (Cxas.Core's tests built for .NET Framework 4.8 and run
             under Mono, see tests/Desktop).
    WindowsLeg, DesktopLeg: one leg on its own (WindowsLeg builds and packages first).
    Demo   : Build, then segments -Path (an image or a folder; default: the two shipped samples/) with the default model,
             writing PNG masks, CTR overlays and an HTML report to out/demo.
    Bench  : Build, then runs bench/Cxas.Bench over -Path (default: a generated folder) and prints its figures.
    Package: Build, then PowerShell Gallery-ready packages in out/package/repo: Cxas (every platform: CPU inference,
             the default model) and its companions Cxas.Cuda.Linux and Cxas.Cuda.Windows (ONNX Runtime's CUDA provider).
    Clean  : removes out/ and the bin/obj folders.
.EXAMPLE
    dotnet pwsh ./build.ps1 Test
.EXAMPLE
    dotnet pwsh ./build.ps1 Demo
.EXAMPLE
    dotnet pwsh ./build.ps1 Demo -Path ./xrays
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0)]
    [ValidateSet('Build', 'Test', 'WindowsLeg', 'DesktopLeg', 'Demo', 'Bench', 'Package', 'Clean')]
    [string[]] $Task = 'Build',
    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release',
    # Image or folder for Demo and Bench.
    [string] $Path,
    # Output folder for Demo.
    [string] $OutputPath,
    # Where the project's documentation is published (no public URL exists yet): becomes the manifest's HelpInfoURI and
    # ProjectUri and each cmdlet's online help link (Get-Help -Online), <uri>#<cmdlet-name>.
    [string] $DocumentationUri = $env:CXAS_DOCUMENTATION_URI
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3
$root = $PSScriptRoot
$moduleOut = Join-Path $root 'out/Cxas'

function Invoke-Native([string] $File, [string[]] $Arguments) {
    Write-Host "> $File $($Arguments -join ' ')" -ForegroundColor DarkGray
    & $File @Arguments
    if ($LASTEXITCODE -ne 0) { throw "$File exited with code $LASTEXITCODE" }
}

function Get-NuGetRoot {
    $line = (& dotnet nuget locals global-packages --list) | Select-Object -First 1
    return ($line -replace '^global-packages:\s*', '').Trim()
}

function Get-NativeFolder {
    $packages = Get-NuGetRoot
    $arch = [System.Runtime.InteropServices.RuntimeInformation]::OSArchitecture
    if ($IsWindows -or $PSVersionTable.PSEdition -eq 'Desktop') {
        return Join-Path $packages 'microsoft.ml.onnxruntime.gpu.windows/1.31.0/runtimes/win-x64/native'
    }
    if ($IsLinux -and $arch -eq 'X64') {
        return Join-Path $packages 'microsoft.ml.onnxruntime.gpu.linux/1.31.0/runtimes/linux-x64/native'
    }
    throw "No ONNX Runtime GPU native build for $([System.Runtime.InteropServices.RuntimeInformation]::OSDescription) $arch."
}

function Invoke-Build {
    Invoke-Native dotnet @('build', (Join-Path $root 'Cxas.PowerShell/Cxas.PowerShell.csproj'), '-c', $Configuration, '-nologo', '-v', 'q')
    Invoke-Native dotnet @('build', (Join-Path $root 'Cxas.PowerShell/LoadContext/Cxas.LoadContext.csproj'), '-c', $Configuration, '-nologo', '-v', 'q')
    $bin = Join-Path $root "Cxas.PowerShell/bin/$Configuration/netstandard2.0"
    if (Test-Path $moduleOut) { Remove-Item $moduleOut -Recurse -Force }
    # The module folder: the cmdlets, the load-context resolver, manifest, views, models (and help, below). Everything
    # Cxas.Core needs goes to lib/, where no host looks by itself (see Cxas.PowerShell/ModuleBootstrap.cs).
    $lib = Join-Path $moduleOut 'lib'
    New-Item -ItemType Directory -Path $moduleOut, $lib | Out-Null
    Copy-Item (Join-Path $bin 'Cxas.PowerShell.dll') $moduleOut
    Copy-Item (Join-Path $root "Cxas.PowerShell/LoadContext/bin/$Configuration/net8.0/Cxas.LoadContext.dll") $moduleOut
    Get-ChildItem $bin -Filter *.dll | Where-Object Name -notin 'System.Management.Automation.dll', 'Cxas.PowerShell.dll' |
        Copy-Item -Destination $lib
    Copy-Item (Join-Path $bin 'Cxas.Core.xml') $lib -ErrorAction SilentlyContinue
    foreach ($file in 'Cxas.psd1', 'Cxas.Format.ps1xml', 'Cxas.Types.ps1xml', 'LICENSE') {
        if (Test-Path (Join-Path $root $file)) { Copy-Item (Join-Path $root $file) $moduleOut }
    }
    Copy-Item (Join-Path $root 'models') (Join-Path $moduleOut 'models') -Recurse
    # ONNX Runtime's native library, beside its managed assembly (Cxas.Core's NativeRuntime binds it from there).
    $native = Get-NativeFolder
    Get-ChildItem $native | Where-Object Name -notmatch 'tensorrt' | Copy-Item -Destination $lib
    # Help: MAML from the cmdlet metadata and the XML documentation comments (in a process of its own: it imports the module).
    $helpArgs = @('-NoProfile', '-NonInteractive', '-File', (Join-Path $root 'Cxas.PowerShell/Help/New-CxasHelp.ps1'),
        '-ModuleDir', $moduleOut, '-DocFile', (Join-Path $bin 'Cxas.PowerShell.xml'))
    if ($DocumentationUri) { $helpArgs += @('-OnlineUri', $DocumentationUri) }
    Invoke-Pwsh $helpArgs
    Write-Host "Module laid out in $moduleOut" -ForegroundColor Green
}

# The running PowerShell as a command line: a native pwsh, or pwsh.dll under the dotnet host (the local tool).
function Invoke-Pwsh([string[]] $Arguments) {
    $exe = Join-Path $PSHOME ($(if ($IsWindows) { 'pwsh.exe' } else { 'pwsh' }))
    $dll = Join-Path $PSHOME 'pwsh.dll'
    if (Test-Path $exe) { Invoke-Native $exe $Arguments }
    elseif (Test-Path $dll) { Invoke-Native 'dotnet' (@($dll) + $Arguments) }
    else { throw "Cannot find pwsh under $PSHOME." }
}

# A program a test step needs: its path ($EnvVar, else $Default), or $null after a warning that the step is skipped;
# with CXAS_REQUIRE_ORACLES=1 (CI) a missing program fails the run instead.
function Find-TestProgram([string] $Step, [string] $Default, [string] $EnvVar, [string] $Package) {
    $path = [Environment]::GetEnvironmentVariable($EnvVar)
    if (-not $path) { $path = $Default }
    if (Test-Path $path) { return $path }
    $why = "no $(Split-Path $Default -Leaf) at $path (Debian: apt-get install $Package; or set $EnvVar)"
    if ($env:CXAS_REQUIRE_ORACLES -eq '1') { throw "$Step cannot run: $why, and CXAS_REQUIRE_ORACLES=1 forbids skipping it." }
    Write-Warning "$Step skipped: $why."
    return $null
}

# The HTML report in headless Chromium (playwright-core driving the system browser; nothing is downloaded).
function Invoke-BrowserTest([string] $Fixture) {
    $chromium = Find-TestProgram 'Browser test' '/usr/bin/chromium' 'CHROMIUM_PATH' 'chromium'
    if (-not $chromium) { return }
    $browserDir = Join-Path $root 'tests/browser'
    if (-not (Test-Path (Join-Path $browserDir 'node_modules/playwright-core'))) {
        Push-Location $browserDir
        try { Invoke-Native npm @('ci', '--no-audit', '--no-fund', '--loglevel=error') } finally { Pop-Location }
    }
    try { Invoke-Native node @((Join-Path $browserDir 'report.test.js'), $Fixture) }
    finally { Remove-Item "$Fixture*" -ErrorAction SilentlyContinue }
}

# The precision tests again under each x64 instruction class this machine can show besides its own (AVX2, AVX-512
# without VNNI, AVX-VNNI), by masking CPUID (tests/cpu_classes.sh). Where none can be shown (no CPUID faulting, not
# Linux) the leg is skipped with a warning; the main run still covers the machine's own class.
function Invoke-CpuClassLeg {
    if (-not $IsLinux) { Write-Warning 'The CPU-class leg skipped: it needs Linux (CPUID faulting).'; return }
    $script = Join-Path $root 'tests/cpu_classes.sh'
    Write-Host "> $script $Configuration" -ForegroundColor DarkGray
    & bash $script $Configuration
    if ($LASTEXITCODE -eq 77) { Write-Warning 'The CPU-class leg skipped: this machine can show no other x64 class (reason above).' }
    elseif ($LASTEXITCODE -ne 0) { throw "$script exited with code $LASTEXITCODE" }
}

function Invoke-Test {
    Invoke-Build
    # The report test also leaves its HTML (and the expected screen colours) for the headless-browser test below.
    $fixture = Join-Path ([IO.Path]::GetTempPath()) ("cxas-report-" + [guid]::NewGuid().ToString('N').Substring(0, 8) + '.html')
    $env:CXAS_REPORT_FIXTURE = $fixture
    try {
        Invoke-Native dotnet @("test", (Join-Path $root 'tests/Cxas.Core.Tests/Cxas.Core.Tests.csproj'), '-c', $Configuration, '-nologo',
            '--logger', 'console;verbosity=normal')
    }
    finally { Remove-Item Env:CXAS_REPORT_FIXTURE }
    Invoke-CpuClassLeg
    Invoke-BrowserTest $fixture
    # The training code's smoke test: a few steps on synthetic data, the loss must fall (CI never retrains).
    Invoke-Native '/usr/bin/python3' @((Join-Path $root 'training/train.py'), '--smoke')
    # The packages, for the install test (Package.Tests.ps1) and the Windows leg.
    Invoke-Package -Built
    Invoke-Native dotnet @('restore', (Join-Path $root 'tests/tools/Pester.Download.csproj'), '-nologo', '-v', 'q')
    $pester = Join-Path (Get-NuGetRoot) 'pester/6.2.0/tools/Pester.psd1'
    $script = @"
`$ErrorActionPreference = 'Stop'
Import-Module '$pester' -RequiredVersion 6.2.0
`$config = New-PesterConfiguration
`$config.Run.Path = '$(Join-Path $root 'tests/Pester')'
`$config.Run.Exit = `$true
`$config.Output.Verbosity = 'Detailed'
`$env:CXAS_MODULE = '$moduleOut'
Invoke-Pester -Configuration `$config
"@
    # A separate process, so the module's assemblies are not locked in this one.
    Invoke-Pwsh @('-NoProfile', '-NonInteractive', '-Command', $script)
    Invoke-WindowsLeg
    Invoke-DesktopLeg
}

# The Windows leg: the Cxas package installed and run by a win-x64 PowerShell (tests/WinHost, a self-contained host on
# the PowerShell SDK) under Wine, in a scratch Wine prefix whose home is a scratch folder (Wine links the user's
# Documents to $HOME). Then the masks of its main job are compared with the Linux module's, file by file.
function Invoke-WindowsLeg {
    $wine = Find-TestProgram 'The Windows leg' '/usr/lib/wine/wine64' 'CXAS_WINE' 'wine64'
    if (-not $wine) { return }
    $hostDir = Join-Path $root 'out/winhost'
    Invoke-Native dotnet @('publish', (Join-Path $root 'tests/WinHost/WinHost.csproj'), '-c', 'Release', '-o', $hostDir, '-nologo', '-v', 'q')
    $scratch = Join-Path $root 'out/wine'
    if (Test-Path $scratch) { Remove-Item $scratch -Recurse -Force }
    New-Item -ItemType Directory (Join-Path $scratch 'home') | Out-Null
    # PSResourceGet of the pwsh tool's Windows build (beside the unix one this script runs in).
    $psResourceGet = Join-Path $PSHOME '../win/Modules/Microsoft.PowerShell.PSResourceGet'
    $pester = Join-Path (Get-NuGetRoot) 'pester/6.2.0/tools/Pester.psd1'
    $z = { param($p) 'Z:' + ((Resolve-Path $p).Path -replace '/', '\') }
    $leg = @((& $z (Join-Path $root 'tests/WinHost/WindowsLeg.ps1')), (& $z (Join-Path $root 'out/package/repo')),
        (& $z $psResourceGet), (& $z $pester), 'C:\cxas-out')
    # W^X off: .NET's double-mapped code pages make the runtime fail under Wine 8 when a dynamic method is freed.
    $saved = @{}
    $envs = @{ WINEPREFIX = (Join-Path $scratch 'prefix'); HOME = (Join-Path $scratch 'home'); WINEDEBUG = '-all'
               WINEDLLOVERRIDES = 'mshtml='; DOTNET_EnableWriteXorExecute = '0'; PSModulePath = $null; CXAS_MODULE = $null
               CXAS_MODEL_PATH = $null; CXAS_CUDA_MODULE = $null }
    # A folder link under a -Recurse root for Windows.Tests.ps1: Wine cannot create junctions, but shows a symbolic
    # link made here as a reparse-point folder, as Windows shows a junction or mount point.
    $links = Join-Path $scratch 'links'
    New-Item -ItemType Directory (Join-Path $links 'root'), (Join-Path $links 'archive') | Out-Null
    $sample = @(Get-ChildItem (Join-Path $root 'samples') -Filter *.png | Sort-Object Name)
    Copy-Item $sample[0].FullName (Join-Path $links 'root/a.png')
    Copy-Item $sample[1].FullName (Join-Path $links 'archive/b.png')
    New-Item -ItemType SymbolicLink -Path (Join-Path $links 'root/mounted') -Target (Join-Path $links 'archive') | Out-Null
    $envs['CXAS_LINK_FIXTURE'] = & $z (Join-Path $links 'root')
    # A loopback HTTP server on Linux (tests/Pester/loopback_server.py over the import fixtures), which Wine reaches on
    # 127.0.0.1, for the install test; the Linux module's install from it and its masks are that test's truth.
    $psi = [Diagnostics.ProcessStartInfo]::new('/usr/bin/python3')
    foreach ($a in (Join-Path $root 'tests/Pester/loopback_server.py'), (Join-Path $root 'tests/fixtures/import')) { $psi.ArgumentList.Add($a) }
    $psi.RedirectStandardOutput = $true
    $psi.UseShellExecute = $false
    $server = [Diagnostics.Process]::Start($psi)
    $watch = [Diagnostics.Stopwatch]::StartNew()
    try {
        $port = $server.StandardOutput.ReadLine()
        if ($port -notmatch '^\d+$') { throw "The loopback server did not start: $port" }
        $envs['CXAS_LOOPBACK_BASE'] = "http://127.0.0.1:$port"
        $installOut = Join-Path $scratch 'linux-install-out'
        Invoke-Pwsh @('-NoProfile', '-NonInteractive', '-Command', ("`$ErrorActionPreference = 'Stop'; `$env:CXAS_MODEL_PATH = '$(Join-Path $scratch 'linux-models')'; " +
            "Import-Module '$moduleOut/Cxas.psd1'; Install-CxasModel -Name loopback -Source 'http://127.0.0.1:$port/files/reduced_w16.pth' | Out-Null; " +
            "Invoke-CxasSegmentation '$($sample[0].FullName)' -Model loopback -OutputPath '$installOut' -OutputType npy -Device Cpu | Out-Null"))
        $envs['CXAS_LOOPBACK_LINUX_OUT'] = & $z $installOut
        . (Join-Path $root 'tests/Pester/Orthanc.ps1')
        $pacs = Start-LegOrthanc
        if ($pacs) {
            $envs['CXAS_PACS_URI'] = $pacs.Uri; $envs['CXAS_PACS_REST'] = $pacs.Rest
            $envs['CXAS_PACS_USER'] = $pacs.User; $envs['CXAS_PACS_PASSWORD'] = $pacs.Password
        }
        foreach ($k in $envs.Keys) { $saved[$k] = [Environment]::GetEnvironmentVariable($k); [Environment]::SetEnvironmentVariable($k, $envs[$k]) }
        # Dot-files are not hidden by Wine itself here, so that the Hidden attribute Cxas sets is what the tests see.
        Invoke-Native $wine @('reg', 'add', 'HKCU\Software\Wine', '/v', 'ShowDotFiles', '/d', 'Y', '/f')
        Invoke-Native $wine (@((Join-Path $hostDir 'WinHost.exe')) + $leg)
    }
    finally {
        foreach ($k in $saved.Keys) { [Environment]::SetEnvironmentVariable($k, $saved[$k]) }
        if (-not $server.HasExited) { $server.Kill() }
        $server.Dispose()
        if ($pacs) { Stop-CxasTestOrthanc $pacs -Remove }
        Write-Host ("Windows leg under Wine: {0:N0} s" -f $watch.Elapsed.TotalSeconds)
    }
    # The same job by the Linux module; every mask file must be byte-equal (the same PNG encoder on the same pixels).
    $linux = Join-Path $scratch 'linux-out'
    Invoke-Pwsh @('-NoProfile', '-NonInteractive', '-Command',
        "`$ErrorActionPreference = 'Stop'; Import-Module '$moduleOut/Cxas.psd1'; Invoke-CxasSegmentation '$(Join-Path $root 'samples')' -OutputPath '$linux' -Device Cpu | Out-Null")
    $windows = Join-Path $scratch 'prefix/drive_c/cxas-out'
    $a = @(Get-ChildItem $linux -Recurse -File -Filter *.png | ForEach-Object { $_.FullName.Substring($linux.Length) } | Sort-Object)
    $b = @(Get-ChildItem $windows -Recurse -File -Filter *.png | ForEach-Object { $_.FullName.Substring($windows.Length) } | Sort-Object)
    if ($a.Count -eq 0 -or (Compare-Object $a $b)) { throw "The Windows leg wrote other mask files than Linux: $($b -join ', ') against $($a -join ', ')." }
    foreach ($f in $a) {
        if ((Get-FileHash (Join-Path $linux $f)).Hash -ne (Get-FileHash (Join-Path $windows $f)).Hash) { throw "Mask $f differs between the Windows leg and Linux." }
    }
    Write-Host "Windows leg: $($a.Count) masks equal to Linux's." -ForegroundColor Green
}

# A private Orthanc (tests/Pester/Orthanc.ps1) holding the shared CR/DX files, for the Windows leg's PACS test; $null,
# after a warning, where Orthanc or ../shared/dicom is missing (an error under CXAS_REQUIRE_ORACLES=1).
# Invoke-WindowsLeg dot-sources tests/Pester/Orthanc.ps1 for it (and for Stop-CxasTestOrthanc afterwards).
function Start-LegOrthanc {
    $real = Join-Path $root '../shared/dicom/real'
    if (-not ((Get-CxasOrthancExe) -and (Get-CxasOrthancDicomWebPlugin) -and (Test-Path $real))) {
        $why = 'Orthanc with its DICOMweb plugin (apt-get install orthanc orthanc-dicomweb) or ../shared/dicom/real is missing'
        if ($env:CXAS_REQUIRE_ORACLES -eq '1') { throw "The Windows leg's PACS test cannot run: $why, and CXAS_REQUIRE_ORACLES=1 forbids skipping it." }
        Write-Warning "The Windows leg's PACS test is skipped: $why."
        return $null
    }
    $server = Start-CxasTestOrthanc
    try { Send-CxasStow $server @(Get-ChildItem $real -Filter *.dcm | ForEach-Object FullName) | Out-Null }
    catch { Stop-CxasTestOrthanc $server -Remove; throw }
    $server
}

# The Desktop leg: Cxas.Core's tests built for .NET Framework 4.8 (tests/Desktop) and run by xunit's console runner
# under Mono, the closest this machine gets to Windows PowerShell 5.1's runtime. Classes bound to the .NET build are
# left out by name, with the reason.
function Invoke-DesktopLeg {
    $mono = Find-TestProgram 'The Desktop leg' '/usr/bin/mono' 'CXAS_MONO' 'mono-devel'
    if (-not $mono) { return }
    Invoke-Native dotnet @('build', (Join-Path $root 'tests/Desktop/Cxas.Core.Desktop.Tests.csproj'), '-c', $Configuration, '-nologo', '-v', 'q')
    $bin = Join-Path $root "tests/Desktop/bin/$Configuration/net48"
    $runner = Join-Path (Get-NuGetRoot) 'xunit.runner.console/2.9.3/tools/net48/xunit.console.exe'
    $left = [ordered]@{
        'Cxas.Core.Tests.Models.NativeRuntimeTests' = 'reads the CUDA provider from the .NET build''s runtimes/ folder, which a net48 build does not lay out'
    }
    foreach ($c in $left.Keys) { Write-Host "Desktop leg leaves out $c ($($left[$c]))." }
    $runArgs = @($runner, (Join-Path $bin 'Cxas.Core.Tests.dll'), '-parallel', 'none', '-noshadow')
    foreach ($c in $left.Keys) { $runArgs += @('-noclass', $c) }
    $watch = [Diagnostics.Stopwatch]::StartNew()
    Push-Location $bin
    try { Invoke-Native $mono $runArgs }
    finally {
        Pop-Location
        Write-Host ("Desktop leg under Mono: {0:N0} s" -f $watch.Elapsed.TotalSeconds)
    }
}

function Invoke-Demo {
    Invoke-Build
    $in = if ($Path) { $Path } else { Join-Path $root 'samples' }
    $out = if ($OutputPath) { $OutputPath } else { Join-Path $root 'out/demo' }
    $script = @"
`$ErrorActionPreference = 'Continue'
Import-Module '$moduleOut/Cxas.psd1'
`$results = @(Invoke-CxasSegmentation -Path '$in' -Recurse -OutputPath '$out/masks' -OutputType png -Force)
`$results | Format-Table -AutoSize
`$results | Get-CxasFeature -Feature CTR | Format-Table -AutoSize
`$results | Export-CxasOverlay -OutputPath '$out/overlays' -Feature CTR -Force | Out-Null
Export-CxasReport -InputObject `$results -OutputPath '$out/report.html' -Force | Out-Null
"Masks:    $out/masks (one folder per image, one PNG per class)"
"Overlays: $out/overlays"
"Report:   $out/report.html (open it in a browser)"
"@
    Invoke-Pwsh @('-NoProfile', '-NonInteractive', '-Command', $script)
}

# The module packages, in one local file repository: Cxas, one package for every platform (the cmdlets, the default
# model and ONNX Runtime's CPU runtime of each platform in lib/native/<rid>, the one for the running platform picked at
# import by Cxas.Core's NativeRuntime), and a CUDA companion per platform, named for it (the same runtime with its CUDA
# provider beside it; NativeRuntime picks the companion when installed). A gallery holds one package per name and
# version, so the platforms cannot be separate packages named Cxas; the CUDA providers cannot share one package either,
# since the PowerShell Gallery, like nuget.org, refuses packages over 250 MB.
$Platforms = [ordered]@{
    'linux-x64' = @{ Native = 'microsoft.ml.onnxruntime.gpu.linux/1.31.0/runtimes/linux-x64/native'; Tag = 'Linux'
                     Companion = 'Cxas.Cuda.Linux'; Guid = 'a7d2f1c4-6b3e-4f0a-9c58-2e71d4b9f603'
                     Cpu = @('libonnxruntime.so'); Cuda = @('libonnxruntime.so', 'libonnxruntime_providers_shared.so', 'libonnxruntime_providers_cuda.so') }
    'win-x64'   = @{ Native = 'microsoft.ml.onnxruntime.gpu.windows/1.31.0/runtimes/win-x64/native'; Tag = 'Windows'
                     Companion = 'Cxas.Cuda.Windows'; Guid = '3c94e0b7-1f6a-4d28-8b5e-90a4c7d21e5f'
                     Cpu = @('onnxruntime.dll', 'onnxruntime_providers_shared.dll'); Cuda = @('onnxruntime.dll', 'onnxruntime_providers_shared.dll', 'onnxruntime_providers_cuda.dll') }
}

function Invoke-Package([switch] $Built) {
    if (-not $Built) { Invoke-Build }
    $manifest = Import-PowerShellDataFile (Join-Path $root 'Cxas.psd1')
    $version = $manifest.ModuleVersion
    $base = Join-Path $root 'out/package'
    if (Test-Path $base) { Remove-Item $base -Recurse -Force }
    $cxas = Join-Path $base 'Cxas'
    $repo = Join-Path $base 'repo'
    $cxasLib = Join-Path $cxas 'lib'
    New-Item -ItemType Directory $cxas, $cxasLib, $repo, (Join-Path $cxas 'models') | Out-Null
    # Cxas: the cmdlets and resolver, manifest, views, help, licence, the default model; in lib/ Cxas.Core and its
    # managed dependencies (the layout of out/Cxas), in lib/native/<rid> each platform's CPU runtime.
    Get-ChildItem $moduleOut -File | Copy-Item -Destination $cxas
    Get-ChildItem (Join-Path $moduleOut 'lib') -File | Where-Object { $_.Extension -in '.dll', '.xml' -and $_.Name -notmatch '^(lib)?onnxruntime' } |
        Copy-Item -Destination $cxasLib
    Copy-Item (Join-Path $moduleOut 'en-US') $cxas -Recurse
    $default = (Get-Content (Join-Path $root 'models/default.txt') -Raw).Trim()
    Copy-Item (Join-Path $root "models/$default") (Join-Path $cxas 'models') -Recurse
    Copy-Item (Join-Path $root 'models/default.txt') (Join-Path $cxas 'models')
    $tags = @($Platforms.Values | ForEach-Object { "'$($_.Tag)'" }) -join ', '
    $text = Get-Content (Join-Path $cxas 'Cxas.psd1') -Raw
    $text = $text -replace "Tags\s*=\s*@\(", "Tags       = @($tags, 'PSEdition_Core', 'PSEdition_Desktop', "
    Set-Content (Join-Path $cxas 'Cxas.psd1') $text -NoNewline
    $folders = @($cxas)
    foreach ($rid in $Platforms.Keys) {
        $p = $Platforms[$rid]
        $native = Join-Path (Get-NuGetRoot) $p.Native
        $cpu = Join-Path $cxasLib "native/$rid"
        New-Item -ItemType Directory $cpu | Out-Null
        foreach ($f in $p.Cpu) { Copy-Item (Join-Path $native $f) $cpu }
        # The platform's CUDA companion: a manifest and the native files only.
        $cuda = Join-Path $base $p.Companion
        New-Item -ItemType Directory $cuda | Out-Null
        foreach ($f in $p.Cuda) { Copy-Item (Join-Path $native $f) $cuda }
        @"
@{
    ModuleVersion        = '$version'
    GUID                 = '$($p.Guid)'
    Author               = '$($manifest.Author)'
    CompanyName          = '$($manifest.CompanyName)'
    Copyright            = '$($manifest.Copyright)'
    Description          = 'The CUDA execution provider of ONNX Runtime 1.31 for Cxas $version on $($p.Tag) ($rid): install it beside Cxas of the same version and -Device Auto/Cuda use NVIDIA GPUs (needs the NVIDIA driver, CUDA 13 and cuDNN 9).'
    PowerShellVersion    = '5.1'
    CompatiblePSEditions = @('Desktop', 'Core')
    FunctionsToExport    = @()
    CmdletsToExport      = @()
    AliasesToExport      = @()
    VariablesToExport    = @()
    PrivateData          = @{ PSData = @{ Tags = @('$($p.Tag)', 'cxas', 'cuda', 'onnxruntime'); LicenseUri = 'https://opensource.org/licenses/MIT' } }
}
"@ | Set-Content (Join-Path $cuda "$($p.Companion).psd1")
        $folders += $cuda
    }
    # One local file repository; PSResourceGet writes its nupkg files there.
    $publish = ($folders | ForEach-Object { "    Publish-PSResource -Path '$_' -Repository `$name -SkipDependenciesCheck" }) -join "`n"
    $script = @"
`$ErrorActionPreference = 'Stop'
`$name = 'cxas-build-' + [guid]::NewGuid().ToString('N').Substring(0, 6)
Register-PSResourceRepository -Name `$name -Uri '$repo' -Trusted
try {
$publish
}
finally { Unregister-PSResourceRepository -Name `$name }
"@
    Invoke-Pwsh @('-NoProfile', '-NonInteractive', '-Command', $script)
    Get-ChildItem $repo -Filter *.nupkg | ForEach-Object { Write-Host ("{0} ({1:N1} MB)" -f $_.Name, ($_.Length / 1MB)) }
}

function Invoke-Bench {
    Invoke-Build
    $benchArgs = @('run', '--project', (Join-Path $root 'bench/Cxas.Bench/Cxas.Bench.csproj'), '-c', 'Release', '--')
    if ($Path) { $benchArgs += $Path }
    Invoke-Native dotnet $benchArgs
}

foreach ($t in $Task) {
    switch ($t) {
        'Build' { Invoke-Build }
        'Test' { Invoke-Test }
        'WindowsLeg' { Invoke-Build; Invoke-Package -Built; Invoke-WindowsLeg }
        'DesktopLeg' { Invoke-DesktopLeg }
        'Demo' { Invoke-Demo }
        'Bench' { Invoke-Bench }
        'Package' { Invoke-Package }
        'Clean' {
            Remove-Item (Join-Path $root 'out') -Recurse -Force -ErrorAction SilentlyContinue
            Get-ChildItem $root -Directory -Recurse -Include bin, obj | Remove-Item -Recurse -Force
        }
    }
}
