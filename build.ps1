# NxTop Appliance bootstrapper for PowerShell: restores the pinned Cake tool and runs build.cake.
# The image build itself needs Linux (Debian tools); see README.md.
$ErrorActionPreference = 'Stop'
Set-Location $PSScriptRoot
$env:DOTNET_CLI_TELEMETRY_OPTOUT = '1'
$env:DOTNET_NOLOGO = '1'
dotnet tool restore | Out-Null
if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
dotnet cake build.cake @args
exit $LASTEXITCODE
