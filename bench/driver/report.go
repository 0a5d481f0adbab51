package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Runtimes in the order of the table; crun is the reference of the ratios.
var runtimes = []string{"hako", "runc", "crun"}

// timeRows are the hyperfine benchmarks: name prefix and description.
// DISKFS stands for the filesystem of the disk row's roots (disk-fs.txt).
var timeRows = []struct{ key, desc string }{
	{"a", "(a) `run` of /bin/true, `--root` on a tmpfs"},
	{"a-disk", "(a) `run` of /bin/true, `--root` on DISKFS (a disk filesystem)"},
	{"b", "(b) create + start + wait + delete"},
	{"c", "(c) 20 containers at once (create, start, wait, delete)"},
	{"e", "(e) `exec` of /bin/true in a running container"},
	{"f", "(f) `run` of /bin/true with a seccomp profile (309 names allowed, EPERM else); hako's program from its cache"},
	{"g", "(g) as (f), hako's cache emptied before each run (a profile's first use)"},
}

// hyperfineFile is the part of `hyperfine --export-json` that we read.
type hyperfineFile struct {
	Results []struct {
		Command string    `json:"command"`
		Times   []float64 `json:"times"`
	} `json:"results"`
}

// readTimes merges the times of every hyperfine JSON file by command name
// (the bench runs each benchmark in several interleaved rounds).
func readTimes(files []string) (map[string][]float64, error) {
	all := map[string][]float64{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var h hyperfineFile
		if err := json.Unmarshal(b, &h); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		for _, r := range h.Results {
			all[r.Command] = append(all[r.Command], r.Times...)
		}
	}
	return all, nil
}

// quantile of sorted xs, linear between neighbours.
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	pos := q * float64(len(sorted)-1)
	i := int(pos)
	if i+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	return sorted[i] + (pos-float64(i))*(sorted[i+1]-sorted[i])
}

type stat struct {
	median, p25, p75 float64
	n                int
}

func stats(xs []float64) stat {
	s := slices.Clone(xs)
	slices.Sort(s)
	return stat{quantile(s, 0.5), quantile(s, 0.25), quantile(s, 0.75), len(s)}
}

// report prints the table of medians and ratios and writes BENCHMARKS.md.
// dir holds the hyperfine JSON files (*.json), rss-RUNTIME.txt ("RUN
// CREATE" in KiB), size-RUNTIME.txt (bytes) and disk-fs.txt (the type of
// the filesystem of the disk row's roots); machine is a Markdown block
// describing the machine; out is the file to write.
func report(dir, machine, out string) error {
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	times, err := readTimes(files)
	if err != nil {
		return err
	}
	diskFS, err := os.ReadFile(filepath.Join(dir, "disk-fs.txt"))
	if err != nil {
		return fmt.Errorf("the filesystem of the disk row: %w", err)
	}
	var tbl strings.Builder
	tbl.WriteString("| benchmark | hako | runc | crun | hako / crun | runc / crun |\n")
	tbl.WriteString("| --- | ---: | ---: | ---: | ---: | ---: |\n")
	for _, row := range timeRows {
		med := map[string]float64{}
		cells := []string{strings.ReplaceAll(row.desc, "DISKFS", strings.TrimSpace(string(diskFS)))}
		for _, rt := range runtimes {
			st := stats(times[row.key+"/"+rt])
			if st.n == 0 {
				return fmt.Errorf("no times for %s/%s", row.key, rt)
			}
			med[rt] = st.median
			cells = append(cells, fmt.Sprintf("%.1f ms (%.1f–%.1f, n=%d)", 1000*st.median, 1000*st.p25, 1000*st.p75, st.n))
		}
		cells = append(cells, ratio(med["hako"], med["crun"]), ratio(med["runc"], med["crun"]))
		tbl.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	for i, what := range []string{"(d) peak RSS of `run` (the runtime and the processes it waits for)", "(d) peak RSS of `create` (the runtime process alone)"} {
		v := map[string]float64{}
		cells := []string{what}
		for _, rt := range runtimes {
			f, err := readInts(filepath.Join(dir, "rss-"+rt+".txt"))
			if err != nil || len(f) != 2 {
				return fmt.Errorf("rss of %s: %v", rt, err)
			}
			v[rt] = float64(f[i])
			cells = append(cells, fmt.Sprintf("%.1f MB", float64(f[i])/1024))
		}
		cells = append(cells, ratio(v["hako"], v["crun"]), ratio(v["runc"], v["crun"]))
		tbl.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	v := map[string]float64{}
	cells := []string{"(d) binary size"}
	for _, rt := range runtimes {
		f, err := readInts(filepath.Join(dir, "size-"+rt+".txt"))
		if err != nil || len(f) != 1 {
			return fmt.Errorf("size of %s: %v", rt, err)
		}
		v[rt] = float64(f[0])
		cells = append(cells, fmt.Sprintf("%.1f MB", float64(f[0])/(1<<20)))
	}
	cells = append(cells, ratio(v["hako"], v["crun"]), ratio(v["runc"], v["crun"]))
	tbl.WriteString("| " + strings.Join(cells, " | ") + " |\n")

	if err := floorTable(&tbl, dir); err != nil {
		return err
	}

	fmt.Print(tbl.String())
	if out == "" {
		return nil
	}
	md := strings.ReplaceAll(benchmarksTemplate, "{{TABLE}}", tbl.String())
	md = strings.ReplaceAll(md, "{{MACHINE}}", strings.TrimSpace(machine))
	return os.WriteFile(out, []byte(md), 0o644)
}

// floorTable appends the peak RSS of the two floor programs (rss-floor.txt:
// "SPEC CGROUP" in KiB), each next to crun's `run`.
func floorTable(tbl *strings.Builder, dir string) error {
	f, err := readInts(filepath.Join(dir, "rss-floor.txt"))
	if err != nil || len(f) != 2 {
		return fmt.Errorf("rss of the floor programs: %v", err)
	}
	c, err := readInts(filepath.Join(dir, "rss-crun.txt"))
	if err != nil || len(c) != 2 {
		return fmt.Errorf("rss of crun: %v", err)
	}
	tbl.WriteString("\nThe floor under (d): peak RSS of two Go programs built as hako is (`bench/floor`), which do only part of a runtime's work.\n\n")
	tbl.WriteString("| floor program | peak RSS | / crun's `run` |\n| --- | ---: | ---: |\n")
	for i, what := range []string{
		"`bench/floor/spec`: reads config.json into the runtime spec's types (encoding/json)",
		"`bench/floor/cgroup`: the same, then makes, joins and sets the container's cgroup with github.com/opencontainers/cgroups, as hako does",
	} {
		fmt.Fprintf(tbl, "| %s | %.1f MB | %s |\n", what, float64(f[i])/1024, ratio(float64(f[i]), float64(c[0])))
	}
	return nil
}

func ratio(a, b float64) string {
	if b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

func readInts(path string) ([]int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []int64
	for _, f := range strings.Fields(string(b)) {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not a number", path, f)
		}
		out = append(out, n)
	}
	return out, nil
}
