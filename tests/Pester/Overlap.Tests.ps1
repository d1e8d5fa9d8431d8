#Requires -Version 7.4
# Pester 6 tests for deployment conditions (issue 21): overlapping runs into one output folder (two real processes),
# reruns over a finished folder, -Force with fewer formats, a second export with other labels, and a journal or a
# subfolder that is not what a run made (a link, a FIFO, a huge file). Run against the built module
# ($env:CXAS_MODULE, from build.ps1 Test) with the closed-form test model.

BeforeAll {
    $ErrorActionPreference = 'Stop'
    $script:ModuleDir = if ($env:CXAS_MODULE) { $env:CXAS_MODULE } else { Join-Path $PSScriptRoot '../../out/Cxas' }
    Import-Module (Join-Path $ModuleDir 'Cxas.psd1') -Force
    $script:Work = Join-Path ([IO.Path]::GetTempPath()) ("cxas-overlap-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
    New-Item -ItemType Directory -Path $Work | Out-Null
    $global:PSDefaultParameterValues['Invoke-CxasSegmentation:Model'] = 'cxas-test'
    $global:PSDefaultParameterValues['Invoke-CxasSegmentation:Device'] = 'cpu'
    $global:PSDefaultParameterValues['Invoke-CxasSegmentation:WarningAction'] = 'SilentlyContinue'

    # A chest-like PNG for the closed-form test model (lung on blue > 113, heart on green > 142): two lung fields and
    # a heart whose width follows $Seed, so every seed gives other masks, pixel counts and CTR.
    function script:New-SeededChest([string] $Path, [int] $Seed, [int] $Size = 512) {
        $c = [Cxas.Rendering.RgbaCanvas]::new($Size, $Size)
        $c.FillRect(0, 0, $Size, $Size, [Cxas.Rendering.Rgba]::new(0, 0, 0, 255))
        $c.FillRect(40, 90, 170, 260, [Cxas.Rendering.Rgba]::new(0, 0, 130, 255))
        $c.FillRect(300, 90, 170, 260, [Cxas.Rendering.Rgba]::new(0, 0, 130, 255))
        $c.FillRect(170 - ($Seed % 50), 240, 150 + 2 * ($Seed % 50), 100, [Cxas.Rendering.Rgba]::new(0, 210, 0, 255))
        New-Item -ItemType Directory -Path (Split-Path $Path) -Force | Out-Null
        [IO.File]::WriteAllBytes($Path, $c.ToPng())
    }

    . (Join-Path $PSScriptRoot 'Processes.ps1')   # New-PwshStartInfo, Invoke-Bounded

    # name -> (size, last write) of every file below a folder, hidden ones included.
    function script:Get-Snapshot([string] $Folder) {
        Get-ChildItem $Folder -Recurse -File -Force | ForEach-Object { '{0}|{1}|{2}' -f $_.FullName, $_.Length, $_.LastWriteTimeUtc.Ticks } | Sort-Object
    }
}

AfterAll {
    foreach ($k in 'Model', 'Device', 'WarningAction') { $global:PSDefaultParameterValues.Remove("Invoke-CxasSegmentation:$k") }
    Remove-Item $Work -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Two runs into one output folder' {
    It 'never attaches one input''s masks to another, and no journal line names two inputs (two processes, -Force)' {
        $out = Join-Path $Work 'shared-out'
        $go = Join-Path $Work 'go'
        $procs = foreach ($site in 'A', 'B') {
            $siteIn = Join-Path $Work "site$site"
            0..11 | ForEach-Object { New-SeededChest (Join-Path $siteIn ('{0:d3}.png' -f $_)) ($_ + $(if ($site -eq 'B') { 25 } else { 0 })) 640 }
            $report = Join-Path $Work "report$site.json"
            # Both processes load the module and the model, then start together on the go file.
            # A pwsh process of its own (not a job), so that the two runs overlap for real.
            [Diagnostics.Process]::Start((New-PwshStartInfo @"
`$ErrorActionPreference = 'Stop'
Import-Module '$ModuleDir/Cxas.psd1'
while (-not (Test-Path '$go')) { Start-Sleep -Milliseconds 5 }
`$errs = `$null
`$r = @(Get-ChildItem '$siteIn' -File | Invoke-CxasSegmentation -Model cxas-test -Device cpu -OutputPath '$out' -OutputType npy -Force -ErrorVariable errs -ErrorAction SilentlyContinue -WarningAction SilentlyContinue)
[pscustomobject] @{ Errors = @(`$errs | ForEach-Object { `$_.ToString() }); Sums = @(`$r | ForEach-Object { [pscustomobject] @{ Path = `$_.Path; Sum = [long] (`$_.PixelCounts.Values | Measure-Object -Sum).Sum } }) } | ConvertTo-Json -Depth 4 | Set-Content '$report'
"@))
        }
        Start-Sleep -Seconds 3
        Set-Content $go 'go'
        foreach ($p in $procs) {
            if (-not $p.WaitForExit(240000)) { $p.Kill($true); throw 'a run did not finish within 240 s' }
            $p.ExitCode | Should -Be 0
        }
        $sums = @{}
        foreach ($site in 'A', 'B') {
            $report = Get-Content (Join-Path $Work "report$site.json") -Raw | ConvertFrom-Json
            @($report.Errors) | Should -BeNullOrEmpty
            @($report.Sums).Count | Should -Be 12
            foreach ($s in $report.Sums) { $sums[$s.Path] = $s.Sum }
        }
        # The journal: 24 lines, no name and no input twice.
        $lines = @(Get-Content -LiteralPath (Join-Path $out '.cxas-plan.tsv') | ForEach-Object { , ($_ -split "`t") })
        $lines.Count | Should -Be 24
        @($lines | ForEach-Object { $_[0] } | Sort-Object -Unique).Count | Should -Be 24
        @($lines | ForEach-Object { $_[1] } | Sort-Object -Unique).Count | Should -Be 24
        # Each input's file (at the journal's name) holds that input's masks: numpy's sums against each run's own counts.
        $files = $lines | ForEach-Object { Join-Path $out ($_[0] + '.npy') }
        $code = 'import sys, numpy as np; [print(int(np.load(f).sum())) for f in sys.argv[1:]]'
        $npySums = @(& /usr/bin/python3 -c $code @files)
        for ($i = 0; $i -lt 24; $i++) { [long] $npySums[$i] | Should -Be $sums[$lines[$i][1]] -Because $lines[$i][0] }
    }
}

Describe 'Reruns over a finished folder' {
    BeforeAll {
        $script:In = Join-Path $Work 'rerun-in'
        0..3 | ForEach-Object { New-SeededChest (Join-Path $In "c$_.png") ($_ * 11) }
    }

    It 'answers every finished input with the first run''s result (identical CSV), decoding nothing and writing nothing' {
        $garbled = Join-Path $Work 'rerun-garbled'
        Copy-Item $In $garbled -Recurse
        $out = Join-Path $Work 'rerun-out'
        $csv1 = Join-Path $Work 'ctr1.csv'
        $csv2 = Join-Path $Work 'ctr2.csv'
        # jpg only: the masks on disk are lossy, yet the rerun's results are the first run's exactly.
        Invoke-CxasSegmentation -Path $garbled -OutputPath $out -OutputType jpg | Get-CxasFeature CTR | Export-Csv $csv1
        @(Import-Csv $csv1).Count | Should -Be 4
        $before = Get-Snapshot $out
        # The inputs are now garbage: a rerun that decoded them would fail.
        Get-ChildItem $garbled -File | ForEach-Object { [IO.File]::WriteAllBytes($_.FullName, [byte[]] (1..64)) }
        $errs = $null
        Invoke-CxasSegmentation -Path $garbled -OutputPath $out -OutputType jpg -ErrorVariable errs | Get-CxasFeature CTR | Export-Csv $csv2
        $errs | Should -BeNullOrEmpty
        Get-Content $csv2 -Raw | Should -BeExactly (Get-Content $csv1 -Raw)
        Get-Snapshot $out | Should -Be $before
        # Dropping finished inputs is asked for explicitly.
        @(Invoke-CxasSegmentation -Path $garbled -OutputPath $out -OutputType jpg -SkipFinished).Count | Should -Be 0
    }

    It 'keeps the other formats when -Force rewrites fewer' {
        $out = Join-Path $Work 'fewer-out'
        $one = Join-Path $In 'c1.png'
        $r = Invoke-CxasSegmentation -LiteralPath $one -OutputPath $out -OutputType png, jpg
        $n = $r.ClassCount
        Invoke-CxasSegmentation -LiteralPath $one -OutputPath $out -OutputType jpg -Force | Out-Null
        @(Get-ChildItem (Join-Path $out 'c1') -Filter *.png).Count | Should -Be $n
        @(Get-ChildItem (Join-Path $out 'c1') -Filter *.jpg).Count | Should -Be $n
    }

    It 'adds the classes a second export asks for, and refuses a file it would silently keep' {
        $r = Invoke-CxasSegmentation -LiteralPath (Join-Path $In 'c2.png')
        $first, $second = $r.Masks.Labels[0], $r.Masks.Labels[1]
        $m = Join-Path $Work 'labels-out'
        $r | Export-CxasMask -OutputPath $m -Format png -Label $first | Out-Null
        $added = @($r | Export-CxasMask -OutputPath $m -Format png -Label $second)
        $added.Count | Should -Be 1
        Test-Path -LiteralPath (Join-Path $m "c2/$first.png") | Should -BeTrue
        Test-Path -LiteralPath (Join-Path $m "c2/$second.png") | Should -BeTrue
        # A npy holds the classes of the export that wrote it: asking again is an error, never nothing.
        $r | Export-CxasMask -OutputPath $m -Format npy -Label $first | Out-Null
        $errs = $null
        $r | Export-CxasMask -OutputPath $m -Format npy -Label $second -ErrorVariable errs -ErrorAction SilentlyContinue | Out-Null
        $errs.Count | Should -Be 1
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'Cxas.AlreadyExists*'
    }
}

Describe 'A journal or a subfolder the run did not make' {
    BeforeAll {
        $script:One = Join-Path $Work 'j-in/x.png'
        New-SeededChest $One 3 96
    }

    It 'never follows a journal that is a link' {
        $out = Join-Path $Work 'j-link'
        New-Item -ItemType Directory $out | Out-Null
        $victim = Join-Path $Work 'victim.txt'
        Set-Content $victim 'untouched'
        New-Item -ItemType SymbolicLink -Path (Join-Path $out '.cxas-plan.tsv') -Target $victim | Out-Null
        { Invoke-CxasSegmentation -LiteralPath $One -OutputPath $out -OutputType npy } | Should -Throw -ErrorId 'Cxas.InvalidData*'
        Get-Content $victim | Should -Be 'untouched'
        Test-Path (Join-Path $out 'x.npy') | Should -BeFalse
    }

    It 'does not hang on a journal that is a FIFO' {
        $out = Join-Path $Work 'j-fifo'
        New-Item -ItemType Directory $out | Out-Null
        & mkfifo (Join-Path $out '.cxas-plan.tsv')
        $written = Invoke-Bounded {
            param($m, $one, $out)
            Import-Module "$m/Cxas.psd1"
            Invoke-CxasSegmentation -LiteralPath $one -Model cxas-test -Device cpu -OutputPath $out -OutputType npy -WarningAction SilentlyContinue | Out-Null
            Test-Path (Join-Path $out 'x.npy')
        } @($ModuleDir, $One, $out) 60
        $written | Should -BeTrue
        (Get-Item -Force (Join-Path $out '.cxas-plan.tsv')).Length | Should -BeGreaterThan 0
    }

    It 'refuses an oversized journal with Cxas.LimitExceeded, without reading it' {
        $out = Join-Path $Work 'j-huge'
        New-Item -ItemType Directory $out | Out-Null
        $fs = [IO.File]::Create((Join-Path $out '.cxas-plan.tsv'))
        $fs.SetLength(1.5GB)   # sparse: takes no disk
        $fs.Dispose()
        $answer = Invoke-Bounded {
            param($m, $one, $out)
            Import-Module "$m/Cxas.psd1"
            try { Invoke-CxasSegmentation -LiteralPath $one -Model cxas-test -Device cpu -OutputPath $out -OutputType npy -WarningAction SilentlyContinue | Out-Null; 'no error' }
            catch { $_.FullyQualifiedErrorId + ' ' + [Diagnostics.Process]::GetCurrentProcess().PeakWorkingSet64 }
        } @($ModuleDir, $One, $out) 60
        $id, $peak = "$answer" -split ' '
        $id | Should -BeLike 'Cxas.LimitExceeded*'
        [long] $peak | Should -BeLessThan 1GB
    }

    It 'never writes through a subfolder of the output that is a link to a folder outside' {
        $tree = Join-Path $Work 'link-tree'
        New-SeededChest (Join-Path $tree 'sub/x.png') 5 96
        $outside = Join-Path $Work 'outside'
        New-Item -ItemType Directory $outside | Out-Null
        $out = Join-Path $Work 'link-out'
        New-Item -ItemType Directory $out | Out-Null
        New-Item -ItemType SymbolicLink -Path (Join-Path $out 'sub') -Target $outside | Out-Null
        $errs = $null
        Invoke-CxasSegmentation -Path $tree -Recurse -OutputPath $out -OutputType npy -ErrorVariable errs -ErrorAction SilentlyContinue | Out-Null
        $errs.Count | Should -Be 1
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'Cxas.AlreadyExists*'
        @(Get-ChildItem $outside -Force).Count | Should -Be 0
    }
}
