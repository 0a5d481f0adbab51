// Package spawn is the compiler of a container's setup and the parent
// side of its runners. It turns a spec into a setup program (package
// sysprog), once: compile.go and process.go are the only place that
// decides what a container's setup, or an exec's, does and in what order
// (with mount.Compile and the security.Compile functions for their parts).
//
// Two runners execute the program (runner.go): the raw child, a CLONE_VM
// clone of hako that runs the ops as raw system calls (the default), and
// the Go runner, hako executed as hako-init by the raw child once it is in
// the container's namespaces (package goinit), which runs the same ops on
// its locked thread and does what needs Go at the program's stages:
// createContainer and startContainer hooks inside the container,
// tmpcopyup. A program with a stage takes the Go runner; HAKO_INIT=go
// forces it; `--debug` logs which runner ran and why.
//
// Start and StartExec drive a runner through the program's
// synchronisation points: the user namespace's id maps ('U'), the cgroup
// (the runner waits until the parent has put it in), createRuntime hooks
// ('P'), the pty master, ready ('R', from the trampoline), and the execve
// of the process. Errors come back as the op's own, naming the config
// field. spawn never imports the Go runner (test/arch keeps the wall).
package spawn
