package validate

import (
	"regexp"
	"testing"
)

// semVerOracle is the regular expression semver.org publishes for 2.0.0;
// isSemVer must agree with it on every input.
var semVerOracle = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$`)

var semVerCases = map[string]bool{
	"1.0.0": true, "1.3.0": true, "0.0.0": true, "10.20.30": true, "1.0.0-rc.1": true,
	"1.0.0-alpha.beta.1": true, "1.0.0-0A.is.legal": true, "1.0.0+001": true, "1.0.0-rc-1+build.7-x": true,
	"1.0.0--": true, "1.0.0-0": true, "1.0.0-x-y-z.--": true, "1.2.3+a+b": false,
	"": false, "1": false, "1.0": false, "v1.0.0": false, "01.0.0": false, "1.00.0": false,
	"1.0.0-01": false, "1.0.0-": false, "1.0.0+": false, "1.0.0-a..b": false, "1.0.0-é": false,
	"1.0.0 ": false, "1.0.0.0": false, "1.0.0-rc.1+": false, "1.0.0+.a": false, "-1.0.0": false,
	"1.0.0-a_b": false, "1.0.0-00a": true, "1.0.0+00": true, "１.0.0": false,
}

func TestIsSemVer(t *testing.T) {
	for v, want := range semVerCases {
		if got := isSemVer(v); got != want {
			t.Errorf("isSemVer(%q) = %v, want %v", v, got, want)
		}
		if oracle := semVerOracle.MatchString(v); oracle != want {
			t.Errorf("case %q: semver.org's expression says %v, the table %v", v, oracle, want)
		}
	}
}

func FuzzIsSemVer(f *testing.F) {
	for v := range semVerCases {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if got, want := isSemVer(v), semVerOracle.MatchString(v); got != want {
			t.Errorf("isSemVer(%q) = %v; semver.org's expression says %v", v, got, want)
		}
	})
}
