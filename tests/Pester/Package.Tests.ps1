#Requires -Version 7.4
# Pester 6 tests of the module packages (build.ps1 Package; build.ps1 Test makes them): one Cxas for every platform and
# a CUDA companion per platform, published to a local file repository (the Windows leg, tests/WinHost, installs the
# same Cxas under Wine), installed with Install-PSResource by a fresh pwsh whose home (and so its module path and its
# PSResourceGet settings) is a scratch folder, and the main job run from the installed module.

BeforeDiscovery {
    $script:Repo = Join-Path $PSScriptRoot '../../out/package/repo'
    $script:NoPackage = -not (Test-Path (Join-Path $Repo 'Cxas.*.nupkg')) -and $env:CXAS_REQUIRE_ORACLES -ne '1'
}

Describe 'Module packages' -Skip:$NoPackage {
    BeforeAll {
        $ErrorActionPreference = 'Stop'
        $script:Repo = (Resolve-Path (Join-Path $PSScriptRoot '../../out/package/repo')).Path
        $script:Companion = if ($IsWindows) { 'Cxas.Cuda.Windows' } else { 'Cxas.Cuda.Linux' }
        $script:Samples = (Resolve-Path (Join-Path $PSScriptRoot '../../samples')).Path
        $script:Home2 = Join-Path ([IO.Path]::GetTempPath()) ('cxas-package-' + [guid]::NewGuid().ToString('N').Substring(0, 8))
        New-Item -ItemType Directory $Home2 | Out-Null

        # A fresh pwsh whose HOME is the scratch folder: PSModulePath's user folder, PSResourceGet's repositories and
        # Cxas's per-user models all live there. Returns its output lines.
        function script:Invoke-FreshPwsh([string] $Script) {
            $psi = if (Test-Path (Join-Path $PSHOME 'pwsh.dll')) { [Diagnostics.ProcessStartInfo]::new('dotnet') } else { [Diagnostics.ProcessStartInfo]::new((Join-Path $PSHOME 'pwsh')) }
            if (Test-Path (Join-Path $PSHOME 'pwsh.dll')) { $psi.ArgumentList.Add((Join-Path $PSHOME 'pwsh.dll')) }
            foreach ($a in '-NoProfile', '-NonInteractive', '-Command', $Script) { $psi.ArgumentList.Add($a) }
            $psi.Environment['HOME'] = $Home2
            $psi.Environment['PSModulePath'] = $null
            $psi.Environment['CXAS_MODEL_PATH'] = $null
            $psi.RedirectStandardOutput = $true
            $psi.RedirectStandardError = $true
            $p = [Diagnostics.Process]::Start($psi)
            $err = $p.StandardError.ReadToEndAsync()
            $out = $p.StandardOutput.ReadToEnd()
            $p.WaitForExit()
            if ($p.ExitCode -ne 0) { throw "pwsh exited with $($p.ExitCode): $out $($err.Result)" }
            $out -split "`r?`n" | Where-Object { $_ }
        }
    }
    AfterAll { Remove-Item $Home2 -Recurse -Force -ErrorAction SilentlyContinue }

    It 'stays within the size bounds (Cxas near 80 MB, each package under the gallery''s 250 MB)' {
        (Get-Item (Join-Path $Repo 'Cxas.0*.nupkg')).Length | Should -BeLessThan 100MB
        @(Get-ChildItem $Repo -Filter 'Cxas.Cuda.*.nupkg').Name | Sort-Object | Should -Be @('cxas.cuda.linux.0.1.0.nupkg', 'cxas.cuda.windows.0.1.0.nupkg')
        Get-ChildItem $Repo -Filter 'Cxas.Cuda.*.nupkg' | ForEach-Object { $_.Length | Should -BeLessThan 250MB }
    }

    It 'holds the CPU runtime of each platform in one Cxas package' {
        Add-Type -AssemblyName System.IO.Compression.FileSystem
        $zip = [IO.Compression.ZipFile]::OpenRead((Get-Item (Join-Path $Repo 'Cxas.0*.nupkg')).FullName)
        try { $names = @($zip.Entries.FullName) } finally { $zip.Dispose() }
        $names | Should -Contain 'lib/native/linux-x64/libonnxruntime.so'
        $names | Should -Contain 'lib/native/win-x64/onnxruntime.dll'
        @($names | Where-Object { $_ -like '*providers_cuda*' }) | Should -BeNullOrEmpty
    }

    It 'installs from a local repository and runs the main job from the installed module' {
        $out = Join-Path $Home2 'masks'
        $lines = Invoke-FreshPwsh @"
`$ErrorActionPreference = 'Stop'
Register-PSResourceRepository -Name local -Uri '$Repo' -Trusted
Install-PSResource Cxas -Repository local -Scope CurrentUser -Quiet
Import-Module Cxas
(Get-Module Cxas).ModuleBase
`$r = @(Invoke-CxasSegmentation '$Samples' -OutputPath '$out' -Device Cpu -Verbose 4>&1)
@(`$r | Where-Object { `$_ -is [Cxas.Segmentation.SegmentationResult] }).Count
(`$r | Where-Object { `$_ -is [System.Management.Automation.VerboseRecord] -and `$_.Message -like '*ONNX Runtime from*' }).Message
(Get-CxasModel | Where-Object IsDefault).Name
try { Invoke-CxasSegmentation '$Samples' -Device Cuda | Out-Null; 'no error' } catch { `$_.Exception.Message; `$_.ErrorDetails.RecommendedAction }
"@
        $lines[0] | Should -BeLike "$Home2*"
        $lines[1] | Should -Be '2'
        $rid = if ($IsWindows) { 'win-x64' } else { 'linux-x64' }
        $lines[2] | Should -BeLike "*ONNX Runtime from Cxas (*$([IO.Path]::Combine('native', $rid)))*"
        $lines[3] | Should -Be 'cxas-anatomy-r18'
        $lines[4] | Should -BeLike "*$Companion*"
        $lines[5] | Should -BeLike "Install it with Install-PSResource $Companion *"
        @(Get-ChildItem $out -Directory).Count | Should -Be 2
        @(Get-ChildItem (Join-Path $out '00000001_000') -Filter *.png).Count | Should -Be 9
    }

    It 'uses the platform''s CUDA companion runtime once it is installed' {
        $lines = Invoke-FreshPwsh @"
`$ErrorActionPreference = 'Stop'
Install-PSResource $Companion -Repository local -Scope CurrentUser -Quiet
Import-Module Cxas
`$v = Invoke-CxasSegmentation '$Samples/00000001_000.png' -Verbose 4>&1
(`$v | Where-Object { `$_ -is [System.Management.Automation.VerboseRecord] -and `$_.Message -like '*ONNX Runtime from*' }).Message
@(`$v | Where-Object { `$_ -is [Cxas.Segmentation.SegmentationResult] }).Count
"@
        $lines[0] | Should -BeLike "*ONNX Runtime from $Companion (*$Companion*"
        $lines[1] | Should -Be '1'
    }
}
