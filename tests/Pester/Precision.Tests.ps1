#Requires -Version 7.4
# Pester 6: -Precision and -CalibrationPath of Import-CxasModel (Install-CxasModel shares them through ModelWriteCmdlet),
# on the committed reduced reference checkpoint: fp16 is written, recorded and segments like float32; int8 needs
# calibration radiographs and is either written as a quantized model or refused with the figures, leaving nothing.

BeforeAll {
    $ErrorActionPreference = 'Stop'
    $script:ModuleDir = if ($env:CXAS_MODULE) { $env:CXAS_MODULE } else { Join-Path $PSScriptRoot '../../out/Cxas' }
    Import-Module (Join-Path $ModuleDir 'Cxas.psd1') -Force
    $script:Checkpoint = (Resolve-Path (Join-Path $PSScriptRoot '../fixtures/import/reduced_w16.pth')).Path
    $script:Samples = (Resolve-Path (Join-Path $PSScriptRoot '../../samples')).Path
    $script:Work = Join-Path ([IO.Path]::GetTempPath()) ('cxas-precision-' + [guid]::NewGuid().ToString('N').Substring(0, 8))
    New-Item -ItemType Directory $Work | Out-Null
    $script:Fp32 = Import-CxasModel -Path $Checkpoint -Name reduced-fp32 -Destination $Work
}

AfterAll { Remove-Item $Work -Recurse -Force -ErrorAction SilentlyContinue }

Describe 'Import-CxasModel -Precision' {
    It 'writes an fp16 model, says so in model.json, and segments as float32 does on nearly every pixel' {
        $entry = Import-CxasModel -Path $Checkpoint -Name reduced-fp16 -Destination $Work -Precision Fp16 -CalibrationPath $Samples
        (Get-Content (Join-Path $entry.Directory 'model.json') -Raw | ConvertFrom-Json).precision | Should -Be 'fp16'
        (Get-Item (Join-Path $entry.Directory 'model.onnx')).Length | Should -BeLessThan ((Get-Item (Join-Path $Fp32.Directory 'model.onnx')).Length * 0.6)
        $a = Invoke-CxasSegmentation $Samples -Model $Fp32.Directory -Device cpu
        $b = Invoke-CxasSegmentation $Samples -Model $entry.Directory -Device cpu
        for ($i = 0; $i -lt $a.Count; $i++) {
            $total = 0; $differ = 0
            foreach ($label in $a[$i].PixelCounts.Keys) {
                $total += $a[$i].Width * $a[$i].Height
                $differ += [math]::Abs($a[$i].PixelCounts[$label] - $b[$i].PixelCounts[$label])
            }
            # Differing pixel counts bound the differing pixels from below; 0.5% of all pixels is the agreement bound.
            $differ / $total | Should -BeLessThan 0.005
        }
    }

    It 'refuses Int8 without calibration radiographs, before creating anything' {
        { Import-CxasModel -Path $Checkpoint -Name reduced-int8-nocal -Destination $Work -Precision Int8 -ErrorAction Stop } |
            Should -Throw '*-CalibrationPath*'
        Test-Path (Join-Path $Work 'reduced-int8-nocal') | Should -BeFalse
    }

    It 'writes an int8 model from calibration radiographs, or refuses it with the agreement figures and leaves nothing' {
        $errors = $null
        $entry = Import-CxasModel -Path $Checkpoint -Name reduced-int8 -Destination $Work -Precision Int8 -CalibrationPath $Samples -ErrorVariable errors -ErrorAction SilentlyContinue
        if ($entry) {
            $errors | Should -BeNullOrEmpty
            (Get-Content (Join-Path $entry.Directory 'model.json') -Raw | ConvertFrom-Json).precision | Should -Be 'int8'
            @(Invoke-CxasSegmentation $Samples -Model $entry.Directory -Device cpu).Count | Should -Be 2
        }
        else {
            @($errors).Count | Should -Be 1
            $errors[0].FullyQualifiedErrorId | Should -BeLike 'Cxas.InvalidModel*'
            $errors[0].Exception.Message | Should -BeLike '*refused*agreement*'
            Test-Path (Join-Path $Work 'reduced-int8') | Should -BeFalse
            @(Get-ChildItem $Work -Force | Where-Object Name -like '.cxas-*') | Should -BeNullOrEmpty
        }
    }
}

Describe 'Invoke-CxasSegmentation -BatchSize' {
    It 'gives, in order, the results of one image at a time, and an error in its place for a damaged file' {
        $in = Join-Path $Work 'batch'
        New-Item -ItemType Directory $in | Out-Null
        Copy-Item (Join-Path $Samples '*.png') $in
        $first = (Get-ChildItem $in -Filter *.png | Sort-Object Name | Select-Object -First 1).FullName
        [IO.File]::WriteAllBytes((Join-Path $in 'b-damaged.png'), [IO.File]::ReadAllBytes($first)[0..299])
        $one = @(Invoke-CxasSegmentation $in -Device cpu -ErrorAction SilentlyContinue)
        $errors = $null
        $batched = @(Invoke-CxasSegmentation $in -Device cpu -BatchSize 2 -ErrorVariable errors -ErrorAction SilentlyContinue)
        @($errors).Count | Should -Be 1
        $errors[0].TargetObject | Should -BeLike '*b-damaged.png'
        $batched.FileName | Should -Be $one.FileName
        for ($i = 0; $i -lt $one.Count; $i++) {
            foreach ($label in $one[$i].PixelCounts.Keys) {
                # Batched convolutions may sum in another order: a logit within rounding of the cut may flip.
                [math]::Abs($one[$i].PixelCounts[$label] - $batched[$i].PixelCounts[$label]) | Should -BeLessOrEqual 64
            }
        }
    }
}
