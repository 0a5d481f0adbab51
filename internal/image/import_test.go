package image

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/klauspost/compress/gzip"

	"github.com/hako-dev/hako/internal/image/imagetest"
)

// tree describes a root filesystem: every path with its type, mode,
// owner, size, content digest or link target, and modification time
// (except for directories: an upper layer adding to a directory without a
// directory entry leaves it with the time of unpacking, as with docker).
func tree(t testing.TB, dir string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		rel, _ := filepath.Rel(dir, p)
		line := fmt.Sprintf("%s %v %d:%d", rel, fi.Mode(), st.Uid, st.Gid)
		if !fi.IsDir() {
			line += fmt.Sprint(" ", fi.ModTime().Unix())
		}
		switch {
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			line += fmt.Sprintf(" %d %s", len(b), hex.EncodeToString(sum[:6]))
		case fi.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			line += " -> " + target
		}
		lines = append(lines, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// writeDockerSave writes img as docker save did before docker 25: one
// directory per layer holding an uncompressed layer.tar, the config as
// <id>.json, manifest.json with RepoTags; a duplicate layer is a symlink.
func writeDockerSave(t testing.TB, path string, img v1.Image, tag string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	add := func(name string, b []byte) {
		tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(b)), ModTime: imagetest.Created})
		tw.Write(b)
	}
	cfg, _ := img.RawConfigFile()
	cfgName, _ := img.ConfigName()
	add(cfgName.Hex+".json", cfg)
	layers, _ := img.Layers()
	var paths []string
	for i, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		dir := fmt.Sprintf("layer%d", i)
		tw.WriteHeader(&tar.Header{Name: dir + "/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: imagetest.Created})
		add(dir+"/layer.tar", b)
		paths = append(paths, dir+"/layer.tar")
	}
	// A third name for the first layer, as a symlink, exercises links.
	tw.WriteHeader(&tar.Header{Name: "dup/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: imagetest.Created})
	tw.WriteHeader(&tar.Header{Name: "dup/layer.tar", Typeflag: tar.TypeSymlink, Linkname: "../layer0/layer.tar", ModTime: imagetest.Created})
	paths[0] = "dup/layer.tar"
	m, _ := json.Marshal([]saveEntry{{Config: cfgName.Hex + ".json", RepoTags: []string{tag}, Layers: paths}})
	add("manifest.json", m)
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
}

// writeLayout writes an OCI layout holding idx, named ref.
func writeLayout(t testing.TB, dir string, idx v1.ImageIndex, ref string) {
	t.Helper()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendIndex(idx, layout.WithAnnotations(map[string]string{AnnotationRefName: ref})); err != nil {
		t.Fatal(err)
	}
}

// tarDir writes dir's content as a tar (optionally gzip) archive, the way
// docker export and `tar -C dir -c .` do.
func tarDir(t testing.TB, dir, out string, gz bool) {
	t.Helper()
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var w io.Writer = f
	var zw *gzip.Writer
	if gz {
		zw = gzip.NewWriter(f)
		w = zw
	}
	tw := tar.NewWriter(w)
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		link, _ := os.Readlink(p)
		h, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return err
		}
		h.Name, _ = filepath.Rel(dir, p)
		if fi.IsDir() {
			h.Name += "/"
		}
		h.Uname, h.Gname = "", ""
		h.Format = tar.FormatPAX
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if fi.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			tw.Write(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	tw.Close()
	if zw != nil {
		zw.Close()
	}
}

func gzipFile(t testing.TB, in, out string) {
	t.Helper()
	b, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// tarLayout writes an OCI layout directory as a tar.
func tarLayout(t testing.TB, dir, out string) { tarDir(t, dir, out, false) }

func TestImportRoundTrips(t *testing.T) {
	host := imagetest.Platforms()[0]
	img := imagetest.Image(t, host)
	tmp := t.TempDir()
	ref := "127.0.0.1:5000/hako/busybox:1.0"

	// The reference: the OCI layout directory.
	writeLayout(t, filepath.Join(tmp, "layout"), imagetest.Index(t), ref)
	s := newStore(t)
	recs, kind, err := s.Import(context.Background(), filepath.Join(tmp, "layout"), ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if kind != KindOCILayout || len(recs) != 1 || recs[0].Name != ref || recs[0].Platform != platformString(host) {
		t.Fatalf("layout import: %s %+v", kind, recs)
	}
	ref0 := unpackImage(t, s, recs[0])
	imagetest.CheckRootfs(t, ref0, host)
	want := tree(t, ref0)

	tarLayout(t, filepath.Join(tmp, "layout"), filepath.Join(tmp, "layout.tar"))
	writeDockerSave(t, filepath.Join(tmp, "save.tar"), img, "127.0.0.1:5000/hako/busybox:save")
	tag, _ := name.NewTag("127.0.0.1:5000/hako/busybox:ggcr")
	if err := tarball.WriteToFile(filepath.Join(tmp, "save-gz.tar"), tag, img); err != nil {
		t.Fatal(err)
	}
	gzipFile(t, filepath.Join(tmp, "save.tar"), filepath.Join(tmp, "save.tar.gz"))
	tarDir(t, ref0, filepath.Join(tmp, "export.tar"), false)
	tarDir(t, ref0, filepath.Join(tmp, "export.tar.gz"), true)
	// An unpacked docker save archive is a directory with manifest.json.
	saveDir := filepath.Join(tmp, "save-dir")
	os.Mkdir(saveDir, 0o755)
	if out, err := runTar("-C", saveDir, "-xf", filepath.Join(tmp, "save.tar")); err != nil {
		t.Fatalf("tar -x: %v %s", err, out)
	}

	cases := []struct {
		file string
		kind Kind
		name string
		opts ImportOptions
	}{
		{"layout.tar", KindOCILayout, ref, ImportOptions{}},
		{"save.tar", KindDockerSave, "127.0.0.1:5000/hako/busybox:save", ImportOptions{}},
		{"save.tar.gz", KindDockerSave, "127.0.0.1:5000/hako/busybox:save", ImportOptions{}},
		{"save-gz.tar", KindDockerSave, "127.0.0.1:5000/hako/busybox:ggcr", ImportOptions{}},
		{"save-dir", KindDockerSave, "127.0.0.1:5000/hako/busybox:save", ImportOptions{}},
		{"export.tar", KindDockerExport, "127.0.0.1:5000/exported:plain", ImportOptions{Name: "127.0.0.1:5000/exported:plain"}},
		{"export.tar.gz", KindDockerExport, "127.0.0.1:5000/exported:gz", ImportOptions{Name: "127.0.0.1:5000/exported:gz"}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			if k, err := s.Detect(filepath.Join(tmp, c.file)); err != nil || k != c.kind {
				t.Fatalf("Detect = %q, %v; want %q", k, err, c.kind)
			}
			recs, kind, err := s.Import(context.Background(), filepath.Join(tmp, c.file), c.opts)
			if err != nil {
				t.Fatal(err)
			}
			if kind != c.kind || len(recs) != 1 {
				t.Fatalf("import: %s %+v", kind, recs)
			}
			if recs[0].Name != c.name {
				t.Errorf("name = %q, want %q", recs[0].Name, c.name)
			}
			rootfs := unpackImage(t, s, recs[0])
			imagetest.CheckRootfs(t, rootfs, host)
			if got := tree(t, rootfs); got != want {
				t.Errorf("root filesystem differs from the OCI layout's:\n%s", diffLines(want, got))
			}
		})
	}
}

func diffLines(a, b string) string {
	as, bs := map[string]bool{}, map[string]bool{}
	for _, l := range strings.Split(a, "\n") {
		as[l] = true
	}
	for _, l := range strings.Split(b, "\n") {
		bs[l] = true
	}
	var out []string
	for l := range as {
		if !bs[l] {
			out = append(out, "- "+l)
		}
	}
	for l := range bs {
		if !as[l] {
			out = append(out, "+ "+l)
		}
	}
	sort.Strings(out)
	if len(out) > 20 {
		out = out[:20]
	}
	return strings.Join(out, "\n")
}

func TestImportRejectsWhatItCannotRead(t *testing.T) {
	tmp := t.TempDir()
	write := func(n string, b []byte) string {
		p := filepath.Join(tmp, n)
		os.WriteFile(p, b, 0o644)
		return p
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(strings.Repeat("not a tar ", 100)))
	zw.Close()
	var odd bytes.Buffer
	tw := tar.NewWriter(&odd)
	tw.WriteHeader(&tar.Header{Name: "README", Typeflag: tar.TypeReg, Size: 2, Mode: 0o644})
	tw.Write([]byte("hi"))
	tw.Close()
	emptyDir := filepath.Join(tmp, "empty")
	os.Mkdir(emptyDir, 0o755)
	cases := map[string]struct{ path, want string }{
		"text":      {write("notes.txt", []byte(strings.Repeat("hello\n", 200))), "not a tar archive"},
		"gzip text": {write("notes.gz", gz.Bytes()), "not a tar archive inside the gzip stream"},
		"odd tar":   {write("odd.tar", odd.Bytes()), "no manifest.json (docker save), no oci-layout"},
		"empty dir": {emptyDir, "holds no oci-layout file"},
		"missing":   {filepath.Join(tmp, "nope"), "no such file"},
	}
	for n, c := range cases {
		t.Run(n, func(t *testing.T) {
			_, _, err := newStore(t).Import(context.Background(), c.path, ImportOptions{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
			if n != "missing" && !strings.Contains(err.Error(), "hako import reads") {
				t.Errorf("err = %v: it must say what is expected", err)
			}
		})
	}
}

func TestImportNameNeedsOneImage(t *testing.T) {
	tmp := t.TempDir()
	p, _ := layout.Write(tmp, empty.Index)
	for _, pl := range imagetest.Platforms() {
		p.AppendImage(imagetest.Image(t, pl))
	}
	_, _, err := newStore(t).Import(context.Background(), tmp, ImportOptions{Name: "x:1"})
	if err == nil || !strings.Contains(err.Error(), "--name can name only one") {
		t.Fatalf("err = %v", err)
	}
	// Without --name both are imported, unnamed (no ref.name).
	recs, _, err := newStore(t).Import(context.Background(), tmp, ImportOptions{})
	if err != nil || len(recs) != 2 || recs[0].Name != "" {
		t.Fatalf("recs = %+v, %v", recs, err)
	}
}

// Hostile: digests that are paths, names that climb out of a directory.
func TestImportHostileDigests(t *testing.T) {
	for _, bad := range []string{"sha256:../x", "sha256:../../../../etc/passwd", "../../x:abc", "sha256:" + strings.Repeat("A", 64)} {
		tmp := t.TempDir()
		dir := filepath.Join(tmp, "layout")
		os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755)
		os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644)
		idx := fmt.Sprintf(`{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":%q,"size":2}]}`, bad)
		os.WriteFile(filepath.Join(dir, "index.json"), []byte(idx), 0o644)
		os.WriteFile(filepath.Join(tmp, "x"), []byte("{}"), 0o644)
		s := newStore(t)
		_, _, err := s.Import(context.Background(), dir, ImportOptions{})
		if err == nil {
			t.Fatalf("digest %q accepted", bad)
		}
		t.Logf("%s: %v", bad, err)
		if list, _ := s.List(); len(list) != 0 {
			t.Errorf("digest %q: recorded %v", bad, list)
		}
	}
	if _, err := ParseDigestForTest("sha256:../x"); err == nil {
		t.Error("parseDigest accepted sha256:../x")
	}
}

func TestImportLayoutVerifiesBlobs(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "layout")
	img := imagetest.Image(t, imagetest.Platforms()[0])
	p, _ := layout.Write(dir, empty.Index)
	p.AppendImage(img)
	for _, d := range layerDigests(t, img) {
		f := filepath.Join(dir, "blobs", "sha256", d.Hex)
		b, _ := os.ReadFile(f)
		b[len(b)/2] ^= 0xff
		os.WriteFile(f, b, 0o644)
	}
	s := newStore(t)
	_, _, err := s.Import(context.Background(), dir, ImportOptions{})
	if err == nil || !strings.Contains(err.Error(), "refusing corrupted or tampered content") {
		t.Fatalf("err = %v", err)
	}
	if list, _ := s.List(); len(list) != 0 {
		t.Errorf("recorded %v", list)
	}
}

func TestImportDockerSaveDirConfinesNames(t *testing.T) {
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "save")
	os.Mkdir(dir, 0o755)
	os.WriteFile(filepath.Join(tmp, "secret.json"), []byte(`{"rootfs":{"type":"layers","diff_ids":[]}}`), 0o644)
	os.Symlink("../secret.json", filepath.Join(dir, "link.json"))
	for _, cfg := range []string{"../secret.json", "link.json", "/etc/hostname"} {
		m, _ := json.Marshal([]saveEntry{{Config: cfg, Layers: nil}})
		os.WriteFile(filepath.Join(dir, "manifest.json"), m, 0o644)
		_, _, err := newStore(t).Import(context.Background(), dir, ImportOptions{})
		if err == nil {
			t.Errorf("config %q outside the directory was read", cfg)
		} else {
			t.Logf("%s: %v", cfg, err)
		}
	}
}

func TestImportCorruptDockerSave(t *testing.T) {
	tmp := t.TempDir()
	img := imagetest.Image(t, imagetest.Platforms()[0])
	writeDockerSave(t, filepath.Join(tmp, "save.tar"), img, "x:1")
	b, _ := os.ReadFile(filepath.Join(tmp, "save.tar"))
	// Flip a byte inside the upper layer's content ("hello from hako").
	i := bytes.Index(b, []byte(imagetest.Hello))
	b[i] ^= 0x20
	os.WriteFile(filepath.Join(tmp, "save.tar"), b, 0o644)
	_, _, err := newStore(t).Import(context.Background(), filepath.Join(tmp, "save.tar"), ImportOptions{})
	if err == nil || !strings.Contains(err.Error(), "diff id") {
		t.Fatalf("err = %v, want a diff id mismatch", err)
	}
}
