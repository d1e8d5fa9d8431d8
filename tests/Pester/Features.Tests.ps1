#Requires -Version 7.4
# Pester 6 tests for Get-CxasFeature, Export-CxasOverlay and Export-CxasReport, run against the built module
# ($env:CXAS_MODULE, from build.ps1 Test). The closed-form test model turns class k on where the 8-bit channel (k mod 3)
# exceeds (k*37 mod 255): lung (134) on blue > 113, right hemidiaphragm (107) on blue > 134, heart (121) on green > 142.
# So flat colour rectangles in a 512x512 image (the model's own size: no resampling) give masks of known geometry.

BeforeAll {
    $ErrorActionPreference = 'Stop'
    $script:ModuleDir = if ($env:CXAS_MODULE) { $env:CXAS_MODULE } else { Join-Path $PSScriptRoot '../../out/Cxas' }
    Import-Module (Join-Path $ModuleDir 'Cxas.psd1') -Force
    $script:Work = Join-Path ([IO.Path]::GetTempPath()) ("cxas-features-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
    New-Item -ItemType Directory -Path $Work | Out-Null

    function script:Rgb([int] $r, [int] $g, [int] $b) { [Cxas.Rendering.Rgba]::new($r, $g, $b, 255) }

    # Lungs: columns 50..199 and 300..449, rows 100..349 (blue 120). Right hemidiaphragm: columns 50..239,
    # rows 350..359 (blue 200, also lung). Heart: rows 250..349 from column $HeartLeft to $HeartRight (green 200),
    # drawn last, so the lung is cut out under it. Without -HeartRight the image has no heart.
    function script:New-Chest([string] $Path, [int] $HeartLeft = -1, [int] $HeartRight = -1) {
        $c = [Cxas.Rendering.RgbaCanvas]::new(512, 512)
        $c.FillRect(0, 0, 512, 512, (Rgb 0 0 0))
        $c.FillRect(50, 100, 150, 250, (Rgb 0 0 120))
        $c.FillRect(300, 100, 150, 250, (Rgb 0 0 120))
        $c.FillRect(50, 350, 190, 10, (Rgb 0 0 200))
        if ($HeartRight -ge 0) { $c.FillRect($HeartLeft, 250, $HeartRight - $HeartLeft + 1, 100, (Rgb 0 200 0)) }
        [IO.File]::WriteAllBytes($Path, $c.ToPng())
    }

    $script:In = Join-Path $Work 'in'
    New-Item -ItemType Directory -Path $In | Out-Null
    New-Chest (Join-Path $In 'a.png') 180 339      # heart 160 wide, thorax 400: CTR 0.4
    New-Chest (Join-Path $In 'b.png') 150 369      # heart 220 wide: CTR 0.55
    New-Chest (Join-Path $In 'c.png')              # no heart
    $script:Results = Invoke-CxasSegmentation -Path $In -Model cxas-test -Device cpu -WarningAction SilentlyContinue
}

AfterAll {
    Remove-Item $Work -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Get-CxasFeature' {
    It 'measures the standard CTR from pipeline results, with its parts' {
        $f = $Results | Get-CxasFeature -Feature CTR
        $f.Count | Should -Be 3
        $a = $f | Where-Object FileName -eq 'a.png'
        $a.Value | Should -Be (160 / 400)
        $a.Unit | Should -Be 'ratio'
        $a.Status | Should -Be 'OK'
        $a.Method | Should -Be 'Standard'
        $a.HeartWidth | Should -Be 160
        $a.ThoracicWidth | Should -Be 400
        $a.HeartRightXPx | Should -Be 180
        $a.HeartLeftXPx | Should -Be 339
        $a.ThoraxYPx | Should -Be 100
        ($a.RightHeartExtent + $a.LeftHeartExtent) | Should -Be 160
        ($f | Where-Object FileName -eq 'b.png').Value | Should -Be (220 / 400)
    }

    It 'gives a status and no value when the heart is missing' {
        $c = $Results | Get-CxasFeature -Feature CTR | Where-Object FileName -eq 'c.png'
        $c.Status | Should -Be 'Missing'
        $c.Value | Should -BeNullOrEmpty
        $c.Message | Should -Match 'heart'
    }

    It 'computes the reference variant from the right hemidiaphragm midline' {
        $r = $Results[0] | Get-CxasFeature -Feature 'Cardio-Thoracic Ratio' -CtrMethod Standard, Reference
        $r.Count | Should -Be 2
        $ref = $r | Where-Object Method -eq 'Reference'
        $ref.MidlineXPx | Should -Be 239
        $ref.Value | Should -Be ((239 - 180 + 339 - 239) / (449 - 50))
    }

    It 'measures shape features of the chosen classes' {
        $area = $Results[0] | Get-CxasFeature -Feature Area -Label heart
        $area.Value | Should -Be (160 * 100)
        $area.Unit | Should -Be 'px^2'
        $box = $Results[0] | Get-CxasFeature -Feature BoundingBox -Label heart
        @($box.X, $box.Y, $box.Width, $box.Height) | Should -Be @(180, 250, 160, 100)
        # Several features together: the long form, one row per number, each in Value.
        $long = @($Results[0] | Get-CxasFeature -Feature Area, BoundingBox -Label heart)
        ($long | ForEach-Object { "$($_.Feature)/$($_.Measure)=$($_.Value)" }) -join ' ' |
            Should -Be 'Area/Area=16000 BoundingBox/X=180 BoundingBox/Y=250 BoundingBox/Width=160 BoundingBox/Height=100'
    }

    It 'segments image files itself and stores the masks with -OutputPath' {
        $masks = Join-Path $Work 'masks'
        $f = Get-CxasFeature -Path (Join-Path $In '*.png') -Model cxas-test -Device cpu -Feature CTR -OutputPath $masks -WarningAction SilentlyContinue
        ($f | Where-Object FileName -eq 'b.png').Value | Should -Be (220 / 400)
        Join-Path $masks 'a/heart.png' | Should -Exist
    }

    It 'exports one feature to CSV with that feature''s columns, its value right after the identity columns' {
        $csv = Join-Path $Work 'ctr.csv'
        $Results | Get-CxasFeature -Feature CTR | Export-Csv $csv
        $rows = Import-Csv $csv
        $rows.Count | Should -Be 3
        $columns = $rows[0].PSObject.Properties.Name
        $columns[0..6] | Should -Be @('Path', 'FileName', 'Feature', 'Method', 'Value', 'Unit', 'Status')
        $columns | Should -Contain 'HeartWidth'
        $columns | Should -Not -Contain 'VertebraCount'
        $columns | Should -Not -Contain 'X'
        [double] ($rows | Where-Object FileName -eq 'a.png').Value | Should -Be 0.4
        ($rows | Where-Object FileName -eq 'c.png').Value | Should -Be ''

        $csv = Join-Path $Work 'centroid.csv'
        $Results | Get-CxasFeature -Feature Centroid -Label heart, lung | Export-Csv $csv
        $rows = Import-Csv $csv
        $rows.Count | Should -Be 6
        $rows[0].PSObject.Properties.Name[0..5] | Should -Be @('Path', 'FileName', 'Feature', 'Label', 'X', 'Y')
        $rows[0].PSObject.Properties.Name | Should -Not -Contain 'Value'
        $heartA = $rows | Where-Object { $_.FileName -eq 'a.png' -and $_.Label -eq 'heart' }
        # The heart of a.png covers columns 180..339 and rows 250..349: its centroid is the middle of that box.
        @([double] $heartA.X, [double] $heartA.Y) | Should -Be @(259.5, 299.5)
    }

    It 'exports several features together in the long form: the same columns on every row, every number in Value' {
        $csv = Join-Path $Work 'features.csv'
        $Results | Get-CxasFeature -Feature CTR, SCD | Export-Csv $csv
        $rows = Import-Csv $csv
        $rows.Count | Should -Be 6
        $rows[0].PSObject.Properties.Name | Should -Be @('Path', 'FileName', 'Feature', 'Method', 'Label', 'Measure', 'Value', 'Unit', 'Status', 'Message')
        [double] ($rows | Where-Object { $_.FileName -eq 'b.png' -and $_.Feature -eq 'CTR' }).Value | Should -Be 0.55
        ($rows | Where-Object { $_.FileName -eq 'c.png' -and $_.Feature -eq 'CTR' }).Value | Should -Be ''
        @($rows | Where-Object Feature -eq 'SCD').Count | Should -Be 3
    }

    It 'takes site defaults for -Model, -Device and -Force quietly, and still warns when they are typed' {
        $saved = $PSDefaultParameterValues.Clone()
        try {
            $PSDefaultParameterValues['*-Cxas*:Model'] = 'cxas-test'
            $PSDefaultParameterValues['*-Cxas*:Device'] = 'Cpu'
            $PSDefaultParameterValues['*-Cxas*:Force'] = $true
            $rows = & { $WarningPreference = 'Stop'; $Results | Get-CxasFeature -Feature CTR }
            @($rows).Count | Should -Be 3
        }
        finally { $PSDefaultParameterValues.Clear(); foreach ($k in $saved.Keys) { $PSDefaultParameterValues[$k] = $saved[$k] } }
        $warnings = $null
        $Results | Get-CxasFeature -Feature CTR -Model cxas-test -WarningVariable warnings -WarningAction SilentlyContinue | Out-Null
        ($warnings | Out-String) | Should -BeLike '*-Model apply to image files*'
    }

    It 'refuses shape features without -Label and unknown feature names' {
        { $Results | Get-CxasFeature -Feature Area } | Should -Throw -ErrorId 'Cxas.InvalidArgument*'
        { $Results | Get-CxasFeature -Feature Volume } | Should -Throw -ErrorId 'Cxas.InvalidArgument*'
    }

    It 'completes feature names' {
        $line = 'Get-CxasFeature -Feature Spine'
        $m = (TabExpansion2 $line $line.Length).CompletionMatches.CompletionText
        $m | Should -Contain "'Spine-Center Distance'"
    }
}

Describe 'Values and statuses' {
    It 'keeps a result, its source and an export record read-only' {
        $r = $Results[0]
        { $r.Source.Path = 'elsewhere.png' } | Should -Throw '*ReadOnly*'
        { $r.ModelVersion = '2' } | Should -Throw '*ReadOnly*'
        $record = $r | Export-CxasMask -OutputPath (Join-Path $Work 'read-only') -Format npy
        { $record.Status = 'Stored' } | Should -Throw '*ReadOnly*'
        $record.Status | Should -Be 'Written'
        $r.Source.Path | Should -Be (Join-Path $In 'a.png')
    }

    It 'gives the DICOM node status the cmdlets emit no public setter' {
        $settable = [Cxas.PowerShell.DicomNodeStatus].GetProperties() | Where-Object { $_.SetMethod -and $_.SetMethod.IsPublic }
        @($settable).Name | Should -BeNullOrEmpty
    }

    It 'sends statuses across a job as their names, so filters and CSV there match' -Tag 'PwshProcess' {
        $job = Start-Job {
            param($Module, $Image, $Out)
            Import-Module $Module
            $r = Invoke-CxasSegmentation $Image -Model cxas-test -Device cpu -WarningAction SilentlyContinue
            $r | Get-CxasFeature -Feature CTR
            $r | Export-CxasMask -OutputPath $Out -Format npy
        } -ArgumentList (Join-Path $ModuleDir 'Cxas.psd1'), (Join-Path $In 'c.png'), (Join-Path $Work 'job')
        $out = $job | Wait-Job -Timeout 300 | Receive-Job
        $job | Remove-Job -Force
        $ctr = $out | Where-Object Feature -eq 'CTR'
        $ctr.Status | Should -BeOfType [string]
        $ctr.Status | Should -Be 'Missing'
        @($out | Where-Object Status -eq 'Written').Count | Should -Be 1
        ($ctr | ConvertTo-Csv -NoTypeInformation)[1] | Should -Match '"Missing"'
    }
}

Describe 'Export-CxasOverlay' {
    It 'writes one PNG per image with fills and the CTR construction' {
        $out = Join-Path $Work 'overlays'
        $files = $Results | Export-CxasOverlay -OutputPath $out -Label lung, heart -Feature CTR
        $files.Name | Should -Be @('a_overlay.png', 'b_overlay.png', 'c_overlay.png')
        $img = [Cxas.Imaging.ImageLoader]::Load((Join-Path $out 'a_overlay.png')).Raster
        $px = { param($x, $y) 0..2 | ForEach-Object { [int][Math]::Round($img.GetValue($x, $y, $_) * 255) } }
        # Heart interior (no lung under it): heart red (235, 50, 50) at 35 % over the image's (0, 200, 0).
        $heart = & $px 260 300
        [Math]::Abs($heart[0] - 235 * 0.35) | Should -BeLessOrEqual 1
        [Math]::Abs($heart[1] - (50 * 0.35 + 200 * 0.65)) | Should -BeLessOrEqual 1
        # The thoracic diameter crosses row 100 between the lungs, where the image is black.
        & $px 230 100 | Should -Be @(0, 200, 255)
        # Far from everything the image is unchanged.
        & $px 500 480 | Should -Be @(0, 0, 0)
    }

    It 'draws on black, with a warning, when the radiograph is gone' {
        $gone = Join-Path $Work 'gone'
        New-Item -ItemType Directory -Path $gone | Out-Null
        Copy-Item (Join-Path $In 'a.png') $gone
        $r = Invoke-CxasSegmentation -Path (Join-Path $gone 'a.png') -Model cxas-test -Device cpu -WarningAction SilentlyContinue
        Remove-Item (Join-Path $gone 'a.png')
        # A result holds its decoded image weakly (reused while in memory): collect it, so the file is needed again.
        [GC]::Collect(); [GC]::WaitForPendingFinalizers(); [GC]::Collect()
        $file = $r | Export-CxasOverlay -OutputPath $gone -Label heart -WarningVariable warn -WarningAction SilentlyContinue
        $file.Name | Should -Be 'a_overlay.png'
        $warn[0] | Should -Match 'drawing on black'
        $img = [Cxas.Imaging.ImageLoader]::Load($file.FullName).Raster
        # In the lung (blue 120 in the original; only the heart is drawn) the overlay is black.
        $img.GetValue(60, 150, 2) | Should -Be 0
    }

    It 'keeps existing files unless -Force' {
        $out = Join-Path $Work 'overlays2'
        $Results[0] | Export-CxasOverlay -OutputPath $out | Out-Null
        $Results[0] | Export-CxasOverlay -OutputPath $out -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'Cxas.AlreadyExists*'
        ($Results[0] | Export-CxasOverlay -OutputPath $out -Force).Name | Should -Be 'a_overlay.png'
    }
}

Describe 'Export-CxasReport' {
    It 'writes one self-contained HTML file for the batch' {
        $path = Join-Path $Work 'report.html'
        $file = $Results | Export-CxasReport -OutputPath $path -Label lung, heart
        $file.FullName | Should -Be $path
        $html = Get-Content $path -Raw
        ([regex]::Matches($html, '<section class="image"')).Count | Should -Be 3
        ([regex]::Matches($html, ' src="(?!data:)')).Count | Should -Be 0
        $html | Should -Match '>0\.400<'
        $html | Should -Match '>Missing<'
    }

    It 'passes the results on with -PassThru, so one pipeline gives the report and the CSV' {
        $path = Join-Path $Work 'report3.html'
        $csv = Join-Path $Work 'ctr3.csv'
        Invoke-CxasSegmentation -Path $In -Model cxas-test -Device cpu -WarningAction SilentlyContinue |
            Export-CxasReport -OutputPath $path -PassThru |
            Get-CxasFeature -Feature CTR |
            Export-Csv $csv -NoTypeInformation
        $path | Should -Exist
        (Import-Csv $csv | Where-Object FileName -eq 'b.png').Value | Should -Be '0.55'
    }

    It 'writes nothing with -WhatIf and refuses to overwrite without -Force' {
        $path = Join-Path $Work 'report2.html'
        $Results | Export-CxasReport -OutputPath $path -WhatIf
        $path | Should -Not -Exist
        $Results | Export-CxasReport -OutputPath $path | Out-Null
        { $Results | Export-CxasReport -OutputPath $path } | Should -Throw -ErrorId 'Cxas.AlreadyExists*'
    }

    It 'reports an existing file as an error that -ErrorAction controls, and keeps it quietly with -NoClobber' {
        $path = Join-Path $Work 'report3.html'
        Set-Content $path 'mine'
        $errs = $null
        $passed = @($Results | Export-CxasReport -OutputPath $path -PassThru -ErrorVariable errs -ErrorAction SilentlyContinue)
        $passed.Count | Should -Be $Results.Count
        $errs.Count | Should -Be 1
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'Cxas.AlreadyExists*'
        $warnings = $null
        $Results | Export-CxasReport -OutputPath $path -NoClobber -WarningVariable warnings -WarningAction SilentlyContinue | Out-Null
        ($warnings | Out-String) | Should -BeLike '*report3.html*'
        Get-Content $path | Should -Be 'mine'
    }
}

Describe 'Get-CxasFeature positional use' {
    It 'measures files and strings piped to it (the mode is chosen once pipeline input is bound)' {
        # No file-only parameter on the command line: the parameter set is decided by the piped objects alone.
        $byFile = @(Get-ChildItem $In -File | Where-Object Name -in 'a.png', 'b.png' | Get-CxasFeature CTR)
        $byFile.Count | Should -Be 2
        $byFile.FileName | Should -Be @('a.png', 'b.png')
        $byString = @((Join-Path $In 'b.png') | Get-CxasFeature -Feature CTR)
        $byString.Count | Should -Be 1
        $byString[0].Path | Should -Be (Join-Path $In 'b.png')
    }

    It 'takes the feature first, then the path' {
        ($Results | Get-CxasFeature CTR | Where-Object FileName -eq 'a.png').Value | Should -Be 0.4
        $v = Get-CxasFeature SCD (Join-Path $In 'a.png') -Model cxas-test -Device cpu -WarningAction SilentlyContinue
        $v.Feature | Should -Be 'SCD'
        $v.FileName | Should -Be 'a.png'
    }
}
