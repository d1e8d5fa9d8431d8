#Requires -Version 7.4
# Pester 6: what only Windows shows. Run by the Windows leg (tests/WinHost under Wine, against the installed package);
# on other systems every test is skipped. Wine behaves as NTFS here: names are case-insensitive, attributes (Hidden)
# are kept, a folder link is a reparse point. Wine cannot create junctions (FSCTL_SET_REPARSE_POINT is not
# supported), so build.ps1 lays out a folder with a link beforehand ($env:CXAS_LINK_FIXTURE), which Wine shows as a
# reparse-point folder, as Windows shows a junction or mount point.

BeforeDiscovery {
    $script:NotWindows = -not $IsWindows
    # build.ps1 starts a private Orthanc for the leg where Orthanc and ../shared/dicom are there (required in CI).
    $script:NoPacs = -not $env:CXAS_PACS_URI
}

Describe 'Windows behaviours' -Skip:$NotWindows {
    BeforeAll {
        $ErrorActionPreference = 'Stop'
        $script:ModuleDir = if ($env:CXAS_MODULE) { $env:CXAS_MODULE } else { Join-Path $PSScriptRoot '../../out/Cxas' }
        Import-Module (Join-Path $ModuleDir 'Cxas.psd1') -Force
        $script:Work = Join-Path ([IO.Path]::GetTempPath()) ('cxas-win-' + [guid]::NewGuid().ToString('N').Substring(0, 8))
        New-Item -ItemType Directory $Work | Out-Null
        $script:Samples = @(Get-ChildItem (Join-Path $PSScriptRoot '../../samples') -Filter *.png | Sort-Object Name)

        # The SHA-256 of every mask file below a folder, by name relative to it.
        function script:Get-MaskHashes([string] $Folder) {
            $h = @{}
            foreach ($f in Get-ChildItem $Folder -Recurse -File -Filter *.png) { $h[$f.FullName.Substring($Folder.Length)] = (Get-FileHash $f.FullName).Hash }
            $h
        }
    }
    AfterAll { Remove-Item $Work -Recurse -Force -ErrorAction SilentlyContinue }

    It 'keeps inputs whose names differ only in case apart when they are flattened into one folder' {
        # IM0001.PNG and im0001.png are one name on NTFS: the second must not take (or overwrite) the first's folder.
        $a = Join-Path $Work 'case/a/IM0001.PNG'
        $b = Join-Path $Work 'case/b/im0001.png'
        New-Item -ItemType Directory (Split-Path $a), (Split-Path $b) | Out-Null
        Copy-Item $Samples[0].FullName $a
        Copy-Item $Samples[1].FullName $b
        $out = Join-Path $Work 'case/out'
        $r = @(Invoke-CxasSegmentation -LiteralPath $a, $b -OutputPath $out -Device Cpu)
        $r.Count | Should -Be 2
        $names = @(Get-ChildItem $out -Directory | ForEach-Object Name)
        $names | Should -HaveCount 2
        $names -ccontains 'IM0001' | Should -BeTrue
        $names -ccontains 'im0001.png' | Should -BeTrue
        # Each folder holds exactly its own input's masks: those of a run of that input alone.
        foreach ($pair in @{ In = $a; Folder = 'IM0001' }, @{ In = $b; Folder = 'im0001.png' }) {
            $alone = Join-Path $Work ('case/alone-' + [guid]::NewGuid().ToString('N').Substring(0, 6))
            Invoke-CxasSegmentation -LiteralPath $pair.In -OutputPath $alone -Device Cpu | Out-Null
            $expected = Get-MaskHashes (Join-Path $alone ([IO.Path]::GetFileNameWithoutExtension($pair.In)))
            $actual = Get-MaskHashes (Join-Path $out $pair.Folder)
            $expected.Count | Should -Be 9
            $actual.Count | Should -Be 9
            foreach ($k in $expected.Keys) { $actual[$k] | Should -Be $expected[$k] -Because "$($pair.Folder)$k is $($pair.In)'s mask" }
        }
    }

    It 'reports a bad file as a Cxas error naming it, goes on with the others, and overwrites nothing without -Force' {
        $in = Join-Path $Work 'errors'
        New-Item -ItemType Directory $in | Out-Null
        Copy-Item $Samples[0].FullName (Join-Path $in 'good.png')
        Set-Content (Join-Path $in 'bad.png') 'not a PNG'
        $out = Join-Path $Work 'errors-out'
        $errs = $null
        $r = @(Invoke-CxasSegmentation $in -OutputPath $out -Device Cpu -ErrorVariable errs -ErrorAction SilentlyContinue)
        $r.Count | Should -Be 1
        $errs.Count | Should -Be 1
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'Cxas.*'
        "$errs" | Should -BeLike "*$(Join-Path $in 'bad.png')*"
        @(Get-ChildItem $out -Directory).Name | Should -Be 'good'
        # Outputs that no journal claims are not this run's: an error without -Force, replaced with it.
        Remove-Item -Force (Join-Path $out '.cxas-plan.tsv')
        $mask = Get-ChildItem (Join-Path $out 'good') -Filter *.png | Select-Object -First 1
        [IO.File]::WriteAllBytes($mask.FullName, [byte[]] (1, 2, 3))
        $errs = $null
        Invoke-CxasSegmentation (Join-Path $in 'good.png') -OutputPath $out -Device Cpu -ErrorVariable errs -ErrorAction SilentlyContinue | Out-Null
        $errs.Count | Should -Be 1
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'Cxas.AlreadyExists*'
        (Get-Item $mask.FullName).Length | Should -Be 3
        Invoke-CxasSegmentation (Join-Path $in 'good.png') -OutputPath $out -Device Cpu -Force | Out-Null
        (Get-Item $mask.FullName).Length | Should -BeGreaterThan 3
    }

    It 'marks the output plan''s journal Hidden, and a rerun still resumes from it' {
        $out = Join-Path $Work 'journal'
        Invoke-CxasSegmentation $Samples[0].FullName -OutputPath $out -Device Cpu | Out-Null
        $journal = Get-Item -Force (Join-Path $out '.cxas-plan.tsv')
        $journal.Attributes.HasFlag([IO.FileAttributes]::Hidden) | Should -BeTrue
        # The rerun opens the hidden journal for appending and finds its own outputs finished.
        $info = $null
        Invoke-CxasSegmentation $Samples[0].FullName, $Samples[1].FullName -OutputPath $out -Device Cpu -InformationVariable info -WarningAction SilentlyContinue | Out-Null
        $summary = @($info | Where-Object { $_.Tags -contains 'Summary' })[0].MessageData
        $summary.Skipped | Should -Be 1
        $summary.Results | Should -Be 1
        @(Get-Content -LiteralPath $journal.FullName).Count | Should -Be 2
    }

    It 'skips a folder link (junction, mount point) under -Recurse with a warning and counts it in the summary, and follows it with -FollowSymlink' {
        $fixture = $env:CXAS_LINK_FIXTURE
        if (-not $fixture) { throw 'CXAS_LINK_FIXTURE is not set: build.ps1 lays out the link fixture for the Windows leg.' }
        (Get-Item (Join-Path $fixture 'mounted')).Attributes.HasFlag([IO.FileAttributes]::ReparsePoint) | Should -BeTrue
        $info = $null
        $warnings = $null
        $r = @(Invoke-CxasSegmentation $fixture -Recurse -Device Cpu -InformationVariable info -WarningVariable warnings -WarningAction SilentlyContinue)
        $r.Count | Should -Be 1
        $summary = @($info | Where-Object { $_.Tags -contains 'Summary' })[0].MessageData
        $summary.LinksNotFollowed | Should -Be 1
        "$summary" | Should -BeLike '*1 folder link(s) not followed*'
        @($warnings | Where-Object { "$_" -like "*mounted*-FollowSymlink*" }) | Should -HaveCount 1
        @(Invoke-CxasSegmentation $fixture -Recurse -FollowSymlink -Device Cpu).Count | Should -Be 2
    }

    It 'names the Visual C++ redistributable when msvcp140.dll is missing or older than ONNX Runtime needs' {
        # A real DLL that states an old version: ONNX Runtime's own (1.31). Not named msvcp140.dll: Wine answers the
        # version query for any file of that name from its built-in DLL.
        $vc = Join-Path $Work 'vc'
        New-Item -ItemType Directory $vc | Out-Null
        Copy-Item (Join-Path $ModuleDir 'lib\native\win-x64\onnxruntime.dll') (Join-Path $vc 'msvcp140-old.dll')
        [Cxas.Models.NativeRuntime]::VisualCppRuntimeProblem((Join-Path $vc 'msvcp140-old.dll')) |
            Should -BeLike '*version 1.31.*older than the 14.40*Visual C++ 2015-2022 Redistributable*vc_redist.x64.exe*'
        [Cxas.Models.NativeRuntime]::VisualCppRuntimeProblem((Join-Path $vc 'none.dll')) | Should -BeLike '*missing*Redistributable*'
        # The one this machine loads passed the check at import (Wine's built-in DLL states no version).
        [Cxas.Models.NativeRuntime]::VisualCppRuntimeProblem((Join-Path ([Environment]::SystemDirectory) 'msvcp140.dll')) | Should -BeNullOrEmpty
    }

    It 'installs a model with Install-CxasModel from a loopback server and segments with it as Linux does' {
        # build.ps1 serves tests/fixtures/import on 127.0.0.1 and installs the same checkpoint with the Linux module.
        if (-not $env:CXAS_LOOPBACK_BASE) { throw 'CXAS_LOOPBACK_BASE is not set: build.ps1 starts the loopback server for the Windows leg.' }
        $saved = $env:CXAS_MODEL_PATH
        $env:CXAS_MODEL_PATH = Join-Path $Work 'models'
        try {
            $entry = Install-CxasModel -Name loopback -Source "$env:CXAS_LOOPBACK_BASE/files/reduced_w16.pth"
            $entry.Directory | Should -Be (Join-Path $env:CXAS_MODEL_PATH 'loopback')
            $entry.Sha256 | Should -Be (Get-FileHash (Join-Path $PSScriptRoot '..\fixtures\import\reduced_w16.pth') -Algorithm SHA256).Hash.ToLowerInvariant()
            $out = Join-Path $Work 'install-out'
            Invoke-CxasSegmentation $Samples[0].FullName -Model loopback -OutputPath $out -OutputType npy -Device Cpu | Out-Null
            $name = $Samples[0].BaseName + '.npy'
            (Get-FileHash (Join-Path $out $name)).Hash | Should -Be (Get-FileHash (Join-Path $env:CXAS_LOOPBACK_LINUX_OUT $name)).Hash
        }
        finally { $env:CXAS_MODEL_PATH = $saved }
    }

    It 'segments the CR/DX images of a PACS over DICOMweb and stores one DICOM-SEG per image back (loopback Orthanc)' -Skip:$NoPacs {
        $password = ConvertTo-SecureString $env:CXAS_PACS_PASSWORD -AsPlainText -Force
        $auth = @{ Credential = [pscredential]::new($env:CXAS_PACS_USER, $password); AllowUnencryptedAuthentication = $true }
        $found = @(Find-CxasDicomInstance -Uri $env:CXAS_PACS_URI @auth -Modality CR, DX)
        $found.Count | Should -BeGreaterThan 0
        $results = @($found | Invoke-CxasSegmentation -Model cxas-test -Device Cpu -WarningAction SilentlyContinue)
        $results.Count | Should -Be $found.Count
        $results | Export-CxasMask -DicomWebUri $env:CXAS_PACS_URI @auth -Label 'spine', 'thoracic spine' | Out-Null
        # Orthanc's own view: one SEG per image, each referring to its image.
        $ids = @(Invoke-RestMethod "$env:CXAS_PACS_REST/instances" @auth | ForEach-Object { $_ })
        $segs = foreach ($id in $ids) {
            $tags = Invoke-RestMethod "$env:CXAS_PACS_REST/instances/$id/simplified-tags" @auth
            if ($tags.Modality -eq 'SEG') { $tags }
        }
        @($segs).Count | Should -Be $found.Count
        $referenced = @($segs | ForEach-Object { $_.ReferencedSeriesSequence[0].ReferencedInstanceSequence[0].ReferencedSOPInstanceUID })
        $referenced | Sort-Object | Should -Be @($found.SopInstanceUid | Sort-Object)
    }

    It 'reads and writes paths over 260 characters' {
        # UID-named study/series/instance folders pass MAX_PATH easily.
        $deep = Join-Path $Work ('1.2.840.113619.2.55.3.604688119.968.1234567890.123.' + ('4' * 40))
        $deep = Join-Path $deep ('1.3.12.2.1107.5.2.32.35162.2012021516213478153000001.' + ('5' * 40))
        $deep = Join-Path $deep ('1.3.12.2.1107.5.2.32.35162.2012021516213478153000002.' + ('6' * 40))
        $in = Join-Path $deep 'image.png'
        $in.Length | Should -BeGreaterThan 260
        [IO.Directory]::CreateDirectory($deep) | Out-Null
        Copy-Item $Samples[0].FullName $in
        $out = Join-Path $deep 'masks'
        $r = @(Invoke-CxasSegmentation -LiteralPath $in -OutputPath $out -Device Cpu)
        $r.Count | Should -Be 1
        @(Get-ChildItem (Join-Path $out 'image') -Filter *.png).Count | Should -Be 9
    }

    It 'turns the 260-character limit of Windows PowerShell 5.1 into a Cxas error that names the remedy' {
        # PowerShell 7 (this leg) has no limit; .NET Framework throws PathTooLongException, given here as it comes.
        $record = [Cxas.PowerShell.CxasCmdlet]::ToErrorRecord([IO.PathTooLongException]::new('The specified path is too long.'), 'C:\long\IM0001.dcm')
        $record.FullyQualifiedErrorId | Should -Be 'Cxas.PathTooLong'
        $record.ErrorDetails.Message | Should -BeLike "*C:\long\IM0001.dcm*too long*"
        $record.ErrorDetails.RecommendedAction | Should -BeLike '*PowerShell 7*shorter -OutputPath*'
        # The same advice when Core wrapped it (a journal or output that could not be written).
        $wrapped = [Cxas.CxasException]::new([Cxas.CxasErrorKind]::WriteFailed, 'Cannot record the output plan.', 'C:\long', [IO.PathTooLongException]::new(), [Cxas.CxasRemedy]::None)
        $record = [Cxas.PowerShell.CxasCmdlet]::ToErrorRecord($wrapped, $null)
        $record.FullyQualifiedErrorId | Should -Be 'Cxas.WriteFailed'
        $record.ErrorDetails.RecommendedAction | Should -BeLike '*PowerShell 7*shorter -OutputPath*'
    }
}
