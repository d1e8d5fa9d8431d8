# Starts and stops a private Orthanc (Debian's orthanc + orthanc-dicomweb) for the PACS tests and the PACS benchmark:
# a plain process with a generated configuration (free loopback port, DICOM server off, authentication on, storage in a
# temporary folder). Dot-source this file; Start-CxasTestOrthanc returns an object that Stop-CxasTestOrthanc takes.

function Get-CxasFreePort {
    $listener = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0)
    $listener.Start()
    try { $listener.LocalEndpoint.Port } finally { $listener.Stop() }
}

function Get-CxasOrthancExe {
    foreach ($candidate in $env:CXAS_ORTHANC, '/usr/sbin/Orthanc', '/usr/bin/Orthanc') {
        if ($candidate -and (Test-Path $candidate)) { return $candidate }
    }
    $null
}

function Get-CxasOrthancDicomWebPlugin {
    foreach ($candidate in $env:CXAS_ORTHANC_DICOMWEB, '/usr/share/orthanc/plugins/libOrthancDicomWeb.so') {
        if ($candidate -and (Test-Path $candidate)) { return $candidate }
    }
    $null
}

# Starts Orthanc; -Folder reuses an existing storage (a restart). Returns Uri (DICOMweb root), Rest (REST root), User,
# Password, Credential, Folder, Port, Process.
# -Extra adds or replaces configuration keys (the DIMSE tests turn the DICOM server on with a port and modalities).
function Start-CxasTestOrthanc([string] $Folder, [int] $Port = 0, [string] $Password, [hashtable] $Extra) {
    $exe = Get-CxasOrthancExe
    $plugin = Get-CxasOrthancDicomWebPlugin
    if (-not $exe -or -not $plugin) { throw 'Orthanc or its DICOMweb plugin is not installed (apt-get install orthanc orthanc-dicomweb).' }
    if (-not $Folder) {
        $Folder = Join-Path ([IO.Path]::GetTempPath()) ('cxas-orthanc-' + [guid]::NewGuid().ToString('N').Substring(0, 8))
        New-Item -ItemType Directory -Path $Folder | Out-Null
    }
    if (-not $Port) { $Port = Get-CxasFreePort }
    if (-not $Password) { $Password = [guid]::NewGuid().ToString('N') }
    $config = [ordered]@{
        Name = 'CxasTest'
        StorageDirectory = Join-Path $Folder 'storage'
        IndexDirectory = Join-Path $Folder 'storage'
        HttpPort = $Port
        HttpServerEnabled = $true
        DicomServerEnabled = $false
        RemoteAccessAllowed = $false
        AuthenticationEnabled = $true
        RegisteredUsers = @{ cxas = $Password }
        OverwriteInstances = $true
        StorageCompression = $false
        HttpTimeout = 60
        ConcurrentJobs = 1
        Plugins = @($plugin)
        DicomWeb = @{ Enable = $true; Root = '/dicom-web/'; EnableWado = $false; StudiesMetadata = 'MainDicomTags'; SeriesMetadata = 'MainDicomTags' }
    }
    if ($Extra) { foreach ($key in $Extra.Keys) { $config[$key] = $Extra[$key] } }
    $configFile = Join-Path $Folder 'orthanc.json'
    $config | ConvertTo-Json -Depth 5 | Set-Content -Path $configFile -Encoding utf8
    $psi = [Diagnostics.ProcessStartInfo]::new($exe)
    $psi.ArgumentList.Add("--logdir=$Folder")
    $psi.ArgumentList.Add($configFile)
    $psi.UseShellExecute = $false
    $psi.RedirectStandardOutput = $true
    $psi.RedirectStandardError = $true
    $process = [Diagnostics.Process]::Start($psi)
    $process.BeginOutputReadLine()
    $process.BeginErrorReadLine()
    $secure = ConvertTo-SecureString $Password -AsPlainText -Force
    $server = [pscustomobject]@{
        Uri = "http://127.0.0.1:$Port/dicom-web"
        Rest = "http://127.0.0.1:$Port"
        User = 'cxas'
        Password = $Password
        Credential = [pscredential]::new('cxas', $secure)
        Folder = $Folder
        Port = $Port
        Process = $process
    }
    $deadline = [DateTime]::UtcNow.AddSeconds(60)
    while ($true) {
        if ($process.HasExited) { throw "Orthanc exited with code $($process.ExitCode); logs in $Folder" }
        try {
            Invoke-RestMethod "$($server.Rest)/system" -Credential $server.Credential -AllowUnencryptedAuthentication -TimeoutSec 2 | Out-Null
            break
        }
        catch {
            if ([DateTime]::UtcNow -gt $deadline) { throw "Orthanc did not answer on port $Port within 60 s: $_" }
            Start-Sleep -Milliseconds 200
        }
    }
    $server
}

# Stops the process; -Remove also deletes its storage.
function Stop-CxasTestOrthanc($Server, [switch] $Remove) {
    if (-not $Server) { return }
    if ($Server.Process -and -not $Server.Process.HasExited) {
        $Server.Process.Kill()
        $Server.Process.WaitForExit(10000) | Out-Null
    }
    if ($Remove -and $Server.Folder -and (Test-Path $Server.Folder)) { Remove-Item $Server.Folder -Recurse -Force -ErrorAction SilentlyContinue }
}

# Stores files through Orthanc's REST API (POST /instances); returns the paths stored.
function Add-CxasOrthancFile($Server, [string[]] $Path) {
    foreach ($file in $Path) {
        Invoke-RestMethod "$($Server.Rest)/instances" -Method Post -InFile $file -ContentType application/dicom `
            -Credential $Server.Credential -AllowUnencryptedAuthentication | Out-Null
        $file
    }
}

# A multipart/related STOW-RS request of files (the seeding path the issue asks for); returns Orthanc's DICOM JSON answer.
function Send-CxasStow($Server, [string[]] $Path) {
    $boundary = 'cxas-seed-' + [guid]::NewGuid().ToString('N')
    $body = [IO.MemoryStream]::new()
    $ascii = [Text.Encoding]::ASCII
    foreach ($file in $Path) {
        $head = $ascii.GetBytes("--$boundary`r`nContent-Type: application/dicom`r`n`r`n")
        $body.Write($head, 0, $head.Length)
        $bytes = [IO.File]::ReadAllBytes($file)
        $body.Write($bytes, 0, $bytes.Length)
        $crlf = $ascii.GetBytes("`r`n")
        $body.Write($crlf, 0, 2)
    }
    $tail = $ascii.GetBytes("--$boundary--`r`n")
    $body.Write($tail, 0, $tail.Length)
    Invoke-RestMethod "$($Server.Uri)/studies" -Method Post -Body $body.ToArray() `
        -ContentType "multipart/related; type=`"application/dicom`"; boundary=$boundary" -Headers @{ Accept = 'application/dicom+json' } `
        -Credential $Server.Credential -AllowUnencryptedAuthentication
}

# The PACS tests segment with the closed-form test model (exact, fast) on the CPU, quietly: sets those defaults and
# returns what they replaced, for Restore-CxasTestSegmentationDefaults.
function Set-CxasTestSegmentationDefaults {
    $saved = @{}
    $defaults = @{ 'Invoke-CxasSegmentation:Model' = 'cxas-test'; 'Invoke-CxasSegmentation:Device' = 'Cpu'; 'Invoke-CxasSegmentation:WarningAction' = 'SilentlyContinue' }
    foreach ($key in $defaults.Keys) {
        if ($global:PSDefaultParameterValues.ContainsKey($key)) { $saved[$key] = $global:PSDefaultParameterValues[$key] }
        $global:PSDefaultParameterValues[$key] = $defaults[$key]
    }
    $saved['#keys'] = @($defaults.Keys)
    $saved
}

function Restore-CxasTestSegmentationDefaults([hashtable] $Saved) {
    if (-not $Saved) { return }
    foreach ($key in $Saved['#keys']) {
        if ($Saved.ContainsKey($key)) { $global:PSDefaultParameterValues[$key] = $Saved[$key] }
        else { $global:PSDefaultParameterValues.Remove($key) }
    }
}
