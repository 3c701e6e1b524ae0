#!/usr/bin/env bash
# NxTop Appliance bootstrapper: restores the pinned Cake tool and runs build.cake.
#   ./build.sh                      build the installer ISO (target Image)
#   ./build.sh --target=Test        unit tests + image + QEMU smoke boots (what CI runs)
#   ./build.sh --tree | --description   list the targets
# Arguments pass through to Cake: --target, --profile, --configuration, --verbosity.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v dotnet >/dev/null 2>&1; then
  echo "error: the .NET SDK (dotnet) is not on PATH. Install the SDK named in global.json (10.0.x) and run again." >&2
  exit 2
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
dotnet tool restore >/dev/null
exec dotnet cake build.cake "$@"
