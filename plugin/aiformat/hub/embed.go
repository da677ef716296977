package hub

// EmbedRequest is an OpenAI embeddings request (POST /v1/embeddings) as the codecs of other
// formats read it. Texts are JSON string literals taken verbatim from the client's body, so
// they are written into another format without being unescaped and escaped again.
type EmbedRequest struct {
	Model string   // the upstream model
	Input string   // the raw JSON of "input": a string or an array
	Texts []string // each text input as a JSON string literal; nil when Tokens
	// Tokens: the input is made of token arrays (or one token array), which only OpenAI's
	// API takes.
	Tokens bool
	// Dimensions is the client's "dimensions" (0 when it set none).
	Dimensions int64
}

// Batch reports whether the request has several text inputs (Gemini's batchEmbedContents).
func (r *EmbedRequest) Batch() bool { return len(r.Texts) > 1 }

// Embeddings is an embeddings answer decoded just enough to be written in OpenAI's shape.
type Embeddings struct {
	Model string // the model the provider named ("" when it named none)
	// Vectors are the embeddings in input order, each a raw JSON array of numbers as the
	// provider wrote it.
	Vectors []string
	Usage   Usage // Known is false when the provider reported none
}

// Reset empties e for reuse, keeping its storage.
func (e *Embeddings) Reset() {
	e.Model, e.Vectors, e.Usage = "", e.Vectors[:0], Usage{}
}
