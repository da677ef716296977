package envoy_test

import (
	"fmt"
	"strings"
	"testing"

	wasmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/wasm/v3"
	"github.com/tidwall/gjson"
	"google.golang.org/protobuf/reflect/protoreflect"
	"sigs.k8s.io/yaml"
)

const gatewayConfigFile = "k8s/envoy-gateway-config.yaml"

// TestEnvoyGatewayPatchPolicy: the EnvoyPatchPolicy sets allow_on_headers_stop_iteration on the
// very filter Envoy Gateway generates from the EnvoyExtensionPolicy, in the listener it generates
// for the Gateway, using Envoy Gateway's names for both.
func TestEnvoyGatewayPatchPolicy(t *testing.T) {
	ms := loadManifests(t, gatewayFile, gatewayKinds)
	gw, eep, epp := one(t, ms, "Gateway"), one(t, ms, "EnvoyExtensionPolicy"), one(t, ms, "EnvoyPatchPolicy")
	spec := epp.doc.Get("spec")
	if r := spec.Get("targetRef"); r.Get("kind").String() != "Gateway" || r.Get("name").String() != gw.name {
		t.Errorf("EnvoyPatchPolicy targets %s, want Gateway %s", r.Raw, gw.name)
	}
	if epp.doc.Get("metadata.namespace").String() != gw.doc.Get("metadata.namespace").String() {
		t.Error("EnvoyPatchPolicy must live in the Gateway's namespace")
	}
	if spec.Get("type").String() != "JSONPatch" {
		t.Errorf("EnvoyPatchPolicy type %q, want JSONPatch", spec.Get("type"))
	}
	patches := spec.Get("jsonPatches").Array()
	if len(patches) != 1 {
		t.Fatalf("want one JSON patch, got %d", len(patches))
	}
	p := patches[0]
	if p.Get("type").String() != "type.googleapis.com/envoy.config.listener.v3.Listener" {
		t.Errorf("patch type %q: the Wasm filter sits in the listener's connection manager", p.Get("type"))
	}
	var listeners []string
	for _, l := range gw.doc.Get("spec.listeners").Array() {
		listeners = append(listeners, gatewayXDSListener(gw, l.Get("name").String()))
	}
	if name := p.Get("name").String(); !containsString(listeners, name) {
		t.Errorf("patch names listener %q; Envoy Gateway generates %v", name, listeners)
	}
	op := p.Get("operation")
	wantPath := fmt.Sprintf("..http_filters[?(@.name=='%s')].typed_config.config", gatewayWasmFilter(eep, 0))
	if op.Get("op").String() != "add" || op.Get("jsonPath").String() != wantPath {
		t.Errorf("patch operation %s: want op add at jsonPath %s", op.Raw, wantPath)
	}
	field := strings.TrimPrefix(op.Get("path").String(), "/")
	fd := (&wasmv3.PluginConfig{}).ProtoReflect().Descriptor().Fields().ByName(protoreflect.Name(field))
	if fd == nil || field != "allow_on_headers_stop_iteration" || op.Get("value").Type != gjson.True {
		t.Errorf("patch sets %q to %s: want allow_on_headers_stop_iteration, a field of the Wasm PluginConfig, set to true", field, op.Get("value").Raw)
	}
}

// gatewayXDSListener is the listener name Envoy Gateway gives a Gateway listener (its default xDS
// name scheme: internal/gatewayapi irListenerName).
func gatewayXDSListener(gw manifest, listener string) string {
	return gw.doc.Get("metadata.namespace").String() + "/" + gw.name + "/" + listener
}

// gatewayWasmFilter is the name of the HTTP filter Envoy Gateway generates for the index-th Wasm
// extension of an EnvoyExtensionPolicy (internal/gatewayapi irConfigNameForWasm, prefixed with the
// filter type by internal/xds/translator perRouteFilterName).
func gatewayWasmFilter(eep manifest, index int) string {
	return fmt.Sprintf("envoy.filters.http.wasm/envoyextensionpolicy/%s/%s/wasm/%d",
		eep.doc.Get("metadata.namespace").String(), eep.name, index)
}

// envoyGatewayConfig is the part of Envoy Gateway's EnvoyGateway configuration the example sets,
// parsed strictly so that a misspelt key fails here rather than being ignored by the controller.
type envoyGatewayConfig struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Provider   struct {
		Type string `json:"type"`
	} `json:"provider"`
	Gateway struct {
		ControllerName string `json:"controllerName"`
	} `json:"gateway"`
	Logging struct {
		Level map[string]string `json:"level"`
	} `json:"logging"`
	ExtensionAPIs struct {
		EnableBackend          bool `json:"enableBackend"`
		EnableEnvoyPatchPolicy bool `json:"enableEnvoyPatchPolicy"`
	} `json:"extensionApis"`
}

// TestEnvoyGatewayConfig: the shipped EnvoyGateway configuration enables what envoy-gateway.yaml
// uses (both ship disabled): Backend, which the HTTPRoute sends to, and EnvoyPatchPolicy.
func TestEnvoyGatewayConfig(t *testing.T) {
	cm := one(t, loadManifests(t, gatewayConfigFile, map[string]string{"ConfigMap": "v1"}), "ConfigMap")
	if cm.name != "envoy-gateway-config" || cm.doc.Get("metadata.namespace").String() != "envoy-gateway-system" {
		t.Errorf("ConfigMap %s/%s: Envoy Gateway reads envoy-gateway-system/envoy-gateway-config", cm.doc.Get("metadata.namespace"), cm.name)
	}
	var eg envoyGatewayConfig
	if err := yaml.UnmarshalStrict([]byte(cm.doc.Get("data.envoy-gateway\\.yaml").String()), &eg); err != nil {
		t.Fatalf("%s: envoy-gateway.yaml: %v", gatewayConfigFile, err)
	}
	if eg.APIVersion != "gateway.envoyproxy.io/v1alpha1" || eg.Kind != "EnvoyGateway" || eg.Provider.Type != "Kubernetes" ||
		eg.Gateway.ControllerName != "gateway.envoyproxy.io/gatewayclass-controller" {
		t.Errorf("%s: not a Kubernetes EnvoyGateway configuration: %+v", gatewayConfigFile, eg)
	}
	ms := loadManifests(t, gatewayFile, gatewayKinds)
	if len(ofKind(ms, "Backend")) > 0 && !eg.ExtensionAPIs.EnableBackend {
		t.Errorf("%s uses Backend, which %s does not enable", gatewayFile, gatewayConfigFile)
	}
	if len(ofKind(ms, "EnvoyPatchPolicy")) > 0 && !eg.ExtensionAPIs.EnableEnvoyPatchPolicy {
		t.Errorf("%s uses EnvoyPatchPolicy, which %s does not enable", gatewayFile, gatewayConfigFile)
	}
	if want := one(t, ms, "Gateway").doc.Get("spec.gatewayClassName").String(); want != "eg" {
		t.Errorf("Gateway class %q: the default install's GatewayClass is eg", want)
	}
}
