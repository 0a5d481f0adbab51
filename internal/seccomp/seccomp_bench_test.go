package seccomp_test

import (
	"path/filepath"
	"testing"

	"github.com/hako-dev/hako/internal/seccomp"
	"github.com/hako-dev/hako/internal/testutil"
)

// BenchmarkCompileCached is what create, run and exec pay for a profile
// compiled before: the key (the helper's stat, uname, the profile's
// encoding) and one cache file read and decoded.
func BenchmarkCompileCached(b *testing.B) {
	c := &seccomp.Compiler{CacheDir: filepath.Join(b.TempDir(), seccomp.CacheName), HelperPath: testutil.SeccompHelper(b)}
	s := testutil.MkdirSeccompProfile()
	if _, err := c.Compile(s); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Compile(s); err != nil {
			b.Fatal(err)
		}
	}
}
