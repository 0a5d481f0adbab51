package unpack

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
)

// The hostile-layer corpus: testdata/hostile/NAME.tar, one layer per known
// way out of a root filesystem. The tars are generated from the table below
// (go test -run TestHostileCorpusUpToDate -update) and checked in, so that
// other tools can be tried on them too (tar -tvf, umoci, ...).
//
// Each case runs on a rootfs at T/rootfs that already holds a lower layer,
// next to T/canary/sentinel; layers aim either at T/canary through "..",
// or at the absolute host directory /tmp/hako-unpack-canary. Every test
// checks that neither canary changed and that nothing appeared in T beside
// the rootfs.

var update = flag.Bool("update", false, "rewrite testdata/hostile from the generator")

const absCanary = "/tmp/hako-unpack-canary"

type hostileCase struct {
	name string
	doc  string
	ents []ent
	// wantErr is a substring of the expected error ("" means Apply succeeds).
	wantErr string
	// check inspects the rootfs after Apply (may be nil).
	check func(t *testing.T, rootfs string)
}

var hostileCorpus = []hostileCase{
	{name: "dotdot-name", doc: "a name climbing out with ../",
		ents: []ent{file("../canary/pwned", "pwned")}, wantErr: "reach outside"},
	{name: "dotdot-deep", doc: "a name climbing out after going down",
		ents: []ent{dir("a/"), file("a/b/../../../canary/pwned", "pwned")}, wantErr: "reach outside"},
	{name: "absolute-name", doc: "an absolute name is read relative to the root",
		ents: []ent{file(absCanary+"/pwned", "inside")},
		check: func(t *testing.T, r string) {
			if got := readFile(t, filepath.Join(r, absCanary, "pwned")); got != "inside" {
				t.Errorf("absolute name not written inside the root: %q", got)
			}
		}},
	{name: "absolute-dotdot-name", doc: "an absolute name that climbs out",
		ents: []ent{file("/../canary/pwned", "pwned")}, wantErr: "reach outside"},
	{name: "symlink-absolute-then-write", doc: "an absolute symlink to a host directory, then a file through it",
		ents: []ent{dir("tmp/"), dir("tmp/hako-unpack-canary/"), symlink("evil", absCanary), file("evil/pwned", "inside")},
		check: func(t *testing.T, r string) {
			readFile(t, filepath.Join(r, absCanary, "pwned"))
		}},
	{name: "symlink-absolute-dangling-then-write", doc: "an absolute symlink to a host directory absent from the root, then a file through it",
		ents: []ent{symlink("evil", absCanary), file("evil/pwned", "inside")}, wantErr: "symlink whose target is missing"},
	{name: "symlink-relative-then-write", doc: "a relative symlink climbing out, then a file through it",
		ents: []ent{dir("canary/"), symlink("evil", "../../../../../../canary"), file("evil/pwned", "inside")},
		check: func(t *testing.T, r string) {
			readFile(t, filepath.Join(r, "canary/pwned"))
		}},
	{name: "symlink-relative-sibling-then-write", doc: "a relative symlink to the rootfs's sibling directory, then a file through it",
		ents: []ent{symlink("evil", "../canary"), file("evil/pwned", "inside")}, wantErr: "symlink whose target is missing"},
	{name: "symlink-chain-then-write", doc: "a chain of symlinks ending above the root, then a file through it",
		ents: []ent{dir("x/"), symlink("l1", "l2/x"), symlink("l2", "l3"), symlink("l3", "d/../../../.."), dir("d/"), file("l1/pwned", "inside")},
		check: func(t *testing.T, r string) {
			readFile(t, filepath.Join(r, "x/pwned"))
		}},
	{name: "symlink-then-overwrite", doc: "a symlink to a host file, then a regular file of the same name",
		ents: []ent{symlink("evil", absCanary+"/sentinel"), symlink("evil2", "../canary/sentinel"), file("evil", "replaced"), file("evil2", "replaced")},
		check: func(t *testing.T, r string) {
			for _, n := range []string{"evil", "evil2"} {
				if !lstat(t, filepath.Join(r, n)).Mode().IsRegular() {
					t.Errorf("%s: the file must replace the symlink", n)
				}
			}
		}},
	{name: "symlink-then-mkdir", doc: "a symlink to a host directory, then a directory of the same name with a child",
		ents: []ent{symlink("d", "../canary"), dir("d/"), file("d/pwned", "inside")},
		check: func(t *testing.T, r string) {
			if !lstat(t, filepath.Join(r, "d")).IsDir() {
				t.Error("d must be a directory replacing the symlink")
			}
		}},
	{name: "hardlink-dotdot", doc: "a hard link to a host file through ..",
		ents: []ent{hardlink("h", "../canary/sentinel")}, wantErr: "reach outside"},
	{name: "hardlink-absolute", doc: "a hard link to an absolute host path",
		ents: []ent{hardlink("h", absCanary+"/sentinel")}, wantErr: "not in the root filesystem"},
	{name: "hardlink-through-symlink", doc: "a symlink to a host directory, then a hard link through it",
		ents: []ent{symlink("s", absCanary), hardlink("h", "s/sentinel")}, wantErr: "not in the root filesystem"},
	{name: "hardlink-through-relative-symlink", doc: "a symlink to the sibling directory, then a hard link through it",
		ents: []ent{symlink("s", "../canary"), hardlink("h", "s/sentinel")}, wantErr: "not in the root filesystem"},
	{name: "hardlink-to-symlink-then-write", doc: "a hard link to a symlink pointing out, then a file written to the link's name",
		ents: []ent{symlink("s", absCanary+"/sentinel"), hardlink("h", "s"), file("h", "replaced")},
		check: func(t *testing.T, r string) {
			if target, _ := os.Readlink(filepath.Join(r, "s")); target != absCanary+"/sentinel" {
				t.Errorf("s -> %q", target)
			}
		}},
	{name: "hardlink-to-directory", doc: "a hard link to a directory",
		ents: []ent{hardlink("h", "etc")}, wantErr: "directory"},
	{name: "root-symlink", doc: "a '.' entry that is a symlink to a host directory, then a file",
		ents: []ent{symlink(".", absCanary), file("pwned", "inside")}, wantErr: "may not replace the root directory"},
	{name: "root-symlink-slash", doc: "a './' entry that is a symlink, then a file",
		ents: []ent{symlink("./", "../canary"), file("pwned", "inside")}, wantErr: "may not replace the root directory"},
	{name: "root-file", doc: "a '.' entry that is a regular file",
		ents: []ent{file(".", "x")}, wantErr: "may not replace the root directory"},
	{name: "whiteout-dotdot", doc: "a whiteout of '..' (umoci removed the whole root for it)",
		ents: []ent{file(".wh...", "")}, wantErr: "not a file in the directory"},
	{name: "whiteout-dotdot-nested", doc: "a whiteout of '..' in a subdirectory",
		ents: []ent{file("etc/.wh...", "")}, wantErr: "not a file in the directory"},
	{name: "whiteout-dot", doc: "a whiteout of '.'",
		ents: []ent{file("etc/.wh..", "")}, wantErr: "not a file in the directory"},
	{name: "whiteout-empty", doc: "a whiteout naming nothing",
		ents: []ent{file("etc/.wh.", "")}, wantErr: "not a file in the directory"},
	{name: "whiteout-through-symlink", doc: "a symlink to a host directory, then a whiteout through it",
		ents: []ent{symlink("evil", absCanary), file("evil/.wh.sentinel", "")}},
	{name: "whiteout-through-relative-symlink", doc: "a symlink to the sibling directory, then a whiteout through it",
		ents: []ent{symlink("evil", "../canary"), file("evil/.wh.sentinel", "")}},
	{name: "opaque-through-symlink", doc: "a symlink to a host directory, then an opaque whiteout through it",
		ents: []ent{symlink("evil", absCanary), symlink("evil2", "../canary"), file("evil/.wh..wh..opq", ""), file("evil2/.wh..wh..opq", "")}},
	{name: "huge-uid", doc: "uid 2^33 (truncated to 0 by other tools)",
		ents: []ent{file("f", "x").with(func(e *ent) { e.uid = 1 << 33 })}, wantErr: "out of range"},
	{name: "huge-gid", doc: "gid 2^31",
		ents: []ent{file("f", "x").with(func(e *ent) { e.gid = 1 << 31 })}, wantErr: "out of range"},
	{name: "huge-uid-symlink", doc: "a symlink with uid 2^32 (would wrap to 0)",
		ents: []ent{symlink("l", "x").with(func(e *ent) { e.uid = 1 << 32 })}, wantErr: "out of range"},
	{name: "device-outside", doc: "a device node named through ..",
		ents: []ent{{name: "../canary/null", typ: '3', mode: 0o666, major: 1, minor: 3}}, wantErr: "reach outside"},
}

func corpusPath(name string) string { return filepath.Join("testdata", "hostile", name+".tar") }

func TestHostileCorpusUpToDate(t *testing.T) {
	for _, c := range hostileCorpus {
		want := tarOf(t, c.ents...)
		if *update {
			if err := os.MkdirAll(filepath.Dir(corpusPath(c.name)), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(corpusPath(c.name), want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(corpusPath(c.name))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s is missing or stale (%v): run go test -run TestHostileCorpusUpToDate -update", corpusPath(c.name), err)
		}
	}
}

// hostileSetup makes T/rootfs (with a lower layer), T/canary/sentinel and
// the absolute canary, and returns the rootfs and a function checking that
// nothing outside the rootfs changed.
func hostileSetup(t *testing.T) (string, func()) {
	t.Helper()
	top := t.TempDir()
	rootfs := filepath.Join(top, "rootfs")
	canary := filepath.Join(top, "canary")
	for _, d := range []string{rootfs, canary} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(canary, "sentinel"), []byte("host data\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The absolute canary is shared by every run (and user): made once,
	// then only read.
	os.MkdirAll(absCanary, 0o755)
	if f, err := os.OpenFile(filepath.Join(absCanary, "sentinel"), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644); err == nil {
		f.WriteString("host data\n")
		f.Close()
	}
	if _, err := os.ReadFile(filepath.Join(absCanary, "sentinel")); err != nil {
		t.Fatalf("canary %s: %v", absCanary, err)
	}
	apply(t, rootfs, tarOf(t, file("etc/passwd", "root:x:0:0::/root:/bin/sh\n"), file("keep", "lower")))
	before := map[string]string{canary: snapshot(t, canary), absCanary: snapshot(t, absCanary)}
	topBefore := listDir(t, top)
	return rootfs, func() {
		t.Helper()
		for d, s := range before {
			if got := snapshot(t, d); got != s {
				t.Errorf("ESCAPE: %s changed:\n%s\nwas\n%s", d, got, s)
			}
		}
		if got := listDir(t, top); got != topBefore {
			t.Errorf("ESCAPE: %s now holds %s, was %s", top, got, topBefore)
		}
		if _, err := os.Lstat("/pwned"); err == nil {
			t.Errorf("ESCAPE: /pwned exists")
		}
	}
}

func listDir(t *testing.T, d string) string {
	es, err := os.ReadDir(d)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return strings.Join(names, ",")
}

func TestHostile(t *testing.T) { testHostile(t) }

// TestHostileWithoutOpenat2 runs the corpus on the resolver used where
// openat2 is missing (kernels before 5.6, or filtered by seccomp).
func TestHostileWithoutOpenat2(t *testing.T) {
	useOpenat2 = false
	defer func() { useOpenat2 = true }()
	testHostile(t)
}

func testHostile(t *testing.T) {
	for _, c := range hostileCorpus {
		t.Run(c.name, func(t *testing.T) {
			layer, err := os.ReadFile(corpusPath(c.name))
			if err != nil {
				t.Fatalf("%v (run go test -run TestHostileCorpusUpToDate -update)", err)
			}
			rootfs, noEscape := hostileSetup(t)
			_, err = Apply(context.Background(), rootfs, bytes.NewReader(layer), Options{})
			noEscape()
			switch {
			case c.wantErr == "" && err != nil:
				t.Fatalf("%s: unexpected error: %v", c.doc, err)
			case c.wantErr != "" && err == nil:
				t.Fatalf("%s: Apply succeeded, want an error mentioning %q", c.doc, c.wantErr)
			case c.wantErr != "" && !strings.Contains(err.Error(), c.wantErr):
				t.Fatalf("%s: error %q does not mention %q", c.doc, err, c.wantErr)
			}
			if err != nil {
				t.Logf("%s: %v", c.doc, err)
				var ee *EntryError
				if !errors.As(err, &ee) {
					t.Errorf("error %v is not an *EntryError naming the entry", err)
				}
			}
			// The lower layer is intact unless the case replaced it.
			if got := readFile(t, filepath.Join(rootfs, "keep")); got != "lower" {
				t.Errorf("rootfs/keep = %q", got)
			}
			if c.check != nil {
				c.check(t, rootfs)
			}
		})
	}
}

// TestHostileGzipBomb: a small gzip stream that decompresses to far more
// than the limit stops at the limit, having written no more than it.
func TestHostileGzipBomb(t *testing.T) {
	var bomb bytes.Buffer
	gw, _ := gzip.NewWriterLevel(&bomb, gzip.BestCompression)
	tw := tarWriterFor(t, gw, "zeros", 64<<20)
	zeros := make([]byte, 1<<20)
	for range 64 {
		tw.Write(zeros)
	}
	tw.Close()
	gw.Close()
	t.Logf("bomb: %d compressed bytes for 64 MiB", bomb.Len())
	rootfs, noEscape := hostileSetup(t)
	const limit = 8 << 20
	st, err := Apply(context.Background(), rootfs, &bomb, Options{MaxBytes: limit})
	noEscape()
	var le *LimitError
	if !errors.As(err, &le) {
		t.Fatalf("err = %v, want a *LimitError", err)
	}
	if st.Bytes > limit+1 {
		t.Errorf("read %d decompressed bytes, over the limit %d", st.Bytes, limit)
	}
	if fi, err := os.Stat(filepath.Join(rootfs, "zeros")); err == nil && fi.Size() > limit {
		t.Errorf("wrote %d bytes, over the limit", fi.Size())
	}
}
