package mockprovider

import "encoding/json"

type gemPart struct {
	Text         *string          `json:"text,omitempty"`
	FunctionCall *gemFunctionCall `json:"functionCall,omitempty"`
}

type gemFunctionCall struct {
	Name string          `json:"name"`
	Args json.RawMessage `json:"args"`
}

type gemCandidate struct {
	Content struct {
		Parts []gemPart `json:"parts"`
		Role  string    `json:"role"`
	} `json:"content"`
	FinishReason string `json:"finishReason,omitempty"`
	Index        int    `json:"index"`
}

type gemTokenCount struct {
	Modality   string `json:"modality"`
	TokenCount int    `json:"tokenCount"`
}

type gemUsage struct {
	PromptTokenCount     int             `json:"promptTokenCount"`
	CandidatesTokenCount int             `json:"candidatesTokenCount,omitempty"`
	TotalTokenCount      int             `json:"totalTokenCount"`
	PromptTokensDetails  []gemTokenCount `json:"promptTokensDetails"`
}

type gemResponse struct {
	Candidates    []gemCandidate `json:"candidates"`
	UsageMetadata gemUsage       `json:"usageMetadata"`
	ModelVersion  string         `json:"modelVersion"`
	ResponseID    string         `json:"responseId"`
}

func gemFinish(f finish) string {
	if f == finishLength {
		return "MAX_TOKENS"
	}
	return "STOP"
}

func gemUsageOf(c *call, rep reply, final bool) gemUsage {
	u := gemUsage{PromptTokenCount: rep.promptTokens, TotalTokenCount: rep.promptTokens,
		PromptTokensDetails: []gemTokenCount{{Modality: "TEXT", TokenCount: rep.promptTokens}}}
	if final {
		u.CandidatesTokenCount = rep.completionTokens * c.n
		u.TotalTokenCount += u.CandidatesTokenCount
	}
	return u
}

func (geminiDialect) parts(rep reply) []gemPart {
	if len(rep.calls) == 0 {
		return []gemPart{{Text: &rep.text}}
	}
	var out []gemPart
	for _, tc := range rep.calls {
		out = append(out, gemPart{FunctionCall: &gemFunctionCall{Name: tc.name, Args: json.RawMessage(tc.args)}})
	}
	return out
}

func (d geminiDialect) response(c *call, parts []gemPart, finishReason string, usage gemUsage) gemResponse {
	out := gemResponse{UsageMetadata: usage, ModelVersion: c.model, ResponseID: c.id}
	for i := range c.n {
		var cand gemCandidate
		cand.Content.Parts, cand.Content.Role = parts, "model"
		cand.FinishReason, cand.Index = finishReason, i
		out.Candidates = append(out.Candidates, cand)
	}
	return out
}

func (d geminiDialect) respond(c *call, rep reply) []byte {
	return marshal(d.response(c, d.parts(rep), gemFinish(rep.finish), gemUsageOf(c, rep, true)))
}

// stream sends one GenerateContentResponse per word (the last one with finishReason and the full
// usage), or the function calls in one final chunk, as SSE (alt=sse, CRLF framed like the real
// API) or as a JSON array.
func (d geminiDialect) stream(c *call, rep reply) (string, [][]byte, int) {
	var chunks []gemResponse
	if len(rep.calls) > 0 {
		chunks = append(chunks, d.response(c, d.parts(rep), gemFinish(rep.finish), gemUsageOf(c, rep, true)))
	} else {
		ws := words(rep.text)
		if len(ws) == 0 {
			ws = []string{""}
		}
		for i, w := range ws {
			last := i == len(ws)-1
			reason := ""
			if last {
				reason = gemFinish(rep.finish)
			}
			chunks = append(chunks, d.response(c, []gemPart{{Text: &w}}, reason, gemUsageOf(c, rep, last)))
		}
	}
	frames := make([][]byte, 0, len(chunks)+1)
	if c.sse {
		for _, ch := range chunks {
			frames = append(frames, []byte("data: "+string(marshal(ch))+"\r\n\r\n"))
		}
		return "text/event-stream", frames, 0
	}
	for i, ch := range chunks {
		sep := ",\r\n"
		if i == 0 {
			sep = "["
		}
		frames = append(frames, []byte(sep+string(marshal(ch))))
	}
	frames = append(frames, []byte("]"))
	return "application/json; charset=UTF-8", frames, 0
}
