package imagecli

import (
	"testing"

	"github.com/hako-dev/hako/internal/cli/cliroot"
)

// hako lists cliroot.ImageVerbs and hands them over; the helper must define
// exactly those, with the same usage line and summary, or `hako --help`
// would promise a verb the helper does not know.
func TestHelperDefinesExactlyTheImageVerbs(t *testing.T) {
	defined := map[string]bool{}
	for _, c := range NewRoot().Commands() {
		if c.Name() == "help" {
			continue
		}
		defined[c.Name()] = true
		v, ok := cliroot.ImageVerb(c.Name())
		switch {
		case !ok:
			t.Errorf("the helper defines %q, which is not in cliroot.ImageVerbs: hako would not hand it over", c.Name())
		case c.Use != v.Use || c.Short != v.Short:
			t.Errorf("%s: helper has Use %q Short %q; cliroot.ImageVerbs says %q, %q", c.Name(), c.Use, c.Short, v.Use, v.Short)
		}
	}
	for _, v := range cliroot.ImageVerbs {
		if !defined[v.Name] {
			t.Errorf("cliroot.ImageVerbs lists %q, which the helper does not define", v.Name)
		}
	}
}

// The helper takes hako's argv unchanged, so it must accept every global flag.
func TestHelperHasTheGlobalFlags(t *testing.T) {
	pf := NewRoot().PersistentFlags()
	for _, f := range []string{"root", "log", "log-format", "debug", "systemd-cgroup", "rootless"} {
		if pf.Lookup(f) == nil {
			t.Errorf("the helper lacks the global flag --%s", f)
		}
	}
}
