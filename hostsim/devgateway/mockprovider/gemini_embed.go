package mockprovider

import (
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/tidwall/gjson"
)

// Gemini's embeddings (POST /v1beta/models/{model}:embedContent and :batchEmbedContents),
// validated against the proto messages like generateContent; the answers carry no usage, as
// Gemini's do not.

// gemMaxBatch is the most requests one batchEmbedContents call may hold.
const gemMaxBatch = 100

// gemMaxDims bounds outputDimensionality (gemini-embedding-001's full size).
const gemMaxDims = 3072

var gemEmbedSchemas = sync.OnceValues(func() (one, batch *gmsg) {
	one = newGmsg("EmbedContentRequest").add(gf("model", gString), gfMsg("content", gContent),
		gfEnum("task_type", "TASK_TYPE_UNSPECIFIED", "RETRIEVAL_QUERY", "RETRIEVAL_DOCUMENT", "SEMANTIC_SIMILARITY",
			"CLASSIFICATION", "CLUSTERING", "QUESTION_ANSWERING", "FACT_VERIFICATION", "CODE_RETRIEVAL_QUERY"),
		gf("title", gString), gf("output_dimensionality", gInt32))
	batch = newGmsg("BatchEmbedContentsRequest").add(gfMsgRep("requests", one))
	return one, batch
})

func (geminiDialect) embeddings(rt route, r *http.Request, body []byte, s *Server) ([]byte, *apiError) {
	if !isJSON(r) || !gjson.ValidBytes(body) || !gjson.ParseBytes(body).IsObject() {
		return nil, gemBadJSON("", "Invalid JSON payload received. Unexpected token.")
	}
	if aerr := s.checkModel(&call{model: rt.model}, rt); aerr != nil {
		return nil, aerr
	}
	root := gjson.ParseBytes(body)
	one, batch := gemEmbedSchemas()
	if !rt.batch {
		if err := checkMsg("", root, one); err != nil {
			return nil, err
		}
		vec, err := gemEmbedOne("EmbedContentRequest", root, "")
		if err != nil {
			return nil, err
		}
		return marshal(map[string]any{"embedding": vec}), nil
	}
	if err := checkMsg("", root, batch); err != nil {
		return nil, err
	}
	reqs := gget(root, "requests").Array()
	switch {
	case len(reqs) == 0:
		return nil, gemErr(http.StatusBadRequest, "* BatchEmbedContentsRequest.requests: contents is not specified\n")
	case len(reqs) > gemMaxBatch:
		return nil, gemErr(http.StatusBadRequest, fmt.Sprintf(
			"* BatchEmbedContentsRequest.requests: at most %d requests can be in one batch\n", gemMaxBatch))
	}
	out := make([]gemVector, 0, len(reqs))
	for i, req := range reqs {
		vec, err := gemEmbedOne(fmt.Sprintf("BatchEmbedContentsRequest.requests[%d]", i), req, "models/"+rt.model)
		if err != nil {
			return nil, err
		}
		out = append(out, vec)
	}
	return marshal(map[string]any{"embeddings": out}), nil
}

type gemVector struct {
	Values []float64 `json:"values"`
}

// gemEmbedOne validates one EmbedContentRequest (at path; model: the name each request of a
// batch must give) and embeds its text.
func gemEmbedOne(path string, req gjson.Result, model string) (gemVector, *apiError) {
	bad := func(field, problem string) *apiError {
		return gemErr(http.StatusBadRequest, fmt.Sprintf("* %s.%s: %s\n", path, field, problem))
	}
	if model != "" {
		switch m := gget(req, "model").String(); {
		case m == "":
			return gemVector{}, bad("model", "model is required")
		case m != model:
			return gemVector{}, bad("model", fmt.Sprintf("model %q must be the batch's model %q", m, model))
		}
	}
	parts := gget(gget(req, "content"), "parts").Array()
	if len(parts) == 0 {
		return gemVector{}, bad("content", "contents is not specified")
	}
	var texts []string
	for j, p := range parts {
		t := gget(p, "text")
		if t.Type != gjson.String || len(members(p)) != 1 {
			return gemVector{}, bad(fmt.Sprintf("content.parts[%d]", j), "only text parts can be embedded")
		}
		texts = append(texts, t.Str)
	}
	text := strings.Join(texts, "\n")
	if strings.TrimSpace(text) == "" {
		return gemVector{}, bad("content", "the text to embed is empty")
	}
	dims := defaultEmbeddingDims
	if d := gget(req, "output_dimensionality"); d.Exists() && d.Type != gjson.Null {
		if d.Int() < 1 || d.Int() > gemMaxDims {
			return gemVector{}, bad("output_dimensionality", fmt.Sprintf("must be between 1 and %d", gemMaxDims))
		}
		dims = int(d.Int())
	}
	return gemVector{Values: vectorOf(text, dims)}, nil
}
