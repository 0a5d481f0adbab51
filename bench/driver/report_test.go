package main

import (
	"fmt"
	"os"
	"path/filepath"
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

	os.Remove(filepath.Join(dir, "rss-floor.txt"))
	if err := report(dir, "- machine", ""); err == nil || !strings.Contains(err.Error(), "floor") {
		t.Errorf("report without the floor results: %v, want an error naming them", err)
	}
}
