package main

/*
#include <unistd.h>
#include <sys/syscall.h>

#ifndef SYS_close_range
#define SYS_close_range 436
#endif

// A constructor runs before main, that is before the Go runtime starts
// (and opens descriptors of its own): every descriptor but stdio that the
// helper inherited is closed. hako gives it only its stdio pipes, but hako
// itself may have been given descriptors without close-on-exec (an
// engine's --preserve-fds, whatever its caller left open), which the
// helper has no business holding. close_range is Linux 5.9; before, the
// descriptors below the limit (at most 65536) one by one.
__attribute__((constructor)) static void hako_close_inherited(void) {
	if (syscall(SYS_close_range, 3U, ~0U, 0U) == 0)
		return;
	long max = sysconf(_SC_OPEN_MAX);
	if (max < 0 || max > 65536)
		max = 65536;
	for (int fd = 3; fd < max; fd++)
		close(fd);
}
*/
import "C"
