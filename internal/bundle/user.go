package bundle

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

const (
	maxID      = 1<<31 - 1
	maxDBSize  = 4 << 20
	passwdFile = "/etc/passwd"
	groupFile  = "/etc/group"
)

type passwdEntry struct {
	name     string
	uid, gid int
}

type groupEntry struct {
	name    string
	gid     int
	members []string
}

// readRootfsFile reads a small regular file of the root filesystem,
// resolving its path inside rootfs: absolute symlinks and ".." lead to
// the rootfs's own files, never the host's. A missing file reads as nil.
func readRootfsFile(rootfs, name string) ([]byte, error) {
	h, err := pathrs.OpenInRoot(rootfs, name)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ENOENT) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("opening %s in the root filesystem: %w", name, err)
	}
	defer h.Close()
	f, err := pathrs.Reopen(h, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("opening %s in the root filesystem: %w", name, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s in the root filesystem is not a regular file (%v)", name, fi.Mode().Type())
	}
	b, err := io.ReadAll(io.LimitReader(f, maxDBSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxDBSize {
		return nil, fmt.Errorf("%s in the root filesystem is larger than %d bytes", name, maxDBSize)
	}
	return b, nil
}

func parseID(s string) (int, bool) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > maxID {
		return 0, false
	}
	return int(n), true
}

func isNumeric(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

func parsePasswd(b []byte) []passwdEntry {
	var out []passwdEntry
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), maxDBSize)
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) < 4 || strings.HasPrefix(f[0], "#") {
			continue
		}
		uid, ok1 := parseID(f[2])
		gid, ok2 := parseID(f[3])
		if ok1 && ok2 {
			out = append(out, passwdEntry{name: f[0], uid: uid, gid: gid})
		}
	}
	return out
}

func parseGroup(b []byte) []groupEntry {
	var out []groupEntry
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), maxDBSize)
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) < 3 || strings.HasPrefix(f[0], "#") {
			continue
		}
		gid, ok := parseID(f[2])
		if !ok {
			continue
		}
		g := groupEntry{name: f[0], gid: gid}
		if len(f) > 3 && f[3] != "" {
			g.members = strings.Split(f[3], ",")
		}
		out = append(out, g)
	}
	return out
}

// ResolveUser turns an image's User ("", "uid", "uid:gid", "name",
// "name:group", ...) into a process user, reading rootfs's /etc/passwd and
// /etc/group from inside rootfs.
func ResolveUser(rootfs, user string) (specs.User, error) {
	userPart, groupPart, hasGroup := strings.Cut(user, ":")
	if userPart == "" {
		if hasGroup {
			return specs.User{}, fmt.Errorf("user %q: the user part is empty", user)
		}
		userPart = "0"
	}
	if hasGroup && groupPart == "" {
		return specs.User{}, fmt.Errorf("user %q: the group part is empty", user)
	}
	pw, err := readRootfsFile(rootfs, passwdFile)
	if err != nil {
		return specs.User{}, fmt.Errorf("user %q: %w", user, err)
	}
	users := parsePasswd(pw)

	var u specs.User
	var pwe *passwdEntry
	if isNumeric(userPart) {
		uid, ok := parseID(userPart)
		if !ok {
			return specs.User{}, fmt.Errorf("user %q: uid %s is out of range (0 to %d)", user, userPart, maxID)
		}
		u.UID = uint32(uid)
		for i := range users {
			if users[i].uid == uid {
				pwe = &users[i]
				break
			}
		}
	} else {
		for i := range users {
			if users[i].name == userPart {
				pwe = &users[i]
				break
			}
		}
		if pwe == nil {
			return specs.User{}, fmt.Errorf("user %q: no user %q in the image's %s (use a numeric uid, or add the user to the image)", user, userPart, passwdFile)
		}
		u.UID = uint32(pwe.uid)
	}
	if pwe != nil {
		u.GID = uint32(pwe.gid)
	}

	var groups []groupEntry
	if hasGroup || pwe != nil {
		gr, err := readRootfsFile(rootfs, groupFile)
		if err != nil {
			return specs.User{}, fmt.Errorf("user %q: %w", user, err)
		}
		groups = parseGroup(gr)
	}
	if hasGroup {
		if isNumeric(groupPart) {
			gid, ok := parseID(groupPart)
			if !ok {
				return specs.User{}, fmt.Errorf("user %q: gid %s is out of range (0 to %d)", user, groupPart, maxID)
			}
			u.GID = uint32(gid)
		} else {
			found := false
			for _, g := range groups {
				if g.name == groupPart {
					u.GID, found = uint32(g.gid), true
					break
				}
			}
			if !found {
				return specs.User{}, fmt.Errorf("user %q: no group %q in the image's %s (use a numeric gid, or add the group to the image)", user, groupPart, groupFile)
			}
		}
	}
	u.AdditionalGids = []uint32{u.GID}
	if pwe != nil {
		for _, g := range groups {
			for _, m := range g.members {
				if m == pwe.name && uint32(g.gid) != u.GID && !contains(u.AdditionalGids, uint32(g.gid)) {
					u.AdditionalGids = append(u.AdditionalGids, uint32(g.gid))
				}
			}
		}
	}
	return u, nil
}

func contains(s []uint32, v uint32) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
