//go:build !amd64

package timerslack

// entrySlack: no entry stub on this architecture; Raise uses /proc.
const entrySlack = 0
