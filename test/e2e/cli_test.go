package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// --log FILE --log-format json: a failing command writes one runc-style
// line whose msg is the error the user sees on stderr.
func TestJSONLogOfFailure(t *testing.T) { forRunners(t, testJSONLogOfFailure) }

func testJSONLogOfFailure(t *testing.T, e *env) {
	logFile := filepath.Join(t.TempDir(), "hako.log")
	b := e.bundle([]string{"true"}, nil)
	e.must("create", "--bundle", b, "logged")
	defer e.deleteAndReap("logged", e.state("logged").Pid)
	for _, args := range [][]string{
		{"state", "no-such-container"},
		{"delete", "logged"},
		{"create", "--bundle", b, "logged"},
	} {
		os.Remove(logFile)
		r := e.run(append([]string{"--log", logFile, "--log-format", "json"}, args...)...)
		if r.code == 0 {
			t.Fatalf("%v succeeded", args)
		}
		data, err := os.ReadFile(logFile)
		if err != nil {
			t.Fatal(err)
		}
		ls := lines(string(data))
		if len(ls) == 0 {
			t.Fatalf("%v: empty log", args)
		}
		var l map[string]string
		if err := json.Unmarshal([]byte(ls[len(ls)-1]), &l); err != nil {
			t.Fatalf("%v: last log line is not a JSON object of strings: %q", args, ls[len(ls)-1])
		}
		if len(l) != 3 || l["level"] != "error" {
			t.Errorf("%v: log line %v, want exactly level, msg, time with level error", args, l)
		}
		if _, err := time.Parse(time.RFC3339Nano, l["time"]); err != nil {
			t.Errorf("%v: time %q is not RFC 3339: %v", args, l["time"], err)
		}
		if stderr := strings.TrimSpace(strings.TrimPrefix(r.stderr, "hako: ")); l["msg"] != stderr || l["msg"] == "" {
			t.Errorf("%v: log msg %q, stderr %q", args, l["msg"], r.stderr)
		}
	}
}

// The text log format is runc's: time="…" level=error msg="…". One
// runner: no container is started.
func TestTextLogOfFailure(t *testing.T) {
	e := newEnv(t)
	logFile := filepath.Join(t.TempDir(), "hako.log")
	r := e.run("--log", logFile, "--log-format", "text", "kill", "no-such-container", "KILL")
	if r.code == 0 {
		t.Fatal("kill of a missing container succeeded")
	}
	data, _ := os.ReadFile(logFile)
	re := regexp.MustCompile(`^time="[^"]+" level=error msg=".*does not exist.*"$`)
	if ls := lines(string(data)); len(ls) == 0 || !re.MatchString(ls[len(ls)-1]) {
		t.Errorf("text log %q does not match %s", data, re)
	}
}

// hako --version names hako's version and the runtime-spec version (one
// runner: no container is started).
func TestVersion(t *testing.T) {
	e := newEnv(t)
	out := e.must("--version")
	l := lines(out)
	if len(l) < 2 || !strings.HasPrefix(l[0], "hako version ") {
		t.Fatalf("--version: %q", out)
	}
	if !contains(l, "spec: "+specs.Version) {
		t.Errorf("--version lacks \"spec: %s\": %q", specs.Version, out)
	}
}
