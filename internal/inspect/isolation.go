package inspect

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/moby/sys/capability"
)

// NamespaceRow puts one namespace of a process next to the host's.
type NamespaceRow struct {
	Type      string `json:"type"`
	Container string `json:"container"`
	Host      string `json:"host"`
	Isolated  bool   `json:"isolated"`
}

// Isolation is what the kernel actually gave a process: read from /proc,
// not from its configuration.
type Isolation struct {
	Pid          int                 `json:"pid"`
	Namespaces   []NamespaceRow      `json:"namespaces"`
	UIDMap       []string            `json:"uidMap,omitempty"`
	GIDMap       []string            `json:"gidMap,omitempty"`
	Cgroups      []string            `json:"cgroups"`
	Capabilities map[string][]string `json:"capabilities"`
	NoNewPrivs   bool                `json:"noNewPrivs"`
	Seccomp      string              `json:"seccomp"`
}

var nsTypes = []string{"pid", "mnt", "uts", "ipc", "net", "user", "cgroup", "time"}

// Process reads pid's isolation from /proc and compares its namespaces with
// those of process host (the runtime's own, for "next to the host's").
func Process(pid, host int) (*Isolation, error) {
	p := "/proc/" + strconv.Itoa(pid)
	if _, err := os.Stat(p); err != nil {
		return nil, fmt.Errorf("process %d: %w", pid, err)
	}
	iso := &Isolation{Pid: pid, Capabilities: map[string][]string{}}
	for _, t := range nsTypes {
		c, err := os.Readlink(p + "/ns/" + t)
		if err != nil {
			continue // e.g. time on old kernels
		}
		h, _ := os.Readlink("/proc/" + strconv.Itoa(host) + "/ns/" + t)
		iso.Namespaces = append(iso.Namespaces, NamespaceRow{Type: t, Container: c, Host: h, Isolated: c != h})
	}
	iso.UIDMap = lines(p + "/uid_map")
	iso.GIDMap = lines(p + "/gid_map")
	iso.Cgroups = lines(p + "/cgroup")
	status, err := os.ReadFile(p + "/status")
	if err != nil {
		return nil, fmt.Errorf("process %d: %w", pid, err)
	}
	for _, l := range strings.Split(string(status), "\n") {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch k {
		case "CapEff", "CapPrm", "CapBnd", "CapInh", "CapAmb":
			mask, err := strconv.ParseUint(v, 16, 64)
			if err == nil {
				iso.Capabilities[capSetName(k)] = capNames(mask)
			}
		case "NoNewPrivs":
			iso.NoNewPrivs = v == "1"
		case "Seccomp":
			iso.Seccomp = map[string]string{"0": "disabled", "1": "strict", "2": "filter"}[v]
		}
	}
	return iso, nil
}

func capSetName(k string) string {
	return map[string]string{"CapEff": "effective", "CapPrm": "permitted", "CapBnd": "bounding",
		"CapInh": "inheritable", "CapAmb": "ambient"}[k]
}

func capNames(mask uint64) []string {
	names := []string{}
	for _, c := range capability.ListKnown() {
		if c <= 63 && mask&(1<<uint(c)) != 0 {
			names = append(names, "CAP_"+strings.ToUpper(c.String()))
		}
	}
	sort.Strings(names)
	return names
}

func lines(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if l = strings.Join(strings.Fields(l), " "); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// Text renders an isolation report for a person.
func (iso *Isolation) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-9s %-22s %-22s %s\n", "NAMESPACE", "CONTAINER", "HOST", "ISOLATED")
	for _, n := range iso.Namespaces {
		yes := "yes"
		if !n.Isolated {
			yes = "NO — shared with the host"
		}
		fmt.Fprintf(&b, "%-9s %-22s %-22s %s\n", n.Type, n.Container, n.Host, yes)
	}
	b.WriteString("\n")
	if len(iso.UIDMap) > 0 {
		fmt.Fprintf(&b, "uid_map   %s   (container-id host-id count)\n", strings.Join(iso.UIDMap, "; "))
		fmt.Fprintf(&b, "gid_map   %s\n", strings.Join(iso.GIDMap, "; "))
	}
	b.WriteString("cgroups\n")
	for _, c := range iso.Cgroups {
		b.WriteString("  " + c + "\n")
	}
	b.WriteString("capabilities\n")
	for _, set := range []string{"effective", "permitted", "bounding", "inheritable", "ambient"} {
		caps := iso.Capabilities[set]
		v := strings.Join(caps, " ")
		if len(caps) == 0 {
			v = "(none)"
		} else if len(caps) >= 40 {
			v = fmt.Sprintf("(all %d)", len(caps))
		}
		fmt.Fprintf(&b, "  %-12s %s\n", set, v)
	}
	nnp := "no"
	if iso.NoNewPrivs {
		nnp = "yes"
	}
	fmt.Fprintf(&b, "no_new_privs %s, seccomp %s\n", nnp, iso.Seccomp)
	return b.String()
}
