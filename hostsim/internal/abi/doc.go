// Package abi is the wire layer of the proxy-wasm ABI (0.2.x) as Envoy exposes it: the enums,
// the signatures of the "env" host functions and module callbacks, and the host module that
// decodes a plugin's pointers and sizes, checks them like proxy-wasm-cpp-host's exports.cc, and
// hands plain Go values to a Handler.
//
// It knows nothing of streams or contexts: the Handler (hostsim's VM) decides what each call
// means. Returned data is copied into the guest through the Handler's allocator and the address
// and size are written as little-endian u32 words, as cpp-host does for wasm32.
package abi
