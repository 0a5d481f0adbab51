package bundle

import (
	"fmt"
	"os"
	"path"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hako-dev/hako/internal/spec"
)

// Options shape the bundle. The zero value follows the image.
type Options struct {
	// Entrypoint replaces the image's Entrypoint and drops its Cmd when
	// EntrypointSet (an empty Entrypoint clears it).
	Entrypoint    []string
	EntrypointSet bool
	// Args replace the image's Cmd when not empty.
	Args []string
	// Env entries KEY=VALUE override the image's.
	Env []string
	// Hostname, when set, replaces the default ("hako").
	Hostname string
	Terminal bool
	Readonly bool
	// Rootless writes a configuration an unprivileged user can run: a user
	// namespace mapping RootlessUID/GID (default: the caller's) to root.
	Rootless                 bool
	RootlessUID, RootlessGID uint32
	// Annotations are added to config.json.
	Annotations map[string]string
}

// Config derives a runtime configuration from an image configuration and
// the root filesystem unpacked from it (read for /etc/passwd and
// /etc/group).
func Config(cf *v1.ConfigFile, rootfs string, o Options) (*specs.Spec, error) {
	s := spec.Default()
	c := cf.Config

	entry, cmd := c.Entrypoint, c.Cmd
	if o.EntrypointSet {
		entry, cmd = o.Entrypoint, nil
	}
	if len(o.Args) > 0 {
		cmd = o.Args
	}
	args := append(append([]string{}, entry...), cmd...)
	if len(args) == 0 {
		return nil, fmt.Errorf("process.args: the image has no Entrypoint or Cmd and none was given: pass the command after -- (hako bundle IMAGE DIR -- /bin/sh) or use --entrypoint")
	}
	s.Process.Args = args

	env, err := mergeEnv([]string{spec.DefaultPath}, c.Env, "the image's Env")
	if err != nil {
		return nil, err
	}
	if env, err = mergeEnv(env, o.Env, "-e"); err != nil {
		return nil, err
	}
	if o.Terminal {
		if env, err = mergeEnv([]string{"TERM=xterm"}, env, ""); err != nil {
			return nil, err
		}
	}
	s.Process.Env = env

	cwd, err := workingDir(c.WorkingDir)
	if err != nil {
		return nil, err
	}
	s.Process.Cwd = cwd

	u, err := ResolveUser(rootfs, c.User)
	if err != nil {
		return nil, fmt.Errorf("process.user: %w", err)
	}
	s.Process.User = u

	s.Process.Terminal = o.Terminal
	s.Root.Readonly = o.Readonly
	if o.Hostname != "" {
		s.Hostname = o.Hostname
	}
	if o.Rootless {
		uid, gid := o.RootlessUID, o.RootlessGID
		if uid == 0 && gid == 0 {
			uid, gid = uint32(os.Getuid()), uint32(os.Getgid())
		}
		spec.ToRootless(s, uid, gid)
	}
	if len(o.Annotations) > 0 {
		s.Annotations = map[string]string{}
		for k, v := range o.Annotations {
			s.Annotations[k] = v
		}
	}
	return s, nil
}

// mergeEnv adds KEY=VALUE entries to base, replacing same-named ones.
func mergeEnv(base, add []string, what string) ([]string, error) {
	out := append([]string{}, base...)
	for _, kv := range add {
		k, _, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("process.env: %s entry %q is not KEY=VALUE", what, kv)
		}
		replaced := false
		for i, e := range out {
			if ek, _, _ := strings.Cut(e, "="); ek == k {
				out[i], replaced = kv, true
				break
			}
		}
		if !replaced {
			out = append(out, kv)
		}
	}
	return out, nil
}

// workingDir makes WorkingDir absolute and refuses /proc.
func workingDir(wd string) (string, error) {
	if wd == "" {
		return "/", nil
	}
	if strings.ContainsRune(wd, 0) {
		return "", fmt.Errorf("process.cwd: WorkingDir %q contains a NUL byte", wd)
	}
	cwd := path.Clean("/" + wd)
	if cwd == "/proc" || strings.HasPrefix(cwd, "/proc/") {
		return "", fmt.Errorf("process.cwd: the image's WorkingDir %q is inside /proc: refusing it, as a working directory such as /proc/self/fd/N can reach the runtime's open files (CVE-2024-21626)", wd)
	}
	return cwd, nil
}
