package validate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hako-dev/hako/internal/libseccomp"
)

// corpus is the broken-config corpus: one file per rule in testdata/broken,
// each with the problem it must produce. The line numbers were read off the
// files, not off the validator's output. Col 0 means "not checked"; errors is
// how many errors the file has in all (1 unless stated; 0 for a file whose
// problem is a warning).
var corpus = []struct {
	file     string
	path     string
	line     int
	col      int
	rule     string
	sev      Severity
	errors   int
	contains string // a substring the problem must have
}{
	{"01-trailing-comma", "process.env", 12, 16, ruleJSON, SeverityError, 1, "trailing comma"},
	{"02-missing-comma", "process", 9, 17, ruleJSON, SeverityError, 1, `missing ',' after the value of "args"`},
	{"03-comment", "", 29, 2, ruleJSON, SeverityError, 1, "comments"},
	{"04-single-quotes", "", 29, 2, ruleJSON, SeverityError, 1, "double quotes"},
	{"05-unquoted-key", "", 29, 2, ruleJSON, SeverityError, 1, "double quotes"},
	{"06-leading-zero", "linux.devices[0].fileMode", 49, 89, ruleJSON, SeverityError, 1, "438"},
	{"07-unclosed-object", "", 50, 1, ruleJSON, SeverityError, 1, "opened at 1:1 is not closed"},
	{"08-empty-file", "", 1, 1, ruleJSON, SeverityError, 1, "empty"},
	{"09-bool-as-string", "process.terminal", 4, 15, ruleProcess, SeverityError, 1, `found the string "yes"`},
	{"10-args-as-string", "process.args", 9, 11, ruleProcess, SeverityError, 1, "an array of strings"},
	{"11-negative-uid", "process.user.uid", 6, 11, rulePOSIXUser, SeverityError, 1, "negative"},
	{"12-memory-with-unit", "linux.resources.memory.limit", 44, 24, ruleMemory, SeverityError, 1, "536870912"},
	{"13-unknown-field-typo", "linux.namespace", 36, 3, ruleExtensibility, SeverityWarning, 4, `did you mean "namespaces"`},
	{"14-misplaced-field", "cwd", 30, 2, ruleExtensibility, SeverityWarning, 0, `field of "process"`},
	{"15-case-mismatch", "process.terminal", 4, 3, ruleExtensibility, SeverityWarning, 0, "case-sensitive"},
	{"16-ociversion-missing", "ociVersion", 1, 1, ruleVersion, SeverityError, 1, "REQUIRED"},
	{"17-ociversion-not-semver", "ociVersion", 2, 16, ruleVersion, SeverityError, 1, "SemVer"},
	{"18-root-missing", "root", 1, 1, ruleRoot, SeverityError, 1, "REQUIRED"},
	{"19-rootfs-does-not-exist", "root.path", 26, 11, ruleRoot, SeverityError, 1, "no such file or directory"},
	{"20-rootfs-is-a-file", "root.path", 26, 11, ruleRoot, SeverityError, 1, "not a directory"},
	{"21-process-missing", "process", 1, 1, ruleProcess, SeverityWarning, 0, "can be created, but not started"},
	{"22-args-empty", "process.args", 9, 11, ruleProcess, SeverityError, 1, "at least one entry"},
	{"23-cwd-relative", "process.cwd", 14, 10, ruleProcess, SeverityError, 1, "absolute"},
	{"24-cwd-missing", "process.cwd", 3, 13, ruleProcess, SeverityError, 1, "REQUIRED"},
	{"25-env-not-key-value", "process.env[2]", 13, 4, ruleProcess, SeverityError, 1, "KEY=VALUE"},
	{"26-rlimit-unknown-type", "process.rlimits[0].type", 21, 13, rulePOSIXProcess, SeverityError, 1, `write "RLIMIT_NOFILE"`},
	{"27-rlimit-duplicate", "process.rlimits[1].type", 22, 13, rulePOSIXProcess, SeverityError, 1, "duplicated"},
	{"28-rlimit-soft-above-hard", "process.rlimits[0].soft", 21, 52, rulePOSIXProcess, SeverityError, 1, "above the hard limit"},
	{"29-namespace-unknown-type", "linux.namespaces[1].type", 38, 13, ruleNamespaces, SeverityError, 1, `write "network"`},
	{"30-namespace-duplicate", "linux.namespaces[5].type", 42, 13, ruleNamespaces, SeverityError, 1, "duplicated"},
	{"31-namespace-path-relative", "linux.namespaces[1].path", 38, 32, ruleNamespaces, SeverityError, 1, "absolute"},
	{"32-namespace-path-wrong-type", "linux.namespaces[0].path", 37, 28, ruleNamespaces, SeverityError, 1, "net namespace file"},
	{"33-mappings-without-userns", "linux.uidMappings", 47, 18, ruleIDMappings, SeverityError, 1, "need a user namespace"},
	{"34-userns-without-mappings", "linux.namespaces", 36, 17, ruleIDMappings, SeverityError, 1, "needs uidMappings"},
	{"35-hostname-without-uts", "hostname", 29, 14, ruleHostname, SeverityError, 1, "UTS namespace"},
	{"36-net-sysctl-without-netns", `linux.sysctl["net.ipv4.ip_forward"]`, 46, 37, ruleSysctl, SeverityError, 1, "network namespace"},
	{"37-sysctl-not-namespaced", `linux.sysctl["vm.swappiness"]`, 47, 31, ruleSysctl, SeverityError, 1, "not namespaced"},
	{"38-mount-destination-missing", "mounts[0].destination", 31, 3, ruleMounts, SeverityError, 1, "REQUIRED"},
	{"39-mount-destination-relative", "mounts[2].destination", 33, 19, ruleMounts, SeverityWarning, 0, "deprecates"},
	{"40-mount-without-type", "mounts[0]", 31, 3, ruleMounts, SeverityError, 1, "neither a type nor a bind option"},
	{"41-bind-source-missing", "mounts[3].source", 34, 54, ruleMounts, SeverityError, 1, "no such file or directory"},
	{"42-hook-path-relative", "hooks.createRuntime[0].path", 31, 30, ruleHooks, SeverityError, 1, "absolute"},
	{"43-hook-timeout-zero", "hooks.poststop[0].timeout", 31, 49, ruleHooks, SeverityError, 1, "greater than zero"},
	{"44-capability-unknown", "process.capabilities.bounding[0]", 16, 17, ruleLinuxProcess, SeverityWarning, 0, `did you mean "CAP_KILL"`},
	{"45-seccomp-action-unknown", "linux.seccomp.defaultAction", 49, 32, ruleSeccomp, SeverityError, 1, "SCMP_ACT_DENY"},
	{"46-seccomp-arch-unknown", "linux.seccomp.architectures[0]", 51, 22, ruleSeccomp, SeverityError, 1, `write "SCMP_ARCH_X86_64"`},
	{"47-seccomp-syscall-unknown", "linux.seccomp.syscalls[0].names[1]", 51, 37, ruleSeccomp, SeverityWarning, 0, "mkdirr"},
	{"48-seccomp-op-unknown", "linux.seccomp.syscalls[0].args[0].op", 51, 112, ruleSeccomp, SeverityError, 1, `did you mean "SCMP_CMP_EQ"`},
	{"49-seccomp-names-empty", "linux.seccomp.syscalls[0].names", 51, 27, ruleSeccomp, SeverityError, 1, "at least one entry"},
	{"50-memory-reservation-above-limit", "linux.resources.memory.reservation", 44, 50, ruleMemory, SeverityError, 1, "above the limit"},
	{"51-memory-swap-below-limit", "linux.resources.memory.swap", 44, 43, ruleMemory, SeverityError, 1, "below the memory limit"},
	{"52-cpu-quota-too-small", "linux.resources.cpu.quota", 45, 37, ruleCPU, SeverityError, 1, "1000µs"},
	{"53-cpu-shares-out-of-range", "linux.resources.cpu.shares", 45, 22, ruleCPU, SeverityWarning, 0, "2..262144"},
	{"54-device-type-invalid", "linux.devices[0].type", 49, 45, ruleDevices, SeverityError, 1, `"x"`},
	{"55-device-major-missing", "linux.devices[0]", 49, 15, ruleDevices, SeverityError, 1, "major and minor"},
	{"56-device-cgroup-access", "linux.resources.devices[0].access", 45, 82, ruleDeviceAllow, SeverityError, 1, "rwx"},
	{"57-masked-path-relative", "linux.maskedPaths[0]", 47, 19, ruleMaskedPaths, SeverityError, 1, "absolute"},
	{"58-rootfs-propagation", "linux.rootfsPropagation", 49, 24, rulePropagation, SeverityError, 1, `did you mean "rprivate"`},
	{"59-oom-score-adj-range", "process.oomScoreAdj", 24, 18, ruleLinuxProcess, SeverityError, 1, "-1000..1000"},
	{"60-args0-not-in-path", "process.args[0]", 9, 12, ruleProcess, SeverityError, 1, "executable file not found in $PATH"},
	{"61-args0-path-missing", "process.args[0]", 9, 12, ruleProcess, SeverityError, 1, "no such file or directory"},
	{"62-args0-not-executable", "process.args[0]", 9, 12, ruleProcess, SeverityError, 1, "permission denied"},
	{"63-cwd-not-in-rootfs", "process.cwd", 14, 10, ruleProcess, SeverityError, 1, "no such file or directory"},
	{"64-cwd-not-a-directory", "process.cwd", 14, 10, ruleProcess, SeverityError, 1, "not a directory"},
	{"65-username-unknown", "process.user.username", 8, 16, rulePOSIXUser, SeverityError, 1, `did you mean "app"`},
	{"66-annotation-empty-key", `annotations[""]`, 30, 22, ruleAnnotations, SeverityError, 1, "MUST NOT be empty"},
	{"67-duplicate-member", "process.terminal", 5, 3, ruleProcess, SeverityWarning, 0, "appears twice (first at 4:3)"},
	{"68-byte-order-mark", "", 1, 1, ruleJSON, SeverityError, 1, "byte order mark"},
	{"69-script-interpreter-missing", "process.args[0]", 9, 12, ruleExecve, SeverityError, 1, `"#!/bin/bash"`},
	{"70-elf-loader-missing", "process.args[0]", 9, 12, ruleExecve, SeverityError, 1, "no such file or directory"},
	{"71-data-after-document", "", 51, 1, ruleJSON, SeverityError, 1, "after the end of the JSON document"},
	{"72-tab-in-string", "hostname", 29, 17, ruleJSON, SeverityError, 1, `\t`},
	{"73-scheduler-policy", "process.scheduler.policy", 24, 27, ruleLinuxProcess, SeverityError, 1, "SCHED_NORMAL"},
	{"74-idmap-without-mappings", "mounts[3].options", 34, 73, ruleMountOptions, SeverityError, 1, "idmap"},
	{"75-timeoffsets-without-timens", "linux.timeOffsets", 47, 18, ruleTimeOffset, SeverityError, 1, "time namespace"},
	{"76-hugepage-size", "linux.resources.hugepageLimits[0].pageSize", 45, 36, ruleHugepages, SeverityError, 1, "2M"},
	{"77-io-priority-range", "process.ioPriority.priority", 24, 58, ruleLinuxProcess, SeverityError, 1, "out of range"},
	{"78-env-in-wrong-place", "process.environment", 15, 3, ruleExtensibility, SeverityWarning, 0, `did you mean "env"`},
	{"79-namespaces-as-object", "linux.namespaces", 36, 17, ruleNamespaces, SeverityError, 1, "expected an array of objects"},
	{"80-boolean-capitalised", "root.readonly", 27, 15, ruleJSON, SeverityError, 1, "lower case"},
	{"81-foreign-architecture", "process.args[0]", 9, 12, ruleExecve, SeverityError, 1, "exec format error"},
}

func TestCorpusIsComplete(t *testing.T) {
	files, err := filepath.Glob("testdata/broken/*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 40 {
		t.Errorf("the broken corpus has %d files, want at least 40", len(files))
	}
	listed := map[string]bool{}
	for _, c := range corpus {
		listed[c.file] = true
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		if !listed[name] {
			t.Errorf("%s has no entry in the corpus table", f)
		}
	}
}

func TestCorpus(t *testing.T) {
	for _, c := range corpus {
		t.Run(c.file, func(t *testing.T) {
			if c.file == "70-elf-loader-missing" && dynamicHostProgram() == "" {
				t.Skip("no dynamically linked program on this host")
			}
			if c.file == "81-foreign-architecture" && binfmtHandlers() {
				t.Skip("binfmt_misc handlers make a foreign program a warning here")
			}
			dir := makeBundle(t, readTestdata(t, "broken/"+c.file+".json"))
			r, err := withLibseccomp.Bundle(dir)
			if err != nil {
				t.Fatal(err)
			}
			var found *FieldError
			for i, p := range r.Problems {
				if p.Path == c.path && p.Rule == c.rule && p.Severity == c.sev && strings.Contains(p.Problem, c.contains) {
					found = &r.Problems[i]
					break
				}
			}
			if found == nil {
				// The hint may hold the expected words.
				for i, p := range r.Problems {
					if p.Path == c.path && p.Rule == c.rule && p.Severity == c.sev && strings.Contains(p.Hint, c.contains) {
						found = &r.Problems[i]
					}
				}
			}
			if found == nil {
				t.Fatalf("no %s at %q (rule %s, containing %q); got:\n%s", c.sev, c.path, c.rule, c.contains, dump(r))
			}
			if found.Line != c.line || (c.col != 0 && found.Col != c.col) {
				t.Errorf("at %d:%d, want %d:%d: %s", found.Line, found.Col, c.line, c.col, found)
			}
			if want := filepath.Join(dir, ConfigName); found.File != want {
				t.Errorf("File = %q, want %q", found.File, want)
			}
			if n := len(r.Errors()); n != c.errors {
				t.Errorf("%d errors, want %d:\n%s", n, c.errors, dump(r))
			}
			if r.OK() != (c.errors == 0) {
				t.Errorf("OK() = %v with %d errors", r.OK(), c.errors)
			}
		})
	}
}

func dump(r *Report) string {
	var b strings.Builder
	for _, p := range r.Problems {
		b.WriteString("  " + p.String() + "\n")
	}
	return b.String()
}

func TestValidConfigs(t *testing.T) {
	for _, name := range []string{"base.json", "runc-spec.json", "runc-spec-rootless.json"} {
		t.Run(name, func(t *testing.T) {
			dir := makeBundle(t, readTestdata(t, "valid/"+name))
			r, err := Bundle(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Problems) != 0 {
				t.Errorf("want no problems, got:\n%s", dump(r))
			}
			if r.Err() != nil {
				t.Errorf("Err() = %v", r.Err())
			}
		})
	}
}

func TestMissingConfig(t *testing.T) {
	dir := t.TempDir()
	r, err := Bundle(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Problems) != 1 || !strings.Contains(r.Problems[0].Problem, "no such file or directory") || r.Problems[0].Hint == "" || r.Problems[0].Rule != ruleBundle {
		t.Fatalf("want one problem with a hint, got:\n%s", dump(r))
	}
	r, err = Bundle(filepath.Join(dir, "nope"))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Problems) != 1 || !strings.Contains(r.Problems[0].Problem, "bundle directory") {
		t.Fatalf("want the missing bundle named, got:\n%s", dump(r))
	}
	if _, err := File(dir, ""); err != nil {
		t.Fatalf("a directory given as the file must be a problem, not an error: %v", err)
	}
}

func TestUnreadableConfigIsAnError(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads any file")
	}
	dir := t.TempDir()
	p := filepath.Join(dir, ConfigName)
	if err := os.WriteFile(p, []byte("{}"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := Bundle(dir); err == nil {
		t.Fatal("want an error for an unreadable config.json")
	}
}

// TestNoRootfsChecksWithoutBundle: Data with an empty bundle directory
// never looks at the file system.
func TestNoRootfsChecksWithoutBundle(t *testing.T) {
	for _, name := range []string{"19-rootfs-does-not-exist", "60-args0-not-in-path", "41-bind-source-missing", "63-cwd-not-in-rootfs"} {
		r := Data("config.json", readTestdata(t, "broken/"+name+".json"), "")
		if len(r.Problems) != 0 {
			t.Errorf("%s without a bundle: want no problems, got:\n%s", name, dump(r))
		}
	}
}

// TestRootfsSymlinksStayInside: a symlink in the rootfs pointing at an
// absolute path is resolved inside the rootfs, never on the host.
func TestRootfsSymlinksStayInside(t *testing.T) {
	cfg := strings.Replace(string(readTestdata(t, "valid/base.json")), `"args": ["sh"]`, `"args": ["/bin/escape"]`, 1)
	dir := makeBundle(t, []byte(cfg))
	// /bin/true exists on the host; inside the rootfs it does not.
	if err := os.Symlink("/usr/bin/true", filepath.Join(dir, "rootfs/bin/escape")); err != nil {
		t.Fatal(err)
	}
	r, err := Bundle(dir)
	if err != nil {
		t.Fatal(err)
	}
	if r.OK() || !strings.Contains(r.Errors()[0].Problem, "no such file or directory") {
		t.Fatalf("a symlink to a host path must not resolve on the host; got:\n%s", dump(r))
	}
	if err := os.MkdirAll(filepath.Join(dir, "rootfs/usr/bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "rootfs/usr/bin/true"), nil, 0o755); err != nil {
		t.Fatal(err)
	}
	if r, _ := Bundle(dir); !r.OK() {
		t.Fatalf("the symlink resolves inside the rootfs now; got:\n%s", dump(r))
	}
}

// withLibseccomp checks system call names as `hako validate` does, with
// libseccomp linked into the test instead of asked through the helper.
var withLibseccomp = Options{UnknownSyscalls: func(s *specs.LinuxSeccomp) ([]SyscallName, error) {
	var out []SyscallName
	for _, n := range libseccomp.Unknown(s) {
		out = append(out, SyscallName{Field: n.Field, Name: n.Name, Elsewhere: n.Elsewhere})
	}
	return out, nil
}}

// Without UnknownSyscalls (as create validates), names are not checked.
func TestSyscallNamesNeedTheOption(t *testing.T) {
	dir := makeBundle(t, readTestdata(t, "broken/47-seccomp-syscall-unknown.json"))
	r, err := Bundle(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range r.Problems {
		if strings.Contains(p.Path, "names") {
			t.Errorf("a name was checked without UnknownSyscalls: %s", p)
		}
	}
}
