#!/usr/bin/env bash
# Installs the ONNX Runtime shared library used by onnxquant's optional
# ONNX Runtime engine (package engine/ort) into .cache/onnxruntime/ under the
# repository root.
#
# The library comes from the npm package onnxruntime-node, which ships the
# prebuilt Linux x64 build of ONNX Runtime inside its tarball. Only that one
# file is extracted and its SHA-256 is checked against the value recorded
# below. Running the script again when the file is already in place and
# intact does nothing.
set -euo pipefail

ORT_NPM_PACKAGE="onnxruntime-node"
ORT_VERSION="1.30.0"
ORT_MEMBER="package/bin/napi-v6/linux/x64/libonnxruntime.so.1"
ORT_SHA256="ffb75a925ba05e47b235bb66e3e3911714a80b328a9c9425539feb204aa32a23"

die() {
	echo "setup-onnxruntime: $*" >&2
	exit 1
}

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest_dir="$root/.cache/onnxruntime"
dest="$dest_dir/libonnxruntime.so.1"

os="$(uname -s)"
arch="$(uname -m)"
if [[ "$os" != "Linux" || ( "$arch" != "x86_64" && "$arch" != "amd64" ) ]]; then
	die "only linux-x64 is supported (this machine is $os-$arch); build ONNX Runtime yourself and set ONNXRUNTIME_LIB to its libonnxruntime.so"
fi

sha_of() {
	sha256sum "$1" | cut -d' ' -f1
}

if [[ -f "$dest" ]] && [[ "$(sha_of "$dest")" == "$ORT_SHA256" ]]; then
	echo "$dest"
	exit 0
fi

command -v npm >/dev/null 2>&1 || die "npm is required to fetch $ORT_NPM_PACKAGE@$ORT_VERSION"
command -v tar >/dev/null 2>&1 || die "tar is required"
command -v sha256sum >/dev/null 2>&1 || die "sha256sum is required"

mkdir -p "$dest_dir"
tmp="$(mktemp -d "$dest_dir/.setup.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

echo "setup-onnxruntime: fetching $ORT_NPM_PACKAGE@$ORT_VERSION" >&2
# npm pack only downloads the tarball; it never runs the package's scripts.
(cd "$tmp" && npm pack --ignore-scripts --silent "$ORT_NPM_PACKAGE@$ORT_VERSION" >/dev/null) ||
	die "npm pack $ORT_NPM_PACKAGE@$ORT_VERSION failed"
tgz="$tmp/$ORT_NPM_PACKAGE-$ORT_VERSION.tgz"
[[ -f "$tgz" ]] || die "npm pack did not produce $tgz"

tar -xzf "$tgz" -C "$tmp" "$ORT_MEMBER" || die "$ORT_MEMBER not found in $tgz"
lib="$tmp/$ORT_MEMBER"
got="$(sha_of "$lib")"
[[ "$got" == "$ORT_SHA256" ]] || die "checksum mismatch for $ORT_MEMBER: got $got, want $ORT_SHA256"

chmod 0644 "$lib"
# The temporary folder is on the same file system as the destination, so
# this rename is atomic.
mv -f "$lib" "$dest"
echo "$dest"
