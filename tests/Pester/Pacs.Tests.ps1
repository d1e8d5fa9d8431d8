#Requires -Version 7.4
# Pester 6 tests of the PACS round trip (Find-CxasDicomInstance | Invoke-CxasSegmentation | Export-CxasMask -DicomWebUri)
# against a real Orthanc with its DICOMweb plugin (Debian's orthanc + orthanc-dicomweb), started here as a plain process
# with a generated configuration (free loopback port, authentication on, storage in a temporary folder) and seeded over
# STOW-RS with ../shared/dicom. Independent oracles: dciodvfy (dicom3tools) and pydicom on the SEGs fetched back over
# WADO-RS, and Orthanc's own REST API.

BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'Orthanc.ps1')
    $script:HaveOrthanc = [bool]((Get-CxasOrthancExe) -and (Get-CxasOrthancDicomWebPlugin))
    $script:HaveShared = Test-Path (Join-Path $PSScriptRoot '../../../shared/dicom/real')
    # Skipped where Orthanc or ../shared is absent, except in CI (CXAS_REQUIRE_ORACLES=1), where that is a failure.
    $script:SkipPacs = -not ($HaveOrthanc -and $HaveShared) -and $env:CXAS_REQUIRE_ORACLES -ne '1'
}

Describe 'PACS round trip over DICOMweb (real Orthanc)' -Skip:$SkipPacs {
    BeforeAll {
        $ErrorActionPreference = 'Stop'
        . (Join-Path $PSScriptRoot 'Orthanc.ps1')
        if (-not ((Get-CxasOrthancExe) -and (Get-CxasOrthancDicomWebPlugin))) { throw 'Orthanc or its DICOMweb plugin is missing (apt-get install orthanc orthanc-dicomweb), and CXAS_REQUIRE_ORACLES=1 forbids skipping.' }
        if (-not (Test-Path (Join-Path $PSScriptRoot '../../../shared/dicom/real'))) { throw '../shared/dicom is absent, and CXAS_REQUIRE_ORACLES=1 forbids skipping.' }
        $script:ModuleDir = if ($env:CXAS_MODULE) { $env:CXAS_MODULE } else { Join-Path $PSScriptRoot '../../out/Cxas' }
        Import-Module (Join-Path $ModuleDir 'Cxas.psd1') -Force
        $script:Py = '/usr/bin/python3'
        $script:Work = Join-Path ([IO.Path]::GetTempPath()) ("cxas-pacs-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
        New-Item -ItemType Directory -Path $Work | Out-Null
        $script:Shared = (Resolve-Path (Join-Path $PSScriptRoot '../../../shared/dicom')).Path
        # The closed-form test model (exact, fast); four of its classes, so the SEGs stay small.
        $script:SegLabels = 'spine', 'cervical spine', 'thoracic spine', 'lumbar spine'
        $script:SavedDefaults = @{}
        foreach ($key in 'Invoke-CxasSegmentation:Model', 'Invoke-CxasSegmentation:Device', 'Invoke-CxasSegmentation:WarningAction') {
            if ($global:PSDefaultParameterValues.ContainsKey($key)) { $SavedDefaults[$key] = $global:PSDefaultParameterValues[$key] }
        }
        $global:PSDefaultParameterValues['Invoke-CxasSegmentation:Model'] = 'cxas-test'
        $global:PSDefaultParameterValues['Invoke-CxasSegmentation:Device'] = 'Cpu'
        $global:PSDefaultParameterValues['Invoke-CxasSegmentation:WarningAction'] = 'SilentlyContinue'

        $script:Server = Start-CxasTestOrthanc
        $script:Pacs = $Server.Uri
        $script:Cred = $Server.Credential
        $script:Auth = @{ Credential = $Cred; AllowUnencryptedAuthentication = $true }

        # Seed: every shared file the DICOM layer decodes (the others are left out, with a note), over STOW-RS.
        $candidates = @(Get-ChildItem (Join-Path $Shared 'real') -Filter *.dcm) + @(Get-ChildItem (Join-Path $Shared 'corpus') -Filter *.dcm)
        $seed = foreach ($file in $candidates) {
            $errors = $null
            $ok = Invoke-CxasSegmentation -LiteralPath $file.FullName -ErrorAction SilentlyContinue -ErrorVariable errors
            if ($ok) { $file.FullName }
            else { Write-Host "Not seeded as an image (Cxas cannot decode it): $($file.Name): $($errors[0])" }
        }
        # Existing SEGs in the corpus are seeded too: Find must skip them.
        $seed = @($seed) + @(Get-ChildItem (Join-Path $Shared 'corpus') -Filter *.dcm | Where-Object { $_.FullName -notin $seed } |
            Where-Object { (& $Py -c 'import sys,pydicom; print(pydicom.dcmread(sys.argv[1], stop_before_pixels=True).Modality)' $_.FullName) -eq 'SEG' } |
            ForEach-Object FullName)
        foreach ($batch in 0..([math]::Ceiling($seed.Count / 8) - 1)) {
            Send-CxasStow $Server @($seed | Select-Object -Skip ($batch * 8) -First 8) | Out-Null
        }

        # What Orthanc holds, from its own REST API: the image instances (CR/DX) and the rest.
        function script:Get-OrthancInstances {
            $ids = Invoke-RestMethod "$($Server.Rest)/instances" @Auth
            foreach ($id in $ids) {
                $tags = Invoke-RestMethod "$($Server.Rest)/instances/$id/simplified-tags" @Auth
                [pscustomobject]@{ Id = $id; Sop = $tags.SOPInstanceUID; Modality = $tags.Modality; Study = $tags.StudyInstanceUID; Series = $tags.SeriesInstanceUID; Tags = $tags }
            }
        }
        $script:Seeded = @(Get-OrthancInstances)
        $script:Images = @($Seeded | Where-Object Modality -in 'CR', 'DX')
        Write-Host "Orthanc holds $($Seeded.Count) instances, $($Images.Count) of them CR/DX images."

        function script:Invoke-RoundTrip([string[]] $Extra = @(), [switch] $Force) {
            $found = Find-CxasDicomInstance -Uri $Pacs @Auth -Modality CR, DX
            $found | Invoke-CxasSegmentation | Export-CxasMask -DicomWebUri $Pacs @Auth -Label $SegLabels -Force:$Force
        }

        function script:Get-SegCount { @(Get-OrthancInstances | Where-Object Modality -eq 'SEG').Count }
    }

    AfterAll {
        Stop-CxasTestOrthanc $Server -Remove
        foreach ($key in 'Invoke-CxasSegmentation:Model', 'Invoke-CxasSegmentation:Device', 'Invoke-CxasSegmentation:WarningAction') {
            if ($SavedDefaults.ContainsKey($key)) { $global:PSDefaultParameterValues[$key] = $SavedDefaults[$key] }
            else { $global:PSDefaultParameterValues.Remove($key) }
        }
        Remove-Module Cxas -ErrorAction SilentlyContinue
        if ($Work -and (Test-Path $Work)) { Remove-Item $Work -Recurse -Force -ErrorAction SilentlyContinue }
    }

    It 'seeds the shared DICOM files (CR and DX images plus the corpus SEGs)' {
        $Images.Count | Should -BeGreaterOrEqual 10
        @($Seeded | Where-Object Modality -eq 'SEG').Count | Should -BeGreaterThan 0
    }

    It 'finds every CR/DX image once, as flat rows, skipping non-images unless asked' {
        $found = @(Find-CxasDicomInstance -Uri $Pacs @Auth -Modality CR, DX)
        $found.Count | Should -Be $Images.Count
        ($found.SopInstanceUid | Sort-Object) | Should -Be ($Images.Sop | Sort-Object)
        $found[0].Uri | Should -Match '^http://127\.0\.0\.1:\d+/dicom-web/studies/[\d.]+/series/[\d.]+/instances/[\d.]+$'
        $found | Where-Object { -not $_.Rows -or -not $_.Columns -or -not $_.StudyInstanceUid } | Should -BeNullOrEmpty

        # No modality filter: the SEGs are skipped, unless -IncludeNonImage.
        @(Find-CxasDicomInstance -Uri $Pacs @Auth).Count | Should -Be $Images.Count
        @(Find-CxasDicomInstance -Uri $Pacs @Auth -IncludeNonImage).Count | Should -Be $Seeded.Count
        @(Find-CxasDicomInstance -Uri $Pacs @Auth -Limit 3).Count | Should -Be 3
        @(Find-CxasDicomInstance -Uri $Pacs @Auth -StudyInstanceUid $Images[0].Study).SopInstanceUid | Should -Contain $Images[0].Sop
        @(Find-CxasDicomInstance -Uri $Pacs @Auth -StudyDate 20240101-20241231 -Modality DX).Modality | Sort-Object -Unique | Should -Be 'DX'

        # A flat CSV without connection details.
        $csv = Join-Path $Work 'found.csv'
        $found | Export-Csv $csv -NoTypeInformation
        $header = (Get-Content $csv -First 1)
        $header | Should -Match '"Uri".*"StudyInstanceUid".*"SeriesInstanceUid".*"SopInstanceUid".*"PatientId".*"Modality".*"StudyDate".*"SeriesDescription".*"Rows".*"Columns"'
        $header | Should -Not -Match 'Client|Credential'
    }

    It 'pages through QIDO results (limit/offset) to the same instances' {
        $options = [Cxas.DicomWeb.DicomWebOptions]@{ AllowUnencryptedAuthentication = $true }
        $client = [Cxas.DicomWeb.DicomWebClient]::new([uri]$Pacs, [Cxas.DicomWeb.DicomWebCredential]::Basic('cxas', $Server.Password), $options)
        try {
            $query = [Cxas.DicomWeb.DicomWebQuery]@{ PageSize = 4; IncludeNonImage = $true }
            $paged = @($client.Search($query))
            $paged.Count | Should -Be $Seeded.Count
            ($paged.SopInstanceUid | Sort-Object) | Should -Be ($Seeded.Sop | Sort-Object)
        }
        finally { $client.Dispose() }
    }

    It 'stores one valid SEG per image: QIDO finds it in the study, dciodvfy passes, pydicom counts equal the masks, Orthanc agrees' {
        $csv = Join-Path $Work 'stored.csv'
        $results = @(Find-CxasDicomInstance -Uri $Pacs @Auth -Modality CR, DX | Invoke-CxasSegmentation)
        $results.Count | Should -Be $Images.Count
        $records = @($results | Export-CxasMask -DicomWebUri $Pacs @Auth -Label $SegLabels)
        $records | Export-Csv $csv -NoTypeInformation
        $records.Count | Should -Be $Images.Count
        $records.Status | Sort-Object -Unique | Should -Be 'Stored'
        (Import-Csv $csv).Count | Should -Be $Images.Count
        (Get-SegCount) | Should -Be (@($Seeded | Where-Object Modality -eq 'SEG').Count + $Images.Count)

        # QIDO: each SEG is in its source's study.
        foreach ($r in $records) {
            $source = $Images | Where-Object { $r.Path -like "*/instances/$($_.Sop)" }
            $inStudy = @(Find-CxasDicomInstance -Uri $Pacs @Auth -StudyInstanceUid $source.Study -IncludeNonImage)
            $inStudy.SopInstanceUid | Should -Contain $r.SopInstanceUid
        }

        # Fetched back over WADO-RS by Python, read by pydicom, validated by dciodvfy.
        $fetched = Join-Path $Work 'fetched'
        New-Item -ItemType Directory -Path $fetched | Out-Null
        $env:CXAS_TEST_PASSWORD = $Server.Password
        try { $lines = & $Py (Join-Path $PSScriptRoot 'seg_check.py') $fetched @($records.OutputPath) }
        finally { Remove-Item Env:CXAS_TEST_PASSWORD }
        $LASTEXITCODE | Should -Be 0
        $checks = @($lines | ConvertFrom-Json)
        $checks.Count | Should -Be $records.Count
        foreach ($c in $checks) {
            $record = $records | Where-Object OutputPath -eq $c.uri
            $result = $results | Where-Object Path -eq $record.Path
            $c.modality | Should -Be 'SEG'
            $c.sop | Should -Be $record.SopInstanceUid
            $c.source | Should -Be $result.Source.SopInstanceUid
            $c.study | Should -Be $result.Source.StudyInstanceUid
            foreach ($label in $SegLabels) {
                $expected = $result.PixelCounts[$label]
                $got = if ($c.counts.PSObject.Properties[$label]) { $c.counts.$label } else { 0 }
                $got | Should -Be $expected -Because "segment '$label' of $($record.Path)"
            }
            $report = & dciodvfy $c.file 2>&1
            @($report | Where-Object { $_ -match '^Error' }) | Should -BeNullOrEmpty -Because "dciodvfy on the SEG of $($record.Path)"

            # Orthanc's own view of the stored instance.
            $lookup = Invoke-RestMethod "$($Server.Rest)/tools/lookup" -Method Post -Body $c.sop @Auth
            $tags = Invoke-RestMethod "$($Server.Rest)/instances/$($lookup[0].ID)/simplified-tags" @Auth
            $tags.Modality | Should -Be 'SEG'
            $tags.SOPClassUID | Should -Be '1.2.840.10008.5.1.4.1.1.66.4'
            $tags.StudyInstanceUID | Should -Be $result.Source.StudyInstanceUid
            $tags.SeriesInstanceUID | Should -Be $c.series
            $tags.PatientID | Should -Be ([string]$result.Source.PatientId)
        }
        $script:FirstRecords = $records
        $script:FirstResults = $results
    }

    It 'stores no duplicate on a second run (deterministic UIDs); -Force stores again without a duplicate' {
        $before = Get-SegCount
        $again = @(Invoke-RoundTrip)
        $again.Count | Should -Be $Images.Count
        $again.Status | Sort-Object -Unique | Should -Be 'Exists'
        ($again.SopInstanceUid | Sort-Object) | Should -Be ($FirstRecords.SopInstanceUid | Sort-Object)
        Get-SegCount | Should -Be $before

        $forced = @(Invoke-RoundTrip -Force)
        $forced.Status | Sort-Object -Unique | Should -Be 'Replaced'
        Get-SegCount | Should -Be $before

        # -WhatIf sends nothing.
        @($FirstResults | Export-CxasMask -DicomWebUri $Pacs @Auth -Label $SegLabels -Force -WhatIf) | Should -BeNullOrEmpty
        Get-SegCount | Should -Be $before
    }

    It 'measures PACS results like file results (Get-CxasFeature) and writes local copies named by SOP Instance UID' {
        $features = @($FirstResults | Get-CxasFeature -Feature Area -Label spine)
        $features.Count | Should -Be $FirstResults.Count
        $features.Status | Sort-Object -Unique | Should -Be 'OK'
        $features[0].Path | Should -BeLike "$Pacs/studies/*"

        $local = Join-Path $Work 'local'
        $copies = @($FirstResults | Export-CxasMask -OutputPath $local -Format dicom-seg, npy -Label $SegLabels)
        $segs = @($copies | Where-Object Format -eq 'dicom-seg')
        $segs.Count | Should -Be $FirstResults.Count
        foreach ($r in $FirstResults) {
            Join-Path $local "$($r.Source.SopInstanceUid).seg.dcm" | Should -Exist
            Join-Path $local "$($r.Source.SopInstanceUid).npy" | Should -Exist
        }
        # The local SEG is the same object as the stored one (same derived UID).
        ($segs.SopInstanceUid | Sort-Object) | Should -Be ($FirstRecords.SopInstanceUid | Sort-Object)
    }

    It 'refuses Basic credentials over plain http without -AllowUnencryptedAuthentication' {
        { Find-CxasDicomInstance -Uri $Pacs -Credential $Cred } | Should -Throw -ErrorId 'Cxas.InvalidArgument*'
        $refused = { $FirstResults | Export-CxasMask -DicomWebUri $Pacs -Credential $Cred } | Should -Throw -PassThru
        $refused.ErrorDetails.RecommendedAction | Should -BeLike '*-AllowUnencryptedAuthentication*'
        $token = ConvertTo-SecureString 'not-a-real-token' -AsPlainText -Force
        { Find-CxasDicomInstance -Uri $Pacs -Token $token } | Should -Throw -ErrorId 'Cxas.InvalidArgument*'
    }

    It 'gives one terminating error for a wrong password, without retrying' {
        $bad = [pscredential]::new('cxas', (ConvertTo-SecureString 'wrong-password' -AsPlainText -Force))
        $clock = [Diagnostics.Stopwatch]::StartNew()
        { Find-CxasDicomInstance -Uri $Pacs -Credential $bad -AllowUnencryptedAuthentication -Modality CR } | Should -Throw -ErrorId 'Cxas.Unauthorized*'
        $errors = @()
        $caught = $null
        try { $FirstResults | Export-CxasMask -DicomWebUri $Pacs -Credential $bad -AllowUnencryptedAuthentication -ErrorVariable +errors }
        catch { $caught = $_ }
        $clock.Stop()
        $caught | Should -Not -BeNullOrEmpty
        $caught.FullyQualifiedErrorId | Should -BeLike 'Cxas.Unauthorized*'
        $errors.Count | Should -Be 1
        $clock.Elapsed.TotalSeconds | Should -BeLessThan 10
    }

    It 'never shows the password or token in results, verbose, debug, warnings or errors' {
        $secret = $Server.Password
        $basic = [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes("cxas:$secret"))
        $output = & {
            $found = Find-CxasDicomInstance -Uri $Pacs @Auth -Modality DX -Limit 2 -Verbose -Debug
            $found | Format-List * | Out-String
            $found | Invoke-CxasSegmentation -Verbose | Export-CxasMask -DicomWebUri $Pacs @Auth -Label $SegLabels -Verbose -Debug |
                Format-List * | Out-String
            $bad = [pscredential]::new('cxas', (ConvertTo-SecureString $secret.Substring(1) -AsPlainText -Force))
            try { Find-CxasDicomInstance -Uri $Pacs -Credential $bad -AllowUnencryptedAuthentication } catch { $_ | Format-List * -Force | Out-String; $_.Exception | Format-List * -Force | Out-String }
            $token = ConvertTo-SecureString "tok-$secret" -AsPlainText -Force
            try { Find-CxasDicomInstance -Uri $Pacs -Token $token -AllowUnencryptedAuthentication } catch { $_ | Format-List * -Force | Out-String }
            try { Find-CxasDicomInstance -Uri $Pacs -Token $token } catch { $_ | Format-List * -Force | Out-String }
        } *>&1 | Out-String
        $output.Length | Should -BeGreaterThan 100
        $output | Should -Not -Match ([regex]::Escape($secret.Substring(1)))
        $output | Should -Not -Match ([regex]::Escape($basic))
    }

    It 'gives one error per remaining instance when Orthanc goes away midway, stores nothing half, and a rerun completes' {
        # Start from no Cxas SEG on the server.
        foreach ($sop in $FirstRecords.SopInstanceUid) {
            $lookup = Invoke-RestMethod "$($Server.Rest)/tools/lookup" -Method Post -Body $sop @Auth
            if ($lookup) { Invoke-RestMethod "$($Server.Rest)/instances/$($lookup[0].ID)" -Method Delete @Auth | Out-Null }
        }
        $corpusSegs = @($Seeded | Where-Object Modality -eq 'SEG').Count
        Get-SegCount | Should -Be $corpusSegs

        # Few retries, so the refused connections fail fast (the instances keep the connection they were found with).
        $instances = @(Find-CxasDicomInstance -Uri $Pacs @Auth -Modality CR, DX -MaximumRetryCount 1)
        $server = $Server
        $errors = @()
        $stored = @($instances |
            Invoke-CxasSegmentation -ErrorAction SilentlyContinue -ErrorVariable +errors |
            ForEach-Object -Begin { $n = 0 } -Process { $n++; if ($n -eq 4) { Stop-CxasTestOrthanc $server }; $_ } |
            Export-CxasMask -DicomWebUri $Pacs @Auth -Label $SegLabels -MaximumRetryCount 1 -ErrorAction SilentlyContinue -ErrorVariable +errors)
        $stored.Count | Should -BeGreaterOrEqual 3
        $stored.Count | Should -BeLessThan $instances.Count
        ($stored.Count + $errors.Count) | Should -Be $instances.Count
        $errors | ForEach-Object { $_.FullyQualifiedErrorId | Should -BeLike 'Cxas.Network*' }
        $named = @($errors | ForEach-Object { "$($_.TargetObject)" } | Sort-Object -Unique)
        $named.Count | Should -Be $errors.Count
        $named | ForEach-Object { $_ | Should -BeLike "$Pacs/studies/*/instances/*" }

        # Same storage, same port: the stored SEGs are whole and the rerun stores the rest.
        $script:Server = Start-CxasTestOrthanc -Folder $server.Folder -Port $server.Port -Password $server.Password
        Get-SegCount | Should -Be ($corpusSegs + $stored.Count)
        $rerun = @(Invoke-RoundTrip)
        $rerun.Count | Should -Be $instances.Count
        @($rerun | Where-Object Status -eq 'Exists').Count | Should -Be $stored.Count
        @($rerun | Where-Object Status -eq 'Stored').Count | Should -Be ($instances.Count - $stored.Count)
        Get-SegCount | Should -Be ($corpusSegs + $instances.Count)
    }
}
