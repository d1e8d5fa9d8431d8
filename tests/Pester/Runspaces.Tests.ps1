#Requires -Version 7.4
# Pester 6 tests of what Cxas keeps per PowerShell runspace rather than per process (issue 25). Two runspaces of one
# process search two loopback DICOMweb servers (tests/Pester/loopback_server.py, /busy/ and /hold/) at the same time;
# each one's verbose stream must hold its own retries only. Before, every client's messages went into one static queue
# of the cmdlet layer, and whichever runspace wrote its verbose output first wrote the other's messages too. The ONNX
# sessions are the runspace's: kept between its runs, disposed when the module is removed (before, they were cached for
# the process and never disposed). Run against the built module ($env:CXAS_MODULE).

BeforeAll {
    $ErrorActionPreference = 'Stop'
    $script:ModuleDir = if ($env:CXAS_MODULE) { $env:CXAS_MODULE } else { Join-Path $PSScriptRoot '../../out/Cxas' }
    Import-Module (Join-Path $ModuleDir 'Cxas.psd1') -Force
    $script:Work = Join-Path ([IO.Path]::GetTempPath()) ("cxas-runspaces-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
    New-Item -ItemType Directory -Path $Work | Out-Null
    . (Join-Path $PSScriptRoot 'LoopbackServer.ps1')
    $script:Server = Start-CxasLoopbackServer $Work
    $script:Base = $Server.Base
}

AfterAll {
    Stop-CxasLoopbackServer $Server
    Remove-Module Cxas -ErrorAction SilentlyContinue
    if ($Work) { Remove-Item $Work -Recurse -Force -ErrorAction SilentlyContinue }
}

Describe 'DICOMweb messages per runspace' {
    It 'writes each runspace''s retries to its own verbose stream only' {
        # Runspace A searches a server that answers 503, then holds the retry until the test releases it: A's retry
        # message exists from the moment its second request reaches the server, and A has not written it yet.
        $other = [runspacefactory]::CreateRunspace()
        $other.Open()
        $ps = [powershell]::Create()
        $ps.Runspace = $other
        try {
            $null = $ps.AddScript("Import-Module '$ModuleDir/Cxas.psd1'; Find-CxasDicomInstance -Uri '$Base/hold/A' -MaximumRetryCount 1 -Verbose")
            $async = $ps.BeginInvoke()
            $seen = 0
            for ($i = 0; $i -lt 600 -and $seen -lt 2 -and -not $async.IsCompleted; $i++) {
                Start-Sleep -Milliseconds 100
                $seen = [int](Invoke-RestMethod "$Base/seen/A")
            }
            $seen | Should -Be 2

            # Meanwhile this runspace searches another server, which is busy once too.
            $mine = @(Find-CxasDicomInstance -Uri "$Base/busy/B" -MaximumRetryCount 1 -Verbose 4>&1 |
                Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object Message)
            New-Item -ItemType File -Path (Join-Path $Work 'release-A') | Out-Null
            $null = $ps.EndInvoke($async)
            $theirs = @($ps.Streams.Verbose | ForEach-Object Message)
        }
        finally {
            $ps.Dispose()
            $other.Dispose()
        }
        @($mine | Where-Object { $_ -match 'attempt 2 of 2' }) | Should -HaveCount 1
        ($mine -join "`n") | Should -Match '/busy/B/'
        ($mine -join "`n") | Should -Not -Match '/hold/A/'
        @($theirs | Where-Object { $_ -match 'attempt 2 of 2' }) | Should -HaveCount 1
        ($theirs -join "`n") | Should -Match '/hold/A/'
        ($theirs -join "`n") | Should -Not -Match '/busy/B/'
    }
}

Describe 'ONNX sessions per runspace' {
    It 'keeps the model loaded between the runs of a runspace and disposes it when the module is removed' {
        $sample = Join-Path $PSScriptRoot '../../samples/00000001_000.png'
        # The runspace's owner of sessions, read through the module's own (internal) accessor.
        $sessionsType = (Get-Command Invoke-CxasSegmentation).ImplementingType.Assembly.GetType('Cxas.PowerShell.RunspaceSessions', $true)
        $current = $sessionsType.GetProperty('Current', [Reflection.BindingFlags]'NonPublic, Public, Static')

        $first = Invoke-CxasSegmentation -Path $sample -Model cxas-test -Device cpu -WarningAction SilentlyContinue
        $owner = $current.GetValue($null)
        $owner.Count | Should -Be 1
        $model = [Cxas.Models.CxasModel]::Load($first.ModelDirectory)
        # ModelSessions.Get is internal (a session is not public API): called through reflection, as Current is.
        $get = [Cxas.Inference.ModelSessions].GetMethod('Get', [Reflection.BindingFlags]'NonPublic, Instance')
        $session = $get.Invoke($owner, @($model, [Cxas.Models.DeviceSpec]::Cpu))

        $second = Invoke-CxasSegmentation -Path $sample -Model cxas-test -Device cpu -WarningAction SilentlyContinue
        $second.PixelCounts.Count | Should -BeGreaterThan 0
        [object]::ReferenceEquals($owner, $current.GetValue($null)) | Should -BeTrue
        $owner.Count | Should -Be 1
        [object]::ReferenceEquals($session, $get.Invoke($owner, @($model, [Cxas.Models.DeviceSpec]::Cpu))) | Should -BeTrue

        Remove-Module Cxas
        try {
            $owner.Count | Should -Be 0
            { $get.Invoke($owner, @($model, [Cxas.Models.DeviceSpec]::Cpu)) } | Should -Throw '*disposed*'
        }
        finally {
            Import-Module (Join-Path $ModuleDir 'Cxas.psd1') -Force
        }
    }
}
