#Requires -Version 7.4
# Pester 6 tests for the Cxas cmdlets, run against the built module ($env:CXAS_MODULE, from build.ps1 Test).

BeforeAll {
    $ErrorActionPreference = 'Stop'
    $script:ModuleDir = if ($env:CXAS_MODULE) { $env:CXAS_MODULE } else { Join-Path $PSScriptRoot '../../out/Cxas' }
    Import-Module (Join-Path $ModuleDir 'Cxas.psd1') -Force
    $script:Py = '/usr/bin/python3'
    $script:Work = Join-Path ([IO.Path]::GetTempPath()) ("cxas-pester-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
    New-Item -ItemType Directory -Path $Work | Out-Null
    $script:Labels = (Get-Content (Join-Path $ModuleDir 'models/cxas-test/model.json') -Raw | ConvertFrom-Json).labels
    # Most tests check exact answers, so they run the closed-form test model rather than the default anatomy model.
    $global:PSDefaultParameterValues['Invoke-CxasSegmentation:Model'] = 'cxas-test'

    # Chest-like synthetic radiographs (grey, bright bone, dark lungs) of varying sizes, written by PIL.
    function script:New-ChestPngs([string] $Folder, [int] $Count, [int] $Width = 320, [int] $Height = 288) {
        New-Item -ItemType Directory -Path $Folder -Force | Out-Null
        $code = @'
import sys, numpy as np
from PIL import Image
folder, count, w, h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
yy, xx = np.mgrid[0:h, 0:w]
for i in range(count):
    img = np.full((h, w), 200.0)
    for cx in (0.32, 0.68):
        lung = ((xx - cx * w) / (0.17 * w)) ** 2 + ((yy - 0.5 * h) / (0.33 * h)) ** 2 < 1
        img[lung] = 60 + 3 * i
    heart = ((xx - 0.55 * w) / (0.14 * w)) ** 2 + ((yy - 0.65 * h) / (0.15 * h)) ** 2 < 1
    img[heart] = 170
    img += np.random.default_rng(i).normal(0, 8, img.shape)
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save('%s/chest%02d.png' % (folder, i))
'@
        & $Py -c $code $Folder $Count $Width $Height
        if ($LASTEXITCODE -ne 0) { throw 'fixture generation failed' }
    }

    # Expected per-class pixel counts for the closed-form model, computed independently in numpy:
    # nearest to 512 and back (ATen float32 rule), class k present where channel k%3 > (k*37)%255.
    function script:Get-ExpectedCounts([string] $File) {
        $code = @'
import sys, json, numpy as np
from PIL import Image
a = np.array(Image.open(sys.argv[1]).convert('RGB'))
h, w = a.shape[:2]
def near(out, inp):
    i = np.arange(out, dtype=np.float32)
    return np.minimum(np.floor(i * (np.float32(inp) / np.float32(out))).astype(np.int64), inp - 1)
def idx(size):
    if size == 512: return np.arange(size)
    return near(size, 512)
ry = near(512, h) if h != 512 else np.arange(512)
rx = near(512, w) if w != 512 else np.arange(512)
small = a[ry][:, rx]
by = near(h, 512) if h != 512 else np.arange(h)
bx = near(w, 512) if w != 512 else np.arange(w)
full = small[by][:, bx]
print(json.dumps([int((full[..., k % 3] > (k * 37) % 255).sum()) for k in range(159)]))
'@
        (& $Py -c $code $File) | ConvertFrom-Json
    }
}

AfterAll {
    $global:PSDefaultParameterValues.Remove('Invoke-CxasSegmentation:Model')
    Remove-Module Cxas -ErrorAction SilentlyContinue
    if ($Work -and (Test-Path $Work)) {
        Get-ChildItem $Work -Recurse -Directory | ForEach-Object { try { $_.Attributes = 'Directory' } catch { } }
        & chmod -R u+w $Work 2>$null
        Remove-Item $Work -Recurse -Force -ErrorAction SilentlyContinue
    }
}

Describe 'Module manifest' {
    It 'declares both editions and exports cmdlets explicitly' {
        $m = Test-ModuleManifest (Join-Path $ModuleDir 'Cxas.psd1')
        $m.CompatiblePSEditions | Should -Be @('Desktop', 'Core')
        $m.ExportedCmdlets.Keys | Should -Contain 'Invoke-CxasSegmentation'
        $m.ExportedCmdlets.Keys | Should -Contain 'Export-CxasMask'
        $m.ExportedFunctions.Count | Should -Be 0
        $m.ExportedAliases.Count | Should -Be 0
    }

    It 'exports exactly the declared cmdlets' {
        $declared = (Import-PowerShellDataFile (Join-Path $ModuleDir 'Cxas.psd1')).CmdletsToExport
        (Get-Command -Module Cxas).Name | Sort-Object | Should -Be ($declared | Sort-Object)
    }
}

Describe 'Invoke-CxasSegmentation on a folder with a corrupt file' {
    BeforeAll {
        $script:In = Join-Path $Work 'twenty'
        New-ChestPngs $In 19
        $bytes = [IO.File]::ReadAllBytes((Join-Path $In 'chest00.png'))
        for ($i = 60; $i -lt $bytes.Length - 40; $i += 5) { $bytes[$i] = $bytes[$i] -bxor 0x33 }
        [IO.File]::WriteAllBytes((Join-Path $In 'chest99-corrupt.png'), $bytes)
        $script:Out = Join-Path $Work 'twenty-out'
        $script:Errors = $null
        $script:Results = @(Get-ChildItem $In -Filter *.png | Invoke-CxasSegmentation -Device Cpu -WarningAction SilentlyContinue -ErrorVariable +Errors -ErrorAction SilentlyContinue)
        $script:Exported = @($Results | Export-CxasMask -OutputPath $Out -Format png)
    }

    It 'gives 19 results and one clear error naming the file' {
        $Results.Count | Should -Be 19
        $Errors.Count | Should -Be 1
        $Errors[0].TargetObject | Should -BeLike '*chest99-corrupt.png'
        $Errors[0].CategoryInfo.Category | Should -Be 'InvalidData'
        $Errors[0].FullyQualifiedErrorId | Should -BeLike 'Cxas.InvalidData*'
        $Errors[0].Exception.Message | Should -BeLike '*chest99-corrupt.png*'
    }

    It 'keeps input order and reports size, model and device' {
        ($Results | ForEach-Object FileName) | Should -Be (1..18 | ForEach-Object { 'chest{0:00}.png' -f $_ } | ForEach-Object -Begin { 'chest00.png' } -Process { $_ })
        $Results[0].Width | Should -Be 320
        $Results[0].Height | Should -Be 288
        $Results[0].Model | Should -Be 'cxas-test'
        $Results[0].Device | Should -Be 'Cpu'
        $Results[0].ClassCount | Should -Be 159
    }

    It 'counts pixels per class exactly as the closed-form rule predicts' {
        $expected = Get-ExpectedCounts $Results[3].Path
        for ($k = 0; $k -lt 159; $k++) {
            $Results[3].PixelCounts[$Labels[$k]] | Should -Be $expected[$k] -Because "class $k ($($Labels[$k]))"
        }
        $Results[3].PixelCounts.'left lung' | Should -Be $expected[$Labels.IndexOf('left lung')]
    }

    It 'writes the reference layout (out/stem/class.png, 1-bit) matching the masks' {
        (Get-ChildItem $Out -Directory).Count | Should -Be 19
        $files = Get-ChildItem (Join-Path $Out 'chest05') -File
        $files.Count | Should -Be 159
        ($files.BaseName | Sort-Object) | Should -Be ($Labels | Sort-Object)
        $code = 'import sys, numpy as np; from PIL import Image; im = Image.open(sys.argv[1]); print(im.mode, int(np.array(im).sum()))'
        foreach ($label in 'heart', 'left lung', 'spine') {
            $mode, $sum = (& $Py -c $code (Join-Path $Out "chest05/$label.png")) -split ' '
            $mode | Should -Be '1'
            [long] $sum | Should -Be $Results[5].PixelCounts[$label]
        }
        $Exported.Count | Should -Be 19
        $Exported[0].Format | Should -Be 'png'
    }

    It 'leaves no temporary files behind' {
        Get-ChildItem $Out -Force -Recurse | Where-Object Name -like '*.tmp' | Should -BeNullOrEmpty
    }

    It 'gives a mask object for one class' {
        $mask = $Results[0].GetMask('heart')
        $mask.Width | Should -Be 320
        $mask.Count() | Should -Be $Results[0].PixelCounts['heart']
    }
}

Describe 'Input binding' {
    BeforeAll {
        $script:Bind = Join-Path $Work 'bind'
        New-ChestPngs $Bind 3 200 150
        New-Item -ItemType Directory (Join-Path $Bind 'sub') | Out-Null
        New-ChestPngs (Join-Path $Bind 'sub') 2 120 100
        Copy-Item (Join-Path $Bind 'chest00.png') (Join-Path $Bind 'no-extension')
        Copy-Item (Join-Path $Bind 'chest01.png') (Join-Path $Bind 'weird [name].png')
    }

    It 'expands wildcards in -Path' {
        @(Invoke-CxasSegmentation -Path (Join-Path $Bind 'chest0*.png') -WarningAction SilentlyContinue).Count | Should -Be 3
    }

    It 'takes -LiteralPath with brackets literally' {
        $r = Invoke-CxasSegmentation -LiteralPath (Join-Path $Bind 'weird [name].png') -WarningAction SilentlyContinue
        $r.FileName | Should -Be 'weird [name].png'
    }

    It 'expands folders to readable files, by content for extension-less ones, -Recurse for subfolders' {
        $flat = @(Invoke-CxasSegmentation $Bind -WarningAction SilentlyContinue)
        $flat.Count | Should -Be 5
        $flat.FileName | Should -Contain 'no-extension'
        @(Invoke-CxasSegmentation $Bind -Recurse -WarningAction SilentlyContinue).Count | Should -Be 7
    }

    It 'accepts the reference command line short flags' {
        $out = Join-Path $Work 'short-flags'
        $r = Invoke-CxasSegmentation -i (Join-Path $Bind 'chest02.png') -o $out -ot npy -g cpu -m cxas-test -WarningAction SilentlyContinue
        $r.Device | Should -Be 'Cpu'
        Test-Path (Join-Path $out 'chest02.npy') | Should -BeTrue
    }

    It 'reports a missing path and goes on' {
        $errs = $null
        $r = @(Invoke-CxasSegmentation -LiteralPath (Join-Path $Bind 'missing.png'), (Join-Path $Bind 'chest00.png') -ErrorVariable errs -ErrorAction SilentlyContinue -WarningAction SilentlyContinue)
        $r.Count | Should -Be 1
        $errs.Count | Should -Be 1
        $errs[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }

    It 'warns about an empty folder and emits nothing' {
        $empty = New-Item -ItemType Directory (Join-Path $Work 'empty') -Force
        $warnings = $null
        $r = @(Invoke-CxasSegmentation $empty.FullName -WarningVariable warnings -WarningAction SilentlyContinue)
        $r.Count | Should -Be 0
        ($warnings | Out-String) | Should -BeLike '*No image files*'
    }
}

Describe 'Bad input' {
    BeforeAll {
        $script:Bad = Join-Path $Work 'bad'
        New-ChestPngs $Bad 1 100 80
        Set-Content (Join-Path $Bad 'text.png') 'hello, not an image'
        & $Py -c "from PIL import Image; import numpy as np; Image.fromarray(np.random.default_rng(1).integers(0,255,(90,90),dtype=np.uint8)).save('$Bad/cut.jpg')"
        $b = [IO.File]::ReadAllBytes("$Bad/cut.jpg"); [IO.File]::WriteAllBytes("$Bad/cut.jpg", $b[0..([int]($b.Length / 2))])
        # A PNG header declaring 60000 x 60000 pixels.
        & $Py -c @'
import sys, struct, zlib
def chunk(t, d): return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
open(sys.argv[1], 'wb').write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', 60000, 60000, 8, 0, 0, 0, 0)) + chunk(b'IDAT', zlib.compress(b'\x00' * 10)) + chunk(b'IEND', b''))
'@ "$Bad/huge.png"
    }

    It 'gives one clear error per bad file and still processes the good one' {
        $errs = $null
        $r = @(Invoke-CxasSegmentation $Bad -ErrorVariable errs -ErrorAction SilentlyContinue -WarningAction SilentlyContinue)
        $r.Count | Should -Be 1
        $errs.Count | Should -Be 3
        $byFile = @{}
        foreach ($e in $errs) { $byFile[[IO.Path]::GetFileName($e.TargetObject)] = $e }
        $byFile['text.png'].CategoryInfo.Category | Should -Be 'InvalidData'
        $byFile['text.png'].FullyQualifiedErrorId | Should -BeLike 'Cxas.InvalidData,*'
        $byFile['cut.jpg'].Exception.Message | Should -BeLike '*truncated*'
        $byFile['huge.png'].CategoryInfo.Category | Should -Be 'LimitsExceeded'
        $byFile['huge.png'].Exception.Message | Should -BeLike '*60000x60000*'
    }

    It 'stops at the first bad file with -ErrorAction Stop' {
        { Invoke-CxasSegmentation (Join-Path $Bad 'text.png'), (Join-Path $Bad 'chest00.png') -ErrorAction Stop -WarningAction SilentlyContinue } |
            Should -Throw -ExpectedMessage '*text.png*'
    }

    It 'refuses an unknown model and an unavailable CUDA device with terminating errors' {
        { Invoke-CxasSegmentation (Join-Path $Bad 'chest00.png') -Model no-such-model } | Should -Throw -ExpectedMessage "*no-such-model*"
        # Whether this machine has a GPU, told independently of ONNX Runtime (the driver's device nodes or library).
        if ([Cxas.Models.CudaDevices]::Count() -eq 0) {
            { Invoke-CxasSegmentation (Join-Path $Bad 'chest00.png') -Device Cuda:0 -WarningAction SilentlyContinue } | Should -Throw -ExpectedMessage '*CUDA*'
        }
        else {
            (Invoke-CxasSegmentation (Join-Path $Bad 'chest00.png') -Device Cuda:0 -WarningAction SilentlyContinue).Device | Should -Be 'Cuda:0'
        }
        { Invoke-CxasSegmentation (Join-Path $Bad 'chest00.png') -Device tpu } | Should -Throw -ExpectedMessage "*tpu*"
    }
}

Describe 'Writing outputs' {
    BeforeAll {
        $script:Src = Join-Path $Work 'outputs-in'
        New-ChestPngs $Src 2 150 130
        $script:R = @(Invoke-CxasSegmentation $Src -WarningAction SilentlyContinue)
    }

    It 'keeps existing files without -Force, replaces them with it' {
        $out = Join-Path $Work 'force'
        New-Item -ItemType Directory $out | Out-Null
        Set-Content (Join-Path $out 'chest00.npy') 'precious'
        Set-Content (Join-Path $out 'chest01.npy') 'precious'
        $errs = $null
        $R | Export-CxasMask -OutputPath $out -Format npy -ErrorVariable errs -ErrorAction SilentlyContinue | Out-Null
        $errs.Count | Should -Be 2
        $errs[0].CategoryInfo.Category | Should -Be 'ResourceExists'
        Get-Content (Join-Path $out 'chest00.npy') | Should -Be 'precious'
        $R | Export-CxasMask -OutputPath $out -Format npy -Force | Out-Null
        (Get-Item (Join-Path $out 'chest00.npy')).Length | Should -BeGreaterThan 1000
    }

    It 'keeps outputs an earlier export wrote, and says so: an error for a file, nothing missing in a mask folder' {
        $out = Join-Path $Work 'again'
        $R | Export-CxasMask -OutputPath $out -Format npy, png | Out-Null
        $stamp = (Get-Item (Join-Path $out 'chest00.npy')).LastWriteTimeUtc
        $errs = $null
        $again = @($R | Export-CxasMask -OutputPath $out -Format npy, png -ErrorVariable errs -ErrorAction SilentlyContinue)
        $again.Count | Should -Be 0
        # A npy may hold other classes than asked now: never kept silently.
        $errs.Count | Should -Be 2
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'Cxas.AlreadyExists*'
        $errs[0].ToString() | Should -BeLike '*chest00.npy*'
        $errs[0].ErrorDetails.RecommendedAction | Should -BeLike '*-Force*'
        (Get-Item (Join-Path $out 'chest00.npy')).LastWriteTimeUtc | Should -Be $stamp
    }

    It 'skips existing files quietly with -NoClobber' {
        $out = Join-Path $Work 'noclobber'
        New-Item -ItemType Directory $out | Out-Null
        Set-Content (Join-Path $out 'chest01.npz') 'keep me'
        $warnings = $null
        $written = @($R | Export-CxasMask -OutputPath $out -Format npz -NoClobber -WarningVariable warnings -WarningAction SilentlyContinue)
        $written.Count | Should -Be 1
        Get-Content (Join-Path $out 'chest01.npz') | Should -Be 'keep me'
        ($warnings | Out-String) | Should -BeLike '*chest01.npz*'
    }

    It 'writes nothing with -WhatIf' {
        $out = Join-Path $Work 'whatif'
        $R | Export-CxasMask -OutputPath $out -Format png, npy, json -WhatIf | Out-Null
        Test-Path $out | Should -BeFalse
    }

    It 'writes npy, npz and one COCO file per run that numpy reads back' {
        $out = Join-Path $Work 'formats'
        Invoke-CxasSegmentation $Src -OutputPath $out -OutputType npy, npz, json -WarningAction SilentlyContinue | Out-Null
        $code = @'
import sys, json, numpy as np
out = sys.argv[1]
a = np.load(out + '/chest01.npy'); z = np.load(out + '/chest01.npz')['arr_0']
d = json.load(open(out + '/segmentations.json'))
print(a.dtype, a.shape, bool((a == z).all()), json.dumps([int(a[k].sum()) for k in range(a.shape[0])]))
print(len(d['images']), min(c['id'] for c in d['categories']), len({x['id'] for x in d['annotations']}) == len(d['annotations']))
'@
        $lines = & $Py -c $code $out
        $first = $lines[0] -split ' ', 6
        "$($first[0]) $($first[1])$($first[2])$($first[3])" | Should -Be 'bool (159,130,150)'
        $first[4] | Should -Be 'True'
        $sums = $first[5] | ConvertFrom-Json
        for ($k = 0; $k -lt 159; $k++) { $sums[$k] | Should -Be $R[1].PixelCounts[$Labels[$k]] }
        $lines[1] | Should -Be '2 1 True'
    }

    It 'reports a read-only output folder per file, leaves nothing behind and continues' {
        $ro = Join-Path $Work 'readonly'
        New-Item -ItemType Directory $ro | Out-Null
        & chmod 555 $ro
        $probe = Join-Path $ro 'probe'
        $writable = $true
        try { [IO.File]::WriteAllText($probe, 'x'); Remove-Item $probe } catch { $writable = $false }
        # root ignores permission bits: a folder under /proc is read-only for everyone.
        $target = if ($writable) { '/proc/cxas-readonly-test' } else { $ro }
        $errs = $null
        $written = @($R | Export-CxasMask -OutputPath $target -Format npy -ErrorVariable errs -ErrorAction SilentlyContinue)
        $written.Count | Should -Be 0
        $errs.Count | Should -Be 2
        $errs[0].TargetObject | Should -BeLike '*chest00.png'
        if (-not $writable) { Get-ChildItem $ro -Force | Should -BeNullOrEmpty }
    }

    It 'exports result objects cleanly to CSV' {
        $csv = Join-Path $Work 'results.csv'
        $R | Export-Csv $csv
        $rows = Import-Csv $csv
        $rows.Count | Should -Be 2
        $rows[0].Path | Should -Be $R[0].Path
        [int] $rows[0].PresentCount | Should -Be $R[0].PresentCount
    }

    It 'shows a compact default table' {
        $text = $R | Format-Table | Out-String
        $text | Should -BeLike '*FileName*Classes*InferenceMs*'
        $text | Should -Not -BeLike '*PixelCounts*'
    }

    It 'names the source image in the Export-CxasMask table' {
        $records = @($R | Export-CxasMask -OutputPath (Join-Path $Work 'table-masks') -Format npz)
        $text = $records | Format-Table | Out-String
        $text | Should -BeLike '*Source*Format*'
        foreach ($r in $R) { $text | Should -BeLike "*$([IO.Path]::GetFileName($r.Path))*npz*" }
    }

    It 'emits the files Export-CxasOverlay and Export-CxasReport write as the FileSystem provider does' {
        $overlays = @($R | Export-CxasOverlay -OutputPath (Join-Path $Work 'provider-overlays'))
        $report = Export-CxasReport -InputObject $R -OutputPath (Join-Path $Work 'provider-report.html')
        foreach ($item in @($overlays) + @($report)) {
            $item.PSPath | Should -BeLike 'Microsoft.PowerShell.Core\FileSystem::*'
            $item.PSProvider.Name | Should -Be 'FileSystem'
            $item.Mode | Should -Not -BeNullOrEmpty
            $item.Length | Should -Be (Get-Item -LiteralPath $item.FullName).Length
        }
        # In PowerShell 7's table, Mode and Length are filled in as for Get-ChildItem.
        ($overlays | Format-Table | Out-String) | Should -Match '-a---|-----'
    }

    It 'completes -Label from the model''s labels' {
        $line = "Export-CxasMask -OutputPath x -Label 'left l"
        $completions = (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.ListItemText
        $completions | Should -Contain 'left lung'
        $completions | Should -Not -Contain 'heart'
    }

    It 'completes -Model and Get-CxasModel -Name with the models found, and -Device with what the machine has' {
        foreach ($line in 'Invoke-CxasSegmentation x.png -Model cxas-', 'Get-CxasModel cxas-a') {
            $completions = (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.ListItemText
            $completions | Should -Contain 'cxas-anatomy-r18' -Because $line
        }
        $line = 'Invoke-CxasSegmentation x.png -Device '
        $devices = (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.ListItemText
        $devices | Should -Contain 'Cpu'
        $gpus = @(Get-ChildItem /dev -ErrorAction SilentlyContinue | Where-Object Name -match '^nvidia\d+$').Count
        @($devices | Where-Object { $_ -like 'Cuda:*' }).Count | Should -Be $gpus
    }
}

Describe 'Memory over a long run' -Tag Slow {
    It 'stays flat over 200 images' {
        $many = Join-Path $Work 'many'
        New-ChestPngs $many 200 400 400
        $samples = [System.Collections.Generic.List[long]]::new()
        $i = 0
        # The folder as one argument: results must stream out as they finish, not pile up until the end.
        Invoke-CxasSegmentation $many -WarningAction SilentlyContinue | ForEach-Object {
            $i++
            if ($i % 50 -eq 0) {
                [GC]::Collect(); [GC]::WaitForPendingFinalizers(); [GC]::Collect()
                $samples.Add([GC]::GetTotalMemory($true))
            }
        }
        $i | Should -Be 200
        # Managed memory after 200 images is within 20 MB of what it was after 50: nothing accumulates.
        ($samples[3] - $samples[0]) | Should -BeLessThan 20MB
    }
}

Describe 'Import-CxasModel and Get-CxasModel' {
    BeforeAll {
        $script:Fixture = Join-Path $PSScriptRoot '../fixtures/import/reduced_w16.pth'
        $script:Models = Join-Path $Work 'user-models'
        $script:SavedModelPath = $env:CXAS_MODEL_PATH
        $env:CXAS_MODEL_PATH = $Models
    }
    AfterAll { $env:CXAS_MODEL_PATH = $SavedModelPath }

    It 'lists the module''s models and marks the default' {
        $list = @(Get-CxasModel)
        $default = $list | Where-Object IsDefault
        $default.Name | Should -Be (Get-Content (Join-Path $ModuleDir 'models/default.txt')).Trim()
        $default.Name | Should -Be 'cxas-anatomy-r18'
        $default.LabelCount | Should -Be 9
    }

    It 'exports to CSV as flat columns, each fact once, the manifest only through GetManifest()' {
        $csv = @(Get-CxasModel | ConvertTo-Csv | ConvertFrom-Csv)
        $columns = $csv[0].PSObject.Properties.Name
        $columns | Should -Not -Contain 'Manifest'
        $columns | Should -Not -Contain 'Default'
        $columns | Should -Not -Contain 'Labels'
        $columns | Should -Contain 'IsDefault'
        $columns | Should -Contain 'LabelCount'
        foreach ($row in $csv) { $row.PSObject.Properties.Value | Should -Not -BeLike 'Cxas.*' }
        (Get-CxasModel cxas-anatomy-r18).GetManifest().Labels.Count | Should -Be 9
    }

    It 'imports a reference-layout checkpoint into a model folder the pipeline runs' {
        $entry = Import-CxasModel -Path $Fixture -Name reduced
        $entry.Name | Should -Be 'reduced'
        Test-Path (Join-Path $Models 'reduced/model.onnx') | Should -BeTrue
        $manifest = Get-Content (Join-Path $Models 'reduced/model.json') -Raw | ConvertFrom-Json
        $manifest.provenance.PSObject.Properties.Name -join ' ' | Should -BeLike '*sha256*'
        (Get-CxasModel reduced).LabelCount | Should -Be $manifest.labels.Count
        $img = Join-Path $Work 'import-img'
        New-ChestPngs $img 1 97 131
        $r = Invoke-CxasSegmentation (Join-Path $img 'chest00.png') -Model reduced -Device Cpu
        $r.Model | Should -Be 'reduced'
        $r.ClassCount | Should -Be $manifest.labels.Count
        $r.Width | Should -Be 97
    }

    It 'keeps an existing model unless -Force, and leaves no temporary folder' {
        $errs = $null
        Import-CxasModel -Path $Fixture -Name reduced -ErrorVariable errs -ErrorAction SilentlyContinue | Out-Null
        $errs.Count | Should -Be 1
        $errs[0].CategoryInfo.Category | Should -Be 'ResourceExists'
        Import-CxasModel -Path $Fixture -Name reduced -Force | Out-Null
        Get-ChildItem $Models -Force | Where-Object Name -like '.*' | Should -BeNullOrEmpty
    }

    It 'rejects a file that is not a checkpoint with an error naming it' {
        $bad = Join-Path $Work 'not-a-checkpoint.pth'
        Set-Content $bad 'hello'
        $errs = $null
        Import-CxasModel -Path $bad -Name bad -ErrorVariable errs -ErrorAction SilentlyContinue | Out-Null
        $errs.Count | Should -Be 1
        $errs[0].Exception.Message | Should -BeLike '*not-a-checkpoint.pth*'
        Test-Path (Join-Path $Models 'bad') | Should -BeFalse
    }
}

Describe 'DICOM in, DICOM-SEG out' {
    BeforeAll {
        $script:DcmIn = Join-Path $Work 'dicom-in'
        New-Item -ItemType Directory $DcmIn | Out-Null
        $shared = Join-Path $PSScriptRoot '../../../shared/dicom'
        if (Test-Path $shared) {
            # The shared corpus (a few syntaxes per source) and the real files, read in place but copied here so the
            # folder also holds an extension-less DICOM and a corrupt one.
            Get-ChildItem (Join-Path $shared 'real') -Filter *.dcm | Copy-Item -Destination $DcmIn
            Get-ChildItem (Join-Path $shared 'corpus') -Filter *.dcm |
                Where-Object { $_.Name -match '^(cr_mono1_12|dx_mono2_16)(__1\.2\.840\.10008\.1\.2\.(5|4\.70|4\.80|1\.99))?\.dcm$' } |
                Copy-Item -Destination $DcmIn
            Copy-Item (Join-Path $shared 'real/cr_mono1_10bit_nopreamble.dcm') (Join-Path $DcmIn 'IM000001')
        }
        else {
            # Without ../shared: wrap our own PNG with dcmtk's img2dcm.
            New-ChestPngs (Join-Path $Work 'dicom-src') 2 200 180
            foreach ($n in 0, 1) {
                & $Py -c "from PIL import Image; Image.open('$Work/dicom-src/chest0$n.png').convert('L').save('$Work/dicom-src/chest0$n.jpg', quality=95)"
                & img2dcm (Join-Path $Work "dicom-src/chest0$n.jpg") (Join-Path $DcmIn "sc$n.dcm")
                if ($LASTEXITCODE -ne 0) { throw 'img2dcm failed' }
            }
            Copy-Item (Join-Path $DcmIn 'sc0.dcm') (Join-Path $DcmIn 'IM000001')
        }
        $good = Get-ChildItem $DcmIn -Filter *.dcm | Select-Object -First 1
        $bytes = [IO.File]::ReadAllBytes($good.FullName)
        [IO.File]::WriteAllBytes((Join-Path $DcmIn 'broken.dcm'), $bytes[0..([int]($bytes.Length * 0.4))])
        $script:SegOut = Join-Path $Work 'dicom-seg'
        $script:DcmErrors = $null
        $script:DcmResults = @(Invoke-CxasSegmentation $DcmIn -OutputPath $SegOut -OutputType dicom-seg -Device Cpu -WarningAction SilentlyContinue -ErrorVariable +DcmErrors -ErrorAction SilentlyContinue)
        $script:DcmInputs = @(Get-ChildItem $DcmIn -File)
    }

    It 'segments every readable file, extension-less ones included, with one clean error for the corrupt one' {
        $DcmResults.Count | Should -Be ($DcmInputs.Count - 1)
        $DcmResults.FileName | Should -Contain 'IM000001'
        $DcmErrors.Count | Should -Be 1
        $DcmErrors[0].TargetObject | Should -BeLike '*broken.dcm'
        $DcmErrors[0].CategoryInfo.Category | Should -Be 'InvalidData'
        $DcmResults | ForEach-Object { $_.Format | Should -Be 'DICOM' }
    }

    It 'writes one SEG per image that dciodvfy and dcentvfy accept' {
        foreach ($r in $DcmResults) {
            $seg = Join-Path $SegOut ($r.Stem + '.seg.dcm')
            Test-Path $seg | Should -BeTrue
            $report = (& dciodvfy $seg 2>&1) -join "`n"
            ($report -split "`n" | Where-Object { $_ -match '^Error' }) | Should -BeNullOrEmpty -Because "$($r.FileName): $report"
            # dicom3tools cannot read deflated files, so a deflated source cannot be compared.
            if ($r.FileName -match '1\.2\.840\.10008\.1\.2\.1\.99') { continue }
            $entity = (& dcentvfy $r.Path $seg 2>&1) -join "`n"
            $LASTEXITCODE | Should -Be 0 -Because "dcentvfy on $($r.FileName): $entity"
        }
    }

    It 'holds, per segment, exactly the pixels of the mask (pydicom unpacks the frames)' {
        $code = @'
import sys, json, pydicom, numpy as np
ds = pydicom.dcmread(sys.argv[1])
a = ds.pixel_array.reshape((-1, ds.Rows, ds.Columns))
labels = {s.SegmentNumber: s.SegmentLabel for s in ds.SegmentSequence}
out = {}
for i, f in enumerate(ds.PerFrameFunctionalGroupsSequence):
    n = f.SegmentIdentificationSequence[0].ReferencedSegmentNumber
    out[labels[n]] = int(a[i].sum())
print(json.dumps({'modality': ds.Modality, 'sop': ds.SOPClassUID, 'counts': out}))
'@
        foreach ($r in $DcmResults | Select-Object -First 4) {
            $seg = Join-Path $SegOut ($r.Stem + '.seg.dcm')
            $info = & $Py -c $code $seg | ConvertFrom-Json
            $info.modality | Should -Be 'SEG'
            $info.sop | Should -Be '1.2.840.10008.5.1.4.1.1.66.4'
            $present = @($r.PixelCounts.GetEnumerator() | Where-Object Value -gt 0)
            @($info.counts.PSObject.Properties).Count | Should -Be $present.Count
            foreach ($p in $present) { $info.counts.($p.Key) | Should -Be $p.Value -Because "$($r.FileName) / $($p.Key)" }
        }
    }

    It 'writes the SEG of a result rebuilt from another process, its source file gone, equal to the local one' {
        # The source's DICOM identity travels in the result's transfer form, so the file is not read again.
        $r = $DcmResults[0]
        $copy = Join-Path $Work 'seg-rebuilt-src'
        New-Item -ItemType Directory $copy | Out-Null
        Copy-Item $r.Path (Join-Path $copy $r.FileName)
        $job = Start-Job -ScriptBlock { param($m, $p, $model)
            Import-Module $m
            Invoke-CxasSegmentation $p -Model $model -Device Cpu -WarningAction SilentlyContinue } -ArgumentList (Join-Path $ModuleDir 'Cxas.psd1'), (Join-Path $copy $r.FileName), $r.Model
        $rebuilt = @(Receive-Job $job -Wait -AutoRemoveJob)
        $rebuilt.Count | Should -Be 1
        Remove-Item -Recurse -Force $copy  # a copy of the read-only shared file is read-only
        $out = Join-Path $Work 'seg-rebuilt-out'
        $record = $rebuilt[0] | Export-CxasMask -OutputPath $out -Format dicom-seg -ErrorAction Stop
        $code = @'
import sys, pydicom
a = pydicom.dcmread(sys.argv[1]); b = pydicom.dcmread(sys.argv[2])
for d in (a, b):
    del d.ContentDate; del d.ContentTime
print('same' if a == b else 'differ')
'@
        & $Py -c $code (Join-Path $SegOut ($r.Stem + '.seg.dcm')) $record.OutputPath | Should -Be 'same'
    }

    It 'refuses DICOM-SEG for a PNG source, saying why' {
        $png = Join-Path $Work 'seg-png'
        New-ChestPngs $png 1 64 64
        $errs = $null
        Invoke-CxasSegmentation (Join-Path $png 'chest00.png') -OutputPath (Join-Path $Work 'seg-png-out') -OutputType dicom-seg -WarningAction SilentlyContinue -ErrorVariable errs -ErrorAction SilentlyContinue | Out-Null
        $errs.Count | Should -Be 1
        $errs[0].Exception.Message | Should -BeLike '*DICOM*'
    }
}

BeforeDiscovery {
    # Skipped where ../shared is absent, except in CI (CXAS_REQUIRE_ORACLES=1), where its absence is a failure.
    $script:HasShared = Test-Path (Join-Path $PSScriptRoot '../../../shared/data/cxr-seg/index.csv')
    $script:SkipShared = -not $HasShared -and $env:CXAS_REQUIRE_ORACLES -ne '1'
}

Describe 'Default anatomy model on real radiographs' -Skip:$SkipShared {
    BeforeAll {
        if (-not (Test-Path (Join-Path $PSScriptRoot '../../../shared/data/cxr-seg/index.csv'))) {
            throw '../shared/data/cxr-seg is absent, and CXAS_REQUIRE_ORACLES=1 forbids skipping these tests.'
        }
        $global:PSDefaultParameterValues.Remove('Invoke-CxasSegmentation:Model')
        $script:Pool = Join-Path $PSScriptRoot '../../../shared/data/cxr-seg'
        # Validation images of the wingspan source (the training split's md5 rule: never trained on), with the CTR
        # of their expert masks computed here in numpy: heart width edge to edge over the widest row of both lungs.
        $code = @'
import sys, csv, hashlib, json, numpy as np
from PIL import Image
root = sys.argv[1]
rows = [r for r in csv.DictReader(open(root + '/index.csv')) if r['source'] == 'wingspan']
ids = sorted((r['id'] for r in rows), key=lambda i: hashlib.md5(('wingspan/' + i).encode()).hexdigest())
val = ids[:round(0.15 * len(ids))][:8]
out = []
for i in val:
    m = lambda l: np.array(Image.open('%s/wingspan/masks/%s/%s.png' % (root, l, i))) > 127
    heart, lungs = m('heart'), m('right-lung') | m('left-lung')
    hx = np.nonzero(heart.any(0))[0]
    widest = max((np.nonzero(r)[0][-1] - np.nonzero(r)[0][0] + 1) for r in lungs if r.any())
    out.append({'path': '%s/wingspan/images/%s.png' % (root, i), 'ctr': float((hx[-1] - hx[0] + 1) / widest)})
print(json.dumps(out))
'@
        $script:Cases = & $Py -c $code $Pool | ConvertFrom-Json
        $script:Real = @($Cases.path | Invoke-CxasSegmentation -Device Cpu)
        $script:Ctr = @($Real | Get-CxasFeature -Feature CTR)
    }
    AfterAll { $global:PSDefaultParameterValues['Invoke-CxasSegmentation:Model'] = 'cxas-test' }

    It 'runs the default model without a test-model warning' {
        $Real.Count | Should -Be $Cases.Count
        $Real[0].Model | Should -Be 'cxas-anatomy-r18'
    }

    It 'puts the patient''s right lung on the image''s left and the heart between the lungs' {
        foreach ($r in $Real) {
            $right = $r | Get-CxasFeature -Feature Centroid -Label 'right lung'
            $left = $r | Get-CxasFeature -Feature Centroid -Label 'left lung'
            $heart = $r | Get-CxasFeature -Feature Centroid -Label 'heart'
            $right.X | Should -BeLessThan $heart.X -Because $r.FileName
            $heart.X | Should -BeLessThan $left.X -Because $r.FileName
        }
    }

    It 'keeps the sides on Shenzhen and Montgomery images, whose experts drew only "lung"' {
        # Validation images of that source; the expert lung mask split at the mediastinal gap (the column with the
        # fewest lung pixels in the middle 40 % of the width, nearest the centre) gives each side's truth.
        $sel = @'
import sys, csv, hashlib, json
root = sys.argv[1]
rows = [r for r in csv.DictReader(open(root + '/index.csv')) if r['source'] == 'shenzhen-montgomery']
ids = sorted((r['id'] for r in rows), key=lambda i: hashlib.md5(('shenzhen-montgomery/' + i).encode()).hexdigest())
val = ids[:round(0.15 * len(ids))]
print(json.dumps(['%s/shenzhen-montgomery/images/%s.png' % (root, i) for i in val[::13]]))
'@
        $paths = & $Py -c $sel $Pool | ConvertFrom-Json
        $out = Join-Path $Work 'sides'
        $paths | Invoke-CxasSegmentation -Device Cpu | Export-CxasMask $out -Label 'right lung', 'left lung' | Out-Null
        $score = @'
import sys, os, json, numpy as np
from PIL import Image
root, out = sys.argv[1], sys.argv[2]
res = []
for stem in sorted(s for s in os.listdir(out) if not s.startswith(".")):
    lung = np.array(Image.open('%s/shenzhen-montgomery/masks/lung/%s.png' % (root, stem))) > 127
    w = lung.shape[1]
    lo, hi = int(0.3 * w), int(0.7 * w)
    cover = lung[:, lo:hi].sum(0)
    cols = np.nonzero(cover == cover.min())[0] + lo
    runs = np.split(cols, np.nonzero(np.diff(cols) != 1)[0] + 1)
    run = min(runs, key=lambda r: abs((r[0] + r[-1]) / 2 - w / 2))
    x = (run[0] + run[-1] + 1) // 2
    d = {}
    for name, truth in (('right lung', lung & (np.arange(w) < x)), ('left lung', lung & (np.arange(w) >= x))):
        pred = np.array(Image.open('%s/%s/%s.png' % (out, stem, name))) > 0
        d[name] = float(2 * (pred & truth).sum() / max(1, pred.sum() + truth.sum()))
    res.append({'image': stem, 'right': d['right lung'], 'left': d['left lung']})
print(json.dumps(res))
'@
        $dice = & $Py -c $score $Pool $out | ConvertFrom-Json
        $dice.Count | Should -Be $paths.Count
        foreach ($d in $dice) {
            $d.right | Should -BeGreaterThan 0.8 -Because "right lung of $($d.image)"
            $d.left | Should -BeGreaterThan 0.8 -Because "left lung of $($d.image)"
        }
    }

    It 'gives CTRs close to the expert masks'' CTRs' {
        $diffs = for ($i = 0; $i -lt $Cases.Count; $i++) {
            $Ctr[$i].Status | Should -Be 'OK'
            [Math]::Abs($Ctr[$i].Value - $Cases[$i].ctr)
        }
        $median = ($diffs | Sort-Object)[[int][Math]::Floor($diffs.Count / 2)]
        $median | Should -BeLessThan 0.03
        ($diffs | Measure-Object -Maximum).Maximum | Should -BeLessThan 0.1
    }

    It 'writes a CSV and a report a reviewer can open' {
        $csv = Join-Path $Work 'real-ctr.csv'
        $Ctr | Export-Csv $csv
        (Import-Csv $csv).Count | Should -Be $Cases.Count
        $html = Join-Path $Work 'real-report.html'
        $Real | Export-CxasReport -OutputPath $html | Out-Null
        (Get-Item $html).Length | Should -BeGreaterThan 10000
        Get-Content $html -Raw | Should -BeLike '*data:image/png;base64,*'
    }
}

Describe 'Background jobs (-AsJob)' {
    BeforeAll {
        $script:JobDir = Join-Path $Work 'asjob'
        New-ChestPngs $JobDir 3 140 120
        Set-Content (Join-Path $JobDir 'broken.png') 'not an image'
        $script:Sync = @(Invoke-CxasSegmentation $JobDir -Model cxas-test -ErrorAction SilentlyContinue -WarningAction SilentlyContinue)
    }

    It 'returns a job at once whose output is the live results, with the errors in its error stream' {
        $job = Get-ChildItem $JobDir -File | Invoke-CxasSegmentation -Model cxas-test -AsJob -WarningAction SilentlyContinue
        $job | Should -BeOfType ([System.Management.Automation.Job])
        (Get-Job -Id $job.Id).Id | Should -Be $job.Id
        $errs = $null
        $r = @(Receive-Job $job -Wait -ErrorVariable errs -ErrorAction SilentlyContinue)
        $job.State | Should -Be 'Completed'
        Remove-Job $job
        $r.Count | Should -Be 3
        foreach ($x in $r) { $x | Should -BeOfType ([Cxas.Segmentation.SegmentationResult]) }
        $r.Path | Should -Be $Sync.Path
        for ($i = 0; $i -lt 3; $i++) { $r[$i].GetMask('heart').Count() | Should -Be $Sync[$i].GetMask('heart').Count() }
        @($errs).Count | Should -Be 1
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'Cxas.InvalidData*'
    }

    It 'shows percent complete and time remaining when the inputs are given as arguments (folders are counted ahead)' {
        $many = Join-Path $Work 'progress-many'
        New-ChestPngs $many 6 300 260
        foreach ($target in @($many), @(Get-ChildItem $many -File).FullName) {
            $job = Invoke-CxasSegmentation $target -Model cxas-test -AsJob -WarningAction SilentlyContinue
            # The job keeps the progress records it was given (Receive-Job would take them away).
            $null = Wait-Job $job
            $shown = @($job.Progress | Where-Object { $_.RecordType -eq 'Processing' })
            Remove-Job $job
            $shown.Count | Should -BeGreaterThan 0
            $shown | Where-Object PercentComplete -eq -1 | Should -BeNullOrEmpty
            foreach ($p in $shown) {
                $p.PercentComplete | Should -BeGreaterThan 0
                $p.PercentComplete | Should -BeLessOrEqual 100
                $p.SecondsRemaining | Should -BeGreaterOrEqual 0
                $p.StatusDescription | Should -Match ' of 6: '
            }
        }
    }

    It 'runs Get-CxasFeature in the background from paths relative to the caller''s folder' {
        Push-Location $JobDir
        try { $job = Get-CxasFeature CTR -Path 'chest0*.png' -Model cxas-test -AsJob -WarningAction SilentlyContinue }
        finally { Pop-Location }
        $rows = @(Receive-Job $job -Wait -AutoRemoveJob)
        $rows.Count | Should -Be 3
        ($rows | ConvertTo-Csv) | Should -Be ($Sync | Get-CxasFeature CTR | ConvertTo-Csv)
    }
}

Describe 'Streams' {
    It 'gives one verbose line per file and one information record summing the run up' {
        $folder = Join-Path $Work 'streams'
        New-ChestPngs $folder 3 90 80
        Set-Content (Join-Path $folder 'broken.png') 'not a png'
        $info = $null
        $all = Invoke-CxasSegmentation $folder -Verbose -InformationVariable info -ErrorAction SilentlyContinue -WarningAction SilentlyContinue 4>&1
        $verbose = @($all | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object Message)
        foreach ($n in 0..2) {
            @($verbose | Where-Object { $_ -like ('chest{0:d2}.png: decode * ms, inference * ms, */159 classes found.' -f $n) }).Count | Should -Be 1
        }
        $info.Count | Should -Be 1
        $summary = $info[0].MessageData
        $info[0].Tags | Should -Contain 'Summary'
        "$($summary.Files) $($summary.Results) $($summary.Errors) $($summary.Skipped)" | Should -Be '4 3 1 0'
        $summary.ImagesPerSecond | Should -BeGreaterThan 0
        "$summary" | Should -BeLike 'Invoke-CxasSegmentation: 4 file(s), 3 result(s), 1 error(s), 0 skipped*'
    }
}

Describe '-Confirm without a user interface' {
    It 'stops the command as PowerShell''s own cmdlets do, and writes nothing' {
        $folder = Join-Path $Work 'confirm'
        New-ChestPngs $folder 1 60 50
        $out = Join-Path $Work 'confirm-out'
        $pwshDll = Join-Path $PSHOME 'pwsh.dll'
        $script = "Import-Module '$ModuleDir/Cxas.psd1'; try { Invoke-CxasSegmentation '$folder' -Model cxas-test -OutputPath '$out' -Confirm -WarningAction SilentlyContinue | Out-Null; 'no error' } catch { `$_.FullyQualifiedErrorId }"
        $text = if (Test-Path $pwshDll) { & dotnet $pwshDll -NoProfile -NonInteractive -Command $script } else { & (Join-Path $PSHOME 'pwsh') -NoProfile -NonInteractive -Command $script }
        $text | Should -Be 'InvalidOperation,Cxas.PowerShell.InvokeCxasSegmentationCommand'
        Test-Path (Join-Path $out 'chest00') | Should -BeFalse
    }
}

Describe 'Results across a job boundary' {
    BeforeAll {
        $script:JobIn = Join-Path $Work 'job-in'
        New-ChestPngs $JobIn 3 140 120
        $script:Local = @(Invoke-CxasSegmentation $JobIn -WarningAction SilentlyContinue)
        $job = Start-Job -ScriptBlock { param($m, $p)
            Import-Module $m
            Invoke-CxasSegmentation $p -Model cxas-test -WarningAction SilentlyContinue } -ArgumentList (Join-Path $ModuleDir 'Cxas.psd1'), $JobIn
        $script:Received = @(Receive-Job $job -Wait -AutoRemoveJob)
    }

    It 'comes back as live results, masks and all' {
        $Received.Count | Should -Be 3
        $Received[0] | Should -BeOfType ([Cxas.Segmentation.SegmentationResult])
        for ($i = 0; $i -lt 3; $i++) {
            foreach ($label in 'heart', 'left lung', 'spine') {
                $Received[$i].PixelCounts[$label] | Should -Be $Local[$i].PixelCounts[$label]
                $Received[$i].GetMask($label).Count() | Should -Be $Local[$i].PixelCounts[$label]
            }
        }
    }

    It 'exports and measures exactly as the local results do, and gives the same CSV' {
        $a = Join-Path $Work 'job-local'; $b = Join-Path $Work 'job-received'
        $Local | Export-CxasMask -OutputPath $a -Format npy, png | Out-Null
        $Received | Export-CxasMask -OutputPath $b -Format npy, png | Out-Null
        foreach ($f in Get-ChildItem $a -Recurse -File | Where-Object Name -notlike '.*') {
            $other = Join-Path $b ([IO.Path]::GetRelativePath($a, $f.FullName))
            (Get-FileHash $other).Hash | Should -Be (Get-FileHash $f.FullName).Hash -Because $f.Name
        }
        ($Received | Get-CxasFeature -Feature CTR, Area -Label heart | ConvertTo-Csv) |
            Should -Be ($Local | Get-CxasFeature -Feature CTR, Area -Label heart | ConvertTo-Csv)
        ($Received | Select-Object Path, PresentLabels, PixelCounts | ConvertTo-Csv) |
            Should -Be ($Local | Select-Object Path, PresentLabels, PixelCounts | ConvertTo-Csv)
    }

    It 'binds a result that is still in its deserialized form' {
        # Where Cxas is loaded, deserializing gives a live result back.
        $xml = [System.Management.Automation.PSSerializer]::Serialize($Local[1])
        [System.Management.Automation.PSSerializer]::Deserialize($xml) | Should -BeOfType ([Cxas.Segmentation.SegmentationResult])
        $xml | Should -Not -BeLike '*<S N="Masks">*'
        # A bag with the deserialized type name binds through the converter.
        $bag = [pscustomobject] @{ TransferForm = [Cxas.Segmentation.ResultTransfer]::Pack($Local[1]) }
        $bag.PSObject.TypeNames.Insert(0, 'Deserialized.Cxas.Segmentation.SegmentationResult')
        ($bag | Get-CxasFeature CTR).Value | Should -Be ($Local[1] | Get-CxasFeature CTR).Value
    }
}
