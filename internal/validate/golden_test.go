package validate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGolden compares the messages for the most common mistakes with
// testdata/golden/NAME.txt. The .txt files are written and reviewed by
// hand; there is deliberately no flag that rewrites them from the output.
// $BUNDLE stands for the bundle directory.
func TestGolden(t *testing.T) {
	cases := []struct {
		name     string
		noRootfs bool
	}{
		{"args0-typo", false},
		{"missing-rootfs", true},
		{"relative-cwd", false},
		{"tabs", false},
		{"trailing-comma", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := readTestdata(t, "golden/"+c.name+".json")
			dir := makeBundle(t, data)
			if c.noRootfs {
				if err := os.RemoveAll(filepath.Join(dir, "rootfs")); err != nil {
					t.Fatal(err)
				}
			}
			r := Data(ConfigName, data, dir)
			var b strings.Builder
			for _, p := range r.Problems {
				b.WriteString(p.String() + "\n")
			}
			b.WriteString(r.Summary() + "\n")
			got := strings.ReplaceAll(b.String(), dir, "$BUNDLE")
			want := string(readTestdata(t, "golden/"+c.name+".txt"))
			if got != want {
				t.Errorf("messages differ from testdata/golden/%s.txt\n--- got\n%s--- want\n%s", c.name, got, want)
			}
		})
	}
}
