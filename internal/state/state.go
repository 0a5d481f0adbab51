package state

import (
	"encoding/json"
	"errors"
	"fmt"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Status is an OCI container status.
type Status string

const (
	Creating Status = "creating"
	Created  Status = "created"
	Running  Status = "running"
	Paused   Status = "paused"
	Stopped  Status = "stopped"
)

// File names inside a container's directory.
const (
	StateFile = "state.json"
	// ConfigFile held the config of containers created by the builds
	// that kept it out of state.json; it is read for those only.
	ConfigFile = "config.json"
	FifoFile   = "exec.fifo"
)

// ErrNotExist is returned for an unknown container; its text keeps the
// "does not exist" substring that containerd matches.
var ErrNotExist = errors.New("container does not exist")

// ErrExist is returned when creating a container whose id is taken.
var ErrExist = errors.New("container with given ID already exists")

// Container is what hako records about one container.
type Container struct {
	OCIVersion  string            `json:"ociVersion"`
	ID          string            `json:"id"`
	InitPid     int               `json:"init_process_pid"`
	InitStart   uint64            `json:"init_process_start"`
	Bundle      string            `json:"bundle"`
	Rootfs      string            `json:"rootfs"`
	Created     time.Time         `json:"created"`
	Owner       string            `json:"owner"`
	Annotations map[string]string `json:"annotations,omitempty"`
	// Cgroup is the opaque cgroup manager state (internal/cgroup.State).
	Cgroup json.RawMessage `json:"cgroup,omitempty"`
	// Namespaces maps namespace type to the path that holds it (for exec).
	Namespaces map[string]string `json:"namespaces,omitempty"`
	// Config is the spec the container was created with, as read from
	// the bundle. Save writes it last and byte for byte (see encode);
	// containers whose state.json lacks it keep it in ConfigFile.
	Config json.RawMessage `json:"config,omitempty"`
	// Hooks are the config's hooks again: start and delete run them
	// without decoding the whole config.
	Hooks *specs.Hooks `json:"hooks,omitempty"`
	// NoProcess: the config has no process (created, never started).
	NoProcess bool `json:"no_process,omitempty"`
	// Started is set by `start`; Paused by `pause`.
	Started bool `json:"started,omitempty"`
	Paused  bool `json:"paused,omitempty"`
}

// Store is a --root directory.
type Store struct{ Root string }

// Open returns the store at root, creating it (mode 0700) if needed.
func Open(root string) (*Store, error) {
	if root == "" {
		return nil, fmt.Errorf("--root is empty")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("creating state directory --root %s: %w", abs, err)
	}
	return &Store{Root: abs}, nil
}

// Dir is the directory of container id; id must be valid.
func (s *Store) Dir(id string) (string, error) {
	if err := ValidateID(id); err != nil {
		return "", err
	}
	return filepath.Join(s.Root, id), nil
}

// Create makes the directory of a new container, failing if it exists.
func (s *Store) Create(id string) (string, error) {
	dir, err := s.Dir(id)
	if err != nil {
		return "", err
	}
	if err := os.Mkdir(dir, 0o711); err != nil {
		if errors.Is(err, fs.ErrExist) {
			if _, serr := os.Stat(filepath.Join(dir, StateFile)); serr != nil {
				return "", fmt.Errorf("container %q: %w: %s holds no state.json: another create of this id is running, or one was interrupted — hint: `hako delete --force %s` removes what it left", id, ErrExist, dir, id)
			}
			return "", fmt.Errorf("container %q: %w; choose another id or `hako delete %s` first", id, ErrExist, id)
		}
		return "", fmt.Errorf("creating state directory for %q: %w", id, err)
	}
	return dir, nil
}

// Remove deletes a container's directory: the files hako makes in it by
// name, then the directory itself, without reading it; whatever else it
// holds (a lock file or config.json of an earlier build) through
// os.RemoveAll.
func (s *Store) Remove(id string) error {
	dir, err := s.Dir(id)
	if err != nil {
		return err
	}
	unix.Unlink(filepath.Join(dir, StateFile))
	unix.Unlink(filepath.Join(dir, FifoFile))
	if err := unix.Rmdir(dir); err == nil || err == unix.ENOENT {
		return nil
	}
	return os.RemoveAll(dir)
}

// Load reads a container's state. A state.json that does not decode (a
// crash of the machine can leave it empty: it is renamed into place but
// not fsynced, see WriteFileAtomic) is an error wrapping ErrCorrupt.
func (s *Store) Load(id string) (*Container, error) {
	dir, err := s.Dir(id)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, StateFile)
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("container %q %w (looked in --root %s)", id, ErrNotExistText, s.Root)
		}
		return nil, err
	}
	var c Container
	if len(data) == 0 {
		return nil, corrupt(id, path, "is empty")
	}
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, corrupt(id, path, "does not decode ("+err.Error()+")")
	}
	if c.ID != id {
		return nil, corrupt(id, path, fmt.Sprintf("names container %q", c.ID))
	}
	return &c, nil
}

// ErrCorrupt is what a *CorruptError is: Load's error for a state.json
// that holds no state of the container.
var ErrCorrupt = errors.New("unreadable state")

// CorruptError is a state.json that holds no state of container ID: What
// it is, e.g. "is empty".
type CorruptError struct {
	ID, Path, What string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("container %q: %v: %s %s; a crash of the machine cuts a state short, and ends the container's processes with it — hint: `hako delete %s` removes what is left", e.ID, ErrCorrupt, e.Path, e.What, e.ID)
}

func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

func corrupt(id, path, what string) error { return &CorruptError{ID: id, Path: path, What: what} }

// ErrNotExistText wraps ErrNotExist for "container X does not exist".
var ErrNotExistText = notExist{}

type notExist struct{}

func (notExist) Error() string        { return "does not exist" }
func (notExist) Is(target error) bool { return target == ErrNotExist }

// Save writes a container's state atomically: temp file, then rename.
func (s *Store) Save(c *Container) error {
	dir, err := s.Dir(c.ID)
	if err != nil {
		return err
	}
	data, err := encode(c)
	if err != nil {
		return err
	}
	return WriteFileAtomic(filepath.Join(dir, StateFile), data, 0o600)
}

// encode is c as a JSON object whose last member is the config, spliced
// in as it was read: json.Marshal would compact the config (kilobytes,
// tens with a seccomp profile) on every Save. The config is checked to be
// JSON, so that state.json always decodes.
func encode(c *Container) ([]byte, error) {
	if len(c.Config) == 0 {
		return json.Marshal(c)
	}
	if !json.Valid(c.Config) {
		return nil, fmt.Errorf("container %q: the config to store is not valid JSON", c.ID)
	}
	rest := *c
	rest.Config = nil
	data, err := json.Marshal(&rest)
	if err != nil {
		return nil, err
	}
	const key = `,"config":`
	out := make([]byte, 0, len(data)+len(key)+len(c.Config))
	out = append(out, data[:len(data)-1]...) // without the closing brace
	out = append(out, key...)
	out = append(out, c.Config...)
	return append(out, '}'), nil
}

// WriteFileAtomic replaces path with data so that a reader sees either the
// old or the new content, never a torn write. It does not fsync: what it
// writes (state, pid files) describes processes that do not survive a
// crash of the machine, and an fsync costs milliseconds on a disk.
func WriteFileAtomic(path string, data []byte, mode os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Chmod(mode); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	ok = true
	return nil
}

// List returns the ids in the store, sorted.
func (s *Store) List() ([]string, error) {
	ents, err := os.ReadDir(s.Root)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var ids []string
	for _, e := range ents {
		if e.IsDir() && ValidateID(e.Name()) == nil {
			if _, err := os.Stat(filepath.Join(s.Root, e.Name(), StateFile)); err == nil {
				ids = append(ids, e.Name())
			}
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// Lock takes the container's exclusive lock, blocking: a flock on its
// directory, so that no lock file is made (on a disk filesystem every
// file a create makes is an inode allocation). The returned function
// releases it.
func (s *Store) Lock(id string) (func(), error) {
	dir, err := s.Dir(id)
	if err != nil {
		return nil, err
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil, fmt.Errorf("container %q %w", id, ErrNotExistText)
		}
		return nil, fmt.Errorf("locking container %q: %w", id, err)
	}
	for {
		err = unix.Flock(fd, unix.LOCK_EX)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("locking container %q: %w", id, err)
	}
	return func() { unix.Close(fd) }, nil
}

// ProcStartTime returns field 22 (starttime) of /proc/PID/stat and the
// process state letter.
func ProcStartTime(pid int) (start uint64, state byte, err error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, err
	}
	// comm may contain spaces and parentheses: split after the last ')'.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return 0, 0, fmt.Errorf("unexpected /proc/%d/stat format", pid)
	}
	f := strings.Fields(s[i+2:])
	// f[0] is field 3 (state); starttime is field 22 -> f[19].
	if len(f) < 20 {
		return 0, 0, fmt.Errorf("unexpected /proc/%d/stat format", pid)
	}
	start, err = strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return 0, 0, err
	}
	return start, f[0][0], nil
}

// InitAlive reports whether the recorded init is still that same process
// and not a zombie.
func (c *Container) InitAlive() bool {
	if c.InitPid <= 0 {
		return false
	}
	start, st, err := ProcStartTime(c.InitPid)
	if err != nil || start != c.InitStart {
		return false
	}
	return st != 'Z' && st != 'X'
}
