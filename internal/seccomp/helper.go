package seccomp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"unsafe"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// The helper protocol: hako runs `hako-seccomp` with one Request as JSON on
// its stdin and reads one Response as JSON from its stdout. A problem with
// the profile is an answer (Response.Error, exit status 0); a non-zero exit
// status means the helper could not answer, and its stderr says why.

// Ops of a Request.
const (
	OpCompile = "compile" // Filter and Unknown, or Error
	OpNames   = "names"   // Unknown only; Error for what prevents resolving names
	OpVersion = "version" // Version
)

// Request is what hako sends the helper.
type Request struct {
	Op      string              `json:"op"`
	Profile *specs.LinuxSeccomp `json:"profile,omitempty"`
}

// Response is the helper's answer.
type Response struct {
	// Filter is the BPF program's bytes (struct sock_filter, host byte
	// order).
	Filter  []byte `json:"filter,omitempty"`
	Unknown []Name `json:"unknown,omitempty"`
	// Error is a problem with the profile, naming its field.
	Error   string `json:"error,omitempty"`
	Version string `json:"version,omitempty"`
}

const insnSize = int(unsafe.Sizeof(unix.SockFilter{}))

// FilterBytes is the wire form of a program.
func FilterBytes(f []unix.SockFilter) []byte {
	if len(f) == 0 {
		return nil
	}
	return bytes.Clone(unsafe.Slice((*byte)(unsafe.Pointer(&f[0])), len(f)*insnSize))
}

// FilterOf is the program of its wire form.
func FilterOf(b []byte) ([]unix.SockFilter, error) {
	if len(b) == 0 || len(b)%insnSize != 0 || len(b)/insnSize > 0xffff {
		return nil, fmt.Errorf("a BPF program of %d bytes is not 1 to 65535 instructions of %d bytes", len(b), insnSize)
	}
	f := make([]unix.SockFilter, len(b)/insnSize)
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&f[0])), len(b)), b)
	return f, nil
}

func (r *Response) program() (*Program, error) {
	f, err := FilterOf(r.Filter)
	if err != nil {
		return nil, fmt.Errorf("answered with %w", err)
	}
	return &Program{Filter: f, Unknown: r.Unknown}, nil
}

// runHelper asks the helper h. The embedded one is copied into a sealed
// memfd and executed through /proc/self/fd: the memfd is close-on-exec,
// so the helper, like one on disk, has no descriptor but its stdio pipes.
func runHelper(h helper, op string, s *specs.LinuxSeccomp) (*Response, error) {
	in, err := json.Marshal(Request{Op: op, Profile: s})
	if err != nil {
		return nil, fmt.Errorf("linux.seccomp: %w", err)
	}
	path := h.path
	if path == "" {
		f, err := sealedMemfd(h.bin)
		if err != nil {
			return nil, fmt.Errorf("linux.seccomp: running the %s embedded in hako: %w — hint: set $%s to a %s binary", Helper, err, HelperEnv, Helper)
		}
		defer f.Close()
		path = "/proc/self/fd/" + strconv.Itoa(int(f.Fd()))
	}
	cmd := exec.Command(path)
	cmd.Args[0] = Helper
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		var ee *exec.ExitError
		if msg == "" || !errors.As(err, &ee) {
			msg = err.Error()
		}
		return nil, fmt.Errorf("linux.seccomp: the helper %s failed: %s", h, msg)
	}
	var resp Response
	if err := json.Unmarshal(stdout.Bytes(), &resp); err != nil {
		return nil, fmt.Errorf("linux.seccomp: the helper %s answered something that is not a response (%v) — hint: is it the %s built with this hako?", h, err, Helper)
	}
	return &resp, nil
}
