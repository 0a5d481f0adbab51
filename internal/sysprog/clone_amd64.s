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

// func vforkTramp(flags, ptid uintptr, ctx *spawnCtx) (pid, errno uintptr)
//
// clone(2) without a stack of the child's own: with CLONE_VM|CLONE_VFORK
// the caller is suspended until the child has executed or exited, and the
// child touches no stack: it loads the execveat arguments from ctx
// (spawnCtx: tramp, path, argv, envp, errno), and when execveat returns,
// stores the errno in ctx and exits (SYS_exit: this task only).
TEXT ·vforkTramp(SB),NOSPLIT|NOFRAME,$0-40
	MOVQ	flags+0(FP), DI
	XORQ	SI, SI           // stack: the caller's
	MOVQ	ptid+8(FP), DX   // parent_tid: CLONE_PIDFD stores the pidfd there
	XORQ	R10, R10
	XORQ	R8, R8
	MOVQ	ctx+16(FP), R12
	MOVL	$56, AX // SYS_clone
	SYSCALL
	TESTQ	AX, AX
	JEQ	vchild
	CMPQ	AX, $0xfffffffffffff001
	JLS	vok
	MOVQ	$-1, pid+24(FP)
	NEGQ	AX
	MOVQ	AX, errno+32(FP)
	RET
vok:
	MOVQ	AX, pid+24(FP)
	MOVQ	$0, errno+32(FP)
	RET
vchild:
	MOVQ	0(R12), DI   // the trampoline's fd
	MOVQ	8(R12), SI   // ""
	MOVQ	16(R12), DX  // argv
	MOVQ	24(R12), R10 // envp
	MOVQ	$0x1000, R8  // AT_EMPTY_PATH
	MOVL	$322, AX     // SYS_execveat
	SYSCALL
	NEGQ	AX
	MOVQ	AX, 32(R12)  // errno, for the caller once it resumes
	MOVL	$127, DI
	MOVL	$60, AX      // SYS_exit
	SYSCALL
	INT	$3
