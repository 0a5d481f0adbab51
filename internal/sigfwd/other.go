//go:build !(linux && amd64)

package sigfwd

import (
	"os"
	"os/signal"
)

// Catch starts catching every signal with os/signal (no handler of our own
// on this architecture).
func Catch() (*Catcher, error) {
	c := make(chan os.Signal, 64)
	signal.Notify(c)
	return &Catcher{C: c, stop: func() { go signal.Stop(c) }}, nil
}
