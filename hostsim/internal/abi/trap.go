package abi

// RestrictedCallback is the panic value of a host function called while cpp-host restricts
// callbacks (during module start and inside the allocator). wazero turns the panic into a trap
// of the running call, as V8 does with Envoy's "restricted_callback" trap.
type RestrictedCallback string

func (r RestrictedCallback) Error() string {
	return "restricted_callback: " + string(r) + " is not allowed here"
}
