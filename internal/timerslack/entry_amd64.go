package timerslack

// entrySlack is the slack the process had when entry ran; 0 if it did not
// (a binary linked without -E).
var entrySlack uint64

// entry is the process's entry point when linked with -E (see the package
// documentation); it is written in assembly.
func entry()
