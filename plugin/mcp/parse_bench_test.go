package mcp

import "testing"

func BenchmarkParseToolsCall(b *testing.B) {
	body := []byte(`{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"report","arguments":{"text":"the quarterly numbers, please"},"_meta":{"progressToken":7}}}`)
	msgs := make([]Message, 0, 1)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for i := 0; i < b.N; i++ {
		p, err := Parse(body, msgs)
		if err != nil || p.Messages[0].Tool != "report" {
			b.Fatal(p, err)
		}
	}
}
