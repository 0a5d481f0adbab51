package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// hako finds its image helper next to itself: HakoBinary must build both
// into one directory, or every e2e test of `hako pull` fails.
func TestHakoBinaryBuildsImageHelperNextToHako(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binaries; skipped in -short mode")
	}
	if os.Getenv("HAKO_BINARY") != "" {
		t.Skip("HAKO_BINARY names an installed binary")
	}
	bin := HakoBinary(t)
	helper := filepath.Join(filepath.Dir(bin), "hako-image")
	if fi, err := os.Stat(helper); err != nil || fi.Mode().Perm()&0o111 == 0 {
		t.Fatalf("no executable image helper next to %s: %v", bin, err)
	}
	cmd := exec.Command(bin, "images", "--help")
	cmd.Env = append(os.Environ(), "HAKO_IMAGE_BINARY=", "PATH=/nonexistent")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--image-root") {
		t.Fatalf("hako images --help through the helper: %v\n%s", err, out)
	}
}
