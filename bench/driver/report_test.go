package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The report carries every row, and the floor table holds the floor
// programs' peaks next to crun's run.
func TestReport(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, row := range timeRows {
		var results []string
		for i, rt := range runtimes {
			results = append(results, fmt.Sprintf(`{"command": %q, "times": [0.0%d, 0.0%d, 0.0%d]}`, row.key+"/"+rt, i+1, i+2, i+3))
		}
		write(row.key+"-1.json", `{"results": [`+strings.Join(results, ",")+`]}`)
	}
	for i, rt := range runtimes {
		write("rss-"+rt+".txt", fmt.Sprintf("%d %d\n", 2048*(i+1), 1024*(i+1)))
		write("size-"+rt+".txt", "1048576\n")
	}
	write("rss-floor.txt", "3072 5120\n")
	write("disk-fs.txt", "ext4\n")
	out := filepath.Join(dir, "BENCHMARKS.md")
	if err := report(dir, "- machine", out); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	md := string(b)
	crunRun := 2048.0 * 3 // crun is the third runtime
	for _, want := range []string{
		// (a) on both filesystems, side by side: medians 20, 30, 40 ms.
		"| (a) `run` of /bin/true, `--root` on a tmpfs | 20.0 ms (15.0–25.0, n=3) | 30.0 ms (25.0–35.0, n=3) | 40.0 ms (35.0–45.0, n=3) | 0.50× | 0.75× |\n" +
			"| (a) `run` of /bin/true, `--root` on ext4 (a disk filesystem) | 20.0 ms",
		fmt.Sprintf("| 3.0 MB | %.2f× |", 3072/crunRun),
		fmt.Sprintf("| 5.0 MB | %.2f× |", 5120/crunRun),
		"- machine",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("BENCHMARKS.md lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "{{") {
		t.Errorf("BENCHMARKS.md has an unfilled placeholder:\n%s", md)
	}

	os.Remove(filepath.Join(dir, "disk-fs.txt"))
	if err := report(dir, "- machine", ""); err == nil || !strings.Contains(err.Error(), "disk row") {
		t.Errorf("report without the disk row's filesystem: %v, want an error naming it", err)
	}
	write("disk-fs.txt", "ext4\n")
	os.Remove(filepath.Join(dir, "rss-floor.txt"))
	if err := report(dir, "- machine", ""); err == nil || !strings.Contains(err.Error(), "floor") {
		t.Errorf("report without the floor results: %v, want an error naming them", err)
	}
}

// bench.sh names its hyperfine commands ROW/RUNTIME; every row of the
// report is measured by it, and it measures nothing the report leaves out.
func TestBenchScriptMeasuresEveryRow(t *testing.T) {
	b, err := os.ReadFile("../bench.sh")
	if err != nil {
		t.Fatal(err)
	}
	measured := map[string]bool{}
	for _, m := range regexp.MustCompile(`-n "([a-z-]+)/\$rt"`).FindAllStringSubmatch(string(b), -1) {
		measured[m[1]] = true
	}
	for _, row := range timeRows {
		if !measured[row.key] {
			t.Errorf("row %q is not measured by bench.sh", row.key)
		}
		delete(measured, row.key)
	}
	for k := range measured {
		t.Errorf("bench.sh measures %q, which the report has no row for", k)
	}
}
