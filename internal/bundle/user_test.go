package bundle

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func rootfsWithDB(t *testing.T) string {
	t.Helper()
	r := filepath.Join(t.TempDir(), "rootfs")
	os.MkdirAll(filepath.Join(r, "etc"), 0o755)
	os.WriteFile(filepath.Join(r, "etc/passwd"), []byte(
		"root:x:0:0:root:/root:/bin/sh\n# a comment\napp:x:1000:1000::/home/app:/bin/sh\nbroken line\nnobody:x:65534:65534::/:/bin/false\n"), 0o644)
	os.WriteFile(filepath.Join(r, "etc/group"), []byte(
		"root:x:0:\nwheel:x:10:root,app\nstaff:x:50:app\napp:x:1000:\nnogroup:x:65534:\n"), 0o644)
	return r
}

func TestResolveUser(t *testing.T) {
	r := rootfsWithDB(t)
	cases := []struct {
		user string
		want specs.User
	}{
		{"", specs.User{UID: 0, GID: 0, AdditionalGids: []uint32{0, 10}}},
		{"root", specs.User{UID: 0, GID: 0, AdditionalGids: []uint32{0, 10}}},
		{"app", specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{1000, 10, 50}}},
		{"1000", specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{1000, 10, 50}}},
		{"app:staff", specs.User{UID: 1000, GID: 50, AdditionalGids: []uint32{50, 10}}},
		{"app:2000", specs.User{UID: 1000, GID: 2000, AdditionalGids: []uint32{2000, 10, 50}}},
		{"1000:nogroup", specs.User{UID: 1000, GID: 65534, AdditionalGids: []uint32{65534, 10, 50}}},
		{"4242", specs.User{UID: 4242, GID: 0, AdditionalGids: []uint32{0}}},
		{"4242:4343", specs.User{UID: 4242, GID: 4343, AdditionalGids: []uint32{4343}}},
		{"2147483647", specs.User{UID: 2147483647, GID: 0, AdditionalGids: []uint32{0}}},
	}
	for _, c := range cases {
		got, err := ResolveUser(r, c.user)
		if err != nil {
			t.Errorf("ResolveUser(%q): %v", c.user, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("ResolveUser(%q) = %+v, want %+v", c.user, got, c.want)
		}
	}
	bad := map[string]string{
		"nosuch":          `no user "nosuch"`,
		"app:nosuch":      `no group "nosuch"`,
		"2147483648":      "out of range",
		"8589934592":      "out of range",
		"1000:4294967296": "out of range",
		"app:":            "group part is empty",
		":50":             "user part is empty",
	}
	for user, want := range bad {
		if _, err := ResolveUser(r, user); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ResolveUser(%q) err = %v, want %q", user, err, want)
		}
	}
}

func TestResolveUserWithoutDatabases(t *testing.T) {
	r := filepath.Join(t.TempDir(), "rootfs")
	os.Mkdir(r, 0o755)
	if u, err := ResolveUser(r, "1000:1000"); err != nil || u.UID != 1000 || u.GID != 1000 {
		t.Fatalf("numeric user without /etc: %+v, %v", u, err)
	}
	if _, err := ResolveUser(r, "app"); err == nil {
		t.Fatal("a named user resolved without /etc/passwd")
	}
}

// Hostile: /etc/passwd (or /etc) as a symlink to a host file must be read
// inside the rootfs, never on the host.
func TestResolveUserHostileSymlinks(t *testing.T) {
	top := t.TempDir()
	host := filepath.Join(top, "host")
	os.MkdirAll(filepath.Join(host, "etc"), 0o755)
	evil := "evil:x:4242:4242::/:/bin/sh\n"
	os.WriteFile(filepath.Join(host, "etc/passwd"), []byte(evil), 0o644)
	os.WriteFile(filepath.Join(host, "etc/group"), []byte("evil:x:4242:\n"), 0o644)

	links := map[string]struct{ path, target string }{
		"passwd absolute":      {"etc/passwd", filepath.Join(host, "etc/passwd")},
		"passwd relative":      {"etc/passwd", "../../../../../../../../.." + filepath.Join(host, "etc/passwd")},
		"etc absolute":         {"etc", filepath.Join(host, "etc")},
		"etc relative sibling": {"etc", "../host/etc"},
	}
	for n, l := range links {
		t.Run(n, func(t *testing.T) {
			r := filepath.Join(t.TempDir(), "rootfs")
			os.MkdirAll(filepath.Join(r, filepath.Dir(l.path)), 0o755)
			if l.path == "etc" {
				// the relative link reaches the rootfs's sibling "host"
				target := l.target
				if !filepath.IsAbs(target) {
					os.Symlink(host, filepath.Join(filepath.Dir(r), "host"))
				}
				os.Symlink(target, filepath.Join(r, "etc"))
			} else {
				os.Symlink(l.target, filepath.Join(r, l.path))
			}
			u, err := ResolveUser(r, "evil")
			if err == nil {
				t.Fatalf("user \"evil\" resolved to %+v from a host file", u)
			}
			if u, err := ResolveUser(r, "evil:evil"); err == nil {
				t.Fatalf("user \"evil:evil\" resolved to %+v from a host file", u)
			}
		})
	}
}

func TestResolveUserRefusesDevices(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for mknod")
	}
	r := rootfsWithDB(t)
	os.Remove(filepath.Join(r, "etc/passwd"))
	os.MkdirAll(filepath.Join(r, "dev"), 0o755)
	if err := unix.Mknod(filepath.Join(r, "dev/zero"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 5))); err != nil {
		t.Skip(err)
	}
	os.Symlink("/dev/zero", filepath.Join(r, "etc/passwd"))
	_, err := ResolveUser(r, "app")
	if err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("err = %v, want a refusal of the device", err)
	}
}
