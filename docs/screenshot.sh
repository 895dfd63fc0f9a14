#!/usr/bin/env bash
# Redraws docs/demo.png, the README's picture of the demo app: runs the browser test that signs in to the demo (against
# the Webex emulator) and fills a room with an image and a document, then copies its last screenshot here.
# Needs Chromium (see "Test it" in the README). Run it by hand when the demo app changes; no test run writes docs/.
set -euo pipefail
cd "$(dirname "$0")/.."
test=FileMessagesTests.A_room_shows_an_image_inline_and_a_document_as_a_download_link
shots=tests/Gateway.BrowserTests/bin/Debug/net10.0/screenshots
rm -f "$shots"/readme-*-demo.png
GATEWAY_TEST_REQUIRE_ALL=1 dotnet test tests/Gateway.BrowserTests --filter "FullyQualifiedName~$test"
shot=$(ls "$shots"/readme-*-demo.png)
cp "$shot" docs/demo.png
echo "docs/demo.png <- $shot"
