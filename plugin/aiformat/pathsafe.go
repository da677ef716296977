package aiformat

import "github.com/stepgate/stepgate/plugin/aiformat/hub"

// maxPathModel bounds a model name that goes into an upstream path.
const maxPathModel = 128

// PathSegmentSafe reports whether name can be one segment of an upstream path as it is: 1 to
// 128 letters, digits, '.', '-' and '_', and not "." or ".." (which a server would resolve as
// a step up). Azure deployments and Gemini models are named within this set; anything else
// (a '/', '?', '#', '%', a space…) could reach another path on the provider with the provider's
// credentials, so such a model is refused rather than escaped.
func PathSegmentSafe(name string) bool {
	if name == "" || len(name) > maxPathModel || name == "." || name == ".." {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// modelInPath: the provider's API names the model in the request path, not (only) the body.
func (pr *Provider) modelInPath() bool {
	return pr.Type.kind().modelInPath
}

// modelSafe reports whether model may be sent to the provider: any name when the model is not
// in the path, else one its path can carry as a single segment.
func (pr *Provider) modelSafe(model string) bool {
	k := pr.Type.kind()
	switch {
	case !k.modelInPath:
		return true
	case k.modelSafe != nil:
		return k.modelSafe(model)
	}
	return PathSegmentSafe(model)
}

func unsafeModel(model string) *hub.Error {
	e := hub.Invalid("model", "model name "+quote(model)+" is not valid: use letters, digits, '.', '-' and '_' only")
	return e
}
