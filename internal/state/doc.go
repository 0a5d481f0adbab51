// Package state is the --root store: one directory per container holding
// state.json (written to a temporary file and renamed, not fsynced; the
// config the container was created with is its last member) and, until
// the container is started, the exec fifo. The directory itself is the
// container's lock (flock). Container ids are validated before any path is
// built from them. The init's start time (field 22 of /proc/PID/stat) is
// recorded next to its pid so that a reused pid is never mistaken for the
// container, and a zombie init counts as stopped.
package state
