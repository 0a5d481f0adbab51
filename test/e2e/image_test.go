package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hako-dev/hako/internal/image/imagetest"
	"github.com/hako-dev/hako/internal/spec"
	"github.com/hako-dev/hako/internal/testutil"
)

// The image half end to end: pull from an in-process registry (Bearer
// auth, 127.0.0.1 only), list, bundle, and run the bundle with the built
// binary.

// imgEnv is an image store, a registry holding the busybox index, and the
// environment hako needs to log in to it.
type imgEnv struct {
	t     *testing.T
	bin   string
	store string
	state string
	reg   *imagetest.Registry
	env   []string
}

func newImgEnv(t *testing.T) *imgEnv {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and drives the hako binary; skipped in -short mode")
	}
	testutil.RequiresBusybox(t)
	reg := imagetest.NewRegistry(t, imagetest.Bearer)
	reg.PushIndex(t, "hako/busybox:1.0", imagetest.Index(t))
	e := &imgEnv{t: t, bin: testutil.HakoBinary(t), store: t.TempDir(), state: t.TempDir(), reg: reg}
	e.env = append(os.Environ(), "DOCKER_CONFIG="+reg.DockerConfig(t, imagetest.Password), "HAKO_IMAGE_ROOT="+e.store)
	return e
}

type imgResult struct {
	stdout, stderr string
	code           int
}

func (r imgResult) String() string {
	return "exit " + itoa(r.code) + "\nstdout: " + r.stdout + "\nstderr: " + r.stderr
}

// withRunner is e for subtest t, with a state root of its own and
// HAKO_INIT=init (see runners) for every hako it runs.
func (e *imgEnv) withRunner(t *testing.T, init string) *imgEnv {
	c := *e
	c.t, c.state = t, t.TempDir()
	c.env = append(append([]string{}, e.env...), "HAKO_INIT="+init)
	return &c
}

// imgRun runs hako with the image environment and --root set.
func (e *imgEnv) imgRun(args ...string) imgResult {
	e.t.Helper()
	cmd := exec.Command(e.bin, append([]string{"--root", e.state}, args...)...)
	cmd.Env = e.env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := imgResult{stdout: out.String(), stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatalf("hako %v: %v", args, err)
	}
	return r
}

func (e *imgEnv) imgMust(args ...string) string {
	e.t.Helper()
	r := e.imgRun(args...)
	if r.code != 0 {
		e.t.Fatalf("hako %s: %s", strings.Join(args, " "), r)
	}
	return r.stdout
}

// imgRequireRun skips unless the binary knows `hako run`.
func (e *imgEnv) imgRequireRun() {
	e.t.Helper()
	if r := e.imgRun("run", "--help"); r.code != 0 {
		e.t.Skipf("`hako run` is not available in this build yet (hako run --help: exit %d): skipping the run step", r.code)
	}
}

func TestImgPullBundleRun(t *testing.T) {
	e := newImgEnv(t)
	ref := e.reg.Ref("hako/busybox:1.0")
	out := e.imgMust("pull", ref)
	if !strings.Contains(out, "Pulled "+ref) {
		t.Errorf("pull output: %s", out)
	}
	if list := e.imgMust("images"); !strings.Contains(list, ref) || !strings.Contains(list, imagetest.Platforms()[0].Architecture) {
		t.Errorf("images:\n%s", list)
	}
	dir := filepath.Join(t.TempDir(), "container")
	e.imgMust("bundle", ref, dir)
	imagetest.CheckRootfs(t, filepath.Join(dir, "rootfs"), imagetest.Platforms()[0])
	s, err := spec.LoadBundle(dir)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(s.Process.Args, " ") != "cat /etc/hello" || s.Process.Terminal {
		t.Errorf("config.json process: %+v", s.Process)
	}
	dir2 := filepath.Join(t.TempDir(), "container2")
	e.imgMust("bundle", "--hostname", "boxed", "-e", "GREETING=hi", ref, dir2, "--", "sh", "-c", "echo $GREETING from $(hostname) on $(cat /etc/platform)")

	testutil.RequiresRoot(t)
	testutil.BecomeSubreaper(t)
	e.imgRequireRun()
	// The bundles run on each runner (as forRunners does, with a state
	// root of the runner's own).
	for _, rn := range runners {
		t.Run(rn.name, func(t *testing.T) {
			e := e.withRunner(t, rn.init)
			r := e.imgRun("run", "--bundle", dir, "img-hello")
			if r.code != 0 || r.stdout != imagetest.Hello {
				t.Fatalf("hako run of the pulled image: %s\nwant stdout %q", r, imagetest.Hello)
			}
			r = e.imgRun("run", "--bundle", dir2, "img-args")
			want := "hi from boxed on " + imagetest.Platforms()[0].OS + "/" + imagetest.Platforms()[0].Architecture + "\n"
			if r.code != 0 || r.stdout != want {
				t.Fatalf("hako run: %s\nwant stdout %q", r, want)
			}
		})
	}
}

func TestImgCommandErrors(t *testing.T) {
	e := newImgEnv(t)
	ref := e.reg.Ref("hako/busybox:1.0")
	notATar := filepath.Join(t.TempDir(), "notes.txt")
	os.WriteFile(notATar, []byte(strings.Repeat("hello\n", 100)), 0o644)
	cases := []struct {
		args []string
		env  []string
		want string
	}{
		{[]string{"pull", ref}, []string{"DOCKER_CONFIG=" + t.TempDir()}, "docker login"},
		{[]string{"pull", "--platform", "linux/s390x", ref}, nil, "choose one with --platform"},
		{[]string{"pull", e.reg.Ref("hako/missing:1")}, nil, "does not exist"},
		{[]string{"bundle", "hako/never-pulled:1", t.TempDir()}, nil, "does not exist in the image store"},
		{[]string{"rmi", "hako/never-pulled:1"}, nil, "does not exist in the image store"},
		{[]string{"import", notATar}, nil, "not a tar archive"},
		{[]string{"images", "--format", "yaml"}, nil, "not supported"},
	}
	for _, c := range cases {
		saved := e.env
		e.env = append(append([]string{}, e.env...), c.env...)
		r := e.imgRun(c.args...)
		e.env = saved
		if r.code == 0 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("hako %s: %s\nwant a failure mentioning %q", strings.Join(c.args, " "), r, c.want)
		}
	}
}

func TestImgImportRmi(t *testing.T) {
	e := newImgEnv(t)
	ref := e.reg.Ref("hako/busybox:1.0")
	e.imgMust("pull", "-q", ref)
	// Export the store's rootfs as docker export would, import it, bundle it.
	dir := filepath.Join(t.TempDir(), "b")
	e.imgMust("bundle", "-q", ref, dir)
	archive := filepath.Join(t.TempDir(), "export.tar.gz")
	if out, err := exec.Command("tar", "-C", filepath.Join(dir, "rootfs"), "-czf", archive, ".").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v %s", err, out)
	}
	out := e.imgMust("import", "--name", "127.0.0.1:1/exported:1", archive)
	if !strings.Contains(out, "docker export") {
		t.Errorf("import output: %s", out)
	}
	// No command in a docker export: the bundle needs one.
	if r := e.imgRun("bundle", "127.0.0.1:1/exported:1", filepath.Join(t.TempDir(), "c")); r.code == 0 || !strings.Contains(r.stderr, "no Entrypoint or Cmd") {
		t.Errorf("bundle without a command: %s", r)
	}
	dir2 := filepath.Join(t.TempDir(), "c")
	e.imgMust("bundle", "127.0.0.1:1/exported:1", dir2, "--", "cat", "/etc/hello")
	imagetest.CheckRootfs(t, filepath.Join(dir2, "rootfs"), imagetest.Platforms()[0])

	e.imgMust("rmi", ref, "127.0.0.1:1/exported:1")
	if list := e.imgMust("images", "-q"); list != "" {
		t.Errorf("images after rmi: %q", list)
	}
	if es, _ := os.ReadDir(filepath.Join(e.store, "blobs", "sha256")); len(es) != 0 {
		t.Errorf("%d blobs left after removing every image", len(es))
	}
}
