// Package inspect reports on isolation: what this host offers containers
// (`hako doctor`) and, next to it, what a container actually got.
//
// The doctor reads /proc and /sys and tries the few system calls whose
// presence cannot be read anywhere (pidfd_open, clone3, creating a user
// namespace). Each finding is one Check: ok, warn or fail, what was found,
// and a hint. A host with any failed check cannot run a container.
package inspect
