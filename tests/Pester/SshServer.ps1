# An OpenSSH server for PowerShell remoting tests, started as a plain process: a free 127.0.0.1 port, a host key and a
# client key generated into a scratch folder, key authentication only, and a "powershell" subsystem that runs this
# PowerShell (pwsh -sshs). New-CxasTestSession opens sessions to it. Dot-source this file.

function Get-CxasSshd { foreach ($p in '/usr/sbin/sshd', '/usr/bin/sshd') { if (Test-Path $p) { return $p } }; $null }

function Start-CxasSshServer([hashtable] $Environment = @{}) {
    $sshd = Get-CxasSshd
    if (-not $sshd) { throw 'sshd is missing (apt-get install openssh-server).' }
    $dir = Join-Path ([IO.Path]::GetTempPath()) ('cxas-sshd-' + [guid]::NewGuid().ToString('N').Substring(0, 8))
    New-Item -ItemType Directory $dir | Out-Null
    foreach ($key in 'host_key', 'client_key') {
        & ssh-keygen -q -t ed25519 -N '' -f (Join-Path $dir $key)
        if ($LASTEXITCODE -ne 0) { throw "ssh-keygen failed for $key" }
    }
    Copy-Item (Join-Path $dir 'client_key.pub') (Join-Path $dir 'authorized_keys')
    & chmod 600 (Join-Path $dir 'client_key') (Join-Path $dir 'authorized_keys')
    $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
    $listener.Start(); $port = $listener.LocalEndpoint.Port; $listener.Stop()
    $pwsh = Join-Path $PSHOME 'pwsh'
    @"
Port $port
ListenAddress 127.0.0.1
HostKey $dir/host_key
AuthorizedKeysFile $dir/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
PidFile $dir/sshd.pid
Subsystem powershell $pwsh -sshs -NoLogo -NoProfile
"@ | Set-Content (Join-Path $dir 'sshd_config')
    # Variables the sessions' processes see (e.g. PSModulePath, so a node finds the Cxas under test).
    if ($Environment.Count -gt 0) {
        Add-Content (Join-Path $dir 'sshd_config') ('SetEnv ' + (($Environment.GetEnumerator() | ForEach-Object { '{0}="{1}"' -f $_.Key, $_.Value }) -join ' '))
    }
    New-Item -ItemType Directory /run/sshd -Force -ErrorAction SilentlyContinue | Out-Null
    $psi = [Diagnostics.ProcessStartInfo]::new($sshd)
    foreach ($a in '-D', '-f', (Join-Path $dir 'sshd_config'), '-E', (Join-Path $dir 'sshd.log')) { $psi.ArgumentList.Add($a) }
    $process = [Diagnostics.Process]::Start($psi)
    $deadline = [DateTime]::UtcNow.AddSeconds(20)
    while ([DateTime]::UtcNow -lt $deadline) {
        try { $c = [System.Net.Sockets.TcpClient]::new('127.0.0.1', $port); $c.Dispose(); break } catch { Start-Sleep -Milliseconds 100 }
    }
    [pscustomobject] @{ Port = $port; Dir = $dir; KeyFile = (Join-Path $dir 'client_key'); Process = $process; User = [Environment]::UserName }
}

function New-CxasTestSession($Server) {
    New-PSSession -HostName 127.0.0.1 -Port $Server.Port -UserName $Server.User -KeyFilePath $Server.KeyFile -SSHTransport `
        -Options @{ StrictHostKeyChecking = 'no'; UserKnownHostsFile = '/dev/null'; LogLevel = 'ERROR' }
}

function Stop-CxasSshServer($Server) {
    if (-not $Server) { return }
    try { if (-not $Server.Process.HasExited) { $Server.Process.Kill($true); $Server.Process.WaitForExit(5000) | Out-Null } } catch { }
    Remove-Item $Server.Dir -Recurse -Force -ErrorAction SilentlyContinue
}
