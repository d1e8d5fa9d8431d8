#Requires -Version 7.4
# Pester 6 tests of Install-CxasModel against a loopback server that misbehaves on purpose (issue 21): a download
# killed by SIGTERM in another process, an endless body, a redirect to file:. The C# tests
# (tests/Cxas.Core.Tests/Install/HostileDownloadTests.cs) cover the same server faults in more detail; these check the
# cmdlet's parameters, its error ids and a real killed process. Run against the built module ($env:CXAS_MODULE).

BeforeAll {
    $ErrorActionPreference = 'Stop'
    $script:ModuleDir = if ($env:CXAS_MODULE) { $env:CXAS_MODULE } else { Join-Path $PSScriptRoot '../../out/Cxas' }
    Import-Module (Join-Path $ModuleDir 'Cxas.psd1') -Force
    $script:Work = Join-Path ([IO.Path]::GetTempPath()) ("cxas-hostile-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
    New-Item -ItemType Directory -Path (Join-Path $Work 'files') | Out-Null
    $script:SavedEnv = @{}
    foreach ($name in 'CXAS_MODEL_PATH', 'CXAS_PATH') { $SavedEnv[$name] = [Environment]::GetEnvironmentVariable($name) }
    $script:UserModels = Join-Path $Work 'user-models'
    $env:CXAS_MODEL_PATH = $UserModels
    $env:CXAS_PATH = Join-Path $Work 'no-reference-tool'

    . (Join-Path $PSScriptRoot 'LoopbackServer.ps1')
    $script:Server = Start-CxasLoopbackServer (Join-Path $Work 'files')
    $script:Base = $Server.Base
}

AfterAll {
    # The server, the environment as it was, the module and the folder: in that order, each even if the one before failed.
    Stop-CxasLoopbackServer $Server
    $SavedEnv.GetEnumerator() | ForEach-Object { [Environment]::SetEnvironmentVariable($_.Key, $_.Value) }
    Remove-Module Cxas -ErrorAction SilentlyContinue
    if ($Work) { Remove-Item $Work -Recurse -Force -ErrorAction SilentlyContinue }
}

Describe 'Install-CxasModel against misbehaving servers' {
    It 'removes, at the next install, the partial download of an install killed by SIGTERM, and nothing else' -Skip:(-not $IsLinux) {
        # Another process downloads from a server that sends one byte every 2 s; the test kills it with SIGTERM midway.
        $pwshDll = Join-Path $PSHOME 'pwsh.dll'
        $script = "Import-Module '$ModuleDir/Cxas.psd1'; Install-CxasModel -Name slow -Source '$Base/slow/slow.pth' -AcceptLicense -TimeoutSec 30"
        $psi = if (Test-Path $pwshDll) { [Diagnostics.ProcessStartInfo]::new('dotnet') } else { [Diagnostics.ProcessStartInfo]::new((Join-Path $PSHOME 'pwsh')) }
        if (Test-Path $pwshDll) { $psi.ArgumentList.Add($pwshDll) }
        foreach ($a in '-NoProfile', '-NonInteractive', '-Command', $script) { $psi.ArgumentList.Add($a) }
        $p = [Diagnostics.Process]::Start($psi)
        $until = [DateTime]::UtcNow.AddSeconds(120)
        while (-not @(Get-ChildItem $UserModels -Force -Filter '.cxas-*.tmp' -ErrorAction SilentlyContinue) -and -not $p.HasExited -and [DateTime]::UtcNow -lt $until) {
            Start-Sleep -Milliseconds 50
        }
        $p.HasExited | Should -BeFalse -Because 'the install must be killed while it downloads'
        & /bin/kill -TERM $p.Id
        $p.WaitForExit(60000) | Should -BeTrue
        $partial = @(Get-ChildItem $UserModels -Force -Filter '.cxas-*.tmp')
        $partial.Count | Should -Be 1 -Because 'a process killed by SIGTERM runs no cleanup: this is what the next install must deal with'
        $partial[0].Name | Should -BeLike "*-$($p.Id)-*"
        # Beside it, files that are not a dead install's: they stay.
        $keep = '.slow.download-notes.pth', 'notes.txt' | ForEach-Object { $f = Join-Path $UserModels $_; Set-Content $f 'x'; $f }

        $errs = $null
        Install-CxasModel -Name other -Source "$Base/nothing-here.pth" -AcceptLicense -ErrorVariable errs -ErrorAction SilentlyContinue
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'Cxas.NotFound*'
        Test-Path $partial[0].FullName | Should -BeFalse
        foreach ($f in $keep) { Test-Path $f | Should -BeTrue }
    }

    It 'stops an endless body at -MaximumSizeMB with Cxas.LimitExceeded, leaving nothing' {
        $errs = $null
        Install-CxasModel -Name endless -Source "$Base/endless/x.pth" -AcceptLicense -MaximumSizeMB 2 -ErrorVariable errs -ErrorAction SilentlyContinue
        $errs.Count | Should -Be 1
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'Cxas.LimitExceeded*'
        $errs[0].Exception.Message | Should -BeLike '*2097152 bytes (2 MiB)*'
        $errs[0].ErrorDetails.RecommendedAction | Should -BeLike "*raise -MaximumSizeMB*"
        Test-Path (Join-Path $UserModels 'endless') | Should -BeFalse
        @(Get-ChildItem $UserModels -Force -Filter '.cxas-*') | Should -BeNullOrEmpty
    }

    It 'refuses a redirect to file: with Cxas.NotSupported naming the scheme' {
        $errs = $null
        Install-CxasModel -Name tofile -Source "$Base/tofile/x.pth" -AcceptLicense -ErrorVariable errs -ErrorAction SilentlyContinue
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'Cxas.NotSupported*'
        $errs[0].Exception.Message | Should -BeLike "*'file:'*"
    }
}
