#Requires -Version 7.4
# Pester 6 tests of the cmdlets' help (generated at build time from the XML documentation comments): every cmdlet
# and parameter is described, every cmdlet has at least two examples, and every example runs against the shipped
# samples. An example marked "# Not run by the tests: <reason>" is reported as skipped with that reason.

BeforeDiscovery {
    $moduleDir = if ($env:CXAS_MODULE) { $env:CXAS_MODULE } else { Join-Path $PSScriptRoot '../../out/Cxas' }
    Import-Module (Join-Path $moduleDir 'Cxas.psd1') -Force
    $script:Cmdlets = @(Get-Command -Module Cxas -CommandType Cmdlet | ForEach-Object { @{ Name = $_.Name } })
    $script:Examples = @(foreach ($c in Get-Command -Module Cxas -CommandType Cmdlet) {
        $n = 0
        foreach ($e in (Get-Help $c.Name -Full).examples.example) {
            $n++
            @{ Name = $c.Name; Number = $n; Code = [string] $e.code }
        }
    })
}

BeforeAll {
    $ErrorActionPreference = 'Stop'
    $script:ModuleDir = if ($env:CXAS_MODULE) { $env:CXAS_MODULE } else { Join-Path $PSScriptRoot '../../out/Cxas' }
    Import-Module (Join-Path $ModuleDir 'Cxas.psd1') -Force
    $script:Common = [System.Management.Automation.Cmdlet]::CommonParameters + [System.Management.Automation.Cmdlet]::OptionalCommonParameters
    $script:Samples = Join-Path $PSScriptRoot '../../samples'
}

Describe 'Help of <Name>' -ForEach $Cmdlets {
    BeforeAll { $script:Help = Get-Help $Name -Full }

    It 'has a synopsis and a description' {
        $Help.Synopsis | Should -Not -BeNullOrEmpty
        $Help.Synopsis | Should -Not -BeLike "*$Name *[<CommonParameters>]*"
        ($Help.description | Out-String).Trim() | Should -Not -BeNullOrEmpty
    }

    It 'describes every parameter' {
        $parameters = (Get-Command $Name).Parameters.Values | Where-Object {
            $Common -notcontains $_.Name -and -not ($_.Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] -and $_.DontShow }) } |
            ForEach-Object Name
        foreach ($p in $parameters) {
            $entry = $Help.parameters.parameter | Where-Object name -eq $p
            $entry | Should -Not -BeNullOrEmpty -Because "-$p is a parameter of $Name"
            ($entry.description | Out-String).Trim() | Should -Not -BeNullOrEmpty -Because "-$p of $Name needs a description"
        }
    }

    It 'has at least two examples, each with remarks' {
        @($Help.examples.example).Count | Should -BeGreaterOrEqual 2
        foreach ($e in $Help.examples.example) { ($e.remarks | Out-String).Trim() | Should -Not -BeNullOrEmpty }
    }
}

Describe 'about_Cxas' {
    It 'is found by Get-Help' {
        (Get-Help about_Cxas | Out-String) | Should -BeLike '*THE PIPELINE*OUTPUT LAYOUTS*ERRORS*'
    }
}

Describe 'What admins look up' {
    It 'lists every error id with its category in about_Cxas' {
        $text = Get-Help about_Cxas | Out-String
        foreach ($kind in [Enum]::GetNames([Cxas.CxasErrorKind])) { $text | Should -Match "Cxas\.$kind\s" -Because "Cxas.$kind is an error id" }
        $text | Should -Match 'RecommendedAction'
    }

    It 'says in Invoke-CxasSegmentation''s help that -PipelineVariable runs one file ahead, and what to use instead' {
        $text = Get-Help Invoke-CxasSegmentation -Full | Out-String
        $text | Should -Match 'PipelineVariable'
        $text | Should -Match 'its Path'
    }

    It 'describes both shapes of Get-CxasFeature''s rows' {
        $text = (Get-Help Get-CxasFeature -Full | Out-String) -replace '\s+', ' '
        $text | Should -Match 'long form'
        $text | Should -Match 'own columns'
    }
}

Describe 'Example <Number> of <Name>' -ForEach $Examples {
    It 'runs against the shipped samples' {
        if ($Code -match '# Not run by the tests: (.+)') { Set-ItResult -Skipped -Because $Matches[1]; return }
        $work = Join-Path ([IO.Path]::GetTempPath()) ('cxas-help-' + [guid]::NewGuid().ToString('N').Substring(0, 8))
        New-Item -ItemType Directory $work | Out-Null
        Copy-Item $Samples (Join-Path $work 'samples') -Recurse
        Push-Location $work
        try {
            # Any error, terminating or not, fails the example.
            $ErrorActionPreference = 'Stop'
            $null = & ([scriptblock]::Create($Code)) 3>$null
        }
        finally {
            Pop-Location
            # Under Wine a just-closed file can keep its folder busy for a moment ("Directory is not empty"): a few
            # bounded tries; a folder still left is a warning about the temporary, not a failure of the example.
            foreach ($try in 1..5) {
                try { Remove-Item $work -Recurse -Force -ErrorAction Stop; break }
                catch { if ($try -eq 5) { Write-Warning "Left $work behind: $_" } else { Start-Sleep -Milliseconds 200 } }
            }
        }
    }
}

Describe 'Online help' {
    It 'links every cmdlet and the manifest to the documentation when the build is given its address' -Tag 'PwshProcess' {
        # The build passes -DocumentationUri to the generator; here the generator runs on a copy of the module.
        $copy = Join-Path ([IO.Path]::GetTempPath()) ('cxas-online-' + [guid]::NewGuid().ToString('N').Substring(0, 8))
        Copy-Item $ModuleDir $copy -Recurse
        try {
            $docFile = Join-Path $PSScriptRoot '../../Cxas.PowerShell/bin/Release/netstandard2.0/Cxas.PowerShell.xml'
            $uri = 'https://docs.example.test/cxas/'
            $pwshDll = Join-Path $PSHOME 'pwsh.dll'
            $pwsh = if (Test-Path $pwshDll) { @('dotnet', $pwshDll) } else { @((Join-Path $PSHOME 'pwsh')) }
            & $pwsh[0] @($pwsh | Select-Object -Skip 1) -NoProfile -NonInteractive -File (Join-Path $PSScriptRoot '../../Cxas.PowerShell/Help/New-CxasHelp.ps1') `
                -ModuleDir $copy -DocFile $docFile -OnlineUri $uri | Out-Null
            $LASTEXITCODE | Should -Be 0
            $probe = "Import-Module '$copy/Cxas.psd1'; `$m = Get-Module Cxas; 'help ' + `$m.HelpInfoUri; 'project ' + `$m.ProjectUri; " +
                     "foreach (`$c in Get-Command -Module Cxas -CommandType Cmdlet) { 'link ' + `$c.Name + ' ' + ((Get-Help `$c.Name).relatedLinks.navigationLink | Where-Object linkText -like 'Online*').uri }"
            $lines = & $pwsh[0] @($pwsh | Select-Object -Skip 1) -NoProfile -NonInteractive -Command $probe
            $lines | Should -Contain "help $uri"
            $lines | Should -Contain "project $uri"
            $links = @($lines | Where-Object { $_ -like 'link *' })
            $links.Count | Should -Be (Get-Command -Module Cxas -CommandType Cmdlet).Count
            foreach ($l in $links) {
                $name = ($l -split ' ')[1]
                $l | Should -Be "link $name $uri#$($name.ToLowerInvariant())"
            }
        }
        finally { Remove-Item $copy -Recurse -Force }
    }
}
