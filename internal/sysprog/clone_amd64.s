//go:build linux && amd64

#include "textflag.h"

// func cloneVM(flags, stack uintptr, p *Program, pidfd *int32) (pid, errno uintptr)
//
// clone(2) with the child on its own stack: the parent returns the child's
// pid; the child calls childMain(p) on stack and never returns.
TEXT ·cloneVM(SB),NOSPLIT|NOFRAME,$0-48
	MOVQ	flags+0(FP), DI
	MOVQ	stack+8(FP), SI
	MOVQ	p+16(FP), R12
	MOVQ	pidfd+24(FP), DX // parent_tid: where CLONE_PIDFD stores the pidfd
	XORQ	R10, R10
	XORQ	R8, R8
	MOVL	$56, AX // SYS_clone
	SYSCALL
	TESTQ	AX, AX
	JEQ	child
	CMPQ	AX, $0xfffffffffffff001
	JLS	ok
	MOVQ	$-1, pid+32(FP)
	NEGQ	AX
	MOVQ	AX, errno+40(FP)
	RET
ok:
	MOVQ	AX, pid+32(FP)
	MOVQ	$0, errno+40(FP)
	RET
child:
	// SP is the top of the child's stack: pass p as the ABI0 argument.
	// The call is indirect so that the linker's nosplit check starts the
	// child's frames at childMain (they are on the child's own stack, not
	// below the parent's).
	SUBQ	$16, SP
	MOVQ	R12, 0(SP)
	LEAQ	·childMain(SB), AX
	CALL	AX
	MOVL	$1, DI
	MOVL	$231, AX // SYS_exit_group
	SYSCALL
	INT	$3
