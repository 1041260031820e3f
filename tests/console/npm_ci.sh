#!/usr/bin/env bash
# npm_ci.sh SRC_DIR DEST_DIR: installs the console tests' npm packages
# (package.json and package-lock.json of SRC_DIR) into DEST_DIR/node_modules
# with `npm ci`, from the npm registry only. Skipped when DEST_DIR already
# holds an install of the same lock file.
set -euo pipefail
src=$1
dest=$2
mkdir -p "$dest"
if [ -d "$dest/node_modules/playwright-core" ] && cmp -s "$src/package-lock.json" "$dest/package-lock.json"; then
    echo "npm_ci: up to date"
    exit 0
fi
cp "$src/package.json" "$src/package-lock.json" "$dest/"
cd "$dest"
# The browser is Debian's: nothing may download one.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
npm ci --no-audit --no-fund --ignore-scripts
