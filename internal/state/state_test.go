package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestValidateID(t *testing.T) {
	good := []string{"a", "web-1", "x_y+z.0", strings.Repeat("a", 200)}
	bad := []string{"", ".", "..", "a/b", "../x", "a b", "ü", "a\x00", strings.Repeat("a", MaxIDLength+1)}
	for _, id := range good {
		if err := ValidateID(id); err != nil {
			t.Errorf("ValidateID(%q) = %v", id, err)
		}
	}
	for _, id := range bad {
		if err := ValidateID(id); err == nil {
			t.Errorf("ValidateID(%q) accepted", id)
		}
	}
}

func FuzzValidateID(f *testing.F) {
	for _, s := range []string{"a", "..", "a/b", "x.y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		if ValidateID(id) != nil {
			return
		}
		root := "/run/hako"
		p := filepath.Join(root, id)
		if filepath.Dir(p) != root || filepath.Base(p) != id {
			t.Fatalf("valid id %q escapes the root: %s", id, p)
		}
	})
}

func TestStoreRoundTrip(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create("c1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create("c1"); !errors.Is(err, ErrExist) {
		t.Fatalf("second create: %v", err)
	}
	c := &Container{ID: "c1", InitPid: os.Getpid(), Bundle: "/b"}
	c.InitStart, _, _ = ProcStartTime(os.Getpid())
	if err := s.Save(c); err != nil {
		t.Fatal(err)
	}
	got, err := s.Load("c1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Bundle != "/b" || !got.InitAlive() {
		t.Fatalf("got %+v alive=%v", got, got.InitAlive())
	}
	got.InitStart++ // a reused pid has another start time
	if got.InitAlive() {
		t.Fatal("pid with a different start time counted as alive")
	}
	ids, _ := s.List()
	if len(ids) != 1 || ids[0] != "c1" {
		t.Fatalf("List = %v", ids)
	}
	if _, err := s.Load("nope"); !errors.Is(err, ErrNotExist) || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("Load(nope) = %v", err)
	}
	unlock, err := s.Lock("c1")
	if err != nil {
		t.Fatal(err)
	}
	unlock()
	if err := s.Remove("c1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Lock("c1"); !errors.Is(err, ErrNotExist) {
		t.Fatalf("lock of removed container: %v", err)
	}
	// What earlier builds left next to state.json goes too.
	if _, err := s.Create("c1"); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{StateFile, FifoFile, ConfigFile, "lock"} {
		if err := os.WriteFile(filepath.Join(s.Root, "c1", f), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Remove("c1"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(s.Root, "c1")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Remove left the directory: %v", err)
	}
	if err := s.Remove("c1"); err != nil {
		t.Errorf("Remove of a removed container: %v", err)
	}
}

func TestProcStartTimeOddComm(t *testing.T) {
	// Our own stat line parses; the parser handles ") " inside comm by
	// splitting at the last parenthesis.
	if _, st, err := ProcStartTime(os.Getpid()); err != nil || st != 'R' && st != 'S' {
		t.Fatalf("state %c err %v", st, err)
	}
}

func BenchmarkSaveLoad(b *testing.B) {
	s, _ := Open(b.TempDir())
	s.Create("c")
	c := &Container{ID: "c", InitPid: 1, Bundle: "/bundle"}
	for i := 0; i < b.N; i++ {
		if err := s.Save(c); err != nil {
			b.Fatal(err)
		}
		if _, err := s.Load("c"); err != nil {
			b.Fatal(err)
		}
	}
}

// A state.json that a crash cut short, or that holds another container's
// state, is reported as ErrCorrupt with the way out, never a panic.
func TestLoadUnreadable(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create("c1"); err != nil {
		t.Fatal(err)
	}
	good, err := encode(&Container{ID: "c1", Bundle: "/b", Config: []byte(`{"ociVersion":"1.0.2"}`)})
	if err != nil {
		t.Fatal(err)
	}
	other, _ := encode(&Container{ID: "c2"})
	for name, data := range map[string][]byte{
		"empty":   nil,
		"torn":    good[:len(good)/2],
		"zeros":   make([]byte, len(good)),
		"other":   other,
		"array":   []byte("[]"),
		"garbage": []byte("\x00{\"id\":\"c1\"}"),
	} {
		if err := os.WriteFile(filepath.Join(s.Root, "c1", StateFile), data, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := s.Load("c1")
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "hako delete c1") {
			t.Errorf("%s state.json: Load = %v, want ErrCorrupt with a hint", name, err)
		}
	}
	if ids, _ := s.List(); len(ids) != 1 {
		t.Errorf("List = %v: a container with an unreadable state must stay listed (delete removes it)", ids)
	}
}

// The config is stored as the last member of state.json, byte for byte,
// and the file stays one JSON object that encoding/json decodes (as builds
// that read the config from it do).
func TestSaveKeepsConfigVerbatim(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create("c1"); err != nil {
		t.Fatal(err)
	}
	cfg := "{\n  \"ociVersion\": \"1.0.2\",\n  \"process\": {\"args\": [\"sh\"]}\n}\n"
	c := &Container{ID: "c1", Bundle: "/b", Annotations: map[string]string{"config": "x"}, Config: []byte(cfg)}
	if err := s.Save(c); err != nil {
		t.Fatal(err)
	}
	if string(c.Config) != cfg {
		t.Fatalf("Save changed the caller's config to %q", c.Config)
	}
	raw, err := os.ReadFile(filepath.Join(s.Root, "c1", StateFile))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(raw), `,"config":`+cfg+`}`) {
		t.Errorf("state.json does not end with the config as given:\n%s", raw)
	}
	var plain map[string]json.RawMessage
	if err := json.Unmarshal(raw, &plain); err != nil {
		t.Fatalf("state.json is not one JSON object: %v", err)
	}
	got, err := s.Load("c1")
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(got.Config)) != strings.TrimSpace(cfg) || got.Bundle != "/b" || got.Annotations["config"] != "x" {
		t.Errorf("Load = %+v, config %q", got, got.Config)
	}
	c.Config = []byte(`{"ociVersion":`)
	if err := s.Save(c); err == nil {
		t.Error("Save stored a config that is not JSON")
	}
	if _, err := s.Load("c1"); err != nil {
		t.Errorf("a refused Save broke the saved state: %v", err)
	}
}

// Readers never see a state.json half-written while it is replaced, and
// no temporary file is left behind.
func TestSaveIsAtomic(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create("c1"); err != nil {
		t.Fatal(err)
	}
	small := &Container{ID: "c1", Bundle: "/small"}
	big := &Container{ID: "c1", Bundle: "/big", Config: []byte(`{"pad":"` + strings.Repeat("x", 64<<10) + `"}`)}
	if err := s.Save(small); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		defer close(errc)
		for {
			select {
			case <-done:
				return
			default:
			}
			c, err := s.Load("c1")
			if err != nil {
				errc <- err
				return
			}
			if c.Bundle != "/small" && c.Bundle != "/big" {
				errc <- fmt.Errorf("read bundle %q", c.Bundle)
				return
			}
		}
	}()
	for i := 0; i < 300; i++ {
		c := small
		if i%2 == 0 {
			c = big
		}
		if err := s.Save(c); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	if err := <-errc; err != nil {
		t.Fatalf("a reader saw a partial state: %v", err)
	}
	ents, _ := os.ReadDir(filepath.Join(s.Root, "c1"))
	if len(ents) != 1 || ents[0].Name() != StateFile {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("container directory holds %v, want only %s", names, StateFile)
	}
}

// The lock is the container's directory: no lock file is made, and a
// second Lock waits for the first.
func TestLockIsTheDirectory(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create("c1"); err != nil {
		t.Fatal(err)
	}
	unlock, err := s.Lock("c1")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan struct{})
	go func() {
		u, err := s.Lock("c1")
		if err == nil {
			u()
		}
		close(got)
	}()
	select {
	case <-got:
		t.Fatal("a second Lock did not wait for the first")
	case <-time.After(50 * time.Millisecond):
	}
	unlock()
	select {
	case <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("the second Lock was not granted after the first was released")
	}
	if ents, _ := os.ReadDir(filepath.Join(s.Root, "c1")); len(ents) != 0 {
		t.Errorf("locking made %s in the container's directory", ents[0].Name())
	}
}
