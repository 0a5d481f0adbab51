package validate

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// FuzzData proves that Data never panics, and checks the parser and the type
// walk against encoding/json, which runtimes use to read config.json:
//   - our parser accepts exactly the documents json.Valid accepts;
//   - the type walk finds a wrong type exactly when json.Unmarshal into
//     specs.Spec reports one;
//   - the type walk decodes exactly what json.Unmarshal decodes, wrong
//     types, repeated members and nulls included.
//
// Run it with: go test -run=^$ -fuzz=FuzzData ./internal/validate
func FuzzData(f *testing.F) {
	for _, glob := range []string{"testdata/broken/*.json", "testdata/valid/*.json", "testdata/golden/*.json"} {
		files, _ := filepath.Glob(glob)
		for _, p := range files {
			f.Add(readTestdata(f, p[len("testdata/"):]))
		}
	}
	f.Add([]byte(`{"process":{"Args":["a"],"args":"b"}}`))
	f.Add([]byte(`[1,2,`))
	f.Add([]byte(`{"linux":{"sysctl":{"a":"b","a":"c"}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := Data("config.json", data, "")
		for _, p := range r.Problems {
			if p.Line < 1 || p.Col < 1 {
				t.Fatalf("problem without a position: %s", p)
			}
			if p.Problem == "" || (p.Severity != SeverityError && p.Severity != SeverityWarning) {
				t.Fatalf("malformed problem: %#v", p)
			}
		}
		li := newLineIndex(data)
		root, serr := parseJSON(data, li)
		if valid := json.Valid(data); valid != (serr == nil) {
			t.Fatalf("json.Valid = %v but our parser says %v", valid, serr)
		}
		if serr != nil {
			if r.OK() {
				t.Fatal("a syntax error must make the report fail")
			}
			return
		}
		w := &walker{li: li, add: func(FieldError) {}, valOff: map[string]int{}, keyOff: map[string]int{}, nulls: map[string]bool{}, misnamed: map[string]string{}}
		var got, s specs.Spec
		w.walk(root, specType, reflect.ValueOf(&got).Elem(), "")
		err := json.Unmarshal(data, &s)
		if !w.fallback && !reflect.DeepEqual(got, s) {
			g, _ := json.Marshal(got)
			j, _ := json.Marshal(s)
			t.Fatalf("the type walk decoded\n%s\nencoding/json decoded\n%s", g, j)
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) != (len(w.typeErr) > 0) {
			t.Fatalf("json.Unmarshal says %v, the type walk found %q", err, w.typeErr)
		}
		if err != nil && r.OK() {
			t.Fatalf("json.Unmarshal fails (%v) but the report is OK", err)
		}
	})
}
