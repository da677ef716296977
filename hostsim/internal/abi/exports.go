package abi

import "github.com/tetratelabs/wazero/api"

// Signature is a function type.
type Signature struct {
	Params, Results []api.ValueType
}

func s(params, results int) Signature { return Signature{ints(params), ints(results)} }

// Callbacks are the module exports cpp-host looks up for ABI 0.2.x, with the signatures it
// requires (a mismatch fails the load with "Bad function signature").
var Callbacks = map[string]Signature{
	"_initialize":                             s(0, 0),
	"_start":                                  s(0, 0),
	"main":                                    s(2, 1),
	"__main_void":                             s(0, 1),
	"malloc":                                  s(1, 1),
	"proxy_on_memory_allocate":                s(1, 1),
	"proxy_validate_configuration":            s(2, 1),
	"proxy_on_vm_start":                       s(2, 1),
	"proxy_on_configure":                      s(2, 1),
	"proxy_on_tick":                           s(1, 0),
	"proxy_on_context_create":                 s(2, 0),
	"proxy_on_new_connection":                 s(1, 1),
	"proxy_on_downstream_data":                s(3, 1),
	"proxy_on_upstream_data":                  s(3, 1),
	"proxy_on_downstream_connection_close":    s(2, 0),
	"proxy_on_upstream_connection_close":      s(2, 0),
	"proxy_on_request_headers":                s(3, 1),
	"proxy_on_request_body":                   s(3, 1),
	"proxy_on_request_trailers":               s(2, 1),
	"proxy_on_request_metadata":               s(2, 1),
	"proxy_on_response_headers":               s(3, 1),
	"proxy_on_response_body":                  s(3, 1),
	"proxy_on_response_trailers":              s(2, 1),
	"proxy_on_response_metadata":              s(2, 1),
	"proxy_on_http_call_response":             s(5, 0),
	"proxy_on_grpc_receive":                   s(3, 0),
	"proxy_on_grpc_close":                     s(3, 0),
	"proxy_on_grpc_receive_initial_metadata":  s(3, 0),
	"proxy_on_grpc_receive_trailing_metadata": s(3, 0),
	"proxy_on_queue_ready":                    s(2, 0),
	"proxy_on_done":                           s(1, 1),
	"proxy_on_log":                            s(1, 0),
	"proxy_on_delete":                         s(1, 0),
	"proxy_on_foreign_function":               s(3, 0),
}
