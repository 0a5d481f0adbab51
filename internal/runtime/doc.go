// Package runtime is the container lifecycle as a state machine over the
// --root store: Create, Start, Kill, Delete, and Run (create + start + wait
// + delete). It derives a container's status from the kernel, never trusts
// a stale file, and leaves nothing behind when a step fails. It imports the
// parent side (spawn) and the leaves; never the child side, the image half
// or the CLI.
//
//	created ──start──> running ──(init exits)──> stopped ──delete──> (gone)
//	   │                  │
//	   └──delete --force──┴──delete --force──> (gone)
package runtime
