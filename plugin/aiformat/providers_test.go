package aiformat

import "testing"

// The dispatch tables are filled in by hand; a missing function would only show as a nil call
// on the first request of that kind, so every entry is checked here.
func TestCodecTableComplete(t *testing.T) {
	for w := wireFormat(0); w < wireCount; w++ {
		c := &codecs[w]
		if c.name == "" || c.fromHub == nil || c.decodeResponse == nil || c.newDecoder == nil || c.decodeError == nil || c.sseSep == "" {
			t.Errorf("codec %d (%q) lacks a provider-side function", w, c.name)
		}
		if c.dialect == DialectNone {
			continue
		}
		if c.appendResponse == nil || c.newEncoder == nil || c.appendError == nil || c.overload == 0 {
			t.Errorf("codec %s is a client dialect but lacks a client-side function", c.name)
		}
		if c.dialect.wire() != w {
			t.Errorf("dialect %v maps to wire %v, want %v", c.dialect, c.dialect.wire(), w)
		}
	}
	for _, d := range []Dialect{DialectOpenAI, DialectAnthropic, DialectGemini} {
		if d.codec().dialect != d {
			t.Errorf("dialect %v has no codec of its own", d)
		}
	}
}

func TestProviderTableComplete(t *testing.T) {
	for pt := ProviderType(1); pt < providerTypeEnd; pt++ {
		k := pt.kind()
		if k.name == "" || k.path == nil || k.authHeader == "" && !k.signs || k.wire >= wireCount {
			t.Errorf("provider type %d (%q) is incomplete", pt, k.name)
		}
		if providerTypeNamed(k.name) != pt {
			t.Errorf("%q does not name type %d", k.name, pt)
		}
		if (len(k.fields) > 0 || k.signs) && k.parse == nil {
			t.Errorf("type %s has fields %v but no parser", k.name, k.fields)
		}
	}
	if providerTypeNamed("nope") != 0 {
		t.Error("an unknown name found a type")
	}
}
