package security

import (
	"slices"
	"strings"
	"testing"

	"github.com/moby/sys/capability"
	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hako-dev/hako/internal/sysprog"
)

func TestCapabilityNames(t *testing.T) {
	names := CapabilityNames()
	// Numbers from <linux/capability.h>, independent of the library.
	for num, want := range map[int]string{0: "CAP_CHOWN", 5: "CAP_KILL", 21: "CAP_SYS_ADMIN", 24: "CAP_SYS_RESOURCE", 40: "CAP_CHECKPOINT_RESTORE"} {
		if num >= len(names) || names[num] != want {
			t.Errorf("CapabilityNames()[%d] = %q, want %q", num, at(names, num), want)
		}
	}
	seen := map[string]bool{}
	for _, n := range names {
		if !strings.HasPrefix(n, "CAP_") || strings.ToUpper(n) != n || seen[n] {
			t.Errorf("bad or duplicate name %q", n)
		}
		seen[n] = true
	}
}

func at(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return "<missing>"
}

func TestParseCapabilitiesErrors(t *testing.T) {
	for _, tc := range []struct {
		caps *specs.LinuxCapabilities
		want []string
	}{
		{&specs.LinuxCapabilities{Bounding: []string{"CAP_CHOWN", "CAP_KILL", "CAP_NOPE"}}, []string{"process.capabilities.bounding[2]", `"CAP_NOPE"`}},
		{&specs.LinuxCapabilities{Effective: []string{"chown"}}, []string{"process.capabilities.effective[0]", `did you mean "CAP_CHOWN"`}},
		{&specs.LinuxCapabilities{Ambient: []string{"CAP_KILL", "SYS_ADMIN"}}, []string{"process.capabilities.ambient[1]", `"CAP_SYS_ADMIN"`}},
		{&specs.LinuxCapabilities{Inheritable: []string{""}}, []string{"process.capabilities.inheritable[0]", "unknown capability"}},
	} {
		_, err := parseCapabilities(tc.caps, capability.CAP_CHECKPOINT_RESTORE)
		if err == nil {
			t.Errorf("%+v: no error", tc.caps)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%+v: error %q does not contain %q", tc.caps, err, w)
			}
		}
	}
}

func TestParseCapabilitiesSkipsCapsNewerThanKernel(t *testing.T) {
	// A kernel whose last capability is CAP_WAKE_ALARM (35) knows neither
	// CAP_BPF (39) nor CAP_PERFMON (38).
	s, err := parseCapabilities(&specs.LinuxCapabilities{
		Bounding: []string{"CAP_BPF", "CAP_CHOWN", "CAP_PERFMON", "CAP_KILL"},
	}, capability.CAP_WAKE_ALARM)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.bounding.mask(); got != 1<<0|1<<5 {
		t.Errorf("bounding mask = %#x, want %#x", got, 1<<0|1<<5)
	}
	if !slices.Equal(s.bounding.index, []int{1, 3}) || s.bounding.path(1) != "process.capabilities.bounding[3]" {
		t.Errorf("indexes = %v, path(1) = %s", s.bounding.index, s.bounding.path(1))
	}
}

func TestCheckCapSets(t *testing.T) {
	all := threadState{effective: 1<<41 - 1, permitted: 1<<41 - 1, bounding: 1<<41 - 1}
	noSysResource := all
	noSysResource.permitted &^= 1 << 24
	for _, tc := range []struct {
		name string
		caps specs.LinuxCapabilities
		cur  threadState
		want string // "" = no error
	}{
		{"ok", specs.LinuxCapabilities{Bounding: []string{"CAP_KILL"}, Effective: []string{"CAP_KILL"}, Permitted: []string{"CAP_KILL"}, Inheritable: []string{"CAP_KILL"}, Ambient: []string{"CAP_KILL"}}, all, ""},
		{"effective not permitted", specs.LinuxCapabilities{Effective: []string{"CAP_CHOWN", "CAP_KILL"}, Permitted: []string{"CAP_CHOWN"}}, all, "process.capabilities.effective[1]: CAP_KILL is effective but not permitted"},
		{"host lacks it", specs.LinuxCapabilities{Permitted: []string{"CAP_CHOWN", "CAP_SYS_RESOURCE"}}, noSysResource, "process.capabilities.permitted[1]: CAP_SYS_RESOURCE: hako itself does not have it"},
		{"inheritable outside bounding", specs.LinuxCapabilities{Bounding: []string{"CAP_CHOWN"}, Inheritable: []string{"CAP_KILL"}}, all, "process.capabilities.inheritable[0]: CAP_KILL is inheritable but not in the bounding set"},
		{"ambient not inheritable: dropped", specs.LinuxCapabilities{Bounding: []string{"CAP_CHOWN"}, Permitted: []string{"CAP_KILL", "CAP_CHOWN"}, Inheritable: []string{"CAP_CHOWN"}, Ambient: []string{"CAP_KILL", "CAP_CHOWN"}}, all, ""},
	} {
		s, err := parseCapabilities(&tc.caps, capability.CAP_CHECKPOINT_RESTORE)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		err = checkCapSets(&s, tc.cur)
		if tc.caps.Ambient != nil && err == nil {
			// Raised: the ambient capabilities also permitted and inheritable.
			var want []capability.Cap
			for _, n := range tc.caps.Ambient {
				if c, _ := lookupCap(n); s.permitted.mask().has(c) && s.inheritable.mask().has(c) {
					want = append(want, c)
				}
			}
			if !slices.Equal(s.ambient.caps, want) {
				t.Errorf("%s: ambient %v, want %v", tc.name, s.ambient.caps, want)
			}
		}
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: unexpected error %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error = %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
}

// CompileUser refuses bad input in the parent, before it compiled
// anything that would change the runner.
func TestCompileUserRejectsBadInputBeforeChangingAnything(t *testing.T) {
	p := sysprog.New(9)
	err := CompileUser(p, specs.User{}, &specs.LinuxCapabilities{Permitted: []string{"CAP_KILL", "CAP_FOO"}})
	if err == nil || !strings.Contains(err.Error(), "process.capabilities.permitted[1]") {
		t.Errorf("bad capability: %v", err)
	}
	umask := uint32(0o1777)
	err = CompileUser(p, specs.User{Umask: &umask}, nil)
	if err == nil || !strings.Contains(err.Error(), "process.user.umask") {
		t.Errorf("bad umask: %v", err)
	}
	if p.Len() != 0 {
		t.Errorf("the refused input compiled %d ops:\n%v", p.Len(), p.Ops())
	}
}

func TestCompileRlimitsErrors(t *testing.T) {
	for _, tc := range []struct {
		rl   []specs.POSIXRlimit
		want []string
	}{
		{[]specs.POSIXRlimit{{Type: "RLIMIT_FOO", Soft: 1, Hard: 1}}, []string{"process.rlimits[0].type", `"RLIMIT_FOO"`, "RLIMIT_NOFILE"}},
		{[]specs.POSIXRlimit{{Type: "nofile", Soft: 1, Hard: 1}}, []string{"process.rlimits[0].type", `did you mean "RLIMIT_NOFILE"`}},
		{[]specs.POSIXRlimit{{Type: "RLIMIT_CORE", Soft: 2, Hard: 1}}, []string{"process.rlimits[0]", "soft limit 2 is above its hard limit 1"}},
		{[]specs.POSIXRlimit{{Type: "RLIMIT_CORE", Soft: 0, Hard: 0}, {Type: "RLIMIT_NPROC", Soft: 2, Hard: 1}}, []string{"process.rlimits[1]", "soft limit 2 is above its hard limit 1"}},
	} {
		p := sysprog.New(9)
		err := CompileRlimits(p, tc.rl)
		if err == nil {
			t.Errorf("%+v: no error", tc.rl)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%+v: error %q does not contain %q", tc.rl, err, w)
			}
		}
	}
}
