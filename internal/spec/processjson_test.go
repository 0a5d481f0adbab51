package spec

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// fill sets every field reachable from v to a random non-zero value.
func fill(r *rand.Rand, v reflect.Value) {
	switch v.Kind() {
	case reflect.Bool:
		v.SetBool(true)
	case reflect.String:
		alphabet := []string{"a", "Z", "é", "\"", "\\", "\n", "\t", "\x01", "\x7f", "<&>", "\u2028", "\xff", "日本", " "}
		s := ""
		for range 1 + r.IntN(6) {
			s += alphabet[r.IntN(len(alphabet))]
		}
		v.SetString(s)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(r.Uint64()) >> (64 - uint(v.Type().Bits())))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		v.SetUint(r.Uint64() >> (64 - uint(v.Type().Bits())))
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(r, v.Elem())
	case reflect.Slice:
		n := 1 + r.IntN(3)
		v.Set(reflect.MakeSlice(v.Type(), n, n))
		for i := range n {
			fill(r, v.Index(i))
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(r, v.Field(i))
			}
		}
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
	default:
		panic("fill: kind " + v.Kind().String())
	}
}

func decodeProcess(t *testing.T, what string, b []byte) specs.Process {
	t.Helper()
	var p specs.Process
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatalf("%s: %v\n%s", what, err, b)
	}
	return p
}

// Whatever the process holds, it decodes from AppendProcess's JSON to what
// it decodes to from encoding/json's.
func TestAppendProcessMatchesEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	cases := []specs.Process{{}, {Cwd: "/"}, *Default().Process}
	for range 300 {
		var p specs.Process
		fill(r, reflect.ValueOf(&p).Elem())
		cases = append(cases, p)
		// ... and with some fields back at their zero values.
		q := p
		v := reflect.ValueOf(&q).Elem()
		for i := range v.NumField() {
			if r.IntN(2) == 0 {
				v.Field(i).Set(reflect.Zero(v.Field(i).Type()))
			}
		}
		cases = append(cases, q)
	}
	for i, p := range cases {
		ref, err := json.Marshal(&p)
		if err != nil {
			t.Fatal(err)
		}
		ours := AppendProcess(nil, &p)
		want, got := decodeProcess(t, "encoding/json's", ref), decodeProcess(t, "AppendProcess's", ours)
		if !reflect.DeepEqual(want, got) {
			t.Fatalf("case %d:\nencoding/json: %s\nAppendProcess: %s", i, ref, ours)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	f.Add("plain")
	f.Add("\"\\\x00\x1f\xff\xfe\u2028é")
	f.Fuzz(func(t *testing.T, s string) {
		var got string
		if err := json.Unmarshal(appendString(nil, s), &got); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		ref, _ := json.Marshal(s)
		var want string
		json.Unmarshal(ref, &want)
		if got != want {
			t.Errorf("%q decodes as %q, encoding/json's as %q", s, got, want)
		}
	})
}
