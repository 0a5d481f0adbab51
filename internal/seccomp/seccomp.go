package seccomp

import (
	"errors"
	"fmt"
	"os"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hako-dev/hako/internal/helperbin"
)

// Program is a profile compiled for this machine.
type Program struct {
	// Filter is the BPF program, in the host's byte order.
	Filter []unix.SockFilter
	// Flags are the seccomp(SECCOMP_SET_MODE_FILTER) flags of
	// linux.seccomp.flags.
	Flags uint
	// Unknown are the names whose rules were skipped (see Name).
	Unknown []Name
}

// Name is a system call name of the profile that libseccomp cannot resolve
// on this machine's architecture: its rule is skipped, as runc does, so
// that one profile serves several kernels and architectures.
type Name struct {
	Field string `json:"field"` // linux.seccomp.syscalls[I].names[J]
	Name  string `json:"name"`
	// Elsewhere: libseccomp knows the name on one of the profile's other
	// architectures, so the rule is meant for them rather than misspelt.
	Elsewhere bool `json:"elsewhere,omitempty"`
}

// Helper is the name of the helper binary; HelperEnv names it by path.
const (
	Helper    = "hako-seccomp"
	HelperEnv = "HAKO_SECCOMP_BINARY"
)

// CacheName is the cache directory's name in a state root: "@" is not
// allowed in container ids, so no container can own it.
const CacheName = "@seccomp"

// Compiler compiles profiles with the helper, through a cache.
type Compiler struct {
	// CacheDir holds compiled programs; "" compiles every time.
	CacheDir string
	// HelperPath is the helper binary; "" finds it: $HAKO_SECCOMP_BINARY
	// if set, else the one embedded in hako, else next to the running
	// executable, else in $PATH.
	HelperPath string
}

// Compile returns the program of s: from the cache, or from the helper
// (and then into the cache). Errors about the profile name its field, e.g.
// `linux.seccomp.syscalls[2].action`.
func (c *Compiler) Compile(s *specs.LinuxSeccomp) (*Program, error) {
	if s == nil {
		return nil, errors.New("linux.seccomp: no profile to compile")
	}
	flags, err := Flags(s.Flags)
	if err != nil {
		return nil, err
	}
	h, err := c.helper()
	if err != nil {
		return nil, err
	}
	var key []byte
	if c.CacheDir != "" {
		if key, err = cacheKey(h, s); err == nil {
			if p := readCache(c.CacheDir, key); p != nil {
				p.Flags = flags
				return p, nil
			}
		}
	}
	resp, err := ask(h, OpCompile, s)
	if err != nil {
		return nil, err
	}
	p, err := resp.program()
	if err != nil {
		return nil, fmt.Errorf("linux.seccomp: %s %w", h, err)
	}
	if key != nil {
		writeCache(c.CacheDir, key, p)
	}
	p.Flags = flags
	return p, nil
}

// Unknown lists the names of s that libseccomp cannot resolve on this
// machine's architecture (asking the helper, without the cache): `hako
// validate` warns about the ones unknown on every architecture of s.
func (c *Compiler) Unknown(s *specs.LinuxSeccomp) ([]Name, error) {
	h, err := c.helper()
	if err != nil {
		return nil, err
	}
	resp, err := ask(h, OpNames, s)
	if err != nil {
		return nil, err
	}
	return resp.Unknown, nil
}

// LibraryVersion is the version of libseccomp in the helper, e.g. "2.5.4".
func (c *Compiler) LibraryVersion() (string, error) {
	h, err := c.helper()
	if err != nil {
		return "", err
	}
	resp, err := ask(h, OpVersion, nil)
	if err != nil {
		return "", err
	}
	return resp.Version, nil
}

// ask runs the helper once; a problem with the profile is the error.
func ask(h helper, op string, s *specs.LinuxSeccomp) (*Response, error) {
	resp, err := runHelper(h, op, s)
	if err != nil {
		return nil, err
	}
	if resp.Error != "" {
		return nil, errors.New(resp.Error)
	}
	return resp, nil
}

// Where says which helper the compiler runs: its path, or that it is the
// one embedded in hako.
func (c *Compiler) Where() (string, error) {
	h, err := c.helper()
	if err != nil {
		return "", err
	}
	return h.String(), nil
}

func (c *Compiler) helper() (helper, error) {
	if c.HelperPath != "" {
		return helper{path: c.HelperPath}, nil
	}
	return findHelper()
}

// findHelper locates hako-seccomp: $HAKO_SECCOMP_BINARY if set, else the
// one embedded in hako, else next to the running executable, else in
// $PATH.
func findHelper() (helper, error) {
	if os.Getenv(HelperEnv) == "" {
		if h, ok, err := embeddedHelper(); ok {
			return h, err
		}
	}
	p, err := helperbin.Find(Helper, HelperEnv)
	if err != nil {
		return helper{}, fmt.Errorf("linux.seccomp: compiling the profile needs the libseccomp helper %w", err)
	}
	return helper{path: p}, nil
}

var flagBits = map[specs.LinuxSeccompFlag]uint{
	"SECCOMP_FILTER_FLAG_TSYNC":            unix.SECCOMP_FILTER_FLAG_TSYNC,
	specs.LinuxSeccompFlagLog:              unix.SECCOMP_FILTER_FLAG_LOG,
	specs.LinuxSeccompFlagSpecAllow:        unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW,
	specs.LinuxSeccompFlagWaitKillableRecv: 1 << 5, // SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (Linux 5.19), with SCMP_ACT_NOTIFY
}

// Flags converts linux.seccomp.flags to seccomp(2)'s flag bits.
func Flags(flags []specs.LinuxSeccompFlag) (uint, error) {
	var bits uint
	for i, f := range flags {
		b, ok := flagBits[f]
		if !ok {
			return 0, fmt.Errorf("linux.seccomp.flags[%d]: unknown flag %q: expected SECCOMP_FILTER_FLAG_LOG, SECCOMP_FILTER_FLAG_SPEC_ALLOW, SECCOMP_FILTER_FLAG_TSYNC or SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", i, f)
		}
		bits |= b
	}
	return bits, nil
}
