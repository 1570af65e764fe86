#include "textflag.h"

// func dotInt8AVX2(a, b *int8, n int) int32
// n is a positive multiple of 32. Each step sign-extends 16 int8 to int16
// (VPMOVSXBW), multiplies pairs and adds neighbours into int32 (VPMADDWD),
// and accumulates in four registers; |sum| stays far below 2^31 for any
// realistic n (at most 2·128² per int32 lane and step).
TEXT ·dotInt8AVX2(SB), NOSPLIT, $0-28
	MOVQ a+0(FP), SI
	MOVQ b+8(FP), DI
	MOVQ n+16(FP), CX
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y6, Y6, Y6
	VPXOR Y7, Y7, Y7
	CMPQ  CX, $64
	JLT   tail32

loop64:
	VPMOVSXBW (SI), Y2
	VPMOVSXBW (DI), Y3
	VPMADDWD  Y2, Y3, Y2
	VPADDD    Y2, Y0, Y0
	VPMOVSXBW 16(SI), Y4
	VPMOVSXBW 16(DI), Y5
	VPMADDWD  Y4, Y5, Y4
	VPADDD    Y4, Y1, Y1
	VPMOVSXBW 32(SI), Y2
	VPMOVSXBW 32(DI), Y3
	VPMADDWD  Y2, Y3, Y2
	VPADDD    Y2, Y6, Y6
	VPMOVSXBW 48(SI), Y4
	VPMOVSXBW 48(DI), Y5
	VPMADDWD  Y4, Y5, Y4
	VPADDD    Y4, Y7, Y7
	ADDQ      $64, SI
	ADDQ      $64, DI
	SUBQ      $64, CX
	CMPQ      CX, $64
	JGE       loop64

tail32:
	CMPQ      CX, $32
	JLT       done
	VPMOVSXBW (SI), Y2
	VPMOVSXBW (DI), Y3
	VPMADDWD  Y2, Y3, Y2
	VPADDD    Y2, Y0, Y0
	VPMOVSXBW 16(SI), Y4
	VPMOVSXBW 16(DI), Y5
	VPMADDWD  Y4, Y5, Y4
	VPADDD    Y4, Y1, Y1

done:
	VPADDD       Y1, Y0, Y0
	VPADDD       Y7, Y6, Y6
	VPADDD       Y6, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPADDD       X1, X0, X0
	VPSHUFD      $0x4E, X0, X1
	VPADDD       X1, X0, X0
	VPSHUFD      $0xB1, X0, X1
	VPADDD       X1, X0, X0
	VMOVD        X0, AX
	VZEROUPPER
	MOVL         AX, ret+24(FP)
	RET
