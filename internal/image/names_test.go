package image

import (
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
)

func TestNormalizeName(t *testing.T) {
	def := name.DefaultRegistry
	cases := map[string]string{
		"busybox":                                def + "/library/busybox:latest",
		"busybox:1.36":                           def + "/library/busybox:1.36",
		"someone/app:2":                          def + "/someone/app:2",
		"127.0.0.1:5000/app":                     "127.0.0.1:5000/app:latest",
		"127.0.0.1:5000/a/b:c":                   "127.0.0.1:5000/a/b:c",
		"127.0.0.1:5000/app@sha256:" + sixtyFour: "127.0.0.1:5000/app@sha256:" + sixtyFour,
	}
	for in, want := range cases {
		if got, err := normalizeName(in); err != nil || got != want {
			t.Errorf("normalizeName(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "UPPER/case", "a:b:c:d", "x@sha256:12"} {
		if _, err := normalizeName(bad); err == nil {
			t.Errorf("normalizeName(%q) accepted", bad)
		}
	}
}

const sixtyFour = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestParsePlatform(t *testing.T) {
	if p, err := ParsePlatform("linux/arm/v7"); err != nil || p.Variant != "v7" || p.Architecture != "arm" {
		t.Errorf("linux/arm/v7 = %+v, %v", p, err)
	}
	for _, bad := range []string{"linux", "linux/", "/amd64", "a/b/c/d"} {
		if _, err := ParsePlatform(bad); err == nil {
			t.Errorf("ParsePlatform(%q) accepted", bad)
		}
	}
	if p, _ := ParsePlatform(""); platformString(p) != platformString(HostPlatform()) {
		t.Errorf("default platform %+v", p)
	}
}
