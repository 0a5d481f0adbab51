package main

// benchmarksTemplate is BENCHMARKS.md; report fills in the machine and
// the table.
const benchmarksTemplate = `# Benchmarks

The latest run of ` + "`make bench`" + ` (` + "`bench/bench.sh`" + `): hako, runc and crun
start the same busybox bundle, side by side in one run on one machine. The
numbers are medians; in parentheses the 25th–75th percentiles and the number
of runs. Ratios are of medians, against crun. This file is written by the
bench; do not edit it by hand.

## Machine

{{MACHINE}}

## Results

{{TABLE}}
## What is measured

- **Bundle**: a root filesystem built from the host's static busybox (the
  binary copied, one symlink per applet) and the config of ` + "`hako spec`" + `
  (the same as ` + "`runc spec`" + `: new pid, network, ipc, uts, mount and
  cgroup namespaces, the default mounts, masked and read-only paths, three
  capabilities, no seccomp profile) with ` + "`ociVersion`" + ` 1.0.2 (crun 1.8
  refuses 1.1+), no terminal, and ` + "`/bin/true`" + ` as the process.
- Each runtime has its own ` + "`--root`" + `, on a tmpfs that the bench mounts, as
  ` + "`/run`" + ` is a tmpfs on a usual host; in the disk row of (a), in a
  directory on a disk filesystem (` + "`DISK_ROOT`" + `, by default ` + "`/var/tmp`" + `; its
  type, device and mount options are under Machine).
- **(a)** ` + "`RUNTIME --root R run --bundle B ID`" + ` in the foreground, timed by
  ` + "`hyperfine -N`" + `, with the roots on the tmpfs and on disk, in one hyperfine
  run. On disk, what a runtime's state costs shows: the files and
  directories it makes and removes for each container, and any fsync.
  ext4 without a journal skips, for every inode it allocates, each inode
  freed in the last minute (the last six while the block of the inode
  table that holds it is not written back), looking each one up: a file
  made for each container costs more the more files were made and
  deleted in its block group before it, by anyone.
- **(b)** ` + "`bench/driver cycle`" + `: ` + "`create --pid-file`" + `, ` + "`start`" + `, wait for the
  container's process to exit (the driver is a child subreaper, so the
  orphaned process is its child), ` + "`delete`" + `. The time includes the
  driver's own start (about 1 ms, the same for every runtime).
- **(c)** ` + "`bench/driver many 20`" + `: twenty (b) cycles at once; the time until
  the last one is deleted.
- **(d)** ` + "`ru_maxrss`" + ` of the runtime's process as GNU time reports it
  (` + "`/usr/bin/time -f %M`" + `, which forks: a command started with vfork, as Go
  starts one, would carry the starter's peak RSS in its own), the largest
  of several runs. For ` + "`run`" + ` it covers the processes the runtime waits for
  (runc's re-executed init before its execve, crun's fork, hako's setup
  child, which shares hako's memory); a created container's process is not
  waited for by ` + "`create`" + `. The kernel maps a file's pages at least 64 KiB
  around each fault (fault-around; a whole large folio when the page cache
  holds one), so the binary's pages count nearly in full.
  The floor programs (` + "`bench/floor`" + `, built as hako is: static, pure Go)
  show how much of that any Go runtime pays before its own work: the Go
  runtime with the spec decoded, then with the cgroups library linked and
  used.
  Binary size is the file's size (runc is static; crun is dynamically
  linked, its libraries not counted; hako is static, and its helpers
  hako-image (image verbs) and hako-seccomp (compiles a seccomp profile
  once, then its program is read from the cache) are not counted).
- **(e)** ` + "`RUNTIME --root R exec e /bin/true`" + ` in a container started once
  with ` + "`run -d`" + ` (busybox ` + "`sleep`" + `), timed by ` + "`hyperfine -N`" + `.
- **(f)** as (a), with a seccomp profile of the size of a container
  engine's default one, written by the driver from the host's system call
  table: default ` + "`SCMP_ACT_ERRNO`" + ` (EPERM), one rule allowing 309 names
  (all but 52 that such profiles refuse: modules, kexec, mounts,
  namespaces, clocks, keyrings, ptrace, swap, reboot, BPF, perf) and four
  conditional ` + "`personality`" + ` rules. runc and crun compile it with
  libseccomp in every ` + "`run`" + `; hako reads the program its helper
  hako-seccomp compiled once from the cache in its ` + "`--root`" + `.
- **(g)** as (f), with hako's cache emptied before each of its runs
  (hyperfine ` + "`--prepare`" + `): the cost of a profile's first use, when hako
  runs the helper.
- Each hyperfine benchmark runs in several rounds, alternating the runtimes,
  so that a change of load on a shared machine falls on all of them alike;
  the order rotates from round to round, as whoever runs first in a group
  also pays for the kernel's deferred teardown (network namespaces,
  cgroups) of the group before.

## Reproduce

    make bench        # or, as root: ./bench/bench.sh

It needs root, Go, hyperfine, runc, crun and busybox-static (` + "`make deps`" + `
installs them on Debian). ` + "`RUNS`" + `, ` + "`MANY_RUNS`" + ` and ` + "`ROUNDS`" + ` change the number of
runs; ` + "`DISK_ROOT`" + ` moves the disk row's roots. On a cgroup v1 host crun 1.8 needs the hugetlb controller bound; the
script mounts it if it is missing. Go micro-benchmarks of the hot paths:
` + "`go test -run '^$' -bench . ./internal/spec ./internal/validate ./internal/state ./internal/seccomp`" + `.
`
