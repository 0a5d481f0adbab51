package validate

import "strings"

// isSemVer reports whether v is a SemVer 2.0.0 version (semver.org):
// MAJOR.MINOR.PATCH, numbers without leading zeros, then optionally
// -PRERELEASE and +BUILD, each a dot-separated list of non-empty
// [0-9A-Za-z-] identifiers, where a numeric pre-release identifier has no
// leading zero. It is written out rather than a regular expression because
// every `hako create` checks ociVersion, and compiling semver.org's
// expression costs more than the whole check.
func isSemVer(v string) bool {
	v, build, hasBuild := strings.Cut(v, "+")
	if hasBuild && !identifiers(build, false) {
		return false
	}
	core, pre, hasPre := strings.Cut(v, "-")
	if hasPre && !identifiers(pre, true) {
		return false
	}
	nums := strings.Split(core, ".")
	if len(nums) != 3 {
		return false
	}
	for _, n := range nums {
		if !isNumber(n) {
			return false
		}
	}
	return true
}

// identifiers checks a dot-separated list of SemVer identifiers; in a
// pre-release, numeric ones must not have leading zeros.
func identifiers(s string, pre bool) bool {
	for id := range strings.SplitSeq(s, ".") {
		if id == "" {
			return false
		}
		digits := true
		for i := 0; i < len(id); i++ {
			c := id[i]
			switch {
			case c >= '0' && c <= '9':
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '-':
				digits = false
			default:
				return false
			}
		}
		if pre && digits && !isNumber(id) {
			return false
		}
	}
	return true
}

// isNumber: "0", or digits not starting with 0.
func isNumber(s string) bool {
	if s == "" || (s[0] == '0' && len(s) > 1) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
