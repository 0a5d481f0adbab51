package seccomp_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hako-dev/hako/internal/libseccomp"
	"github.com/hako-dev/hako/internal/seccomp"
	"github.com/hako-dev/hako/internal/testutil"
)

// countingHelper is a helper that counts its runs in dir/count, then runs
// the real one.
func countingHelper(t *testing.T, dir string) (path string, runs func() int) {
	t.Helper()
	real := testutil.SeccompHelper(t)
	count := filepath.Join(dir, "count")
	path = filepath.Join(dir, "hako-seccomp")
	script := "#!/bin/sh\necho >>" + count + "\nexec " + real + "\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path, func() int {
		b, err := os.ReadFile(count)
		if errors.Is(err, os.ErrNotExist) {
			return 0
		}
		if err != nil {
			t.Fatal(err)
		}
		return strings.Count(string(b), "\n")
	}
}

// countingCompiler is a Compiler with a cache of its own and the counting
// helper.
func countingCompiler(t *testing.T) (c *seccomp.Compiler, helper string, runs func() int) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the helper")
	}
	dir := t.TempDir()
	helper, runs = countingHelper(t, dir)
	return &seccomp.Compiler{CacheDir: filepath.Join(dir, seccomp.CacheName), HelperPath: helper}, helper, runs
}

func TestCompileMatchesLibseccompAndCaches(t *testing.T) {
	c, helper, runs := countingCompiler(t)
	s := testutil.MkdirSeccompProfile()
	s.Flags = []specs.LinuxSeccompFlag{"SECCOMP_FILTER_FLAG_TSYNC", specs.LinuxSeccompFlagLog}
	want, err := libseccomp.Compile(s)
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, wantRuns int) {
		t.Helper()
		p, err := c.Compile(s)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if !reflect.DeepEqual(p.Filter, want) {
			t.Errorf("%s: the program differs from libseccomp's", what)
		}
		if p.Flags != unix.SECCOMP_FILTER_FLAG_TSYNC|unix.SECCOMP_FILTER_FLAG_LOG {
			t.Errorf("%s: flags %#x", what, p.Flags)
		}
		if len(p.Unknown) != 1 || p.Unknown[0].Name != "hako_no_such_syscall" || p.Unknown[0].Field != "linux.seccomp.syscalls[0].names[1]" {
			t.Errorf("%s: unknown names %+v", what, p.Unknown)
		}
		if got := runs(); got != wantRuns {
			t.Errorf("%s: the helper ran %d times in all, want %d", what, got, wantRuns)
		}
	}
	check("first compile", 1)
	check("same profile again (from the cache)", 1)
	// Flags are not part of the program, but part of the key.
	s.Flags = s.Flags[:1]
	if p, err := c.Compile(s); err != nil || p.Flags != unix.SECCOMP_FILTER_FLAG_TSYNC || runs() != 2 {
		t.Errorf("other flags: flags %#x, err %v, runs %d", p.Flags, err, runs())
	}
	s.Flags = append(s.Flags, specs.LinuxSeccompFlagLog)
	check("back to the first flags", 2)

	// Another profile is another entry.
	s.Syscalls[0].ErrnoRet = nil
	want, _ = libseccomp.Compile(s)
	check("another errnoRet", 3)
	check("another errnoRet again", 3)

	// A new helper binary (another mtime) invalidates every entry.
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(helper, later, later); err != nil {
		t.Fatal(err)
	}
	check("after the helper changed", 4)

	// A corrupt entry is recompiled and replaced.
	ents, err := os.ReadDir(c.CacheDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		p := filepath.Join(c.CacheDir, e.Name())
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		b[len(b)/2] ^= 0xff
		if err := os.WriteFile(p, b[:len(b)-1], 0o600); err != nil {
			t.Fatal(err)
		}
	}
	check("after corrupting the cache", 5)
	check("after the rewrite", 5)

	// A directory others may write is not trusted.
	if err := os.Chmod(c.CacheDir, 0o777); err != nil {
		t.Fatal(err)
	}
	check("group/world-writable cache", 6)
	check("group/world-writable cache again", 7)
	os.Chmod(c.CacheDir, 0o700)
	check("trusted again", 7)
}

func TestCompileErrorsNameTheField(t *testing.T) {
	c, _, runs := countingCompiler(t)
	s := testutil.MkdirSeccompProfile()
	s.Syscalls[2].Action = "SCMP_ACT_EXPLODE"
	for i := 1; i <= 2; i++ {
		_, err := c.Compile(s)
		if err == nil || !strings.Contains(err.Error(), `linux.seccomp.syscalls[2].action: unknown seccomp action "SCMP_ACT_EXPLODE"`) {
			t.Fatalf("error %v", err)
		}
		if runs() != i {
			t.Errorf("errors are not cached: run %d, helper ran %d times", i, runs())
		}
	}
	// Flags are checked here, before the helper runs.
	s = testutil.MkdirSeccompProfile()
	s.Flags = []specs.LinuxSeccompFlag{"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_FAST"}
	if _, err := c.Compile(s); err == nil || !strings.Contains(err.Error(), "linux.seccomp.flags[1]") || runs() != 2 {
		t.Errorf("bad flag: %v (helper runs: %d)", err, runs())
	}
	names, err := c.Unknown(testutil.MkdirSeccompProfile())
	if err != nil || len(names) != 1 || names[0].Name != "hako_no_such_syscall" {
		t.Errorf("Unknown: %+v, %v", names, err)
	}
	if v, err := c.LibraryVersion(); err != nil || !strings.HasPrefix(v, "2.") {
		t.Errorf("LibraryVersion: %q, %v", v, err)
	}
}

func TestHelperMissingOrBroken(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(seccomp.HelperEnv, filepath.Join(dir, "nope"))
	_, err := (&seccomp.Compiler{}).Compile(testutil.MkdirSeccompProfile())
	if err == nil || !strings.Contains(err.Error(), "hako-seccomp") || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing helper: %v", err)
	}
	liar := filepath.Join(dir, "liar")
	os.WriteFile(liar, []byte("#!/bin/sh\necho '{\"filter\": \"AAE=\"}'\n"), 0o755)
	_, err = (&seccomp.Compiler{HelperPath: liar}).Compile(testutil.MkdirSeccompProfile())
	if err == nil || !strings.Contains(err.Error(), "not 1 to 65535 instructions") {
		t.Errorf("a 2-byte program: %v", err)
	}
	failing := filepath.Join(dir, "failing")
	os.WriteFile(failing, []byte("#!/bin/sh\necho out of luck >&2\nexit 2\n"), 0o755)
	_, err = (&seccomp.Compiler{HelperPath: failing}).Compile(testutil.MkdirSeccompProfile())
	if err == nil || !strings.Contains(err.Error(), "out of luck") {
		t.Errorf("failing helper: %v", err)
	}
}

// Every field of the profile is part of the cache key: changing any one
// of them, anywhere in the structure, changes the key. When the runtime
// spec grows a field, this fails until appendProfile encodes it.
func TestKeyCoversEveryField(t *testing.T) {
	base := func() *specs.LinuxSeccomp {
		s := testutil.MkdirSeccompProfile()
		s.Syscalls = s.Syscalls[2:3] // one rule with args
		return s
	}
	key0 := seccomp.ProfileKey(base())
	n := 0
	var visit func(path string, get func(*specs.LinuxSeccomp) reflect.Value)
	visit = func(path string, get func(*specs.LinuxSeccomp) reflect.Value) {
		v := get(base())
		switch v.Kind() {
		case reflect.Struct:
			for i := 0; i < v.NumField(); i++ {
				i := i
				visit(path+"."+v.Type().Field(i).Name, func(s *specs.LinuxSeccomp) reflect.Value { return get(s).Field(i) })
			}
			return
		case reflect.Slice:
			if v.Type().Elem().Kind() == reflect.Struct {
				if v.Len() == 0 {
					t.Fatalf("%s: the base profile needs an element to look into", path)
				}
				visit(path+"[0]", func(s *specs.LinuxSeccomp) reflect.Value { return get(s).Index(0) })
			}
		}
		s := base()
		f := get(s)
		switch f.Kind() {
		case reflect.String:
			f.SetString(f.String() + "x")
		case reflect.Uint, reflect.Uint32, reflect.Uint64:
			f.SetUint(f.Uint() + 3)
		case reflect.Pointer:
			if f.IsNil() {
				f.Set(reflect.New(f.Type().Elem()))
			} else {
				f.Set(reflect.Zero(f.Type()))
			}
		case reflect.Slice:
			f.Set(reflect.Append(f, reflect.Zero(f.Type().Elem())))
		default:
			t.Fatalf("%s: kind %s not handled by this test", path, f.Kind())
		}
		n++
		if string(seccomp.ProfileKey(s)) == string(key0) {
			t.Errorf("changing %s does not change the cache key", path)
		}
	}
	visit("linux.seccomp", func(s *specs.LinuxSeccomp) reflect.Value { return reflect.ValueOf(s).Elem() })
	if n < 15 {
		t.Errorf("only %d fields visited", n)
	}
	// Lengths before contents: moving a name from one list to the next
	// is another key.
	a, b := base(), base()
	a.Syscalls[0].Names = []string{"ab"}
	b.Syscalls[0].Names = []string{"a", "b"}
	if string(seccomp.ProfileKey(a)) == string(seccomp.ProfileKey(b)) {
		t.Error(`["ab"] and ["a", "b"] have one key`)
	}
}

func FuzzDecodeEntry(f *testing.F) {
	p := &seccomp.Program{Filter: []unix.SockFilter{{Code: 6, K: 0x7fff0000}}, Unknown: []seccomp.Name{{Field: "f", Name: "n", Elsewhere: true}}}
	f.Add([]byte("key"), seccomp.EncodeEntry([]byte("key"), p))
	f.Add([]byte(""), []byte{})
	f.Fuzz(func(t *testing.T, key, b []byte) {
		got, err := seccomp.DecodeEntry(key, b)
		if err != nil {
			return
		}
		// What decodes encodes to the same bytes.
		if again := seccomp.EncodeEntry(key, got); string(again) != string(b) {
			t.Errorf("decode(%q) re-encodes as %q", b, again)
		}
	})
}

func TestEntryRoundTrip(t *testing.T) {
	p := &seccomp.Program{Filter: []unix.SockFilter{{Code: 0x20, K: 4}, {Code: 6, K: 0x7fff0000}},
		Unknown: []seccomp.Name{{Field: "linux.seccomp.syscalls[0].names[1]", Name: "x"}, {Field: "y", Name: strconv.Itoa(7), Elsewhere: true}}}
	b := seccomp.EncodeEntry([]byte("k"), p)
	got, err := seccomp.DecodeEntry([]byte("k"), b)
	if err != nil || !reflect.DeepEqual(got, p) {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	if _, err := seccomp.DecodeEntry([]byte("other"), b); err == nil {
		t.Error("an entry of another key decodes")
	}
	for i := range b {
		if _, err := seccomp.DecodeEntry([]byte("k"), b[:i]); err == nil {
			t.Errorf("the first %d of %d bytes decode", i, len(b))
		}
	}
}
