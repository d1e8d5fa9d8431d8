# Starts and stops tests/Pester/loopback_server.py (the misbehaving and well-behaved download sources of the install
# tests) on a free 127.0.0.1 port. Dot-source this file; Start-CxasLoopbackServer returns an object (Process, Base)
# that Stop-CxasLoopbackServer takes.

function Start-CxasLoopbackServer([Parameter(Mandatory)] [string] $Folder, [string] $Python = '/usr/bin/python3') {
    $psi = [Diagnostics.ProcessStartInfo]::new($Python)
    $psi.ArgumentList.Add((Join-Path $PSScriptRoot 'loopback_server.py'))
    $psi.ArgumentList.Add($Folder)
    $psi.RedirectStandardOutput = $true
    $psi.UseShellExecute = $false
    $process = [Diagnostics.Process]::Start($psi)
    $port = $process.StandardOutput.ReadLine() # the server prints its port first
    if (-not ($port -match '^\d+$')) { $process.Kill(); throw "loopback server did not start: $port" }
    [pscustomobject]@{ Process = $process; Base = "http://127.0.0.1:$port" }
}

function Stop-CxasLoopbackServer($Server) {
    if ($Server -and -not $Server.Process.HasExited) { $Server.Process.Kill(); $Server.Process.WaitForExit(5000) | Out-Null }
}
