package inspect

import (
	"os"
	"strings"
	"testing"
)

func TestSelfAgainstSelfIsNotIsolated(t *testing.T) {
	iso, err := Process(os.Getpid(), os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if len(iso.Namespaces) < 6 {
		t.Fatalf("namespaces: %+v", iso.Namespaces)
	}
	for _, n := range iso.Namespaces {
		if n.Isolated || n.Container == "" {
			t.Errorf("%s: %+v", n.Type, n)
		}
	}
	if _, ok := iso.Capabilities["bounding"]; !ok {
		t.Errorf("no bounding set read: %+v", iso.Capabilities)
	}
	if !strings.Contains(iso.Text(), "NO — shared with the host") {
		t.Errorf("text report does not say it is shared:\n%s", iso.Text())
	}
}

func TestCapNames(t *testing.T) {
	// CAP_CHOWN is bit 0, CAP_KILL bit 5, CAP_NET_BIND_SERVICE bit 10.
	got := strings.Join(capNames(1|1<<5|1<<10), " ")
	if got != "CAP_CHOWN CAP_KILL CAP_NET_BIND_SERVICE" {
		t.Fatalf("capNames = %q", got)
	}
}
