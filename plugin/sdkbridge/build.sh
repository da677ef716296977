#!/usr/bin/env bash
# build.sh PLUGIN OUT_WASM
#
# Builds a proxy-wasm plugin written with github.com/tetratelabs/proxy-wasm-go-sdk using standard Go
# (GOOS=wasip1 GOARCH=wasm -buildmode=c-shared). The SDK targets TinyGo: outside TinyGo its host
# calls are bound to an in-process mock. So this script
#   1. copies the SDK module from the module cache to build/sdk/<version>,
#   2. deletes the mock binding and drops in this folder's two files (real //go:wasmimport env
#      proxy_* imports and //go:wasmexport proxy_on_* exports),
#   3. builds with a copy of the plugin module's go.mod that replaces the SDK with that copy.
# PLUGIN is a package of this module (./plugin, an import path) or a directory, relative to the
# current directory, of a plugin in another module: that module's go.mod and go.sum (its own
# dependencies, and the SDK version it requires) are used, never changed. OUT_WASM is relative
# to the current directory.
# The copy is redone only when the SDK version or the bridge files change. Safe to run concurrently.
set -euo pipefail

plugin=${1:?usage: build.sh PLUGIN OUT_WASM}
out=${2:?usage: build.sh PLUGIN OUT_WASM}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
case $out in /*) ;; *) out="$PWD/$out" ;; esac

# The module the plugin belongs to, and the package to build from that module's directory.
moddir=$root
if [ -d "$plugin" ]; then
	dir=$(cd "$plugin" && pwd)
	gomod=$(cd "$dir" && go env GOMOD)
	if [ -n "$gomod" ] && [ "$gomod" != /dev/null ] && [ "$gomod" != "$root/go.mod" ]; then
		moddir=$(dirname "$gomod")
		plugin=".${dir#"$moddir"}"
	elif [ "${dir#"$root"}" != "$dir" ]; then
		plugin=".${dir#"$root"}"
	fi
fi
cd "$moddir"

sdk=github.com/tetratelabs/proxy-wasm-go-sdk
go mod download "$sdk"
version=$(go list -m -f '{{.Version}}' "$sdk")
src=$(go list -m -f '{{.Dir}}' "$sdk")
stamp=$(cat "$here"/*_wasip1.go "$here/$(basename "$0")" | sha256sum | cut -c1-16)
copy="$root/build/sdk/$version-$stamp"

if [ ! -f "$copy/.complete" ]; then
	mkdir -p "$root/build/sdk"
	tmp=$(mktemp -d "$root/build/sdk/.tmp.XXXXXX")
	cp -R "$src/." "$tmp/"
	chmod -R u+w "$tmp"
	rm -f "$tmp/proxywasm/internal/abi_hostcalls_mock.go"
	# proxytest drives the mock we just removed; nothing in a wasm build uses it.
	rm -rf "$tmp/proxywasm/proxytest"
	for f in "$here"/*_wasip1.go; do
		# The build tag keeps these files out of ordinary builds of this repository.
		sed 's#^//go:build stepgate_sdkbridge \&\& wasip1$#//go:build wasip1#' "$f" \
			>"$tmp/proxywasm/internal/stepgate_$(basename "$f")"
	done
	# //go:wasmexport needs a Go 1.24 language level; the SDK's go.mod says 1.19.
	(cd "$tmp" && go mod edit -go=1.24)
	touch "$tmp/.complete"
	mv -T "$tmp" "$copy" 2>/dev/null || rm -rf "$tmp" # another build got there first
fi

# The modfile must sit beside a go.sum that matches it; both live next to the copy, one pair
# per plugin module.
modkey=$(printf '%s' "$moddir" | sha256sum | cut -c1-12)
modfile="$root/build/sdk/go.$modkey.$version-$stamp.mod"
if [ ! -f "$modfile" ] || [ go.mod -nt "$modfile" ] || [ go.sum -nt "$modfile" ]; then
	tmpmod=$(mktemp "$root/build/sdk/.mod.XXXXXX")
	cp go.mod "$tmpmod.mod"
	if [ -f go.sum ]; then cp go.sum "$tmpmod.sum"; else : >"$tmpmod.sum"; fi
	go mod edit -modfile="$tmpmod.mod" -replace "$sdk=$copy"
	mv "$tmpmod.sum" "${modfile%.mod}.sum"
	mv "$tmpmod.mod" "$modfile"
	rm -f "$tmpmod"
fi

mkdir -p "$(dirname "$out")"
# STEPGATE_LDFLAGS replaces the default '-s -w'; set to empty, the module keeps its name
# section (function names), which profiles of the code inside the VM need (make profile).
GOOS=wasip1 GOARCH=wasm go build -modfile="$modfile" -buildmode=c-shared -trimpath \
	-ldflags="${STEPGATE_LDFLAGS--s -w}" -o "$out" "$plugin"
