#Requires -Version 7.4
# Pester 6: every Cxas cmdlet that takes pipeline input, against every kind of input an admin pipes: FileInfo,
# DirectoryInfo, path strings, wildcard strings, results, results that came back from a job, and results that came back
# from a remote session (real PowerShell remoting over SSH to this machine, see SshServer.ps1). Each cell either works
# (as many outputs as images) or gives one clear Cxas error per input object that says what to do.

BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'SshServer.ps1')
    $kinds = 'FileInfo', 'DirectoryInfo', 'String', 'Wildcard', 'Result', 'JobResult', 'RemoteResult'
    # What each cmdlet does with files and folders: the Export cmdlets take results only.
    $takesFiles = @{ 'Invoke-CxasSegmentation' = $true; 'Get-CxasFeature' = $true; 'Export-CxasMask' = $false; 'Export-CxasOverlay' = $false; 'Export-CxasReport' = $false }
    $script:Cells = foreach ($cmd in $takesFiles.Keys | Sort-Object) {
        foreach ($kind in $kinds) {
            $isResult = $kind -like '*Result'
            @{ Command = $cmd; Kind = $kind; Works = ($isResult -or $takesFiles[$cmd]); Remote = ($kind -eq 'RemoteResult') }
        }
    }
    $script:NoSsh = -not (Get-CxasSshd) -and $env:CXAS_REQUIRE_ORACLES -ne '1'
}

BeforeAll {
    $ErrorActionPreference = 'Stop'
    . (Join-Path $PSScriptRoot 'SshServer.ps1')
    $script:ModuleDir = if ($env:CXAS_MODULE) { $env:CXAS_MODULE } else { Join-Path $PSScriptRoot '../../out/Cxas' }
    $script:Manifest = (Resolve-Path (Join-Path $ModuleDir 'Cxas.psd1')).Path
    Import-Module $Manifest -Force
    $script:Work = Join-Path ([IO.Path]::GetTempPath()) ('cxas-binding-' + [guid]::NewGuid().ToString('N').Substring(0, 8))
    $script:Images = Join-Path $Work 'images'
    New-Item -ItemType Directory $Images -Force | Out-Null
    Copy-Item (Join-Path $PSScriptRoot '../../samples/*.png') $Images
    $script:Results = @(Invoke-CxasSegmentation $Images -Model cxas-test -WarningAction SilentlyContinue)
    $job = Start-Job { param($m, $p) Import-Module $m; Invoke-CxasSegmentation $p -Model cxas-test -WarningAction SilentlyContinue } -ArgumentList $Manifest, $Images
    $script:JobResults = @(Receive-Job $job -Wait -AutoRemoveJob)
    $script:RemoteResults = $null
    if (Get-CxasSshd) {
        $script:Ssh = Start-CxasSshServer
        $session = New-CxasTestSession $Ssh
        try {
            $script:RemoteResults = @(Invoke-Command $session { Import-Module $using:Manifest; Invoke-CxasSegmentation $using:Images -Model cxas-test -WarningAction SilentlyContinue })
        }
        finally { Remove-PSSession $session }
    }

    function script:Get-Input([string] $Kind) {
        switch ($Kind) {
            'FileInfo' { Get-ChildItem $Images -Filter *.png }
            'DirectoryInfo' { Get-Item $Images }
            'String' { (Get-ChildItem $Images -Filter *.png).FullName }
            'Wildcard' { Join-Path $Images '*.png' }
            'Result' { $Results }
            'JobResult' { $JobResults }
            'RemoteResult' { if ($null -eq $RemoteResults) { throw 'No SSH server here (apt-get install openssh-server), and CXAS_REQUIRE_ORACLES=1 forbids skipping.' }; $RemoteResults }
        }
    }

    function script:Invoke-Cell {
        [CmdletBinding()]
        param([string] $Command, [string] $Kind, $In)
        $out = Join-Path $Work ('out-' + [guid]::NewGuid().ToString('N').Substring(0, 6))
        switch ($Command) {
            'Invoke-CxasSegmentation' { $In | Invoke-CxasSegmentation -Model cxas-test -WarningAction SilentlyContinue }
            'Get-CxasFeature' {
                # -Model belongs to file input only: results already name their model.
                if ($Kind -like '*Result') { $In | Get-CxasFeature CTR } else { $In | Get-CxasFeature CTR -Model cxas-test -WarningAction SilentlyContinue }
            }
            'Export-CxasMask' { $In | Export-CxasMask -OutputPath $out -Format npy }
            'Export-CxasOverlay' { $In | Export-CxasOverlay -OutputPath $out }
            'Export-CxasReport' { $In | Export-CxasReport -OutputPath "$out.html" -WarningAction SilentlyContinue }
        }
    }
}

AfterAll {
    Stop-CxasSshServer $Ssh
    Remove-Item $Work -Recurse -Force -ErrorAction SilentlyContinue
}

Describe '<Command> with <Kind> input' -ForEach $Cells {
    It 'works or says what to do' -Skip:($Remote -and $NoSsh) {
        $in = Get-Input $Kind
        $errors = $null
        $output = @(Invoke-Cell $Command $Kind $in -ErrorVariable errors -ErrorAction SilentlyContinue)
        if ($Works) {
            $errors | Should -BeNullOrEmpty
            $expected = if ($Command -eq 'Export-CxasReport') { 1 } else { 2 }
            $output.Count | Should -Be $expected
        }
        else {
            $output.Count | Should -Be 0
            @($errors).Count | Should -Be @($in).Count
            foreach ($e in $errors) {
                $e.FullyQualifiedErrorId | Should -BeLike 'Cxas.InvalidArgument*'
                $e.Exception.Message | Should -BeLike '*Invoke-CxasSegmentation first*'
            }
        }
    }
}

Describe 'Results from a remote session' -Skip:$NoSsh {
    It 'come back whole: the same masks as a local run' {
        if ($null -eq $RemoteResults) { throw 'No SSH server here (apt-get install openssh-server), and CXAS_REQUIRE_ORACLES=1 forbids skipping.' }
        # The remoting client deserializes without the module's type data: the results arrive in their deserialized
        # form (the cmdlets above take them as they are), and a cast gives the live object, masks and all.
        $RemoteResults[0].PSObject.TypeNames[0] | Should -Be 'Deserialized.Cxas.Segmentation.SegmentationResult'
        for ($i = 0; $i -lt $Results.Count; $i++) {
            $live = [Cxas.Segmentation.SegmentationResult] $RemoteResults[$i]
            $live.Path | Should -Be $Results[$i].Path
            foreach ($label in 'heart', 'spine', 'left lung') {
                $live.GetMask($label).Count() | Should -Be $Results[$i].PixelCounts[$label]
            }
        }
    }
}

Describe 'Get-CxasFeature call forms' {
    BeforeAll {
        $script:One = (Get-ChildItem $Images -Filter *.png | Select-Object -First 1).FullName
        $script:Two = (Get-ChildItem $Images -Filter *.png | Select-Object -Last 1).FullName
        Push-Location $Images
    }
    AfterAll { Pop-Location }

    It '<Form> measures <Expect>' -ForEach @(
        @{ Form = 'Get-CxasFeature x.png'; Make = { @((Split-Path $One -Leaf)) }; Expect = 'CTR of x.png' }
        @{ Form = 'Get-CxasFeature CTR x.png'; Make = { @('CTR', (Split-Path $One -Leaf)) }; Expect = 'CTR of x.png' }
        @{ Form = 'Get-CxasFeature x.png SCD'; Make = { @((Split-Path $One -Leaf), 'SCD') }; Expect = 'SCD of x.png' }
        @{ Form = 'Get-CxasFeature x.png, y.png'; Make = { , @($One, $Two) }; Expect = 'CTR of both' }
        @{ Form = 'Get-CxasFeature CTR, SCD *.png'; Make = { @(@('CTR', 'SCD'), '*.png') }; Expect = 'CTR and SCD of both' }
    ) {
        $positional = @(& $Make)
        $rows = @(Get-CxasFeature @positional -Model cxas-test -WarningAction SilentlyContinue -ErrorAction Stop)
        switch ($Expect) {
            'CTR of x.png' { $rows.Feature | Should -Be @('CTR'); $rows.Path | Should -Be @($One) }
            'SCD of x.png' { $rows.Feature | Should -Be @('SCD'); $rows.Path | Should -Be @($One) }
            'CTR of both' { $rows.Feature | Should -Be @('CTR', 'CTR'); $rows.Path | Sort-Object | Should -Be (@($One, $Two) | Sort-Object) }
            'CTR and SCD of both' { @($rows | Where-Object Feature -eq 'CTR').Count | Should -Be 2; @($rows | Where-Object Feature -eq 'SCD').Count | Should -Be 2 }
        }
    }

    It 'reports a value that is neither a feature nor a file, and still measures the rest' {
        $errors = $null
        $rows = @(Get-CxasFeature CTX (Split-Path $One -Leaf) -Model cxas-test -WarningAction SilentlyContinue -ErrorVariable errors -ErrorAction SilentlyContinue)
        $rows.Path | Should -Be @($One)
        @($errors).Count | Should -Be 1
        $errors[0].FullyQualifiedErrorId | Should -BeLike 'Cxas.InvalidArgument*'
        $errors[0].Exception.Message | Should -BeLike "*'CTX' is neither a feature*"
    }

    It 'says what it needs when given nothing' {
        { Get-CxasFeature -ErrorAction Stop } | Should -Throw -ErrorId 'Cxas.InvalidArgument*'
    }

    It 'keeps an unknown feature an error when results are piped' {
        { $Results | Get-CxasFeature Bogus -ErrorAction Stop } | Should -Throw '*Unknown feature*'
    }
}

Describe 'What the syntax shows' {
    It 'lists no hidden parameter for any cmdlet' {
        foreach ($cmd in Get-Command -Module Cxas -CommandType Cmdlet) {
            $hidden = @($cmd.Parameters.Values | Where-Object { $_.Attributes | Where-Object { $_ -is [Parameter] -and $_.DontShow } })
            $hidden.Name | Should -BeNullOrEmpty -Because "$($cmd.Name) shows every parameter it has"
            (Get-Command $cmd.Name -Syntax) | Should -Not -Match 'NotAResult'
        }
    }

    It 'makes Path the default set of Invoke-CxasSegmentation: a bare call asks for -Path' {
        (Get-Command Invoke-CxasSegmentation).DefaultParameterSet | Should -Be 'Path'
        # A host that cannot prompt names the mandatory parameter it would have asked for.
        $script = "Import-Module '$Manifest'; try { Invoke-CxasSegmentation } catch { `$_.Exception.Message }"
        $pwshDll = Join-Path $PSHOME 'pwsh.dll'
        $out = if (Test-Path $pwshDll) { & dotnet $pwshDll -NoProfile -NonInteractive -Command $script } else { & (Join-Path $PSHOME 'pwsh') -NoProfile -NonInteractive -Command $script }
        ($out -join ' ') | Should -BeLike '*missing mandatory parameters: Path*'
    }

    It 'still refuses a file piped to an Export cmdlet with one clear error' {
        $errors = $null
        Get-ChildItem $Images -Filter *.png | Select-Object -First 1 | Export-CxasMask -OutputPath (Join-Path $Work 'x') -ErrorVariable errors -ErrorAction SilentlyContinue
        @($errors).Count | Should -Be 1
        $errors[0].FullyQualifiedErrorId | Should -BeLike 'Cxas.InvalidArgument*'
        $errors[0].Exception.Message | Should -BeLike '*pipe the images through Invoke-CxasSegmentation first*'
    }
}
