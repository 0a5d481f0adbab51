package cli

import (
	"encoding/json"
	"reflect"
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
