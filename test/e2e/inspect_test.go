package e2e

import (
	"encoding/json"
	"os"
	"strconv"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// `hako inspect` must report what the kernel gave the container, which the
// test reads itself from /proc.
func TestInspectReportsKernelState(t *testing.T) { forRunners(t, testInspectReportsKernelState) }

func testInspectReportsKernelState(t *testing.T, e *env) {
	b := e.bundle([]string{"sleep", "1000"}, func(s *specs.Spec) {
		var ns []specs.LinuxNamespace
		for _, n := range s.Linux.Namespaces {
			if n.Type != specs.IPCNamespace {
				ns = append(ns, n)
			}
		}
		s.Linux.Namespaces = ns // ipc shared with the host on purpose
	})
	e.must("run", "-d", "--bundle", b, "insp")
	pid := e.state("insp").Pid
	defer e.deleteAndReap("insp", pid)
	var iso struct {
		Namespaces []struct {
			Type, Container, Host string
			Isolated              bool
		}
		Capabilities map[string][]string
		NoNewPrivs   bool
	}
	out := e.must("inspect", "--format", "json", "insp")
	if err := json.Unmarshal([]byte(out), &iso); err != nil {
		t.Fatalf("inspect json: %v\n%s", err, out)
	}
	seen := 0
	for _, n := range iso.Namespaces {
		want, _ := os.Readlink("/proc/" + strconv.Itoa(pid) + "/ns/" + n.Type)
		host, _ := os.Readlink("/proc/self/ns/" + n.Type)
		if n.Container != want || n.Host != host || n.Isolated != (want != host) {
			t.Errorf("%s: reported %+v, kernel says container %s host %s", n.Type, n, want, host)
		}
		if n.Type == "ipc" && n.Isolated {
			t.Errorf("ipc reported isolated although the config shares it")
		}
		seen++
	}
	if seen < 7 {
		t.Errorf("only %d namespaces reported", seen)
	}
	if len(iso.Capabilities["effective"]) != 3 || !iso.NoNewPrivs {
		t.Errorf("capabilities %v nnp %v", iso.Capabilities["effective"], iso.NoNewPrivs)
	}
}
