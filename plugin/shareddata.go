package main

import (
	"errors"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/stepgate/stepgate/plugin/shareddata"
)

// hostStore is proxy-wasm shared data seen through shareddata.Store, so the domain packages run
// unchanged against the host (all worker VMs of one Envoy) and against shareddata.Memory in tests.
type hostStore struct{}

func (hostStore) Get(key string) ([]byte, uint32, error) {
	v, cas, err := proxywasm.GetSharedData(key)
	return v, cas, storeError(err)
}

func (hostStore) Set(key string, value []byte, cas uint32) error {
	return storeError(proxywasm.SetSharedData(key, value, cas))
}

func storeError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, types.ErrorStatusNotFound):
		return shareddata.ErrNotFound
	case errors.Is(err, types.ErrorStatusCasMismatch):
		return shareddata.ErrCASMismatch
	}
	return err
}
