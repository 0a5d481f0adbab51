#include "textflag.h"

// entry is the process's first instruction when hako is linked with
// -ldflags=-E=github.com/hako-dev/hako/internal/timerslack.entry: it saves
// the timer slack the process was started with in ·entrySlack and, if it
// is finer, sets the coarse one (Coarse, 1 ms) before the Go runtime
// starts any thread, then continues at the runtime's own entry. It leaves
// the stack (argc, argv, envp, auxv) untouched; SYSCALL clobbers only AX,
// CX and R11, and the runtime's entry reads what it needs from the stack.
TEXT ·entry(SB),NOSPLIT|NOFRAME,$0
	MOVQ	$157, AX	// SYS_prctl
	MOVQ	$30, DI		// PR_GET_TIMERSLACK
	SYSCALL
	MOVQ	AX, ·entrySlack(SB)
	CMPQ	AX, $1000000
	JAE	done		// already that coarse (or an error: negative, unsigned huge)
	MOVQ	$157, AX
	MOVQ	$29, DI		// PR_SET_TIMERSLACK
	MOVQ	$1000000, SI
	SYSCALL
done:
	JMP	_rt0_amd64_linux(SB)
