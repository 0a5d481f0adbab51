// Package spawn is the PARENT side of container creation: it starts the
// container's init in new namespaces (or joins existing ones), drives the
// init protocol, and hands back the init's pid and terminal. It never
// imports the child side (internal/containerinit); the two meet only in
// internal/initproto.
//
// Process model: the init is this same binary re-executed with argv[0]
// "hako-init", started by one clone() carrying every CLONE_NEW* flag (the
// kernel creates the user namespace first, so the others are owned by it)
// with uid/gid maps written before the child runs. Existing namespaces
// named by path are joined by a locked OS thread (unshare(CLONE_FS), setns)
// that then starts the child and dies with its goroutine. The binary is
// executed through a read-only, detached mount of itself, so /proc/PID/exe
// of the init can never be opened for writing (CVE-2019-5736).
package spawn
