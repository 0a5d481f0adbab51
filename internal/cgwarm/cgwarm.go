package cgwarm

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Start begins the no-op migration in a goroutine and returns at once.
// It does nothing unless the process runs as root.
func Start() {
	if os.Geteuid() != 0 {
		return
	}
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return
	}
	p := procsFile(string(b), "/sys/fs/cgroup")
	if p == "" {
		return
	}
	go write(p, os.Getpid())
}

func write(path string, pid int) {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return
	}
	f.Write([]byte(strconv.Itoa(pid)))
	f.Close()
}

// procsFile picks, from the content of /proc/self/cgroup, the cgroup.procs
// file of this process's own cgroup in the first hierarchy mounted below
// mnt: a v1 controller hierarchy (mounted at mnt/CONTROLLERS, as systemd
// and Docker lay them out), else the v2 one (at mnt, or mnt/unified on a
// hybrid layout). It returns "" when none exists.
func procsFile(selfCgroup, mnt string) string {
	var v2 string
	for _, line := range strings.Split(selfCgroup, "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 || !strings.HasPrefix(parts[2], "/") || strings.Contains(parts[2], "..") {
			continue
		}
		if parts[1] == "" {
			v2 = parts[2]
			continue
		}
		if strings.HasPrefix(parts[1], "name=") {
			continue
		}
		p := filepath.Join(mnt, parts[1], parts[2], "cgroup.procs")
		if exists(p) {
			return p
		}
	}
	if v2 != "" {
		for _, dir := range []string{filepath.Join(mnt, "unified"), mnt} {
			if p := filepath.Join(dir, v2, "cgroup.procs"); exists(p) {
				return p
			}
		}
	}
	return ""
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
