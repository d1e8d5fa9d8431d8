#!/usr/bin/env bash
# Builds the report fixture with the .NET tests, then checks it in headless Chromium.
# Needs: Debian packages chromium (and chromium-driver, not used here but kept with it), Node 18+, the .NET SDK.
# Usage: tests/browser/run.sh            (CHROMIUM_PATH overrides /usr/bin/chromium)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fixture="$work/report.html"
CXAS_REPORT_FIXTURE="$fixture" dotnet test "$root/tests/Cxas.Core.Tests" --nologo -v q \
  --filter "FullyQualifiedName~Cxas.Core.Tests.Reporting.ReportTests.WritesTheBrowserFixture"
test -s "$fixture" && test -s "$fixture.expect.json"
cd "$here"
# playwright-core never downloads browsers; it drives the system Chromium.
[ -d node_modules/playwright-core ] || npm ci --no-audit --no-fund
node report.test.js "$fixture"
