package main

import (
	"github.com/stepgate/stepgate/plugin/aiformat"
	"github.com/stepgate/stepgate/plugin/throttle"
)

// estimateHeader tells the client of a buffered answer whose provider reports no usage
// (Gemini's embeddings) that the usage in it is the filter's estimate, with the header
// count_tokens uses for the same purpose.
func (h *httpContext) estimateHeader() {
	if h.rt != nil && h.rt.Usage().Estimated {
		h.resp.set(aiformat.EstimateHeader[0], aiformat.EstimateHeader[1])
	}
}

// embeddingsEstimate makes an llm_tokens rule reserve what an embeddings request will use: its
// input as aiformat estimated it (text at four bytes a token, a token array its length, not
// the JSON around them) and no completion.
func (h *httpContext) embeddingsEstimate(q *throttle.Request) {
	if h.ai.Endpoint == aiformat.EndpointEmbeddings {
		q.PromptChars = 4 * h.ai.PromptTokens
		q.NoCompletion = true
	}
}
