#!/usr/bin/env bash
# onnxruntime.sh: put ONNX Runtime's shared library in .cache/onnxruntime and
# print `ONNXRUNTIME_LIB=<path>`. It takes the library from the npm registry's
# onnxruntime-node package, which ships the official builds, so it works on
# machines that reach only package registries. cliprag itself downloads the
# library on first use; this script is for tests and CI.
set -euo pipefail
version=${ORT_VERSION:-1.24.3}
root=$(cd "$(dirname "$0")/.." && pwd)
dest=$root/.cache/onnxruntime/$version
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) src=bin/napi-v6/linux/x64/libonnxruntime.so.1; lib=libonnxruntime.so.1
    want=92ba8e44d31b80a34f5e805076a044122c3be1fffe0d88ed790de7267b0b2682 ;;
  Linux-aarch64) src=bin/napi-v6/linux/arm64/libonnxruntime.so.1; lib=libonnxruntime.so.1 ;;
  Darwin-arm64) src=bin/napi-v6/darwin/arm64/libonnxruntime.$version.dylib; lib=libonnxruntime.dylib ;;
  *) echo "onnxruntime.sh: no prebuilt library for $(uname -s)-$(uname -m); set ONNXRUNTIME_LIB" >&2; exit 1 ;;
esac
if [ ! -s "$dest/$lib" ]; then
  command -v npm >/dev/null || { echo "onnxruntime.sh: npm is needed to fetch onnxruntime-node@$version" >&2; exit 1; }
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  echo "onnxruntime.sh: fetching onnxruntime-node@$version from the npm registry" >&2
  (cd "$tmp" && npm pack --silent "onnxruntime-node@$version" >/dev/null)
  tar -xzf "$tmp"/onnxruntime-node-"$version".tgz -C "$tmp" "package/$src"
  mkdir -p "$dest"
  if [ -n "${want:-}" ] && [ "$version" = 1.24.3 ]; then
    got=$(sha256sum "$tmp/package/$src" | cut -d' ' -f1)
    [ "$got" = "$want" ] || { echo "onnxruntime.sh: sha256 mismatch: got $got, want $want" >&2; exit 1; }
  fi
  mv "$tmp/package/$src" "$dest/$lib.tmp" && mv "$dest/$lib.tmp" "$dest/$lib"
fi
echo "ONNXRUNTIME_LIB=$dest/$lib"
