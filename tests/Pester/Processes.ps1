# Helpers for tests that need other processes, dot-sourced in a BeforeAll.

# The start info of a fresh pwsh (the one running the tests: dotnet + pwsh.dll for the local tool) that runs $Script.
function script:New-PwshStartInfo([string] $Script) {
    $pwshDll = Join-Path $PSHOME 'pwsh.dll'
    $psi = if (Test-Path $pwshDll) { [Diagnostics.ProcessStartInfo]::new('dotnet') } else { [Diagnostics.ProcessStartInfo]::new((Join-Path $PSHOME 'pwsh')) }
    if (Test-Path $pwshDll) { $psi.ArgumentList.Add($pwshDll) }
    foreach ($a in '-NoProfile', '-NonInteractive', '-Command', $Script) { $psi.ArgumentList.Add($a) }
    $psi
}

# Runs a script block in a job (a process of its own) and fails instead of hanging when it does not end in time.
function script:Invoke-Bounded([scriptblock] $Block, [object[]] $Arguments, [int] $Seconds = 120) {
    $job = Start-Job -ScriptBlock $Block -ArgumentList $Arguments
    try {
        if (-not (Wait-Job $job -Timeout $Seconds)) { throw "did not finish within $Seconds s" }
        Receive-Job $job -ErrorAction Continue
    }
    finally { Remove-Job $job -Force }
}
