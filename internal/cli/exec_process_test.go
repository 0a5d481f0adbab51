package cli

import (
	"encoding/json"
	"maps"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hako-dev/hako/internal/spec"
)

// decodeProcess decodes what encoding/json decodes, and refuses what it
// refuses.
func TestDecodeProcessMatchesEncodingJSON(t *testing.T) {
	full, err := json.Marshal(spec.Default().Process)
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range []string{
		string(full),
		`{"args":["sh"],"cwd":"/","env":["A=1"],"user":{"uid":1,"gid":2,"additionalGids":[3]},"unknown":{"x":[1]}}`,
		`{"args":["sh"],"rlimits":[{"type":"RLIMIT_NOFILE","hard":1024,"soft":1024}],"oomScoreAdj":-5,"terminal":true,"consoleSize":{"height":2,"width":3}}`,
		`null`,
		`{}`,
		` {"args": ["a\u00e9\n"]} `,
		`{"args":"sh"}`,       // wrong type
		`{"user":{"uid":-1}}`, // out of range
		`{"args":["sh"]`,      // unterminated
		`{"args":["sh"]}, "process": {"args":["other"]}`, // not one document
		`{"args":["sh"]} {"x":1}`,
		``,
	} {
		var want specs.Process
		werr := json.Unmarshal([]byte(doc), &want)
		got, gerr := decodeProcess([]byte(doc))
		if (werr != nil) != (gerr != nil) {
			t.Errorf("%q: encoding/json says %v, decodeProcess %v", doc, werr, gerr)
			continue
		}
		if werr == nil && !reflect.DeepEqual(&want, got) {
			t.Errorf("%q: encoding/json decodes %+v, decodeProcess %+v", doc, want, *got)
		}
	}
}

// --cgroup flags are read as runc reads them: one bare path for every
// hierarchy, or CONTROLLER[,CONTROLLER]:PATH each naming a controller once.
func TestSubCgroups(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want map[string]string
		err  string
	}{
		{nil, nil, ""},
		{[]string{"sub"}, map[string]string{"": "sub"}, ""},
		{[]string{"pids:a", "memory,cpu:b/c"}, map[string]string{"pids": "a", "memory": "b/c", "cpu": "b/c"}, ""},
		{[]string{"a", "b"}, nil, "needs a controller"},
		{[]string{",pids:a"}, nil, "empty controller"},
		{[]string{"pids:a", "pids:b"}, nil, "named twice"},
	} {
		got, err := subCgroups(tc.args)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: %v, want an error with %q", tc.args, err, tc.err)
			}
			continue
		}
		if err != nil || !maps.Equal(got, tc.want) {
			t.Errorf("%q: %v, %v; want %v", tc.args, got, err, tc.want)
		}
	}
}
