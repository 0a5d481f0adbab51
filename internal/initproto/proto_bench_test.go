package initproto

import (
	"encoding/json"
	"strings"
	"testing"
)

// BenchmarkConfigRoundTrip sends and receives a Config message of a
// typical size (a 2 KB config.json), as create does once per container.
func BenchmarkConfigRoundTrip(b *testing.B) {
	p, cf, err := Pair()
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	c := NewConn(cf)
	defer c.Close()
	m := &Message{Kind: KindConfig, Config: &Config{ID: "bench", Rootfs: "/bundle/rootfs",
		Spec: json.RawMessage(`"` + strings.Repeat("x", 2000) + `"`)}}
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Send(m); err != nil {
			b.Fatal(err)
		}
		if _, _, err := c.Expect(KindConfig); err != nil {
			b.Fatal(err)
		}
	}
}
