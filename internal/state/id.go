package state

import (
	"fmt"
)

// idByte reports whether c may appear in an id: ^[A-Za-z0-9_+.-]+$ (no
// regexp: compiling one costs every process that starts).
func idByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '+' || c == '.' || c == '-'
}

func idChars(id string) bool {
	for i := 0; i < len(id); i++ {
		if !idByte(id[i]) {
			return false
		}
	}
	return true
}

// MaxIDLength bounds ids so that a path built from one stays well below
// PATH_MAX and socket path limits.
const MaxIDLength = 1024

// ValidateID checks a container id before anything is built from it.
func ValidateID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("container id is empty: give the container a name such as \"web1\"")
	case id == "." || id == "..":
		return fmt.Errorf("invalid container id %q: \".\" and \"..\" are not allowed", id)
	case len(id) > MaxIDLength:
		return fmt.Errorf("invalid container id: longer than %d characters", MaxIDLength)
	case !idChars(id):
		return fmt.Errorf("invalid container id %q: use only letters, digits and _ + . - (it must match ^[A-Za-z0-9_+.-]+$)", id)
	}
	return nil
}
