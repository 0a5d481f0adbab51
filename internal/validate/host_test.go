package validate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNamespacePathOnHost: a namespace file's type is asked from the kernel
// (NS_GET_NSTYPE), so a link or bind mount with another name is caught too.
func TestNamespacePathOnHost(t *testing.T) {
	if _, err := os.Stat("/proc/self/ns/net"); err != nil {
		t.Skip("no /proc/self/ns/net")
	}
	links := t.TempDir()
	if err := os.Symlink("/proc/self/ns/net", filepath.Join(links, "blue")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(links, "plain"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	base := string(readTestdata(t, "valid/base.json"))
	for _, c := range []struct {
		ns, want string
	}{
		{`{"type": "network", "path": "` + filepath.Join(links, "blue") + `"}`, ""},
		{`{"type": "network", "path": "/proc/self/ns/net"}`, ""},
		{`{"type": "network", "path": "` + filepath.Join(links, "plain") + `"}`, "is not a namespace file"},
		{`{"type": "network", "path": "` + filepath.Join(links, "gone") + `"}`, "no such file or directory"},
	} {
		cfg := strings.Replace(base, `{"type": "network"}`, c.ns, 1)
		cfg = strings.Replace(cfg, `{"type": "ipc"}`, `{"type": "ipc", "path": "`+filepath.Join(links, "blue")+`"}`, 1)
		r, err := Bundle(makeBundle(t, []byte(cfg)))
		if err != nil {
			t.Fatal(err)
		}
		// linux.namespaces[2] (ipc) always points at a net namespace.
		byPath := map[string]FieldError{}
		for _, e := range r.Errors() {
			byPath[e.Path] = e
		}
		if e, ok := byPath["linux.namespaces[2].path"]; !ok || !strings.Contains(e.Problem, `is a network namespace, but type is "ipc"`) {
			t.Errorf("%s: the ipc entry pointing at a net namespace is not caught:\n%s", c.ns, dump(r))
		}
		e, ok := byPath["linux.namespaces[1].path"]
		switch {
		case c.want == "" && (ok || len(byPath) != 1):
			t.Errorf("%s: want no other error, got:\n%s", c.ns, dump(r))
		case c.want != "" && (!ok || !strings.Contains(e.Problem, c.want) || len(byPath) != 2):
			t.Errorf("%s: want %q at linux.namespaces[1].path, got:\n%s", c.ns, c.want, dump(r))
		}
	}
}
