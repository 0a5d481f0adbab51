package runtime

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"syscall"

	"github.com/containerd/console"
	"golang.org/x/sys/unix"

	"github.com/hako-dev/hako/internal/sigfwd"
	"github.com/hako-dev/hako/internal/spawn"
)

// RunOptions are the flags of `run`.
type RunOptions struct {
	CreateOptions
	Detach bool
	Keep   bool
}

// Run creates and starts a container. Detached, it returns at once;
// otherwise it forwards signals and the terminal, waits for the process,
// removes the container (unless Keep) and returns the exit code: the
// process's, or 128+N when it was killed by signal N.
func (r *Runtime) Run(o RunOptions) (int, error) {
	o.KeepConsole = !o.Detach
	if o.Detach && o.ConsoleSocket == "" {
		o.KeepConsole = false
	}
	sigc, stop, err := catchSignals(!o.Detach)
	if err != nil {
		return -1, err
	}
	defer stop()
	cr, err := r.Create(o.CreateOptions)
	if err != nil {
		return -1, err
	}
	c := cr.Container
	cleanup := func() {
		if !o.Keep {
			r.delete(c.ID, true, c)
		}
	}
	if !o.Detach && cr.Init.Console != nil {
		// The size of our terminal, before the process can ask for it.
		resizeFromStdin(cr.Init.Console)
	}
	if err := r.start(c.ID, c); err != nil {
		if !o.Detach {
			cr.Init.Kill()
			cr.Init.Wait()
		}
		r.delete(c.ID, true, c)
		return -1, err
	}
	if o.Detach {
		cr.Init.Release()
		return 0, nil
	}
	if err := cr.Init.ExecDone(); err != nil {
		cr.Init.Kill()
		cr.Init.Wait()
		r.delete(c.ID, true, c)
		return -1, fmt.Errorf("container %q: %w", c.ID, err)
	}
	x := foreground(cr.Init, sigc)
	cleanup()
	return x.code(), nil
}

// foreground attaches the terminal (if any) and forwards the signals of
// sigc to in until it exits; it returns how it ended.
func foreground(in *spawn.Init, sigc chan os.Signal) exited {
	var ioDone sync.WaitGroup
	if in.Console != nil {
		restore := attachConsole(in.Console, &ioDone)
		defer restore()
	}
	waitc := make(chan exited, 1)
	go func() {
		ws, err := in.Wait()
		waitc <- exited{ws, err}
	}()
	for {
		select {
		case x := <-waitc:
			slog.Debug("process exited", "pid", in.Pid, "status", x.code())
			ioDone.Wait()
			if in.Console != nil {
				in.Console.Close()
			}
			return x
		case sig := <-sigc:
			s := sig.(syscall.Signal)
			switch s {
			case unix.SIGCHLD, unix.SIGURG, unix.SIGPIPE:
				continue
			case unix.SIGWINCH:
				if in.Console != nil {
					resizeFromStdin(in.Console)
				}
				continue
			}
			in.Signal(s)
		}
	}
}

// exited is how the container's process ended.
type exited struct {
	ws  syscall.WaitStatus
	err error
}

// code is the exit code run and exec report: the process's, or 128+N when
// it was killed by signal N (255 when it could not be waited for).
func (x exited) code() int {
	switch {
	case x.err != nil:
		return 255
	case x.ws.Signaled():
		return 128 + int(x.ws.Signal())
	}
	return x.ws.ExitStatus()
}

// attachConsole connects our stdio to the pty master, putting our terminal
// in raw mode when stdin is one.
func attachConsole(master *os.File, done *sync.WaitGroup) func() {
	restore := func() {}
	if cur, err := console.ConsoleFromFile(os.Stdin); err == nil {
		if err := cur.SetRaw(); err == nil {
			restore = func() { cur.Reset() }
		}
		resizeFromStdin(master)
	}
	go func() { io.Copy(master, os.Stdin) }()
	done.Add(1)
	go func() {
		defer done.Done()
		_, err := io.Copy(os.Stdout, master)
		if err != nil && !errors.Is(err, syscall.EIO) {
			return
		}
	}()
	return restore
}

func resizeFromStdin(master *os.File) {
	ws, err := unix.IoctlGetWinsize(int(os.Stdin.Fd()), unix.TIOCGWINSZ)
	if err != nil || ws.Row == 0 || ws.Col == 0 {
		return // a terminal of unknown size keeps process.consoleSize
	}
	unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ, ws)
}

// catchSignals starts catching every signal for forwarding (see
// internal/sigfwd), before anything is created: from then on no signal is
// lost.
func catchSignals(on bool) (sigc chan os.Signal, stop func(), err error) {
	if !on {
		return make(chan os.Signal), func() {}, nil
	}
	c, err := sigfwd.Catch()
	if err != nil {
		return nil, nil, err
	}
	return c.C, c.Stop, nil
}
