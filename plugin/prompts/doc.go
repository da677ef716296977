// Package prompts publishes configured prompt templates as REST endpoints: a small JSON body of
// typed variables ({"text": "…", "language": "fr"}) becomes a full OpenAI Chat Completions
// request, and the answer can be made compact ({"result": "…", "usage": {…}}). Aliases point a
// stable name at a versioned prompt (or a model name at another model).
//
// Values are inserted JSON-escaped into a template compiled at configuration time, in one pass: a
// value can never close the string it sits in, add messages or reach another placeholder. The
// package does not import the proxy-wasm SDK.
package prompts
