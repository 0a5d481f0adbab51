//go:build linux && amd64

#include "textflag.h"

// handler(sig, info, ctx): write(pipeW, &sig, 1). It runs on the thread's
// signal stack (SA_ONSTACK), touches no Go state and may clobber any
// register: the kernel restores them all at rt_sigreturn. A synchronous
// signal (chain[sig] != 0) that the kernel raised for a fault (si_code > 0)
// goes to the Go runtime's handler instead, with the registers the kernel
// gave: it turns the fault into a panic as if we were not there.
TEXT ·handler(SB),NOSPLIT|NOFRAME,$0
	LEAQ	·chain(SB), R8
	MOVBLZX	(R8)(DI*1), AX
	TESTL	AX, AX
	JZ	forward
	MOVL	8(SI), AX // info->si_code
	CMPL	AX, $0
	JLE	forward   // sent with kill(2), sigqueue(3), tgkill(2)
	MOVQ	DI, AX
	SHLQ	$5, AX    // sizeof(struct sigaction) = 32
	LEAQ	·saved(SB), R8
	MOVQ	(R8)(AX*1), AX // saved[sig].handler
	JMP	AX
forward:
	SUBQ	$16, SP
	MOVB	DI, 0(SP)
	MOVQ	·pipeW(SB), DI
	MOVQ	SP, SI
	MOVL	$1, DX
	MOVL	$1, AX // SYS_write
	SYSCALL
	ADDQ	$16, SP
	RET

TEXT ·restorer(SB),NOSPLIT|NOFRAME,$0
	MOVL	$15, AX // SYS_rt_sigreturn
	SYSCALL
	INT	$3

// func handlerAddr() uintptr
TEXT ·handlerAddr(SB),NOSPLIT,$0-8
	LEAQ	·handler(SB), AX
	MOVQ	AX, ret+0(FP)
	RET

// func restorerAddr() uintptr
TEXT ·restorerAddr(SB),NOSPLIT,$0-8
	LEAQ	·restorer(SB), AX
	MOVQ	AX, ret+0(FP)
	RET
