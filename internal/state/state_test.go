package state

import (
	"errors"
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
