package security

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/moby/sys/capability"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// capName is the config spelling of c, e.g. "CAP_CHOWN".
func capName(c capability.Cap) string {
	return "CAP_" + strings.ToUpper(c.String())
}

var capsByName = sync.OnceValue(func() map[string]capability.Cap {
	m := make(map[string]capability.Cap)
	for _, c := range capability.ListKnown() {
		m[capName(c)] = c
	}
	return m
})

// CapabilityNames lists every capability name this library knows, in the
// kernel's order ("CAP_CHOWN", "CAP_DAC_OVERRIDE", ...). Some of them may be
// newer than the running kernel.
func CapabilityNames() []string {
	known := capability.ListKnown()
	names := make([]string, 0, len(known))
	for _, c := range known {
		names = append(names, capName(c))
	}
	return names
}

// capMask is a set of capabilities as the kernel's 64-bit mask.
type capMask uint64

func (m capMask) has(c capability.Cap) bool { return m&(1<<uint(c)) != 0 }

// capList is one parsed list of process.capabilities: the capabilities in
// config order, each with the index it had in the config, without the names
// the running kernel does not know.
type capList struct {
	field string // e.g. "process.capabilities.bounding"
	caps  []capability.Cap
	index []int // index[i] is the config index of caps[i]
}

func (l capList) mask() capMask {
	var m capMask
	for _, c := range l.caps {
		m |= 1 << uint(c)
	}
	return m
}

func (l capList) path(i int) string { return fmt.Sprintf("%s[%d]", l.field, l.index[i]) }

// capSets is process.capabilities, parsed.
type capSets struct {
	bounding, effective, permitted, inheritable, ambient capList
}

// parseCapabilities validates every name in caps. Names unknown to this
// library are errors; names this library knows but the running kernel does
// not (a kernel older than the config) are skipped with a warning, as runc
// does. last is the highest capability of the running kernel.
func parseCapabilities(caps *specs.LinuxCapabilities, last capability.Cap) (capSets, error) {
	var s capSets
	if caps == nil {
		caps = &specs.LinuxCapabilities{}
	}
	lists := []struct {
		dst   *capList
		name  string
		names []string
	}{
		{&s.bounding, "bounding", caps.Bounding},
		{&s.effective, "effective", caps.Effective},
		{&s.permitted, "permitted", caps.Permitted},
		{&s.inheritable, "inheritable", caps.Inheritable},
		{&s.ambient, "ambient", caps.Ambient},
	}
	for _, l := range lists {
		l.dst.field = "process.capabilities." + l.name
		for i, name := range l.names {
			c, err := lookupCap(name)
			if err != nil {
				return capSets{}, fmt.Errorf("%s[%d]: %w", l.dst.field, i, err)
			}
			if c > last {
				slog.Warn("capability is not supported by the running kernel; skipped",
					"field", fmt.Sprintf("%s[%d]", l.dst.field, i), "capability", name, "last_cap", capName(last))
				continue
			}
			l.dst.caps = append(l.dst.caps, c)
			l.dst.index = append(l.dst.index, i)
		}
	}
	return s, nil
}

// lookupCap finds a capability by its config name, with a hint for the
// usual misspellings ("chown", "CAP_chown", "SYS_ADMIN").
func lookupCap(name string) (capability.Cap, error) {
	if c, ok := capsByName()[name]; ok {
		return c, nil
	}
	guess := strings.ToUpper(strings.TrimSpace(name))
	if !strings.HasPrefix(guess, "CAP_") {
		guess = "CAP_" + guess
	}
	if _, ok := capsByName()[guess]; ok {
		return 0, fmt.Errorf("unknown capability %q: did you mean %q? (names are upper case with the CAP_ prefix)", name, guess)
	}
	return 0, fmt.Errorf("unknown capability %q: expected a name such as \"CAP_CHOWN\" (see capabilities(7))", name)
}
