package cgroup

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/hako-dev/hako/internal/testutil"
)

func warmTouch(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestProcsFilePicksOwnCgroup(t *testing.T) {
	const self = "12:hugetlb:/\n9:name=systemd:/user.slice\n4:memory:/box/c1\n0::/user.slice/s\n"
	for _, tc := range []struct {
		name  string
		files []string
		want  string
	}{
		{"first v1 controller that exists", []string{"hugetlb/cgroup.procs", "memory/box/c1/cgroup.procs"}, "hugetlb/cgroup.procs"},
		{"skips a missing hierarchy and name=", []string{"systemd/user.slice/cgroup.procs", "memory/box/c1/cgroup.procs"}, "memory/box/c1/cgroup.procs"},
		{"hybrid v2 under unified", []string{"unified/user.slice/s/cgroup.procs"}, "unified/user.slice/s/cgroup.procs"},
		{"pure v2 at the mount", []string{"user.slice/s/cgroup.procs"}, "user.slice/s/cgroup.procs"},
		{"nothing mounted", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mnt := t.TempDir()
			for _, f := range tc.files {
				warmTouch(t, filepath.Join(mnt, f))
			}
			got := warmProcsFile(self, mnt)
			want := ""
			if tc.want != "" {
				want = filepath.Join(mnt, tc.want)
			}
			if got != want {
				t.Fatalf("got %q, want %q", got, want)
			}
		})
	}
}

func TestProcsFileRefusesOddPaths(t *testing.T) {
	mnt := t.TempDir()
	warmTouch(t, filepath.Join(mnt, "memory", "cgroup.procs"))
	for _, self := range []string{"4:memory:relative\n", "4:memory:/../..\n", "garbage\n", ""} {
		if got := warmProcsFile(self, mnt); got != "" {
			t.Errorf("%q: got %q, want none", strings.TrimSpace(self), got)
		}
	}
}

// The warm-up write is a no-op: after it, this process is in exactly the
// cgroups it was in.
func TestWriteMovesNothing(t *testing.T) {
	testutil.RequiresRoot(t)
	before, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	p := warmProcsFile(string(before), "/sys/fs/cgroup")
	if p == "" {
		t.Skip("no cgroup hierarchy mounted at /sys/fs/cgroup")
	}
	warmWrite(p, os.Getpid())
	after, _ := os.ReadFile("/proc/self/cgroup")
	if string(after) != string(before) {
		t.Fatalf("cgroups changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	members, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains("\n"+string(members), "\n"+strconv.Itoa(os.Getpid())+"\n") {
		t.Fatalf("%s does not list this process (%d)", p, os.Getpid())
	}
}

// The first create of a state root is alone; one that starts while it
// runs is not; once both are done, the next one is alone again.
func TestClaimSeesConcurrentCreates(t *testing.T) {
	dir := t.TempDir()
	alone1, release1 := warmClaim(dir)
	if !alone1 {
		t.Fatal("the first create is not alone")
	}
	alone2, release2 := warmClaim(dir)
	if alone2 {
		t.Error("a create that started during another one is alone")
	}
	release1()
	release2()
	alone3, release3 := warmClaim(dir)
	defer release3()
	if !alone3 {
		t.Error("a create after the others ended is not alone")
	}
}
