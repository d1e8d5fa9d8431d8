#Requires -Version 7.4
# Pester 6 tests for an unattended server: hostile input names never reach outside the output plan, colliding inputs
# never share an output, a killed run resumes exactly, and folder scans never loop or block.
# Run against the built module ($env:CXAS_MODULE, from build.ps1 Test) with the closed-form test model.

BeforeAll {
    $ErrorActionPreference = 'Stop'
    $script:ModuleDir = if ($env:CXAS_MODULE) { $env:CXAS_MODULE } else { Join-Path $PSScriptRoot '../../out/Cxas' }
    Import-Module (Join-Path $ModuleDir 'Cxas.psd1') -Force
    $script:Work = Join-Path ([IO.Path]::GetTempPath()) ("cxas-trust-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
    New-Item -ItemType Directory -Path $Work | Out-Null
    $global:PSDefaultParameterValues['Invoke-CxasSegmentation:Model'] = 'cxas-test'
    $global:PSDefaultParameterValues['Invoke-CxasSegmentation:Device'] = 'cpu'

    # A small PNG whose masks depend on $Seed (flat colour blocks; the test model thresholds the channels).
    function script:New-TestPng([string] $Path, [int] $Seed, [int] $Width = 96, [int] $Height = 80) {
        $c = [Cxas.Rendering.RgbaCanvas]::new($Width, $Height)
        $c.FillRect(0, 0, $Width, $Height, [Cxas.Rendering.Rgba]::new(($Seed * 53) % 256, ($Seed * 97) % 256, ($Seed * 31) % 256, 255))
        $c.FillRect($Seed % 40, 10, 30, 40, [Cxas.Rendering.Rgba]::new(250, 250, 250, 255))
        New-Item -ItemType Directory -Path (Split-Path $Path) -Force | Out-Null
        [IO.File]::WriteAllBytes($Path, $c.ToPng())
    }

    . (Join-Path $PSScriptRoot 'Processes.ps1')   # New-PwshStartInfo, Invoke-Bounded

    function script:Get-Temporaries([string] $Folder) {
        @(Get-ChildItem $Folder -Force -Recurse | Where-Object Name -like '.cxas-*.tmp')
    }
}

AfterAll {
    $global:PSDefaultParameterValues.Remove('Invoke-CxasSegmentation:Model')
    $global:PSDefaultParameterValues.Remove('Invoke-CxasSegmentation:Device')
    Remove-Item $Work -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Output names from hostile input names' {
    It 'never deletes the folder above the output for an input whose stem is ".."' {
        $parent = Join-Path $Work 'dotdot'
        New-TestPng (Join-Path $parent 'in/...png') 1
        Set-Content (Join-Path $parent 'precious.txt') 'keep'
        $out = Join-Path $parent 'out'
        $r = Invoke-CxasSegmentation -LiteralPath (Join-Path $parent 'in/...png') -OutputPath $out -Force
        $r.Stem | Should -Be '..'
        Get-Content (Join-Path $parent 'precious.txt') | Should -Be 'keep'
        Test-Path (Join-Path $parent 'in/...png') | Should -BeTrue
        $folders = @(Get-ChildItem $out -Directory)
        $folders.Count | Should -Be 1
        $folders[0].Name | Should -Not -BeLike '.*'
        @(Get-ChildItem $folders[0].FullName -Filter *.png).Count | Should -Be 159
        # Twice with -Force: the input's own folder is replaced, nothing else.
        Invoke-CxasSegmentation -LiteralPath (Join-Path $parent 'in/...png') -OutputPath $out -Force | Out-Null
        Get-Content (Join-Path $parent 'precious.txt') | Should -Be 'keep'
    }

    It 'never replaces the output folder for an input named ".png"' {
        $root = Join-Path $Work 'dotpng'
        New-TestPng (Join-Path $root 'in/.png') 2
        $out = Join-Path $root 'out'
        New-Item -ItemType Directory $out | Out-Null
        Set-Content (Join-Path $out 'notes.txt') 'mine'
        Invoke-CxasSegmentation -LiteralPath (Join-Path $root 'in/.png') -OutputPath $out -OutputType png, npy -Force | Out-Null
        Get-Content (Join-Path $out 'notes.txt') | Should -Be 'mine'
        Test-Path (Join-Path $out '_/heart.png') | Should -BeTrue
        Test-Path (Join-Path $out '_.npy') | Should -BeTrue
    }

    It 'gives Windows device names and separators a portable name' {
        $root = Join-Path $Work 'device'
        New-TestPng (Join-Path $root 'con.png') 3
        New-TestPng (Join-Path $root 'a:b.png') 4
        $out = Join-Path $root 'out'
        Invoke-CxasSegmentation -LiteralPath (Join-Path $root 'con.png'), (Join-Path $root 'a:b.png') -OutputPath $out -OutputType npy | Out-Null
        (Get-ChildItem $out -File).Name | Sort-Object | Should -Be @('_con.npy', 'a_b.npy')
    }

    It 'writes names of 240-250 characters whole, and longer ones shortened, never failing on the temporary name' {
        $root = Join-Path $Work 'long'
        $name245 = 'x' * 245
        $name300 = 'y' * 300
        New-TestPng (Join-Path $root "$name245.png") 5
        $out = Join-Path $root 'out'
        $errs = $null
        Invoke-CxasSegmentation -LiteralPath (Join-Path $root "$name245.png") -OutputPath $out -OutputType npz, png -ErrorVariable errs -ErrorAction SilentlyContinue | Out-Null
        $errs.Count | Should -Be 0
        Test-Path -LiteralPath (Join-Path $out "$name245.npz") | Should -BeTrue
        Test-Path -LiteralPath (Join-Path $out "$name245/heart.png") | Should -BeTrue
        # A 300-character stem cannot be a file name (255 bytes): the plan shortens it and keeps it distinct.
        $r = [Cxas.Segmentation.SegmentationResult]::new([Cxas.Imaging.SourceInfo]::new((Join-Path $root "$name300.png"), 'PNG'),
            4, 4, 'm', '.', 'Cpu', [Cxas.Masks.MaskSet]::new([string[]] @('a'), 4, 4, 4, 4), [TimeSpan]::Zero, [TimeSpan]::Zero)
        $record = $r | Export-CxasMask -OutputPath $out -Format npy
        [Text.Encoding]::UTF8.GetByteCount((Split-Path $record.OutputPath -Leaf)) | Should -BeLessOrEqual 255
        Test-Path -LiteralPath $record.OutputPath | Should -BeTrue
        @(Get-Temporaries $out).Count | Should -Be 0
    }
}

Describe 'Inputs that would collide' {
    BeforeAll {
        $script:Tree = Join-Path $Work 'tree'
        New-TestPng (Join-Path $Tree 'a/IM0001') 10
        New-TestPng (Join-Path $Tree 'b/IM0001') 11
        New-TestPng (Join-Path $Tree 'twin.png') 12
        New-TestPng (Join-Path $Tree 'twin.jpg.tmp') 13   # not an image extension: ignored by the scan
        $c = [Cxas.Rendering.RgbaCanvas]::new(64, 64)
        $c.FillRect(0, 0, 64, 64, [Cxas.Rendering.Rgba]::new(200, 10, 240, 255))
        [IO.File]::WriteAllBytes((Join-Path $Tree 'twin.jpg'), $c.ToPng())   # PNG content: recognised by content
    }

    It 'mirrors the input tree for a folder run, and separates twin.png from twin.jpg' {
        $out = Join-Path $Work 'tree-out'
        $r = @(Invoke-CxasSegmentation $Tree -Recurse -OutputPath $out -OutputType npy)
        $r.Count | Should -Be 4
        # Full-path order: twin.jpg comes first and keeps the stem; twin.png gives way to its whole name.
        foreach ($rel in 'a/IM0001.npy', 'b/IM0001.npy', 'twin.npy', 'twin.png.npy') { Test-Path (Join-Path $out $rel) | Should -BeTrue -Because $rel }
        # Each file holds its own input's masks (numpy's sums against the result's counts).
        $code = 'import sys, numpy as np; print(int(np.load(sys.argv[1]).sum()))'
        foreach ($pair in @(@('a/IM0001.npy', 0), @('b/IM0001.npy', 1))) {
            $sum = [long] (& /usr/bin/python3 -c $code (Join-Path $out $pair[0]))
            $sum | Should -Be ($r[$pair[1]].PixelCounts.Values | Measure-Object -Sum).Sum
        }
    }

    It 'keeps same-named files piped from different folders apart, across runs too' {
        $out = Join-Path $Work 'flat-out'
        $first = Get-Item (Join-Path $Tree 'a/IM0001') | Invoke-CxasSegmentation -OutputPath $out -OutputType npy
        Test-Path (Join-Path $out 'IM0001.npy') | Should -BeTrue
        # A later run with the other IM0001 must neither take the first one's output for its own nor overwrite it.
        $before = (Get-Item (Join-Path $out 'IM0001.npy')).LastWriteTimeUtc
        $second = @(Get-Item (Join-Path $Tree 'b/IM0001') | Invoke-CxasSegmentation -OutputPath $out -OutputType npy -Force)
        $second.Count | Should -Be 1
        (Get-Item (Join-Path $out 'IM0001.npy')).LastWriteTimeUtc | Should -Be $before
        @(Get-ChildItem $out -Filter 'IM0001~*.npy').Count | Should -Be 1
        # Both in one pipeline: two outputs, one per input.
        $out2 = Join-Path $Work 'flat-out2'
        Get-ChildItem $Tree -Recurse -File -Filter IM0001 | Invoke-CxasSegmentation -OutputPath $out2 -OutputType npy | Out-Null
        @(Get-ChildItem $out2 -File).Count | Should -Be 2
    }

    It 'writes png and jpg masks side by side, and -Force keeps both' {
        $out = Join-Path $Work 'pngjpg'
        $one = Join-Path $Tree 'twin.png'
        Invoke-CxasSegmentation -LiteralPath $one -OutputPath $out -OutputType png, jpg | Out-Null
        Invoke-CxasSegmentation -LiteralPath $one -OutputPath $out -OutputType png, jpg -Force | Out-Null
        @(Get-ChildItem (Join-Path $out 'twin') -Filter *.png).Count | Should -Be 159
        @(Get-ChildItem (Join-Path $out 'twin') -Filter *.jpg).Count | Should -Be 159
    }

    It 'never replaces a folder of someone else''s at a planned name, even with -Force' {
        $out = Join-Path $Work 'foreign'
        New-Item -ItemType Directory (Join-Path $out 'twin/keep') -Force | Out-Null
        Set-Content (Join-Path $out 'twin/keep/data.txt') 'theirs'
        $errs = $null
        Invoke-CxasSegmentation -LiteralPath (Join-Path $Tree 'twin.png') -OutputPath $out -Force -ErrorVariable errs -ErrorAction SilentlyContinue | Out-Null
        $errs.Count | Should -Be 1
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'Cxas.AlreadyExists*'
        Get-Content (Join-Path $out 'twin/keep/data.txt') | Should -Be 'theirs'
    }
}

Describe 'A killed run, rerun' {
    It 'writes exactly the missing outputs, skips finished inputs before decoding them and leaves no temporary file' {
        $in = Join-Path $Work 'resume-in'
        0..29 | ForEach-Object { New-TestPng (Join-Path $in ('img{0:d2}.png' -f $_)) $_ 640 576 }
        $out = Join-Path $Work 'resume-out'
        $script = "Import-Module '$ModuleDir/Cxas.psd1'; Invoke-CxasSegmentation -Path '$in' -Model cxas-test -Device cpu -OutputPath '$out' -OutputType png, npz | Out-Null"
        $p = [Diagnostics.Process]::Start((New-PwshStartInfo $script))
        $deadline = [DateTime]::UtcNow.AddSeconds(120)
        while (@(Get-ChildItem $out -Filter *.npz -ErrorAction SilentlyContinue).Count -lt 4 -and -not $p.HasExited -and [DateTime]::UtcNow -lt $deadline) {
            Start-Sleep -Milliseconds 20
        }
        $p.HasExited | Should -BeFalse -Because 'the run must be killed midway'
        $p.Kill($true); $p.WaitForExit()
        # What a kill can leave: the planned outputs written so far, and perhaps a temporary of the dead process, named
        # .cxas-<host>-<pid>-<random>.tmp with <host> the first 4 bytes of SHA-256 of the lower-case machine name, in hex.
        $hostTag = -join ([Security.Cryptography.SHA256]::Create().ComputeHash([Text.Encoding]::UTF8.GetBytes([Environment]::MachineName.ToLowerInvariant()))[0..3] | ForEach-Object { $_.ToString('x2') })
        [IO.File]::WriteAllText((Join-Path $out ".cxas-$hostTag-$($p.Id)-0badf00d.tmp"), 'partial')
        $done = @(Get-ChildItem $out -Filter *.npz | ForEach-Object BaseName)
        $done.Count | Should -BeLessThan 30
        $stamp = (Get-Item (Join-Path $out "$($done[0]).npz")).LastWriteTimeUtc

        $warnings = $null
        $again = @(Invoke-CxasSegmentation -Path $in -OutputPath $out -OutputType png, npz -SkipFinished -WarningVariable warnings -WarningAction SilentlyContinue)
        # Finished inputs were skipped before decoding (and, with -SkipFinished, not emitted): only the others were segmented again.
        $again.Count | Should -Be (30 - $done.Count)
        $again.Stem | Where-Object { $_ -in $done } | Should -BeNullOrEmpty
        ($warnings | Out-String) | Should -BeLike "*Skipped $($done.Count) input*"
        (Get-Item (Join-Path $out "$($done[0]).npz")).LastWriteTimeUtc | Should -Be $stamp
        @(Get-ChildItem $out -Filter *.npz).Count | Should -Be 30
        @(Get-ChildItem $out -Directory | Where-Object { @(Get-ChildItem $_.FullName -Filter *.png).Count -eq 159 }).Count | Should -Be 30
        @(Get-Temporaries $out).Count | Should -Be 0
        # A third run has nothing left to do.
        @(Invoke-CxasSegmentation -Path $in -OutputPath $out -OutputType png, npz -SkipFinished -WarningAction SilentlyContinue).Count | Should -Be 0
        # Without the switch, every input is answered: the finished ones with their first run's result.
        @(Invoke-CxasSegmentation -Path $in -OutputPath $out -OutputType png, npz -WarningAction SilentlyContinue).Count | Should -Be 30
    }
}

Describe 'Folder scans' {
    It 'does not follow a folder link into a loop, and with -FollowSymlink scans each folder once' {
        $root = Join-Path $Work 'loop'
        New-TestPng (Join-Path $root 'a.png') 20
        New-TestPng (Join-Path $root 'sub/b.png') 21
        New-Item -ItemType SymbolicLink -Path (Join-Path $root 'sub/loop') -Target '..' | Out-Null
        $block = { param($m, $p, $follow)
            Import-Module $m
            @(Invoke-CxasSegmentation -Path $p -Recurse -FollowSymlink:$follow -Model cxas-test -Device cpu).Count }
        Invoke-Bounded $block @((Join-Path $ModuleDir 'Cxas.psd1'), $root, $false) | Should -Be 2
        Invoke-Bounded $block @((Join-Path $ModuleDir 'Cxas.psd1'), $root, $true) | Should -Be 2
    }

    It 'does not block on a FIFO in a scanned folder' {
        $root = Join-Path $Work 'fifo'
        New-TestPng (Join-Path $root 'a.png') 22
        & mkfifo (Join-Path $root 'pipe')
        & mkfifo (Join-Path $root 'pipe.png')
        $block = { param($m, $p)
            Import-Module $m
            $r = @(Invoke-CxasSegmentation -Path $p -Model cxas-test -Device cpu -ErrorVariable errs -ErrorAction SilentlyContinue)
            "$($r.Count) $($errs.Count)" }
        Invoke-Bounded $block @((Join-Path $ModuleDir 'Cxas.psd1'), $root) | Should -Be '1 1'
    }

    It 'reports a -Path that matches nothing, and points to -LiteralPath when the name exists' {
        $root = Join-Path $Work 'brackets'
        New-TestPng (Join-Path $root '[1].png') 23
        $errs = $null
        $r = @(Invoke-CxasSegmentation -Path (Join-Path $root '[1].png') -ErrorVariable errs -ErrorAction SilentlyContinue)
        $r.Count | Should -Be 0
        $errs.Count | Should -Be 1
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'Cxas.NotFound*'
        $errs[0].Exception.Message | Should -BeLike '*-LiteralPath*'
        $errs = $null
        Invoke-CxasSegmentation -Path (Join-Path $root 'none*.png') -ErrorVariable errs -ErrorAction SilentlyContinue | Out-Null
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'Cxas.NotFound*'
        @(Invoke-CxasSegmentation -LiteralPath (Join-Path $root '[1].png')).Count | Should -Be 1
    }

    It 'skips hidden files and says so with -Verbose' {
        $root = Join-Path $Work 'hidden'
        New-TestPng (Join-Path $root 'a.png') 24
        New-TestPng (Join-Path $root '.b.png') 25
        $v = Invoke-CxasSegmentation -Path $root -Verbose 4>&1
        @($v | Where-Object { $_ -is [Cxas.Segmentation.SegmentationResult] }).Count | Should -Be 1
        ($v | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | Out-String) | Should -BeLike '*1 hidden entry*'
    }
}

Describe 'Error ids' {
    It 'reports a COCO file or an output folder that cannot be written as Cxas.WriteFailed' {
        New-TestPng (Join-Path $Work 'ids/a.png') 26
        # root ignores permission bits: a folder under /proc cannot be created by anyone.
        foreach ($type in 'json', 'npy') {
            $errs = $null
            Invoke-CxasSegmentation -LiteralPath (Join-Path $Work 'ids/a.png') -OutputPath '/proc/cxas-no-such-folder' -OutputType $type -ErrorVariable errs -ErrorAction SilentlyContinue | Out-Null
            $errs.Count | Should -BeGreaterThan 0 -Because $type
            $errs[0].FullyQualifiedErrorId | Should -BeLike 'Cxas.WriteFailed*' -Because $type
        }
    }
}
