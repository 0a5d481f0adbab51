package validate

import (
	"strconv"
	"strings"
)

// JSON paths name a field the way a person reads it: members with a dot
// (process.args), elements with an index (process.args[0]), and map keys
// that are not plain identifiers in quoted brackets
// (linux.sysctl["net.ipv4.ip_forward"]). The empty path is the document.

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if !(r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (i > 0 && r >= '0' && r <= '9')) {
			return false
		}
	}
	return true
}

// childPath names member name of the object at path.
func childPath(path, name string) string {
	if !isIdent(name) {
		return path + "[" + strconv.Quote(name) + "]"
	}
	if path == "" {
		return name
	}
	return path + "." + name
}

// keyPath names a map entry: always in quoted brackets, so that keys with
// dots read unambiguously.
func keyPath(path, key string) string {
	return path + "[" + strconv.Quote(key) + "]"
}

func indexPath(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

// parentPath drops the last segment of path ("" for a top-level field).
func parentPath(path string) string {
	segs := splitPath(path)
	if len(segs) == 0 {
		return ""
	}
	return strings.Join(segs[:len(segs)-1], "")
}

// splitPath cuts a path into segments, each starting with '.', '[' or (for
// the first) a name; quoted keys may hold any character.
func splitPath(path string) []string {
	var segs []string
	start := 0
	inQuote, esc := false, false
	for i := 0; i < len(path); i++ {
		c := path[i]
		switch {
		case inQuote:
			if esc {
				esc = false
			} else if c == '\\' {
				esc = true
			} else if c == '"' {
				inQuote = false
			}
		case c == '"':
			inQuote = true
		case (c == '.' || c == '[') && i > start:
			segs = append(segs, path[start:i])
			start = i
		}
	}
	if start < len(path) {
		segs = append(segs, path[start:])
	}
	return segs
}

// within reports whether path is p or lies below it.
func within(path, p string) bool {
	if p == "" || path == p {
		return true
	}
	return strings.HasPrefix(path, p) && (path[len(p)] == '.' || path[len(p)] == '[')
}
