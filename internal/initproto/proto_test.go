package initproto

import (
	"errors"
	"os"
	"syscall"
	"testing"
)

func TestRoundTripWithFD(t *testing.T) {
	p, cf, err := Pair()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c := NewConn(cf)
	defer c.Close()
	r, w, _ := os.Pipe()
	defer r.Close()
	if err := c.Send(&Message{Kind: KindConsole}, int(w.Fd())); err != nil {
		t.Fatal(err)
	}
	w.Close()
	m, files, err := p.Expect(KindConsole)
	if err != nil {
		t.Fatal(err)
	}
	if m.Kind != KindConsole || len(files) != 1 {
		t.Fatalf("got %+v with %d files", m, len(files))
	}
	files[0].Write([]byte("x"))
	files[0].Close()
	b := make([]byte, 1)
	if n, _ := r.Read(b); n != 1 || b[0] != 'x' {
		t.Fatal("passed fd is not the pipe")
	}
}

func TestErrorTravelsWithErrno(t *testing.T) {
	p, cf, _ := Pair()
	defer p.Close()
	c := NewConn(cf)
	c.Send(&Message{Kind: KindError, Error: &ErrorInfo{Step: "mounting", Message: "boom", Errno: int(syscall.EACCES)}})
	_, _, err := p.Expect(KindReady)
	var ei *ErrorInfo
	if !errors.As(err, &ei) || ei.Step != "mounting" || !errors.Is(err, syscall.EACCES) {
		t.Fatalf("got %v", err)
	}
	c.Close()
	if _, _, err := p.Recv(); !errors.Is(err, ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
}

func TestUnexpectedKind(t *testing.T) {
	p, cf, _ := Pair()
	defer p.Close()
	c := NewConn(cf)
	defer c.Close()
	c.Send(&Message{Kind: KindReady})
	if _, _, err := p.Expect(KindPrePivot); err == nil {
		t.Fatal("wrong kind accepted")
	}
}

func FuzzRecv(f *testing.F) {
	f.Add([]byte(`{"kind":"ready"}`))
	f.Add([]byte(`{"kind":"error","error":{"step":"x","message":"y","errno":13}}`))
	f.Add([]byte(`{`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, cf, err := Pair()
		if err != nil {
			t.Skip(err)
		}
		defer p.Close()
		defer cf.Close()
		if len(data) == 0 {
			return
		}
		syscall.Write(int(cf.Fd()), data)
		p.Recv() // must not panic
	})
}

// The init fails and closes with a message of ours unread: the kernel
// reports ECONNRESET once, ahead of the init's error message. The parent
// must still get the error, then ErrClosed.
func TestErrorAfterUnreadMessage(t *testing.T) {
	p, cf, _ := Pair()
	defer p.Close()
	c := NewConn(cf)
	if err := p.Send(&Message{Kind: KindCgroupReady}); err != nil {
		t.Fatal(err)
	}
	c.Send(&Message{Kind: KindError, Error: &ErrorInfo{Step: "mounting", Message: "boom", Errno: int(syscall.EACCES)}})
	c.Close() // KindCgroupReady was never read
	_, _, err := p.Expect(KindReady)
	var ei *ErrorInfo
	if !errors.As(err, &ei) || ei.Step != "mounting" {
		t.Fatalf("got %v, want the init's error", err)
	}
	if _, _, err := p.Recv(); !errors.Is(err, ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
}
