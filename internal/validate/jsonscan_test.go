package validate

import (
	"strings"
	"testing"
)

func TestLineColCountsCharacters(t *testing.T) {
	data := []byte("a\n\t\tb\n\"é\" x\n")
	li := newLineIndex(data)
	for _, c := range []struct {
		off, line, col int
	}{
		{0, 1, 1},
		{2, 2, 1},
		{4, 2, 3}, // after two tabs: one column each
		{6, 3, 1},
		{11, 3, 5}, // after "é" (é is two bytes, one column)
		{100, 4, 1},
	} {
		if l, col := li.lineCol(c.off); l != c.line || col != c.col {
			t.Errorf("lineCol(%d) = %d:%d, want %d:%d", c.off, l, col, c.line, c.col)
		}
	}
}

func TestParserPositions(t *testing.T) {
	doc := "{\n  \"a\": [1, {\"b\": \"x\"}],\n\t\"c\": null\n}"
	li := newLineIndex([]byte(doc))
	root, serr := parseJSON([]byte(doc), li)
	if serr != nil {
		t.Fatal(serr.msg)
	}
	a := root.members[0]
	if a.name != "a" || li.at(a.nameOff) != "2:3" || li.at(a.val.off) != "2:8" {
		t.Errorf("a at %s, value at %s", li.at(a.nameOff), li.at(a.val.off))
	}
	b := a.val.elems[1].members[0]
	if b.val.text != "x" || li.at(b.val.off) != "2:18" {
		t.Errorf("b = %q at %s", b.val.text, li.at(b.val.off))
	}
	c := root.members[1]
	if c.val.kind != kindNull || li.at(c.nameOff) != "3:2" {
		t.Errorf("c at %s", li.at(c.nameOff))
	}
}

func TestSyntaxMessages(t *testing.T) {
	for _, c := range []struct {
		doc, at, path, want string
	}{
		{`{"a": [1, 2,]}`, "1:12", "a", "trailing comma"},
		{`{"a": 1,}`, "1:8", "", "trailing comma"},
		{"{\"a\": 1\n \"b\": 2}", "1:8", "", `missing ',' after the value of "a"`},
		{`{"a": [1 2]}`, "1:9", "a", "missing ',' after element 0"},
		{`{"a": "x}`, "1:7", "a", "not closed before the end of the file"},
		{"{\"a\": \"x\n\"}", "1:7", "a", "not closed before the end of the line"},
		{`{"a": 'x'}`, "1:7", "a", "single quotes"},
		{`{a: 1}`, "1:2", "", "member names must be in double quotes"},
		{`{"a": yes}`, "1:7", "a", "invalid value yes"},
		{`{"a": 0x1F}`, "1:7", "a", "write 31"},
		{`{"a": 0755}`, "1:7", "a", "493"},
		{`{"a": 512m}`, "1:7", "a", "536870912"},
		{`{"a": .5}`, "1:7", "a", "write 0.5"},
		{`{"a": 1.}`, "1:8", "a", "digit must follow"},
		{`{"a": "\q"}`, "1:8", "a", `invalid escape \q`},
		{`{"a": [1}`, "1:9", "a", "array opened at 1:7 is not closed"},
		{`{"a": 1} x`, "1:10", "", "after the end of the JSON document"},
		{`{"a": 1 /* c */}`, "1:9", "", "comments"},
		{"", "1:1", "", "empty"},
		{`{"a":`, "1:6", "a", "end of file"},
		{`{"a": {"b": [`, "1:14", "a.b", "array opened at 1:13"},
		{`{"a b": [,]}`, "1:10", `["a b"][0]`, "value is missing before this ','"},
	} {
		li := newLineIndex([]byte(c.doc))
		_, serr := parseJSON([]byte(c.doc), li)
		if serr == nil {
			t.Errorf("%s: no error", c.doc)
			continue
		}
		if li.at(serr.off) != c.at || serr.path != c.path || !strings.Contains(serr.msg+" "+serr.hint, c.want) {
			t.Errorf("%s: got %s %q: %s — %s; want %s %q …%s…", c.doc, li.at(serr.off), serr.path, serr.msg, serr.hint, c.at, c.path, c.want)
		}
	}
}

func TestDeepNestingIsAnError(t *testing.T) {
	doc := strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1)
	if _, serr := parseJSON([]byte(doc), newLineIndex([]byte(doc))); serr == nil || !strings.Contains(serr.msg, "nested") {
		t.Fatalf("want a nesting error, got %v", serr)
	}
	doc = strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth)
	if _, serr := parseJSON([]byte(doc), newLineIndex([]byte(doc))); serr != nil {
		t.Fatalf("depth %d is allowed by encoding/json: %s", maxDepth, serr.msg)
	}
}

func TestPaths(t *testing.T) {
	if got := childPath(childPath("", "linux"), "sysctl"); got != "linux.sysctl" {
		t.Error(got)
	}
	k := keyPath("linux.sysctl", "net.ipv4.ip_forward")
	if k != `linux.sysctl["net.ipv4.ip_forward"]` {
		t.Error(k)
	}
	if got := parentPath(k + ".x"); got != k {
		t.Errorf("parentPath = %q", got)
	}
	if got := parentPath(`a["x.[y]"]`); got != "a" {
		t.Errorf("parentPath = %q", got)
	}
	if got := parentPath("process.args[0]"); got != "process.args" {
		t.Errorf("parentPath = %q", got)
	}
	if !within("process.args[0]", "process.args") || within("process.argsx", "process.args") || !within("x", "") {
		t.Error("within")
	}
}

func TestClosest(t *testing.T) {
	for _, c := range []struct {
		s    string
		cand []string
		want string
	}{
		{"namespace", []string{"namespaces", "uidMappings"}, "namespaces"},
		{"SCMP_ARCH_AMD64", []string{"SCMP_ARCH_X86_64", "SCMP_ARCH_PPC64"}, ""},
		{"SCMP_CMP_EQUAL", []string{"SCMP_CMP_EQ", "SCMP_CMP_NE"}, "SCMP_CMP_EQ"},
		{"shh", []string{"sh", "ls"}, "sh"},
		{"xyz", []string{"sh", "ls"}, ""},
	} {
		got, _ := closest(c.s, c.cand)
		if got != c.want {
			t.Errorf("closest(%q) = %q, want %q", c.s, got, c.want)
		}
	}
}
