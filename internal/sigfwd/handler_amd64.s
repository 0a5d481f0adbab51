//go:build linux && amd64

#include "textflag.h"

// handler(sig, info, ctx): write(pipeW, &sig, 1). It runs on the thread's
// signal stack (SA_ONSTACK), touches no Go state and may clobber any
// register: the kernel restores them all at rt_sigreturn.
TEXT ·handler(SB),NOSPLIT|NOFRAME,$0
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
