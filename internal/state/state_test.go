package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
	good, err := json.Marshal(&Container{ID: "c1", Bundle: "/b", Config: []byte(`{"ociVersion":"1.0.2"}`)})
	if err != nil {
		t.Fatal(err)
	}
	other, _ := json.Marshal(&Container{ID: "c2"})
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
