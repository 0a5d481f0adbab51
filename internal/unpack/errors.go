package unpack

import (
	"errors"
	"fmt"
)

// ErrEscape marks an entry that would reach outside the root filesystem.
var ErrEscape = errors.New("it would reach outside the root filesystem")

// EntryError is a failure on one tar entry.
type EntryError struct {
	Entry string // the name as written in the layer
	Op    string // what was being done, e.g. "create file"
	Err   error
}

func (e *EntryError) Error() string {
	return fmt.Sprintf("layer entry %q: %s: %v", e.Entry, e.Op, e.Err)
}

func (e *EntryError) Unwrap() error { return e.Err }

// LimitError reports a layer that exceeds one of the [Options] limits.
type LimitError struct {
	What  string // "decompressed size", "entry count"
	Limit int64
	Field string // the Options field that sets it
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("layer exceeds the %s limit of %d (unpack.Options.%s): refusing it as a possible decompression bomb or hostile layer",
		e.What, e.Limit, e.Field)
}
