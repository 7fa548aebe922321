# v2v-kubevirt health probe for Windows (docs/windows.md, "First boot";
# the line and its fields: docs/agent-run.md, "The health probe").
#
# Run by v2v-firstboot.cmd after its driver installs, at each of its
# attempts:
#   powershell -NoProfile -NonInteractive -ExecutionPolicy Bypass
#              -File v2v-health.ps1 -Attempt N -Failed 0|1 [-Pending]
# It prints one line "V2V-HEALTH {json}" on COM1 and writes the JSON to
# C:\ProgramData\v2v-kubevirt\health.json.  No network access.  Written
# for PowerShell 2.0 (Windows 7 / 2008 R2): no ConvertTo-Json, WMI only.
param([int]$Attempt = 0, [int]$Failed = 0, [switch]$Pending)
$ErrorActionPreference = 'SilentlyContinue'

# A JSON string: control characters dropped, \ and " escaped; null for
# nothing.
function J([string]$s) {
    if ($s -eq $null -or $s -eq '') { return 'null' }
    $s = $s -replace '[\x00-\x1f]', ''
    $s = $s.Replace('\', '\\').Replace('"', '\"')
    return '"' + $s + '"'
}
function JList($items) {
    $out = @()
    foreach ($i in $items) { if ($i) { $out += (J ([string]$i)) } }
    return '[' + ($out -join ',') + ']'
}

$problems = @()

# Services: the VirtIO drivers and guest agent, and the AWS agents.
$watched = @('netkvm', 'viostor', 'vioscsi', 'Balloon', 'QEMU-GA',
             'AmazonSSMAgent', 'EC2Launch', 'Amazon EC2Launch', 'Ec2Config',
             'AmazonCloudWatchAgent')
$services = @()
foreach ($name in $watched) {
    $s = Get-WmiObject Win32_Service -Filter ("Name='" + $name + "'")
    if (-not $s) { $s = Get-WmiObject Win32_SystemDriver -Filter ("Name='" + $name + "'") }
    if ($s) { $services += ((J $name) + ':' + (J ([string]$s.State).ToLower())) }
}
# Automatic services that are not running.
$stopped = @(Get-WmiObject Win32_Service -Filter "StartMode='Auto' AND State<>'Running'" |
             ForEach-Object { $_.Name } | Where-Object { $_ -ne 'v2v-firstboot' })

# NICs: addresses (link-local left out) and gateways.
$nics = @()
$gw4 = $null; $gw6 = $null; $gwdev = $null; $gwdev6 = $null
$any = $false
foreach ($c in @(Get-WmiObject Win32_NetworkAdapterConfiguration -Filter 'IPEnabled=TRUE')) {
    $v4 = @(); $v6 = @()
    foreach ($a in @($c.IPAddress)) {
        if (-not $a) { continue }
        if ($a -match ':') {
            if ($a -notmatch '^fe80:') { $v6 += $a }
        } elseif ($a -notmatch '^169\.254\.') { $v4 += $a }
    }
    if ($v4.Count -gt 0 -or $v6.Count -gt 0) { $any = $true }
    $adapter = Get-WmiObject Win32_NetworkAdapter -Filter ('Index=' + $c.Index)
    $name = [string]$adapter.NetConnectionID
    if (-not $name) { $name = [string]$c.Description }
    foreach ($g in @($c.DefaultIPGateway)) {
        if (-not $g) { continue }
        if ($g -match ':') { if (-not $gw6) { $gw6 = $g; $gwdev6 = $name } }
        elseif (-not $gw4) { $gw4 = $g; $gwdev = $name }
    }
    $nics += ('{"name":' + (J $name) + ',"mac":' + (J ([string]$c.MACAddress).ToLower()) +
              ',"ipv4":' + (JList $v4) + ',"ipv6":' + (JList $v6) + '}')
}
if (-not $any) { $problems += 'no NIC has an IP address' }
$route4 = 'null'; $route6 = 'null'
if ($gw4) { $route4 = '{"via":' + (J $gw4) + ',"dev":' + (J $gwdev) + '}' }
if ($gw6) { $route6 = '{"via":' + (J $gw6) + ',"dev":' + (J $gwdev6) + '}' }
if (-not $gw4 -and -not $gw6) { $problems += 'no default route' }

if ($Failed -ne 0) {
    $problems += 'the first boot script''s driver installs failed (see C:\ProgramData\v2v-kubevirt\firstboot.log)'
}

# A reboot pending (the driver installs often ask for one): reported,
# the first boot script finishes after it.
$pendingReboot = [bool]$Pending
foreach ($k in @('HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending',
                 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired')) {
    if (Test-Path $k) { $pendingReboot = $true }
}

$os = Get-WmiObject Win32_OperatingSystem
$bootSeconds = 'null'
if ($os) {
    $up = (Get-Date) - $os.ConvertToDateTime($os.LastBootUpTime)
    $bootSeconds = [string][math]::Round($up.TotalSeconds, 1)
}
$root = $env:SystemDrive

if ($problems.Count -eq 0) { $status = 'healthy' } else { $status = 'unhealthy' }
$pr = 'false'
if ($pendingReboot) { $pr = 'true' }

$json = '{"version":1,"probe":"windows","status":' + (J $status) +
        ',"problems":' + (JList $problems) +
        ',"system":"running","failed_units":' + (JList $stopped) +
        ',"services":{' + ($services -join ',') + '}' +
        ',"nics":[' + ($nics -join ',') + ']' +
        ',"default_route":{"ipv4":' + $route4 + ',"ipv6":' + $route6 + '}' +
        ',"root":{"source":' + (J $root) + ',"mode":"rw"}' +
        ',"pending_reboot":' + $pr + ',"attempt":' + $Attempt +
        ',"boot_seconds":' + $bootSeconds + '}'
$line = 'V2V-HEALTH ' + $json

$state = Join-Path $env:SystemDrive 'ProgramData\v2v-kubevirt'
if (-not (Test-Path $state)) { New-Item -ItemType Directory -Path $state | Out-Null }
[System.IO.File]::WriteAllText((Join-Path $state 'health.json'), $json + "`r`n")

try {
    $port = New-Object System.IO.Ports.SerialPort 'COM1', 115200, 'None', 8, 'One'
    $port.WriteTimeout = 5000
    $port.Open()
    $port.Write($line + "`r`n")
    $port.Close()
} catch {
    Write-Output ('COM1: ' + $_.Exception.Message)
}
Write-Output $line
