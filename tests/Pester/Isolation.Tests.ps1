#Requires -Version 7.4
# Pester 6 tests: on PowerShell 7 the module's dependencies live in a load context of their own, so another module's
# copy of one of them (here SixLabors.ImageSharp, the assembly Cxas decodes images with) never meets Cxas's, whichever
# is loaded first. The stand-in for "another module" is an assembly named SixLabors.ImageSharp, version 3.0.0.0, that
# this test compiles: loaded into the default context, it is what a second module with a different ImageSharp brings.
# Each case runs in a fresh pwsh, since load contexts live as long as their process.

BeforeAll {
    $ErrorActionPreference = 'Stop'
    $script:ModuleDir = (Resolve-Path $(if ($env:CXAS_MODULE) { $env:CXAS_MODULE } else { Join-Path $PSScriptRoot '../../out/Cxas' })).Path
    $script:Samples = (Resolve-Path (Join-Path $PSScriptRoot '../../samples')).Path
    $script:Work = Join-Path ([IO.Path]::GetTempPath()) ("cxas-isolation-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
    New-Item -ItemType Directory -Path $Work | Out-Null

    # Runs a script in a fresh pwsh; returns its output lines (stdout and stderr) and exit code.
    . (Join-Path $PSScriptRoot 'Processes.ps1')
    function script:Invoke-FreshPwsh([string] $Script) {
        $psi = New-PwshStartInfo $Script
        $psi.RedirectStandardOutput = $true
        $psi.RedirectStandardError = $true
        $p = [Diagnostics.Process]::Start($psi)
        $stderr = $p.StandardError.ReadToEndAsync()
        $stdout = $p.StandardOutput.ReadToEnd()
        $p.WaitForExit()
        [pscustomobject]@{ Lines = @(($stdout + $stderr.Result) -split "`r?`n" | Where-Object { $_ }); ExitCode = $p.ExitCode }
    }

    # The other module's ImageSharp: same simple name, another version and another API.
    $script:Other = Join-Path $Work 'other/SixLabors.ImageSharp.dll'
    New-Item -ItemType Directory -Path (Split-Path $Other) | Out-Null
    # Emitted with PersistedAssemblyBuilder (Add-Type would give the assembly a random name): one static method.
    $emit = @'
$builder = [System.Reflection.Emit.PersistedAssemblyBuilder]::new([Reflection.AssemblyName]::new('SixLabors.ImageSharp, Version=3.0.0.0'), [object].Assembly)
$type = $builder.DefineDynamicModule('SixLabors.ImageSharp').DefineType('SixLabors.ImageSharp.Image', [Reflection.TypeAttributes]'Public, Abstract, Sealed, Class')
$il = $type.DefineMethod('Owner', [Reflection.MethodAttributes]'Public, Static', [string], [type[]]@()).GetILGenerator()
$il.Emit([Reflection.Emit.OpCodes]::Ldstr, 'the other module')
$il.Emit([Reflection.Emit.OpCodes]::Ret)
[void]$type.CreateType()
$builder.Save('OTHER')
'compiled'
'@.Replace('OTHER', $Other)
    $compiled = Invoke-FreshPwsh $emit
    $compiled.Lines | Should -Contain 'compiled'

    # What each case prints: per sample the file name and pixel counts, then which ImageSharp each side bound.
    $script:Report = @'
$r = @(Invoke-CxasSegmentation -Path 'SAMPLES' -Recurse -Device cpu)
foreach ($x in $r) { 'result {0} {1}' -f $x.FileName, (($x.PixelCounts.GetEnumerator() | Sort-Object Key | ForEach-Object { "$($_.Key)=$($_.Value)" }) -join ',') }
$core = [Cxas.Segmentation.SegmentationResult].Assembly
'core-context ' + [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext($core).Name
$theirs = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'SixLabors.ImageSharp' }
foreach ($a in $theirs) { 'imagesharp {0} {1}' -f $a.GetName().Version, [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext($a).Name }
'other-says ' + ([AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Version -eq '3.0.0.0' -and $_.GetName().Name -eq 'SixLabors.ImageSharp' } |
    ForEach-Object { $_.GetType('SixLabors.ImageSharp.Image').GetMethod('Owner').Invoke($null, @()) })
'@.Replace('SAMPLES', $Samples)

    # The reference: the module alone.
    $alone = Invoke-FreshPwsh "`$ErrorActionPreference = 'Stop'; Import-Module '$ModuleDir/Cxas.psd1'; $Report"
    $alone.ExitCode | Should -Be 0 -Because ($alone.Lines -join "`n")
    $script:Expected = @($alone.Lines | Where-Object { $_ -like 'result *' })
    $Expected.Count | Should -Be 2
}

AfterAll {
    Remove-Item $Work -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Dependency isolation on PowerShell 7' {
    It 'keeps Cxas.Core and its dependencies in a load context named Cxas, with nothing of theirs beside the cmdlets' {
        Get-ChildItem $ModuleDir -Filter *.dll | ForEach-Object Name | Sort-Object | Should -Be @('Cxas.LoadContext.dll', 'Cxas.PowerShell.dll')
        $run = Invoke-FreshPwsh "`$ErrorActionPreference = 'Stop'; Import-Module '$ModuleDir/Cxas.psd1'; $Report"
        $run.Lines | Should -Contain 'core-context Cxas'
        $run.Lines | Should -Contain 'imagesharp 2.0.0.0 Cxas'
    }

    It 'segments as it does alone when another module loaded a different ImageSharp first' {
        $run = Invoke-FreshPwsh "`$ErrorActionPreference = 'Stop'; [void][Reflection.Assembly]::LoadFrom('$Other'); Import-Module '$ModuleDir/Cxas.psd1'; $Report"
        $run.ExitCode | Should -Be 0 -Because ($run.Lines -join "`n")
        @($run.Lines | Where-Object { $_ -like 'result *' }) | Should -Be $Expected
        $run.Lines | Should -Contain 'imagesharp 3.0.0.0 Default'
        $run.Lines | Should -Contain 'imagesharp 2.0.0.0 Cxas'
        $run.Lines | Should -Contain 'other-says the other module'
    }

    It 'lets another module load its own ImageSharp after Cxas has used its own' {
        $script = "`$ErrorActionPreference = 'Stop'; Import-Module '$ModuleDir/Cxas.psd1'; " +
                  "[void](Invoke-CxasSegmentation -Path '$Samples' -Recurse -Device cpu); [void][Reflection.Assembly]::LoadFrom('$Other'); $Report"
        $run = Invoke-FreshPwsh $script
        $run.ExitCode | Should -Be 0 -Because ($run.Lines -join "`n")
        @($run.Lines | Where-Object { $_ -like 'result *' }) | Should -Be $Expected
        $run.Lines | Should -Contain 'other-says the other module'
    }

    It 'names Cxas.Core types in the session and takes the names back on Remove-Module' {
        $script = "`$ErrorActionPreference = 'Stop'; Import-Module '$ModuleDir/Cxas.psd1'; " +
                  "`$names = [psobject].Assembly.GetType('System.Management.Automation.TypeAccelerators')::Get; " +
                  "'before ' + [Cxas.Masks.MaskSet].FullName + ' ' + `$names.ContainsKey('Cxas.Masks.MaskSet'); Remove-Module Cxas; 'after ' + `$names.ContainsKey('Cxas.Masks.MaskSet')"
        $run = Invoke-FreshPwsh $script
        $run.Lines | Should -Contain 'before Cxas.Masks.MaskSet True'
        $run.Lines | Should -Contain 'after False'
    }
}
