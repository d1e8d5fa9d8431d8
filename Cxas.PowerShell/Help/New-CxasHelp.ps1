<#
.SYNOPSIS
    Writes the MAML help of the Cxas cmdlets (en-US/Cxas.PowerShell.dll-Help.xml) from the built module and the
    compiler's XML documentation file.
.DESCRIPTION
    Everything Get-Help shows comes from one of two places, so help cannot drift from the code:
    - the cmdlet metadata PowerShell itself binds with (Get-Command): parameter sets, types, positions, aliases,
      mandatory flags, pipeline input, wildcard support; defaults are read from a new instance of each cmdlet class;
    - the XML documentation comments of the cmdlet classes (Cxas.PowerShell.xml): the class's
      <para type="synopsis"> and <para type="description">, each <example> (a <code> and <para> remarks), and each
      parameter property's <summary>.
    Output types come from [OutputType]. Run it in a process of its own (it imports the module).
    With -OnlineUri (where the documentation is published), each cmdlet's help gets an online link, <uri>#<cmdlet-name>,
    which Get-Help -Online opens, and the module's manifest gets HelpInfoURI and ProjectUri.
#>
param(
    [Parameter(Mandatory)] [string] $ModuleDir,
    [Parameter(Mandatory)] [string] $DocFile,
    [string] $OnlineUri
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3
if ($OnlineUri) {
    $manifest = Join-Path $ModuleDir 'Cxas.psd1'
    $text = (Get-Content $manifest -Raw) -replace "(\r?\n)(\s*)CompatiblePSEditions", "`$1`$2HelpInfoURI            = '$OnlineUri'`$1`$2CompatiblePSEditions"
    $text = $text -replace "(\r?\n)(\s*)LicenseUri", "`$1`$2ProjectUri = '$OnlineUri'`$1`$2LicenseUri"
    Set-Content $manifest $text -NoNewline
}
Import-Module (Join-Path $ModuleDir 'Cxas.psd1') -Force
[xml] $doc = Get-Content -Raw $DocFile
$members = @{}
foreach ($m in $doc.doc.members.member) { $members[$m.name] = $m }

function Get-Text($node) {
    if ($null -eq $node) { return '' }
    (($node.InnerText -replace '\s+', ' ').Trim())
}

$common = [System.Management.Automation.Cmdlet]::CommonParameters + [System.Management.Automation.Cmdlet]::OptionalCommonParameters
$maml = 'http://schemas.microsoft.com/maml/2004/10'
$command = 'http://schemas.microsoft.com/maml/dev/command/2004/10'
$dev = 'http://schemas.microsoft.com/maml/dev/2004/10'

$out = Join-Path $ModuleDir 'en-US'
New-Item -ItemType Directory -Force -Path $out | Out-Null
$settings = [System.Xml.XmlWriterSettings]::new()
$settings.Indent = $true
$settings.Encoding = [System.Text.UTF8Encoding]::new($false)
$w = [System.Xml.XmlWriter]::Create((Join-Path $out 'Cxas.PowerShell.dll-Help.xml'), $settings)
$w.WriteStartElement('helpItems', 'http://msh')
$w.WriteAttributeString('schema', 'maml')

function Write-Para([string] $text) { $w.WriteElementString('para', $maml, $text) }

function Get-PipelineInput($meta) {
    $kinds = @()
    foreach ($set in $meta.ParameterSets.Values) {
        if ($set.ValueFromPipeline -and $kinds -notcontains 'ByValue') { $kinds += 'ByValue' }
        if ($set.ValueFromPipelineByPropertyName -and $kinds -notcontains 'ByPropertyName') { $kinds += 'ByPropertyName' }
    }
    if ($kinds.Count -eq 0) { 'False' } else { "True ($($kinds -join ', '))" }
}

function Format-Default($value) {
    if ($null -eq $value) { return 'None' }
    if ($value -is [System.Management.Automation.SwitchParameter]) { return [string] $value.IsPresent }
    if ($value -is [array]) { if ($value.Count -eq 0) { return 'None' } return ($value -join ', ') }
    [string] $value
}

foreach ($cmd in (Get-Command -Module Cxas -CommandType Cmdlet | Sort-Object Name)) {
    $type = $cmd.ImplementingType
    $typeDoc = $members["T:$($type.FullName)"]
    if ($null -eq $typeDoc) { throw "$($cmd.Name): no XML documentation for $($type.FullName)." }
    $synopsis = Get-Text ($typeDoc.SelectSingleNode("summary/para[@type='synopsis']"))
    $description = @($typeDoc.SelectNodes("summary/para[@type='description']") | ForEach-Object { Get-Text $_ })
    $instance = [Activator]::CreateInstance($type)
    # Hidden parameters ([Parameter(DontShow)]) are left out, as Get-Help and tab completion leave them out.
    $parameters = @($cmd.Parameters.Values | Where-Object { $common -notcontains $_.Name -and -not ($_.Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] -and $_.DontShow }) })

    $w.WriteStartElement('command', 'command', $command)
    $w.WriteAttributeString('xmlns', 'maml', $null, $maml)
    $w.WriteAttributeString('xmlns', 'dev', $null, $dev)
    $w.WriteStartElement('details', $command)
    $w.WriteElementString('name', $command, $cmd.Name)
    $w.WriteStartElement('description', $maml); Write-Para $synopsis; $w.WriteEndElement()
    $w.WriteElementString('verb', $command, $cmd.Verb)
    $w.WriteElementString('noun', $command, $cmd.Noun)
    $w.WriteEndElement()
    $w.WriteStartElement('description', $maml); foreach ($p in $description) { Write-Para $p }; $w.WriteEndElement()

    # Syntax: one item per parameter set, in PowerShell's own order.
    $w.WriteStartElement('syntax', $command)
    foreach ($set in $cmd.ParameterSets) {
        # A set that exists only for a hidden parameter (the catch-all for wrong pipeline input) is no syntax to show.
        if ($set.Parameters | Where-Object { $common -notcontains $_.Name -and $parameters.Name -notcontains $_.Name }) { continue }
        $w.WriteStartElement('syntaxItem', $command)
        $w.WriteElementString('name', $maml, $cmd.Name)
        foreach ($sp in $set.Parameters | Where-Object { $common -notcontains $_.Name -and $parameters.Name -contains $_.Name }) {
            $w.WriteStartElement('parameter', $command)
            $w.WriteAttributeString('required', ([string] $sp.IsMandatory).ToLowerInvariant())
            $w.WriteAttributeString('position', $(if ($sp.Position -ge 0) { [string] $sp.Position } else { 'named' }))
            $w.WriteElementString('name', $maml, $sp.Name)
            if ($sp.ParameterType -ne [System.Management.Automation.SwitchParameter]) {
                $w.WriteStartElement('parameterValue', $command); $w.WriteAttributeString('required', 'true')
                $w.WriteString($sp.ParameterType.Name); $w.WriteEndElement()
            }
            $w.WriteEndElement()
        }
        $w.WriteEndElement()
    }
    $w.WriteEndElement()

    $w.WriteStartElement('parameters', $command)
    # Dynamic parameters (the DICOMweb connection's) are declared on the object GetDynamicParameters returns.
    $dynamic = if ($instance -is [System.Management.Automation.IDynamicParameters]) { $instance.GetDynamicParameters() } else { $null }
    foreach ($meta in ($parameters | Sort-Object Name)) {
        $prop = $type.GetProperty($meta.Name)
        $holder = $instance
        if ($null -eq $prop -and $null -ne $dynamic) { $prop = $dynamic.GetType().GetProperty($meta.Name); $holder = $dynamic }
        $propDoc = $members["P:$($prop.DeclaringType.FullName).$($meta.Name)"]
        $positions = @($meta.ParameterSets.Values | Where-Object { $_.Position -ge 0 } | ForEach-Object Position | Select-Object -Unique)
        $w.WriteStartElement('parameter', $command)
        $w.WriteAttributeString('required', ([string] [bool] ($meta.ParameterSets.Values | Where-Object IsMandatory)).ToLowerInvariant())
        $w.WriteAttributeString('globbing', ([string] [bool] ($meta.Attributes | Where-Object { $_ -is [System.Management.Automation.SupportsWildcardsAttribute] })).ToLowerInvariant())
        $w.WriteAttributeString('pipelineInput', (Get-PipelineInput $meta))
        $w.WriteAttributeString('position', $(if ($positions.Count -gt 0) { $positions -join ', ' } else { 'named' }))
        $w.WriteAttributeString('aliases', $(if ($meta.Aliases.Count -gt 0) { $meta.Aliases -join ', ' } else { 'none' }))
        $w.WriteElementString('name', $maml, $meta.Name)
        $w.WriteStartElement('description', $maml); Write-Para $(if ($propDoc) { Get-Text ($propDoc.SelectSingleNode('summary')) } else { '' }); $w.WriteEndElement()
        $w.WriteStartElement('parameterValue', $command); $w.WriteAttributeString('required', 'true'); $w.WriteString($meta.ParameterType.Name); $w.WriteEndElement()
        $w.WriteStartElement('type', $dev); $w.WriteElementString('name', $maml, $meta.ParameterType.FullName); $w.WriteEndElement()
        $w.WriteElementString('defaultValue', $dev, (Format-Default $prop.GetValue($holder)))
        $w.WriteEndElement()
    }
    $w.WriteEndElement()

    # Inputs: what binds from the pipeline; outputs: [OutputType].
    $w.WriteStartElement('inputTypes', $command)
    foreach ($meta in $parameters | Where-Object { (Get-PipelineInput $_) -ne 'False' }) {
        $w.WriteStartElement('inputType', $command)
        $w.WriteStartElement('type', $dev); $w.WriteElementString('name', $maml, $meta.ParameterType.FullName); $w.WriteEndElement()
        $w.WriteStartElement('description', $maml); Write-Para "-$($meta.Name), $(Get-PipelineInput $meta)."; $w.WriteEndElement()
        $w.WriteEndElement()
    }
    $w.WriteEndElement()
    $w.WriteStartElement('returnValues', $command)
    foreach ($t in $cmd.OutputType) {
        $w.WriteStartElement('returnValue', $command)
        $w.WriteStartElement('type', $dev); $w.WriteElementString('name', $maml, $t.Name); $w.WriteEndElement()
        $w.WriteEndElement()
    }
    $w.WriteEndElement()

    $w.WriteStartElement('examples', $command)
    $n = 0
    foreach ($ex in $typeDoc.SelectNodes('example')) {
        $n++
        $w.WriteStartElement('example', $command)
        $w.WriteElementString('title', $maml, "-------------------------- Example $n --------------------------")
        $w.WriteElementString('code', $dev, (($ex.SelectSingleNode('code').InnerText -split "`n" | ForEach-Object { $_.Trim() }) -join "`n").Trim())
        $w.WriteStartElement('remarks', $dev); foreach ($p in $ex.SelectNodes('para')) { Write-Para (Get-Text $p) }; $w.WriteEndElement()
        $w.WriteEndElement()
    }
    $w.WriteEndElement()

    $w.WriteStartElement('relatedLinks', $command)
    if ($OnlineUri) {
        $w.WriteStartElement('navigationLink', $maml)
        $w.WriteElementString('linkText', $maml, 'Online version:')
        $w.WriteElementString('uri', $maml, "$OnlineUri#$($cmd.Name.ToLowerInvariant())")
        $w.WriteEndElement()
    }
    foreach ($other in (Get-Command -Module Cxas -CommandType Cmdlet | Where-Object Name -ne $cmd.Name | Sort-Object Name)) {
        $w.WriteStartElement('navigationLink', $maml); $w.WriteElementString('linkText', $maml, $other.Name); $w.WriteElementString('uri', $maml, ''); $w.WriteEndElement()
    }
    $w.WriteEndElement()
    $w.WriteEndElement()
}
$w.WriteEndElement()
$w.Dispose()
Copy-Item (Join-Path $PSScriptRoot 'about_Cxas.help.txt') $out
"Help written to $out"
