package validate

import (
	"fmt"
	"strings"
	"sync"

	"github.com/moby/sys/capability"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

var (
	capsOnce  sync.Once
	capsKnown []string // CAP_CHOWN, …
)

// knownCaps lists every capability name moby/sys/capability knows.
func knownCaps() []string {
	capsOnce.Do(func() {
		for _, c := range capability.ListKnown() {
			capsKnown = append(capsKnown, "CAP_"+strings.ToUpper(c.String()))
		}
	})
	return capsKnown
}

func (c *checker) checkCapabilities(caps *specs.LinuxCapabilities) {
	if caps == nil {
		return
	}
	sets := []struct {
		name string
		list []string
	}{
		{"bounding", caps.Bounding}, {"effective", caps.Effective}, {"inheritable", caps.Inheritable},
		{"permitted", caps.Permitted}, {"ambient", caps.Ambient},
	}
	known := knownCaps()
	for _, set := range sets {
		for i, name := range set.list {
			if contains(known, name) {
				continue
			}
			p := indexPath("process.capabilities."+set.name, i)
			hint := hintOneOf(name, known)
			if up := "CAP_" + strings.ToUpper(strings.TrimPrefix(strings.ToUpper(name), "CAP_")); contains(known, up) {
				hint = fmt.Sprintf("write %q", up)
			}
			// The spec asks runtimes to log unknown capabilities as a
			// warning and carry on; the container runs without it.
			c.warnf(p, ruleLinuxProcess, hint, "unknown capability %q (see capabilities(7)); the process will not get it", name)
		}
	}
}
