#Requires -Version 7.4
# Pester 6: Invoke-CxasSegmentation -Session over real PowerShell remoting (three SSH sessions to a test sshd on this
# machine, whose nodes find the Cxas under test through PSModulePath): the same outputs as a local run, byte for byte;
# a node killed midway loses nothing and duplicates nothing; a node without the model is refused before any work.

BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'SshServer.ps1')
    $script:NoSsh = -not (Get-CxasSshd) -and $env:CXAS_REQUIRE_ORACLES -ne '1'
}

Describe 'Fan-out over PowerShell remoting' -Skip:$NoSsh {
    BeforeAll {
        $ErrorActionPreference = 'Stop'
        . (Join-Path $PSScriptRoot 'SshServer.ps1')
        $script:ModuleDir = (Resolve-Path $(if ($env:CXAS_MODULE) { $env:CXAS_MODULE } else { Join-Path $PSScriptRoot '../../out/Cxas' })).Path
        Import-Module (Join-Path $ModuleDir 'Cxas.psd1') -Force
        $script:Work = Join-Path ([IO.Path]::GetTempPath()) ('cxas-fleet-' + [guid]::NewGuid().ToString('N').Substring(0, 8))
        $script:In = Join-Path $Work 'in'
        New-Item -ItemType Directory $In -Force | Out-Null
        $samples = Get-ChildItem (Join-Path $PSScriptRoot '../../samples') -Filter *.png
        foreach ($i in 1..6) { foreach ($s in $samples) { Copy-Item $s.FullName (Join-Path $In ('{0}-{1}.png' -f $s.BaseName, $i)) } }
        # The nodes import the module under test: its folder's parent is on their PSModulePath.
        $script:Ssh = Start-CxasSshServer @{ PSModulePath = (Split-Path $ModuleDir) }
        $script:Sessions = @(1..3 | ForEach-Object { New-CxasTestSession $Ssh })
        function script:Get-Outputs([string] $Folder) {
            Get-ChildItem $Folder -Recurse -File | Where-Object Name -notlike '.*' |
                ForEach-Object { [IO.Path]::GetRelativePath($Folder, $_.FullName) + ' ' + (Get-FileHash $_.FullName).Hash } | Sort-Object
        }
    }
    AfterAll {
        $Sessions | Remove-PSSession -ErrorAction SilentlyContinue
        Stop-CxasSshServer $Ssh
        Remove-Item $Work -Recurse -Force -ErrorAction SilentlyContinue
    }

    It 'writes the same outputs as a local run, byte for byte, and returns every result with PSComputerName' {
        $local = Join-Path $Work 'local'; $remote = Join-Path $Work 'remote'
        Invoke-CxasSegmentation $In -OutputPath $local -OutputType png, npy -Device Cpu | Out-Null
        $results = @(Invoke-CxasSegmentation $In -Session $Sessions -OutputPath $remote -OutputType png, npy -Device Cpu)
        $results.Count | Should -Be 12
        $results[0] | Should -BeOfType ([Cxas.Segmentation.SegmentationResult])
        $results[0].PSComputerName | Should -Be '127.0.0.1'
        @($results.Path | Sort-Object -Unique).Count | Should -Be 12
        Get-Outputs $remote | Should -Be (Get-Outputs $local)
    }

    It 'redoes a killed node''s unfinished inputs elsewhere: every output exactly once, every result returned' {
        $out = Join-Path $Work 'killed'
        $victim = Invoke-Command $Sessions[1] { $PID }
        # Kill the second node's PowerShell once the run has written its first outputs.
        $killer = Start-ThreadJob -ArgumentList $out, $victim {
            param($out, $victim)
            $deadline = [DateTime]::UtcNow.AddSeconds(120)
            while ([DateTime]::UtcNow -lt $deadline -and @(Get-ChildItem $out -Filter *.npy -ErrorAction SilentlyContinue).Count -lt 2) { Start-Sleep -Milliseconds 20 }
            Stop-Process -Id $victim -Force
            'killed'
        }
        $results = @(Invoke-CxasSegmentation $In -Session $Sessions -OutputPath $out -OutputType png, npy -Device Cpu -WarningVariable warnings -WarningAction SilentlyContinue)
        Receive-Job $killer -Wait -AutoRemoveJob | Should -Be 'killed'
        ($warnings | Out-String) | Should -BeLike '*Node*'
        $results.Count | Should -Be 12
        @($results.Path | Sort-Object -Unique).Count | Should -Be 12
        @(Get-ChildItem $out -Filter *.npy).Count | Should -Be 12
        @(Get-ChildItem $out -Directory).Count | Should -Be 12
        @(Get-ChildItem $out -Force -Recurse | Where-Object Name -like '.cxas-*.tmp').Count | Should -Be 0
        Get-Outputs $out | Should -Be (Get-Outputs (Join-Path $Work 'local'))
    }

    It 'measures features of files segmented on the nodes, as flat rows naming the node' {
        # The session killed above is broken: the live ones do the work.
        $rows = @(Get-CxasFeature CTR -Path $In -Session @($Sessions | Where-Object State -eq 'Opened') -Device Cpu)
        $local = @(Get-CxasFeature CTR -Path $In -Device Cpu -WarningAction SilentlyContinue)
        $rows.Count | Should -Be 12
        ($rows | Sort-Object Path | Select-Object Path, Value | ConvertTo-Csv) | Should -Be ($local | Sort-Object Path | Select-Object Path, Value | ConvertTo-Csv)
        $rows[0].PSComputerName | Should -Be '127.0.0.1'
    }

    It 'refuses a node without the model before any work, naming it' {
        $models = Join-Path $Work 'models'
        New-Item -ItemType Directory $models | Out-Null
        Copy-Item (Join-Path $ModuleDir 'models/cxas-test') (Join-Path $models 'fleet-only') -Recurse
        $saved = $env:CXAS_MODEL_PATH
        $env:CXAS_MODEL_PATH = $models   # here only: the nodes' environment does not name this folder
        try {
            $out = Join-Path $Work 'nomodel'
            $live = @($Sessions | Where-Object { $_.State -eq 'Opened' })
            { Invoke-CxasSegmentation $In -Session $live -Model fleet-only -OutputPath $out -WarningAction SilentlyContinue } |
                Should -Throw -ErrorId 'Cxas.NodeMismatch*' -ExpectedMessage "*127.0.0.1*does not have the model 'fleet-only'*"
            Test-Path $out | Should -BeFalse
        }
        finally { $env:CXAS_MODEL_PATH = $saved }
    }
}
