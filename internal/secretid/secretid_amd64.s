//go:build amd64 && !purego

#include "textflag.h"

// SHA-256 of a 32-byte message with the SHA extensions: one compression.
// Notation: a register's four 32-bit lanes are listed from lane 0 up. The
// state lives in two registers, X1 = [F E B A] and X2 = [H G D C], the form
// SHA256RNDS2 works on; the message quads W0-W3 ... W60-W63 rotate through
// X3-X6, each computed from the four before it with SHA256MSG1, PALIGNR and
// SHA256MSG2; X0 holds the round keys plus message words of two rounds.

// ROUNDS4 runs four rounds with message quad m and the round keys at
// offset off of k<>: two SHA256RNDS2, each two rounds, the second on the
// upper half of X0, with the state registers swapping roles between them.
#define ROUNDS4(m, off) \
	MOVOU k<>+off(SB), X0; \
	PADDD m, X0; \
	SHA256RNDS2 X0, X1, X2; \
	PSHUFD $0x0e, X0, X0; \
	SHA256RNDS2 X0, X2, X1

// SCHEDULE overwrites w16 (the quad four back) with the next quad:
// W[t] = σ1(W[t-2]) + W[t-7] + σ0(W[t-15]) + W[t-16], where w12, w8 and w4
// are the quads three, two and one back.
#define SCHEDULE(w16, w12, w8, w4) \
	SHA256MSG1 w12, w16; \
	MOVO w4, X7; \
	PALIGNR $4, w8, X7; \
	PADDD X7, w16; \
	SHA256MSG2 w4, w16

// func sum32(out, in *[32]byte)
TEXT ·sum32(SB), NOSPLIT, $0-16
	MOVQ out+0(FP), DI
	MOVQ in+8(FP), SI
	MOVOU bswap<>(SB), X8
	MOVOU ivABEF<>(SB), X1
	MOVOU ivCDGH<>(SB), X2

	// W0-W7: the message, big-endian words; W8-W15: its padding, constant
	// for 256 bits (a 1 bit, zeros, the length 256).
	MOVOU 0(SI), X3
	PSHUFB X8, X3
	MOVOU 16(SI), X4
	PSHUFB X8, X4
	MOVOU pad8<>(SB), X5
	MOVOU pad12<>(SB), X6
	ROUNDS4(X3, 0)
	ROUNDS4(X4, 16)
	ROUNDS4(X5, 32)
	ROUNDS4(X6, 48)
	SCHEDULE(X3, X4, X5, X6)
	ROUNDS4(X3, 64)
	SCHEDULE(X4, X5, X6, X3)
	ROUNDS4(X4, 80)
	SCHEDULE(X5, X6, X3, X4)
	ROUNDS4(X5, 96)
	SCHEDULE(X6, X3, X4, X5)
	ROUNDS4(X6, 112)
	SCHEDULE(X3, X4, X5, X6)
	ROUNDS4(X3, 128)
	SCHEDULE(X4, X5, X6, X3)
	ROUNDS4(X4, 144)
	SCHEDULE(X5, X6, X3, X4)
	ROUNDS4(X5, 160)
	SCHEDULE(X6, X3, X4, X5)
	ROUNDS4(X6, 176)
	SCHEDULE(X3, X4, X5, X6)
	ROUNDS4(X3, 192)
	SCHEDULE(X4, X5, X6, X3)
	ROUNDS4(X4, 208)
	SCHEDULE(X5, X6, X3, X4)
	ROUNDS4(X5, 224)
	SCHEDULE(X6, X3, X4, X5)
	ROUNDS4(X6, 240)

	// Add the initial state, then reorder [F E B A] [H G D C] into
	// [A B C D] [E F G H] and store the words big-endian.
	MOVOU ivABEF<>(SB), X9
	PADDD X9, X1
	MOVOU ivCDGH<>(SB), X9
	PADDD X9, X2
	PSHUFD $0x1b, X1, X1   // [A B E F]
	PSHUFD $0xb1, X2, X2   // [G H C D]
	MOVO X1, X7
	PBLENDW $0xf0, X2, X1  // [A B C D]
	PALIGNR $8, X7, X2     // [E F G H]
	PSHUFB X8, X1
	PSHUFB X8, X2
	MOVOU X1, 0(DI)
	MOVOU X2, 16(DI)
	RET

// The round constants, K0-K63.
DATA k<>+0(SB)/4, $0x428a2f98
DATA k<>+4(SB)/4, $0x71374491
DATA k<>+8(SB)/4, $0xb5c0fbcf
DATA k<>+12(SB)/4, $0xe9b5dba5
DATA k<>+16(SB)/4, $0x3956c25b
DATA k<>+20(SB)/4, $0x59f111f1
DATA k<>+24(SB)/4, $0x923f82a4
DATA k<>+28(SB)/4, $0xab1c5ed5
DATA k<>+32(SB)/4, $0xd807aa98
DATA k<>+36(SB)/4, $0x12835b01
DATA k<>+40(SB)/4, $0x243185be
DATA k<>+44(SB)/4, $0x550c7dc3
DATA k<>+48(SB)/4, $0x72be5d74
DATA k<>+52(SB)/4, $0x80deb1fe
DATA k<>+56(SB)/4, $0x9bdc06a7
DATA k<>+60(SB)/4, $0xc19bf174
DATA k<>+64(SB)/4, $0xe49b69c1
DATA k<>+68(SB)/4, $0xefbe4786
DATA k<>+72(SB)/4, $0x0fc19dc6
DATA k<>+76(SB)/4, $0x240ca1cc
DATA k<>+80(SB)/4, $0x2de92c6f
DATA k<>+84(SB)/4, $0x4a7484aa
DATA k<>+88(SB)/4, $0x5cb0a9dc
DATA k<>+92(SB)/4, $0x76f988da
DATA k<>+96(SB)/4, $0x983e5152
DATA k<>+100(SB)/4, $0xa831c66d
DATA k<>+104(SB)/4, $0xb00327c8
DATA k<>+108(SB)/4, $0xbf597fc7
DATA k<>+112(SB)/4, $0xc6e00bf3
DATA k<>+116(SB)/4, $0xd5a79147
DATA k<>+120(SB)/4, $0x06ca6351
DATA k<>+124(SB)/4, $0x14292967
DATA k<>+128(SB)/4, $0x27b70a85
DATA k<>+132(SB)/4, $0x2e1b2138
DATA k<>+136(SB)/4, $0x4d2c6dfc
DATA k<>+140(SB)/4, $0x53380d13
DATA k<>+144(SB)/4, $0x650a7354
DATA k<>+148(SB)/4, $0x766a0abb
DATA k<>+152(SB)/4, $0x81c2c92e
DATA k<>+156(SB)/4, $0x92722c85
DATA k<>+160(SB)/4, $0xa2bfe8a1
DATA k<>+164(SB)/4, $0xa81a664b
DATA k<>+168(SB)/4, $0xc24b8b70
DATA k<>+172(SB)/4, $0xc76c51a3
DATA k<>+176(SB)/4, $0xd192e819
DATA k<>+180(SB)/4, $0xd6990624
DATA k<>+184(SB)/4, $0xf40e3585
DATA k<>+188(SB)/4, $0x106aa070
DATA k<>+192(SB)/4, $0x19a4c116
DATA k<>+196(SB)/4, $0x1e376c08
DATA k<>+200(SB)/4, $0x2748774c
DATA k<>+204(SB)/4, $0x34b0bcb5
DATA k<>+208(SB)/4, $0x391c0cb3
DATA k<>+212(SB)/4, $0x4ed8aa4a
DATA k<>+216(SB)/4, $0x5b9cca4f
DATA k<>+220(SB)/4, $0x682e6ff3
DATA k<>+224(SB)/4, $0x748f82ee
DATA k<>+228(SB)/4, $0x78a5636f
DATA k<>+232(SB)/4, $0x84c87814
DATA k<>+236(SB)/4, $0x8cc70208
DATA k<>+240(SB)/4, $0x90befffa
DATA k<>+244(SB)/4, $0xa4506ceb
DATA k<>+248(SB)/4, $0xbef9a3f7
DATA k<>+252(SB)/4, $0xc67178f2
GLOBL k<>(SB), RODATA|NOPTR, $256

// The initial state in the registers' order: [F E B A], [H G D C].
DATA ivABEF<>+0(SB)/4, $0x9b05688c
DATA ivABEF<>+4(SB)/4, $0x510e527f
DATA ivABEF<>+8(SB)/4, $0xbb67ae85
DATA ivABEF<>+12(SB)/4, $0x6a09e667
GLOBL ivABEF<>(SB), RODATA|NOPTR, $16

DATA ivCDGH<>+0(SB)/4, $0x5be0cd19
DATA ivCDGH<>+4(SB)/4, $0x1f83d9ab
DATA ivCDGH<>+8(SB)/4, $0xa54ff53a
DATA ivCDGH<>+12(SB)/4, $0x3c6ef372
GLOBL ivCDGH<>(SB), RODATA|NOPTR, $16

// W8-W11 and W12-W15 of a 32-byte message: 0x80 after it, its length in bits last.
DATA pad8<>+0(SB)/4, $0x80000000
DATA pad8<>+4(SB)/4, $0x00000000
DATA pad8<>+8(SB)/4, $0x00000000
DATA pad8<>+12(SB)/4, $0x00000000
GLOBL pad8<>(SB), RODATA|NOPTR, $16

DATA pad12<>+0(SB)/4, $0x00000000
DATA pad12<>+4(SB)/4, $0x00000000
DATA pad12<>+8(SB)/4, $0x00000000
DATA pad12<>+12(SB)/4, $0x00000100
GLOBL pad12<>(SB), RODATA|NOPTR, $16

// PSHUFB mask: reverse the bytes of each 32-bit lane.
DATA bswap<>+0(SB)/8, $0x0405060700010203
DATA bswap<>+8(SB)/8, $0x0c0d0e0f08090a0b
GLOBL bswap<>(SB), RODATA|NOPTR, $16
