#Requires -Version 7.4
# Pester 6 tests for Install-CxasModel and Uninstall-CxasModel (against a loopback HTTP server: no internet), and for
# the model names Import-CxasModel derives from file names. Run against the built module ($env:CXAS_MODULE).

BeforeAll {
    $ErrorActionPreference = 'Stop'
    $script:ModuleDir = if ($env:CXAS_MODULE) { $env:CXAS_MODULE } else { Join-Path $PSScriptRoot '../../out/Cxas' }
    Import-Module (Join-Path $ModuleDir 'Cxas.psd1') -Force
    $script:Py = '/usr/bin/python3'
    $script:Repo = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    $script:Work = Join-Path ([IO.Path]::GetTempPath()) ("cxas-install-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
    New-Item -ItemType Directory -Path $Work | Out-Null

    $script:SavedEnv = @{}
    foreach ($name in 'CXAS_MODEL_PATH', 'CXAS_MACHINE_MODEL_PATH', 'CXAS_MODEL_SOURCE_BASE', 'CXAS_PATH') {
        $SavedEnv[$name] = [Environment]::GetEnvironmentVariable($name)
    }
    $script:UserModels = Join-Path $Work 'user-models'
    $script:MachineModels = Join-Path $Work 'machine-models'
    $env:CXAS_MODEL_PATH = $UserModels
    $env:CXAS_MACHINE_MODEL_PATH = $MachineModels
    $env:CXAS_PATH = Join-Path $Work 'no-reference-tool'

    # The committed reduced checkpoint in every layout, a synthetic radiograph and PyTorch's masks for it; and a
    # small random network with the reference's 159 classes (for the features that need vertebrae and the diaphragm).
    $script:Files = Join-Path $Work 'files'
    $script:Files159 = Join-Path $Work 'files159'
    $generator = Join-Path $Repo 'training/generate_layout_fixtures.py'
    & $Py $generator --checkpoint (Join-Path $Repo 'tests/fixtures/import/reduced_w16.pth') --out $Files
    if ($LASTEXITCODE -ne 0) { throw 'layout fixtures failed' }
    & $Py $generator --width-div 16 --classes 159 --layout reference --out $Files159
    if ($LASTEXITCODE -ne 0) { throw '159-class fixture failed' }
    $script:Layouts = 'reference', 'bare', 'state_dict', 'model_state_dict', 'network', 'net', 'prefix_model', 'prefix_net', 'flat_backbone', 'combined'

    # The loopback server (a free port on 127.0.0.1); the known sources are pointed at it.
    . (Join-Path $PSScriptRoot 'LoopbackServer.ps1')
    $script:Server = Start-CxasLoopbackServer $Files $Py
    $script:Base = $Server.Base
    $env:CXAS_MODEL_SOURCE_BASE = $Base

    # Segments the fixture image with a model, writes the npy masks, and compares them with PyTorch's in numpy.
    function script:Get-Agreement([string] $Model, [string] $Expected = (Join-Path $Files 'chest_masks.npy'), [string] $Image = (Join-Path $Files 'chest.png')) {
        $out = Join-Path $Work ('masks-' + [guid]::NewGuid().ToString('N').Substring(0, 8))
        Invoke-CxasSegmentation -Path $Image -Model $Model -Device Cpu -OutputPath $out -OutputType npy | Out-Null
        $code = 'import sys, numpy as np; a = np.load(sys.argv[1]); b = np.load(sys.argv[2]); print(float((a == b).mean()) if a.shape == b.shape else -1.0)'
        [double](& $Py -c $code (Join-Path $out 'chest.npy') $Expected)
    }

    function script:Get-Leftovers([string] $Root) {
        if (Test-Path $Root) { @(Get-ChildItem $Root -Force | Where-Object Name -like '.*') } else { @() }
    }
}

AfterAll {
    Stop-CxasLoopbackServer $Server
    foreach ($item in $SavedEnv.GetEnumerator()) { [Environment]::SetEnvironmentVariable($item.Key, $item.Value) }
    Remove-Module Cxas -ErrorAction SilentlyContinue
    if ($Work -and (Test-Path $Work)) { Remove-Item $Work -Recurse -Force -ErrorAction SilentlyContinue }
}

Describe 'Install-CxasModel' {
    It 'installs the <_> layout from a URL, and it segments like PyTorch' -ForEach @('reference', 'bare', 'state_dict', 'model_state_dict', 'network', 'net', 'prefix_model', 'prefix_net', 'flat_backbone', 'combined') {
        $name = 'layout-' + $_
        $entry = Install-CxasModel -Name $name -Source "$Base/files/$_.pth"
        $entry.Name | Should -Be $name
        $entry.Scope | Should -Be 'CurrentUser'
        $entry.Directory | Should -Be (Join-Path $UserModels $name)
        $entry.Sha256 | Should -Be (Get-FileHash (Join-Path $Files "$_.pth") -Algorithm SHA256).Hash.ToLowerInvariant()
        $entry.Source | Should -Be "$Base/files/$_.pth"
        Get-Agreement $name | Should -BeGreaterOrEqual 0.9999
    }

    It 'refuses the reference weights without -AcceptLicense in a non-interactive session, installing nothing' {
        { Install-CxasModel -Source TorchXRayVision } | Should -Throw -ErrorId 'Cxas.LicenceNotAccepted*'
        $err = $null
        try { Install-CxasModel } catch { $err = $_ }
        $err.Exception.Message | Should -BeLike '*CC BY-NC-SA 4.0*-AcceptLicense*'
        Test-Path (Join-Path $UserModels 'UNet_ResNet50_default') | Should -BeFalse
    }

    It 'installs with -AcceptLicense from the GitHub asset first (through its redirect), and Get-CxasModel shows where it came from' {
        $entry = Install-CxasModel -AcceptLicense
        $entry.Name | Should -Be 'UNet_ResNet50_default'
        $entry.Source | Should -Be "$Base/github/mlmed/torchxrayvision/releases/download/v1/baseline_models_cxas_UNet_ResNet50_default_repack.pth"
        $entry.Licence | Should -BeLike 'CC BY-NC-SA 4.0*'
        $listed = Get-CxasModel UNet_ResNet50_default
        $listed.Scope | Should -Be 'CurrentUser'
        $listed.LabelCount | Should -Be 5
        $listed.SizeMB | Should -BeGreaterThan 0
        $listed.Sha256 | Should -Be (Get-FileHash (Join-Path $Files 'reference.pth') -Algorithm SHA256).Hash.ToLowerInvariant()
        $table = Get-CxasModel | Format-Table | Out-String -Width 400
        foreach ($column in 'Name', 'Default', 'Scope', 'Labels', 'SizeMB', 'Sha256', 'Source', 'Licence') { $table | Should -Match $column }
        $table | Should -Not -Match 'Manifest'
        $manifest = Get-Content (Join-Path $UserModels 'UNet_ResNet50_default/model.json') -Raw | ConvertFrom-Json
        $manifest.provenance.sourceUrl | Should -Be $entry.Source
        $manifest.provenance.sourceBytes | Should -Be (Get-Item (Join-Path $Files 'reference.pth')).Length
        $manifest.provenance.installedUtc | Should -Not -BeNullOrEmpty
        Get-Agreement UNet_ResNet50_default | Should -BeGreaterOrEqual 0.9999
    }

    It 'keeps an installed model without -Force; with it, reinstalls from the Drive file through its confirmation page' {
        $errs = $null
        Install-CxasModel -AcceptLicense -ErrorVariable errs -ErrorAction SilentlyContinue | Out-Null
        $errs.Count | Should -Be 1
        $errs[0].CategoryInfo.Category | Should -Be 'ResourceExists'
        $errs[0].ErrorDetails.RecommendedAction | Should -Be 'Use -Force to replace it.'
        $entry = Install-CxasModel -Source Reference -AcceptLicense -Force
        $entry.Source | Should -BeLike "$Base/drive/uc?export=download&id=1Y9zubvMzkYHoAqz-NvV6vniH5FKAF2iV"
        Get-Leftovers $UserModels | Should -BeNullOrEmpty
    }

    It 'resumes a download whose connection dropped halfway' {
        $verbose = Install-CxasModel -Name resumed -Source "$Base/drop/state_dict.pth" -Verbose 4>&1 |
            Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }
        ($verbose.Message -join "`n") | Should -BeLike '*resumed 1 time*'
        Get-Agreement resumed | Should -BeGreaterOrEqual 0.9999
    }

    It 'gives clear errors for a 404, an HTML page and a wrong -Sha256, and leaves nothing behind' {
        $errs = $null
        Install-CxasModel -Name missing -Source "$Base/nothing-here.pth" -ErrorVariable errs -ErrorAction SilentlyContinue
        $errs[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $errs[0].Exception.Message | Should -BeLike "*404*$Base/nothing-here.pth*"
        Install-CxasModel -Name page -Source "$Base/html/ckpt.pth" -ErrorVariable errs -ErrorAction SilentlyContinue
        $errs[0].CategoryInfo.Category | Should -Be 'InvalidData'
        $errs[0].Exception.Message | Should -BeLike '*HTML page*Sign in*'
        Install-CxasModel -Name pinned -Source "$Base/files/bare.pth" -Sha256 ('0' * 64) -ErrorVariable errs -ErrorAction SilentlyContinue
        $errs[0].CategoryInfo.Category | Should -Be 'InvalidData'
        $errs[0].Exception.Message | Should -BeLike ('*' + ('0' * 64) + '*')
        foreach ($name in 'missing', 'page', 'pinned') { Test-Path (Join-Path $UserModels $name) | Should -BeFalse }
        Get-Leftovers $UserModels | Should -BeNullOrEmpty
        $good = (Get-FileHash (Join-Path $Files 'bare.pth') -Algorithm SHA256).Hash
        (Install-CxasModel -Name pinned -Source "$Base/files/bare.pth" -Sha256 $good).Sha256 | Should -Be $good.ToLowerInvariant()
    }

    It 'installs from a file already downloaded (-Path), with the same checks' {
        $entry = Install-CxasModel -Name offline -Path (Join-Path $Files 'prefix_model.pth')
        $entry.Source | Should -BeLike 'file://*prefix_model.pth'
        Get-Agreement offline | Should -BeGreaterOrEqual 0.9999
        $page = Join-Path $Work 'saved-page.pth'
        Set-Content $page '<html><title>Google Drive - Virus scan warning</title></html>'
        $errs = $null
        Install-CxasModel -Name offline2 -Path $page -ErrorVariable errs -ErrorAction SilentlyContinue
        $errs[0].Exception.Message | Should -BeLike '*saved-page.pth*HTML page*'
        Test-Path (Join-Path $UserModels 'offline2') | Should -BeFalse
    }

    It 'installs for all users into the machine folder, which every -Model lookup searches, and uninstalls it' {
        $entry = Install-CxasModel -Name shared -Path (Join-Path $Files 'net.pth') -Scope AllUsers
        $entry.Directory | Should -Be (Join-Path $MachineModels 'shared')
        (Get-CxasModel shared).Scope | Should -Be 'AllUsers'
        (Invoke-CxasSegmentation (Join-Path $Files 'chest.png') -Model shared -Device Cpu).Model | Should -Be 'shared'
        $errs = $null
        Uninstall-CxasModel shared -Scope CurrentUser -ErrorVariable errs -ErrorAction SilentlyContinue
        $errs[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        Uninstall-CxasModel shared -WhatIf
        Test-Path (Join-Path $MachineModels 'shared') | Should -BeTrue
        Get-CxasModel shared | Uninstall-CxasModel -Confirm:$false
        Test-Path (Join-Path $MachineModels 'shared') | Should -BeFalse
        Get-Leftovers $MachineModels | Should -BeNullOrEmpty
        Uninstall-CxasModel cxas-test -ErrorVariable errs -ErrorAction SilentlyContinue
        $errs[0].Exception.Message | Should -BeLike '*ships with the module*'
        $errs[0].CategoryInfo.Category | Should -Be 'InvalidOperation'
        Test-Path (Join-Path $ModuleDir 'models/cxas-test/model.json') | Should -BeTrue
    }

    It 'never downloads during a segmentation run: a missing reference model names the command that installs it' {
        Uninstall-CxasModel UNet_ResNet50_default -Confirm:$false
        $err = $null
        try { Invoke-CxasSegmentation (Join-Path $Files 'chest.png') -Model UNet_ResNet50_default -ErrorAction Stop } catch { $err = $_ }
        # The remedy is the record's RecommendedAction; the message says only what is wrong.
        $err.ErrorDetails.RecommendedAction | Should -BeLike 'Install it once with Install-CxasModel -Name UNet_ResNet50_default -AcceptLicense*'
        $err.Exception.Message | Should -Not -BeLike '*Install-CxasModel*'
        $err.ErrorDetails.Message | Should -Be $err.Exception.Message
        Test-Path (Join-Path $UserModels 'UNet_ResNet50_default') | Should -BeFalse
    }

    It 'with the reference''s 159 classes installed, measures SCD and the reference CTR and shows the reference layers in the report' {
        Install-CxasModel -Path (Join-Path $Files159 'reference.pth') -AcceptLicense -Force | Out-Null
        $r = Invoke-CxasSegmentation (Join-Path $Files159 'chest.png') -Model UNet_ResNet50_default -Device Cpu
        $r.ClassCount | Should -Be 159
        $scd = $r | Get-CxasFeature -Feature SCD
        $scd.Status | Should -Be 'OK'
        $scd.VertebraCount | Should -BeGreaterOrEqual 3
        $ctr = $r | Get-CxasFeature -Feature CTR -CtrMethod Reference
        $ctr.Method | Should -Be 'Reference'
        $ctr.Status | Should -Not -Be 'Missing'
        # The default model, by contrast, has no vertebrae.
        ((Invoke-CxasSegmentation (Join-Path $Files159 'chest.png') -Device Cpu) | Get-CxasFeature -Feature SCD).Status | Should -Be 'Missing'
        $report = Join-Path $Work 'report.html'
        $r | Export-CxasReport -OutputPath $report | Out-Null
        $html = Get-Content $report -Raw
        foreach ($layer in 'right hemidiaphragm', 'spine', 'lung', 'heart') { $html | Should -Match ([regex]::Escape($layer)) }
        Get-Agreement UNet_ResNet50_default (Join-Path $Files159 'chest_masks.npy') (Join-Path $Files159 'chest.png') | Should -BeGreaterOrEqual 0.9999
    }
}

Describe 'Import-CxasModel names from file names (issue 10)' {
    It 'refuses the name a file called <_> gives, and never touches the folder above -Destination, even with -Force' -ForEach @('...pth', '..pth', '.pth', 'con.pth') {
        $parent = Join-Path $Work ('parent-' + [guid]::NewGuid().ToString('N').Substring(0, 6))
        $destination = Join-Path $parent 'd'
        New-Item -ItemType Directory -Path $destination | Out-Null
        Set-Content (Join-Path $parent 'keep.txt') 'precious'
        Set-Content (Join-Path $destination 'also-keep.txt') 'precious'
        $odd = Join-Path $Work ('odd-' + [guid]::NewGuid().ToString('N').Substring(0, 6))
        New-Item -ItemType Directory -Path $odd | Out-Null
        Copy-Item (Join-Path $Repo 'tests/fixtures/import/reduced_w16.pth') (Join-Path $odd $_)
        $errs = $null
        Import-CxasModel -LiteralPath (Join-Path $odd $_) -Destination $destination -Force -ErrorVariable errs -ErrorAction SilentlyContinue | Out-Null
        $errs.Count | Should -Be 1
        $errs[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        $errs[0].ErrorDetails.RecommendedAction | Should -BeLike '*-Name*'
        Test-Path (Join-Path $parent 'keep.txt') | Should -BeTrue
        Test-Path (Join-Path $destination 'also-keep.txt') | Should -BeTrue
        @(Get-ChildItem $destination -Force).Count | Should -Be 1
    }

    It 'refuses unusable -Name values before touching anything' -ForEach @('..', '.', 'a/b', 'nul', '.hidden') {
        $destination = Join-Path $Work 'named'
        New-Item -ItemType Directory -Path $destination -Force | Out-Null
        $errs = $null
        Import-CxasModel -Path (Join-Path $Repo 'tests/fixtures/import/reduced_w16.pth') -Name $_ -Destination $destination -Force -ErrorVariable errs -ErrorAction SilentlyContinue | Out-Null
        $errs[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        Test-Path $Work | Should -BeTrue
        Test-Path $destination | Should -BeTrue
    }
}
