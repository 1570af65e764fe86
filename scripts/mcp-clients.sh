#!/usr/bin/env bash
# mcp-clients.sh: install the real MCP clients that cmd/rag-mcp's tests drive
# into .cache/mcp-clients, from the npm registry, and print
# `CLIPRAG_MCP_CLIENTS=<dir>`:
#   sdk-<version>/  the official TypeScript SDK, current and 1.12.0 (the last
#                   release that speaks 2025-03-26), run by the node on PATH
#   inspector/      the MCP Inspector, whose CLI lints tool schemas (--strict)
#   node22/         Node 22 (the npm package node@22) for the Inspector, which
#                   needs Node >= 22.19
# Versions are pinned so that a run is reproducible; raise them here.
set -euo pipefail
sdk_versions=${MCP_SDK_VERSIONS:-"1.32.2 1.12.0"}
inspector_version=${MCP_INSPECTOR_VERSION:-2.12.0}
node_version=${MCP_NODE_VERSION:-22}
root=$(cd "$(dirname "$0")/.." && pwd)
dest=$root/.cache/mcp-clients
command -v npm >/dev/null || { echo "mcp-clients.sh: npm is needed" >&2; exit 1; }

# install DIR PACKAGE CHECK: npm-install PACKAGE into DIR unless CHECK exists.
install() {
  local dir=$dest/$1 pkg=$2 check=$dest/$1/$3
  [ -e "$check" ] && return 0
  echo "mcp-clients.sh: installing $pkg into $dir" >&2
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
  (cd "$dir.tmp" && npm init -y >/dev/null && npm install --no-audit --no-fund --loglevel=error "$pkg" >&2)
  rm -rf "$dir" && mv "$dir.tmp" "$dir"
}

for v in $sdk_versions; do
  install "sdk-$v" "@modelcontextprotocol/sdk@$v" node_modules/@modelcontextprotocol/sdk/package.json
done
install node22 "node@$node_version" node_modules/.bin/node
install inspector "@modelcontextprotocol/inspector@$inspector_version" node_modules/@modelcontextprotocol/inspector/package.json
"$dest/node22/node_modules/.bin/node" --version >/dev/null
echo "CLIPRAG_MCP_CLIENTS=$dest"
