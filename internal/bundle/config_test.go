package bundle

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hako-dev/hako/internal/spec"
)

func imageConfig(c v1.Config) *v1.ConfigFile { return &v1.ConfigFile{OS: "linux", Config: c} }

func TestArgs(t *testing.T) {
	r := rootfsWithDB(t)
	ep, cmd := []string{"/entry", "-x"}, []string{"run", "it"}
	cases := []struct {
		name    string
		cfg     v1.Config
		o       Options
		want    []string
		wantErr string
	}{
		{"entrypoint and cmd", v1.Config{Entrypoint: ep, Cmd: cmd}, Options{}, []string{"/entry", "-x", "run", "it"}, ""},
		{"cmd only", v1.Config{Cmd: cmd}, Options{}, cmd, ""},
		{"args replace cmd", v1.Config{Entrypoint: ep, Cmd: cmd}, Options{Args: []string{"other"}}, []string{"/entry", "-x", "other"}, ""},
		{"entrypoint drops cmd", v1.Config{Entrypoint: ep, Cmd: cmd}, Options{EntrypointSet: true, Entrypoint: []string{"/bin/sh"}}, []string{"/bin/sh"}, ""},
		{"entrypoint and args", v1.Config{Entrypoint: ep, Cmd: cmd}, Options{EntrypointSet: true, Entrypoint: []string{"/bin/sh"}, Args: []string{"-c", "id"}}, []string{"/bin/sh", "-c", "id"}, ""},
		{"empty entrypoint, args", v1.Config{Entrypoint: ep, Cmd: cmd}, Options{EntrypointSet: true, Args: []string{"ls"}}, []string{"ls"}, ""},
		{"nothing", v1.Config{}, Options{}, nil, "no Entrypoint or Cmd"},
		{"entrypoint cleared", v1.Config{Entrypoint: ep, Cmd: cmd}, Options{EntrypointSet: true}, nil, "no Entrypoint or Cmd"},
	}
	for _, c := range cases {
		s, err := Config(imageConfig(c.cfg), r, c.o)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%s: err = %v, want %q", c.name, err, c.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if !reflect.DeepEqual(s.Process.Args, c.want) {
			t.Errorf("%s: args = %q, want %q", c.name, s.Process.Args, c.want)
		}
	}
}

func TestEnv(t *testing.T) {
	r := rootfsWithDB(t)
	cfg := v1.Config{Cmd: []string{"x"}, Env: []string{"LANG=C.UTF-8", "A=image"}}
	s, err := Config(imageConfig(cfg), r, Options{Env: []string{"A=flag", "B=b=c"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{spec.DefaultPath, "LANG=C.UTF-8", "A=flag", "B=b=c"}
	if !reflect.DeepEqual(s.Process.Env, want) {
		t.Errorf("env = %q, want %q", s.Process.Env, want)
	}
	// The image's PATH replaces the default one; TERM only with a terminal.
	s, _ = Config(imageConfig(v1.Config{Cmd: []string{"x"}, Env: []string{"PATH=/opt/bin"}}), r, Options{Terminal: true})
	if !reflect.DeepEqual(s.Process.Env, []string{"TERM=xterm", "PATH=/opt/bin"}) || !s.Process.Terminal {
		t.Errorf("env = %q terminal=%v", s.Process.Env, s.Process.Terminal)
	}
	for _, bad := range []string{"NOVALUE", "=x"} {
		if _, err := Config(imageConfig(cfg), r, Options{Env: []string{bad}}); err == nil || !strings.Contains(err.Error(), "KEY=VALUE") {
			t.Errorf("-e %q: err = %v", bad, err)
		}
	}
}

func TestWorkingDir(t *testing.T) {
	r := rootfsWithDB(t)
	ok := map[string]string{"": "/", "/app": "/app", "app/sub": "/app/sub", "/a/../b/": "/b", "/procfs": "/procfs"}
	for in, want := range ok {
		s, err := Config(imageConfig(v1.Config{Cmd: []string{"x"}, WorkingDir: in}), r, Options{})
		if err != nil || s.Process.Cwd != want {
			t.Errorf("WorkingDir %q: cwd = %v, %v; want %q", in, s, err, want)
		}
	}
	// Hostile: a working directory reaching the runtime's descriptors.
	for _, in := range []string{"/proc/self/fd/7", "/proc/1/cwd", "proc/self/fd/3", "/proc", "/x/../proc/thread-self/fd/5"} {
		_, err := Config(imageConfig(v1.Config{Cmd: []string{"x"}, WorkingDir: in}), r, Options{})
		if err == nil || !strings.Contains(err.Error(), "CVE-2024-21626") {
			t.Errorf("WorkingDir %q: err = %v, want a refusal", in, err)
		}
	}
}

func TestDefaultsAndFlags(t *testing.T) {
	r := rootfsWithDB(t)
	cfg := imageConfig(v1.Config{Cmd: []string{"x"}, User: "app"})
	s, err := Config(cfg, r, Options{})
	if err != nil {
		t.Fatal(err)
	}
	def := spec.Default()
	if s.Process.Terminal || s.Root.Readonly || s.Hostname != def.Hostname || s.Root.Path != "rootfs" {
		t.Errorf("defaults: terminal=%v readonly=%v hostname=%q root=%q", s.Process.Terminal, s.Root.Readonly, s.Hostname, s.Root.Path)
	}
	if s.Process.User.UID != 1000 || !slices.Contains(s.Process.User.AdditionalGids, 1000) {
		t.Errorf("user = %+v", s.Process.User)
	}
	c := s.Process.Capabilities
	if len(c.Inheritable) != 0 || len(c.Ambient) != 0 || !reflect.DeepEqual(c.Bounding, spec.DefaultCaps) {
		t.Errorf("capabilities = %+v", c)
	}
	s, err = Config(cfg, r, Options{Readonly: true, Hostname: "box", Rootless: true, RootlessUID: 1000, RootlessGID: 1000,
		Annotations: map[string]string{"org.opencontainers.image.ref.name": "x"}})
	if err != nil {
		t.Fatal(err)
	}
	if !s.Root.Readonly || s.Hostname != "box" || s.Annotations["org.opencontainers.image.ref.name"] != "x" {
		t.Errorf("flags not applied: %+v", s)
	}
	var userns, netns bool
	for _, n := range s.Linux.Namespaces {
		userns = userns || n.Type == specs.UserNamespace
		netns = netns || n.Type == specs.NetworkNamespace
	}
	if !userns || netns || len(s.Linux.UIDMappings) != 1 || s.Linux.UIDMappings[0].HostID != 1000 {
		t.Errorf("rootless: namespaces %+v mappings %+v", s.Linux.Namespaces, s.Linux.UIDMappings)
	}
}
