package state

import (
	"fmt"
	"regexp"
)

var idPattern = regexp.MustCompile(`^[A-Za-z0-9_+.-]+$`)

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
	case !idPattern.MatchString(id):
		return fmt.Errorf("invalid container id %q: use only letters, digits and _ + . - (it must match ^[A-Za-z0-9_+.-]+$)", id)
	}
	return nil
}
