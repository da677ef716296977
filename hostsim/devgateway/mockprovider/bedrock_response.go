package mockprovider

import (
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"strconv"
)

func brStopReason(f finish) string {
	switch f {
	case finishLength:
		return "max_tokens"
	case finishTools:
		return "tool_use"
	case finishStopSeq:
		return "stop_sequence"
	}
	return "end_turn"
}

type brUsage struct {
	InputTokens  int `json:"inputTokens"`
	OutputTokens int `json:"outputTokens"`
	TotalTokens  int `json:"totalTokens"`
}

func brUsageOf(rep reply) brUsage {
	return brUsage{rep.promptTokens, rep.completionTokens, rep.promptTokens + rep.completionTokens}
}

func brToolUseID(c *call, i int) string { return "tooluse_" + c.id + "_" + strconv.Itoa(i) }

// latency is a deterministic latencyMs: 1 ms per token.
func latency(rep reply) int { return rep.promptTokens + rep.completionTokens }

func (bedrockDialect) respond(c *call, rep reply) []byte {
	var content []map[string]any
	if rep.text != "" || len(rep.calls) == 0 {
		content = append(content, map[string]any{"text": rep.text})
	}
	for i, tc := range rep.calls {
		content = append(content, map[string]any{"toolUse": map[string]any{
			"toolUseId": brToolUseID(c, i), "name": tc.name, "input": json.RawMessage(tc.args)}})
	}
	return marshal(map[string]any{
		"output":     map[string]any{"message": map[string]any{"role": "assistant", "content": content}},
		"stopReason": brStopReason(rep.finish),
		"usage":      brUsageOf(rep),
		"metrics":    map[string]int{"latencyMs": latency(rep)},
	})
}

// stream is ConverseStream: messageStart, a text block (one delta per word), one block per
// tool call (contentBlockStart, the input in two deltas), messageStop, metadata; each an
// event-stream message.
func (bedrockDialect) stream(c *call, rep reply) (string, [][]byte, int) {
	var frames [][]byte
	ev := func(typ string, payload any) { frames = append(frames, brEvent(typ, marshal(payload))) }
	ev("messageStart", map[string]string{"role": "assistant"})
	block := 0
	if ws := words(rep.text); len(ws) > 0 {
		for _, w := range ws {
			ev("contentBlockDelta", map[string]any{"contentBlockIndex": block, "delta": map[string]string{"text": w}})
		}
		ev("contentBlockStop", map[string]int{"contentBlockIndex": block})
		block++
	}
	for i, tc := range rep.calls {
		ev("contentBlockStart", map[string]any{"contentBlockIndex": block,
			"start": map[string]any{"toolUse": map[string]string{"toolUseId": brToolUseID(c, i), "name": tc.name}}})
		half := len(tc.args) / 2
		for _, part := range []string{tc.args[:half], tc.args[half:]} {
			ev("contentBlockDelta", map[string]any{"contentBlockIndex": block, "delta": map[string]any{"toolUse": map[string]string{"input": part}}})
		}
		ev("contentBlockStop", map[string]int{"contentBlockIndex": block})
		block++
	}
	ev("messageStop", map[string]string{"stopReason": brStopReason(rep.finish)})
	ev("metadata", map[string]any{"usage": brUsageOf(rep), "metrics": map[string]int{"latencyMs": latency(rep)}})
	return "application/vnd.amazon.eventstream", frames, 1
}

// brEvent frames one event as an event-stream message: prelude (total length, headers length,
// CRC-32 of both), string headers (:event-type, :content-type, :message-type), the payload and
// a CRC-32 of all that.
func brEvent(typ string, payload []byte) []byte {
	return eventMessage([][2]string{{":event-type", typ}, {":content-type", "application/json"}, {":message-type", "event"}}, payload)
}

func eventMessage(headers [][2]string, payload []byte) []byte {
	var hs []byte
	for _, h := range headers {
		hs = append(hs, byte(len(h[0])))
		hs = append(hs, h[0]...)
		hs = append(hs, 7) // string
		hs = binary.BigEndian.AppendUint16(hs, uint16(len(h[1])))
		hs = append(hs, h[1]...)
	}
	total := 12 + len(hs) + len(payload) + 4
	b := binary.BigEndian.AppendUint32(nil, uint32(total))
	b = binary.BigEndian.AppendUint32(b, uint32(len(hs)))
	b = binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
	b = append(b, hs...)
	b = append(b, payload...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
}
