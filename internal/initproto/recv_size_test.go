package initproto

import (
	"encoding/json"
	"runtime"
	"strings"
	"testing"
)

// A message is received whole whatever its size, into a buffer sized to
// it: Recv used to allocate MaxMessage (4 MiB) per message, which the init
// and the parent paid in page faults on every container start.
func TestRecvSizesBufferToMessage(t *testing.T) {
	p, cf, err := Pair()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c := NewConn(cf)
	defer c.Close()

	big := &Config{ID: "c", Spec: json.RawMessage(`"` + strings.Repeat("x", 100<<10) + `"`)}
	if err := c.Send(&Message{Kind: KindConfig, Config: big}); err != nil {
		t.Fatal(err)
	}
	m, _, err := p.Expect(KindConfig)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Config.Spec) != len(big.Spec) {
		t.Fatalf("100 KiB message arrived with %d bytes of spec, want %d", len(m.Config.Spec), len(big.Spec))
	}

	var before, after runtime.MemStats
	const rounds = 8
	runtime.ReadMemStats(&before)
	for i := 0; i < rounds; i++ {
		if err := c.Send(&Message{Kind: KindReady}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := p.Expect(KindReady); err != nil {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / rounds; per > 64<<10 {
		t.Fatalf("receiving a 16-byte message allocated %d bytes", per)
	}
}
