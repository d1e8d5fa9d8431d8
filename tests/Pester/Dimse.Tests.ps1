#Requires -Version 7.4
# Pester 6 tests of Cxas as a DICOM node (DIMSE) against a real Orthanc with its DICOM port on loopback (a modality entry
# for Cxas, started here as a plain process with a generated configuration, stopped after) and dcmtk's storescu/echoscu:
# Test-CxasDicomNode (C-ECHO), Find-CxasDicomInstance -ComputerName (C-FIND), Invoke-CxasSegmentation of what it finds
# (C-GET), Export-CxasMask -ComputerName (C-STORE, idempotent), Receive-CxasDicomInstance (storage SCP) fed by storescu
# and by Orthanc. Independent oracles: Orthanc's REST API and DICOMweb side, dciodvfy and pydicom on the stored SEGs,
# and the same files segmented locally.

BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'Orthanc.ps1')
    $script:Have = [bool]((Get-CxasOrthancExe) -and (Get-CxasOrthancDicomWebPlugin) -and (Get-Command storescu -ErrorAction Ignore) -and
        (Test-Path (Join-Path $PSScriptRoot '../../../shared/dicom/real')))
    $script:SkipDimse = -not $Have -and $env:CXAS_REQUIRE_ORACLES -ne '1'
}

Describe 'Cxas as a DICOM node (real Orthanc DICOM port, dcmtk)' -Skip:$SkipDimse {
    BeforeAll {
        $ErrorActionPreference = 'Stop'
        . (Join-Path $PSScriptRoot 'Orthanc.ps1')
        if (-not ((Get-CxasOrthancExe) -and (Get-Command storescu -ErrorAction Ignore))) { throw 'Orthanc or dcmtk is missing, and CXAS_REQUIRE_ORACLES=1 forbids skipping.' }
        $script:ModuleDir = if ($env:CXAS_MODULE) { $env:CXAS_MODULE } else { Join-Path $PSScriptRoot '../../out/Cxas' }
        Import-Module (Join-Path $ModuleDir 'Cxas.psd1') -Force
        $script:Py = '/usr/bin/python3'
        $script:Work = Join-Path ([IO.Path]::GetTempPath()) ("cxas-dimse-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
        New-Item -ItemType Directory -Path $Work | Out-Null
        $script:Real = (Resolve-Path (Join-Path $PSScriptRoot '../../../shared/dicom/real')).Path
        $script:SegLabels = 'spine', 'cervical spine', 'thoracic spine', 'lumbar spine'
        $script:SavedDefaults = Set-CxasTestSegmentationDefaults

        $script:DicomPort = Get-CxasFreePort
        $script:ReceivePort = Get-CxasFreePort
        $script:MovePort = Get-CxasFreePort
        $script:Server = Start-CxasTestOrthanc -Extra @{
            DicomServerEnabled = $true; DicomPort = $DicomPort; DicomAet = 'ORTHANC'; DicomCheckCalledAet = $true
            DicomModalities = @{ cxas = @('CXAS', '127.0.0.1', $ReceivePort); cxasmove = @('CXASMOVE', '127.0.0.1', $MovePort) }
        }
        $script:Auth = @{ Credential = $Server.Credential; AllowUnencryptedAuthentication = $true }
        $script:Node = @{ ComputerName = '127.0.0.1'; Port = $DicomPort; CalledAETitle = 'ORTHANC'; CallingAETitle = 'CXAS' }
        # The shared images the DICOM layer decodes, seeded over Orthanc's REST API.
        $script:Files = @(Get-ChildItem $Real -Filter *.dcm | Where-Object { Invoke-CxasSegmentation -LiteralPath $_.FullName -ErrorAction SilentlyContinue } | ForEach-Object FullName)
        Add-CxasOrthancFile $Server $Files | Out-Null
        function script:Get-OrthancInstances {
            foreach ($id in (Invoke-RestMethod "$($Server.Rest)/instances" @Auth)) {
                $tags = Invoke-RestMethod "$($Server.Rest)/instances/$id/simplified-tags" @Auth
                [pscustomobject]@{ Id = $id; Sop = $tags.SOPInstanceUID; Modality = $tags.Modality; Study = $tags.StudyInstanceUID; Series = $tags.SeriesInstanceUID }
            }
        }
        $script:Images = @(Get-OrthancInstances)
        function script:Get-SegCount { @(Get-OrthancInstances | Where-Object Modality -eq 'SEG').Count }
    }

    AfterAll {
        Stop-CxasTestOrthanc $Server -Remove
        Restore-CxasTestSegmentationDefaults $SavedDefaults
        Remove-Module Cxas -ErrorAction SilentlyContinue
        if ($Work -and (Test-Path $Work)) { Remove-Item $Work -Recurse -Force -ErrorAction SilentlyContinue }
    }

    It 'seeds the decodable shared images' {
        $Images.Count | Should -BeGreaterOrEqual 3
        $sops = @(foreach ($f in $Files) { & $Py -c 'import sys,pydicom; print(pydicom.dcmread(sys.argv[1]).SOPInstanceUID)' $f })
        ($Images.Sop | Sort-Object) | Should -Be ($sops | Sort-Object -Unique)
    }

    It 'answers C-ECHO with a round-trip time, and says why a wrong AE title or a closed port fails' {
        $ok = Test-CxasDicomNode @Node
        $ok.Success | Should -BeTrue
        $ok.RoundTripMs | Should -BeGreaterThan 0
        Test-CxasDicomNode @Node -Quiet | Should -BeTrue
        $wrong = Test-CxasDicomNode -ComputerName 127.0.0.1 -Port $DicomPort -CalledAETitle NOTORTHANC
        $wrong.Success | Should -BeFalse
        $wrong.Message | Should -BeLike '*called AE title not recognised*'
        Test-CxasDicomNode -ComputerName 127.0.0.1 -Port (Get-CxasFreePort) -CalledAETitle ORTHANC -TimeoutSec 5 -Quiet | Should -BeFalse
        { Test-CxasDicomNode -ComputerName 127.0.0.1 -CalledAETitle 'MUCH-TOO-LONG-AE-TITLE' } | Should -Throw -ErrorId 'Cxas.InvalidArgument*'
    }

    It 'finds by C-FIND (study, series, image) the instances DICOMweb finds, as the same objects' {
        $dimse = @(Find-CxasDicomInstance @Node -Modality CR, DX)
        $web = @(Find-CxasDicomInstance -Uri $Server.Uri @Auth -Modality CR, DX)
        $dimse.Count | Should -Be $Images.Count
        ($dimse.SopInstanceUid | Sort-Object) | Should -Be ($Images.Sop | Sort-Object)
        foreach ($i in $dimse) {
            $i | Should -BeOfType Cxas.DicomWeb.DicomInstance
            $w = $web | Where-Object SopInstanceUid -eq $i.SopInstanceUid
            $i.StudyInstanceUid | Should -Be $w.StudyInstanceUid
            $i.SeriesInstanceUid | Should -Be $w.SeriesInstanceUid
            $i.Modality | Should -Be $w.Modality
            $i.Uri | Should -BeLike "dicom://ORTHANC@127.0.0.1:$DicomPort/studies/*"
        }
        $one = $Images[0]
        @(Find-CxasDicomInstance @Node -StudyInstanceUid $one.Study -SeriesInstanceUid $one.Series).SopInstanceUid | Should -Contain $one.Sop
        @(Find-CxasDicomInstance @Node -Limit 1).Count | Should -Be 1
        { Find-CxasDicomInstance -ComputerName 127.0.0.1 -Port $DicomPort } | Should -Throw -ErrorId 'Cxas.InvalidArgument*'
        { Find-CxasDicomInstance } | Should -Throw -ErrorId 'Cxas.InvalidArgument*'
        { Find-CxasDicomInstance -Uri $Server.Uri @Auth -MoveDestination CXASMOVE } | Should -Throw -ErrorId 'Cxas.InvalidArgument*'
    }

    It 'segments what C-GET retrieves exactly as the same files read locally' {
        $remote = @(Find-CxasDicomInstance @Node -Modality CR, DX | Invoke-CxasSegmentation)
        $local = @(Invoke-CxasSegmentation -LiteralPath $Files)
        $remote.Count | Should -Be $Images.Count
        foreach ($r in $remote) {
            # Files sharing a SOP instance UID: Orthanc kept the first stored; it matches one of them exactly.
            $same = @($local | Where-Object { $_.Source.SopInstanceUid -eq $r.Source.SopInstanceUid } | Where-Object {
                $l = $_; @($r.PixelCounts.Keys | Where-Object { $r.PixelCounts[$_] -ne $l.PixelCounts[$_] }).Count -eq 0 })
            $same.Count | Should -BeGreaterOrEqual 1 -Because "the C-GET result of $($r.Path) equals a local result"
            $r.PixelCounts.Keys.Count | Should -BeGreaterThan 0
        }
        $script:Remote = $remote
    }

    It 'retrieves by C-MOVE to its own storage SCP what C-GET retrieves' {
        $spools = { @(Get-ChildItem ([IO.Path]::GetTempPath()) -Directory -Filter 'cxas-move-*').FullName }
        $before = & $spools
        $moved = @(Find-CxasDicomInstance @Node -Modality CR, DX -MoveDestination CXASMOVE -MovePort $MovePort | Invoke-CxasSegmentation)
        $script:MoveSpool = @(& $spools | Where-Object { $_ -notin $before })
        $moved.Count | Should -Be $Remote.Count
        foreach ($m in $moved) {
            $g = $Remote | Where-Object Path -eq $m.Path
            foreach ($label in $g.PixelCounts.Keys) { $m.PixelCounts[$label] | Should -Be $g.PixelCounts[$label] -Because "$label of $($m.Path)" }
        }
        { Find-CxasDicomInstance @Node -MoveDestination UNKNOWNAE -MovePort (Get-CxasFreePort) | Invoke-CxasSegmentation -ErrorAction Stop } |
            Should -Throw -ErrorId 'Cxas.NotFound*'
    }

    It 'leaves no received radiograph in the temporary folder: each is deleted once read, the spool when the listener stops' {
        $MoveSpool.Count | Should -Be 1 -Because 'the C-MOVE listener made one spool folder'
        @(Get-ChildItem $MoveSpool[0] -Recurse -File) | Should -BeNullOrEmpty -Because 'every retrieved instance was read and deleted'
        # What pwsh's exit runs (ProcessExit), called here: the listeners stop and remove their spools.
        $listeners = (Get-Command Find-CxasDicomInstance).ImplementingType.Assembly.GetType('Cxas.PowerShell.MoveListeners', $true)
        $listeners.GetMethod('StopAll', [Reflection.BindingFlags]'NonPublic, Static').Invoke($null, @()) | Out-Null
        Test-Path $MoveSpool[0] | Should -BeFalse
    }

    It 'stores one valid SEG per image by C-STORE, in the source study; a rerun stores nothing twice' {
        $records = @($Remote | Export-CxasMask -Format dicom-seg @Node -Label $SegLabels)
        $records.Count | Should -Be $Images.Count
        $records.Status | Sort-Object -Unique | Should -Be 'Stored'
        Get-SegCount | Should -Be $Images.Count
        foreach ($r in $records) {
            $lookup = Invoke-RestMethod "$($Server.Rest)/tools/lookup" -Method Post -Body $r.SopInstanceUid @Auth
            $file = Join-Path $Work "$($r.SopInstanceUid).dcm"
            Invoke-RestMethod "$($Server.Rest)/instances/$($lookup[0].ID)/file" @Auth -OutFile $file
            $result = $Remote | Where-Object Path -eq $r.Path
            $check = & $Py -c 'import sys,pydicom; d=pydicom.dcmread(sys.argv[1]); print(d.Modality, d.StudyInstanceUID, d.ReferencedSeriesSequence[0].ReferencedInstanceSequence[0].ReferencedSOPInstanceUID, d.pixel_array.shape[0])' $file
            $check | Should -Be "SEG $($result.Source.StudyInstanceUid) $($result.Source.SopInstanceUid) $(@($SegLabels | Where-Object { $result.PixelCounts[$_] -gt 0 }).Count)"
            @(& dciodvfy $file 2>&1 | Where-Object { $_ -match '^Error' }) | Should -BeNullOrEmpty -Because "dciodvfy on the SEG of $($r.Path)"
        }
        $again = @($Remote | Export-CxasMask -Format dicom-seg @Node -Label $SegLabels)
        $again.Status | Sort-Object -Unique | Should -Be 'Exists'
        ($again.SopInstanceUid | Sort-Object) | Should -Be ($records.SopInstanceUid | Sort-Object)
        Get-SegCount | Should -Be $Images.Count
        $forced = @($Remote | Export-CxasMask -Format dicom-seg @Node -Label $SegLabels -Force)
        $forced.Status | Sort-Object -Unique | Should -Be 'Replaced'
        Get-SegCount | Should -Be $Images.Count
    }

    It 'writes overlays as Secondary Captures in the source study that Orthanc takes by C-STORE and STOW-RS' {
        $sc = Join-Path $Work 'sc'
        $files = @($Remote | Export-CxasOverlay $sc -Format dicom)
        $files.Count | Should -Be $Remote.Count
        $files[0].Name | Should -BeLike '*_overlay.dcm'
        & storescu -aet CXAS -aec ORTHANC 127.0.0.1 $DicomPort $files[0].FullName
        $LASTEXITCODE | Should -Be 0
        if ($files.Count -gt 1) { Send-CxasStow $Server @($files | Select-Object -Skip 1 | ForEach-Object FullName) | Out-Null }
        $ot = @(Get-OrthancInstances | Where-Object Modality -eq 'OT')
        $ot.Count | Should -Be $files.Count
        foreach ($f in $files) {
            $tags = & $Py -c 'import sys,pydicom; d=pydicom.dcmread(sys.argv[1]); print(d.SOPInstanceUID, d.StudyInstanceUID, d.SourceImageSequence[0].ReferencedSOPInstanceUID, d.BurnedInAnnotation)' $f.FullName
            $sop, $study, $source, $burned = $tags -split ' '
            $burned | Should -Be 'YES'
            ($ot | Where-Object Sop -eq $sop).Study | Should -Be $study
            ($Images | Where-Object Sop -eq $source).Study | Should -Be $study
            @(& dciodvfy $f.FullName 2>&1 | Where-Object { $_ -match '^Error' }) | Should -BeNullOrEmpty
        }
        # A rerun writes the same instances (derived UIDs): Orthanc still holds one of each.
        $again = @($Remote | Export-CxasOverlay $sc -Format dicom -Force)
        Send-CxasStow $Server @($again.FullName) | Out-Null
        @(Get-OrthancInstances | Where-Object Modality -eq 'OT').Count | Should -Be $files.Count
    }

    It 'receives from storescu and from Orthanc, emits each instance, and as an AI node stores no SEG twice' {
        $spool = Join-Path $Work 'spool'
        $fromStorescu = $Files | Where-Object { $_ -like '*cr_jpeg_baseline.dcm' }
        $fromOrthanc = $Images | Where-Object { $_.Sop -ne (& $Py -c 'import sys,pydicom; print(pydicom.dcmread(sys.argv[1]).SOPInstanceUID)' $fromStorescu) } | Select-Object -First 1
        # The senders wait (bounded) until the listener answers C-ECHO, then send: storescu, then Orthanc (REST-triggered C-STORE).
        $script = "for i in `$(seq 300); do echoscu -aet MODALITY -aec CXAS 127.0.0.1 $ReceivePort && break; sleep 0.2; done; " +
            "storescu -xy -aet MODALITY -aec CXAS 127.0.0.1 $ReceivePort '$fromStorescu'; " +
            "curl -s -u cxas:$($Server.Password) -X POST -d '$($fromOrthanc.Id)' $($Server.Rest)/modalities/cxas/store"
        $senderScript = Join-Path $Work 'senders.sh'
        Set-Content $senderScript $script
        $senders = Start-Process bash -ArgumentList $senderScript -PassThru -RedirectStandardOutput (Join-Path $Work 'senders.out') -RedirectStandardError (Join-Path $Work 'senders.err')
        try {
            $received = @(Receive-CxasDicomInstance -ListenAddress 127.0.0.1 -Port $ReceivePort -AETitle CXAS -AllowedAETitle MODALITY, ORTHANC -SpoolPath $spool -Count 2 -Timeout 120)
        }
        finally { if (-not $senders.WaitForExit(60000)) { $senders.Kill() } }
        $received.Count | Should -Be 2
        $received[0] | Should -BeOfType Cxas.DicomWeb.DicomInstance
        ($received.SopInstanceUid | Sort-Object) | Should -Be (@((& $Py -c 'import sys,pydicom; print(pydicom.dcmread(sys.argv[1]).SOPInstanceUID)' $fromStorescu), $fromOrthanc.Sop) | Sort-Object)
        @(Get-ChildItem (Join-Path $spool 'processed') -Filter *.dcm).Count | Should -Be 2
        @(Get-ChildItem $spool -Filter *.dcm).Count | Should -Be 0
        $viaStorescu = $received | Where-Object { $_.Uri -notlike "*$($fromOrthanc.Sop)*" }
        & $Py -c 'import sys,pydicom,numpy; a=pydicom.dcmread(sys.argv[1]); b=pydicom.dcmread(sys.argv[2]); print(numpy.array_equal(a.pixel_array,b.pixel_array))' $fromStorescu $viaStorescu.Uri | Should -Be 'True'

        # The AI node: what arrives is segmented and its SEG stored back; these SEGs exist already, so none is stored twice.
        $records = @($received | Invoke-CxasSegmentation | Export-CxasMask -Format dicom-seg @Node -Label $SegLabels)
        $records.Status | Sort-Object -Unique | Should -Be 'Exists'
        Get-SegCount | Should -Be $Images.Count
        $script:Spool = $spool
    }

    It 'emits first, after a restart, what the spool received and did not hand on; -Timeout ends an idle listener' {
        # A node that died after acknowledging an instance and before emitting it leaves it in the spool's root.
        $left = Get-ChildItem (Join-Path $Spool 'processed') -Filter *.dcm | Select-Object -First 1
        Move-Item $left.FullName $Spool
        $again = @(Receive-CxasDicomInstance -ListenAddress 127.0.0.1 -Port (Get-CxasFreePort) -SpoolPath $Spool -Count 1 -Timeout 60)
        $again.Count | Should -Be 1
        $again[0].SopInstanceUid | Should -Be ([IO.Path]::GetFileNameWithoutExtension($left.Name))
        @(Get-ChildItem $Spool -Filter *.dcm).Count | Should -Be 0
        $idle = @(Receive-CxasDicomInstance -ListenAddress 127.0.0.1 -Port (Get-CxasFreePort) -SpoolPath $Spool -Timeout 1)
        $idle.Count | Should -Be 0
    }

    It 'stops listening on Ctrl+C' {
        $port = Get-CxasFreePort
        $ps = [powershell]::Create()
        $null = $ps.AddScript("Import-Module '$ModuleDir/Cxas.psd1'; Receive-CxasDicomInstance -ListenAddress 127.0.0.1 -Port $port -AETitle CXAS -SpoolPath '$Work/ctrlc'")
        $handle = $ps.BeginInvoke()
        try {
            $up = $false
            for ($i = 0; $i -lt 300 -and -not $up; $i++) { $up = Test-CxasDicomNode -ComputerName 127.0.0.1 -Port $port -CalledAETitle CXAS -TimeoutSec 2 -Quiet; if (-not $up) { Start-Sleep -Milliseconds 100 } }
            $up | Should -BeTrue
            $ps.Stop() # what Ctrl+C does to the running pipeline
            $handle.IsCompleted | Should -BeTrue
            Test-CxasDicomNode -ComputerName 127.0.0.1 -Port $port -CalledAETitle CXAS -TimeoutSec 5 -Quiet | Should -BeFalse
        }
        finally { $ps.Dispose() }
    }
}
