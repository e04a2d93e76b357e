//go:build amd64 && !purego

#include "textflag.h"

// SHA-256 compression with the SHA extensions. Notation: a register's four
// 32-bit lanes are listed from lane 0 up. In memory the state is the words
// a to h; in registers it is [F E B A] and [H G D C] (X1 and X2; X9 and X10
// for pair's second chain), the form SHA256RNDS2 works on. The message
// quads W0-W3 ... W60-W63 rotate through X3-X6 (X11-X14), each computed
// from the four before it with SHA256MSG1, PALIGNR and SHA256MSG2; X0 holds
// the round keys plus message words of two rounds.

// ROUNDS4 runs four rounds on the state in abef and cdgh with message
// quad m and the round keys at offset off of k<>: two SHA256RNDS2, each two
// rounds, the second on the upper half of X0, with the state registers
// swapping roles between them.
#define ROUNDS4(m, off, abef, cdgh) \
	MOVOU k<>+off(SB), X0; \
	PADDD m, X0; \
	SHA256RNDS2 X0, abef, cdgh; \
	PSHUFD $0x0e, X0, X0; \
	SHA256RNDS2 X0, cdgh, abef

// SCHEDULE overwrites w16 (the quad four back) with the next quad:
// W[t] = σ1(W[t-2]) + W[t-7] + σ0(W[t-15]) + W[t-16], where w12, w8 and w4
// are the quads three, two and one back; tmp is scratch.
#define SCHEDULE(w16, w12, w8, w4, tmp) \
	SHA256MSG1 w12, w16; \
	MOVO w4, tmp; \
	PALIGNR $4, w8, tmp; \
	PADDD tmp, w16; \
	SHA256MSG2 w4, w16

// LOADSTATE reads the words a to h at h into abef = [F E B A] and
// cdgh = [H G D C]; tmp is scratch.
#define LOADSTATE(h, abef, cdgh, tmp) \
	MOVOU 0(h), abef; \
	MOVOU 16(h), cdgh; \
	PSHUFD $0xb1, abef, abef; \
	PSHUFD $0x1b, cdgh, cdgh; \
	MOVO abef, tmp; \
	PALIGNR $8, cdgh, abef; \
	PBLENDW $0xf0, tmp, cdgh

// TOWORDS turns abef and cdgh back into [A B C D] and [E F G H]; tmp is
// scratch.
#define TOWORDS(abef, cdgh, tmp) \
	PSHUFD $0x1b, abef, abef; \
	PSHUFD $0xb1, cdgh, cdgh; \
	MOVO abef, tmp; \
	PBLENDW $0xf0, cdgh, abef; \
	PALIGNR $8, tmp, cdgh

// ADDWORDS adds the words a to h at h (the state before the block) to
// abcd and efgh; tmp is scratch.
#define ADDWORDS(h, abcd, efgh, tmp) \
	MOVOU 0(h), tmp; \
	PADDD tmp, abcd; \
	MOVOU 16(h), tmp; \
	PADDD tmp, efgh

// LOADMSG reads the 64-byte block at p as big-endian words W0-W15 into
// w0 to w12; X8 holds the byte-swap mask.
#define LOADMSG(p, w0, w4, w8, w12) \
	MOVOU 0(p), w0; \
	PSHUFB X8, w0; \
	MOVOU 16(p), w4; \
	PSHUFB X8, w4; \
	MOVOU 32(p), w8; \
	PSHUFB X8, w8; \
	MOVOU 48(p), w12; \
	PSHUFB X8, w12

// func blocks(h *[8]uint32, p []byte)
TEXT ·blocks(SB), NOSPLIT, $0-32
	MOVQ h+0(FP), DI
	MOVQ p_base+8(FP), SI
	MOVQ p_len+16(FP), DX
	SHRQ $6, DX // whole blocks
	JZ   done
	MOVOU bswap<>(SB), X8

loop:
	LOADSTATE(DI, X1, X2, X7)
	LOADMSG(SI, X3, X4, X5, X6)
	ROUNDS4(X3, 0, X1, X2)
	ROUNDS4(X4, 16, X1, X2)
	ROUNDS4(X5, 32, X1, X2)
	ROUNDS4(X6, 48, X1, X2)
	SCHEDULE(X3, X4, X5, X6, X7)
	ROUNDS4(X3, 64, X1, X2)
	SCHEDULE(X4, X5, X6, X3, X7)
	ROUNDS4(X4, 80, X1, X2)
	SCHEDULE(X5, X6, X3, X4, X7)
	ROUNDS4(X5, 96, X1, X2)
	SCHEDULE(X6, X3, X4, X5, X7)
	ROUNDS4(X6, 112, X1, X2)
	SCHEDULE(X3, X4, X5, X6, X7)
	ROUNDS4(X3, 128, X1, X2)
	SCHEDULE(X4, X5, X6, X3, X7)
	ROUNDS4(X4, 144, X1, X2)
	SCHEDULE(X5, X6, X3, X4, X7)
	ROUNDS4(X5, 160, X1, X2)
	SCHEDULE(X6, X3, X4, X5, X7)
	ROUNDS4(X6, 176, X1, X2)
	SCHEDULE(X3, X4, X5, X6, X7)
	ROUNDS4(X3, 192, X1, X2)
	SCHEDULE(X4, X5, X6, X3, X7)
	ROUNDS4(X4, 208, X1, X2)
	SCHEDULE(X5, X6, X3, X4, X7)
	ROUNDS4(X5, 224, X1, X2)
	SCHEDULE(X6, X3, X4, X5, X7)
	ROUNDS4(X6, 240, X1, X2)
	TOWORDS(X1, X2, X7)
	ADDWORDS(DI, X1, X2, X7)
	MOVOU X1, 0(DI)
	MOVOU X2, 16(DI)
	ADDQ $64, SI
	DECQ DX
	JNZ  loop

done:
	RET

// OUTER runs the outer hash on the inner digest in X1 = [A B C D] and
// X2 = [E F G H], which are the block's first eight message words as they
// stand, from the state at CX, and stores the MAC at DX.
#define OUTER \
	MOVO X1, X3; \
	MOVO X2, X4; \
	MOVOU pad96w8<>(SB), X5; \
	MOVOU pad96w12<>(SB), X6; \
	LOADSTATE(CX, X1, X2, X7); \
	ROUNDS4(X3, 0, X1, X2); \
	ROUNDS4(X4, 16, X1, X2); \
	ROUNDS4(X5, 32, X1, X2); \
	ROUNDS4(X6, 48, X1, X2); \
	SCHEDULE(X3, X4, X5, X6, X7); \
	ROUNDS4(X3, 64, X1, X2); \
	SCHEDULE(X4, X5, X6, X3, X7); \
	ROUNDS4(X4, 80, X1, X2); \
	SCHEDULE(X5, X6, X3, X4, X7); \
	ROUNDS4(X5, 96, X1, X2); \
	SCHEDULE(X6, X3, X4, X5, X7); \
	ROUNDS4(X6, 112, X1, X2); \
	SCHEDULE(X3, X4, X5, X6, X7); \
	ROUNDS4(X3, 128, X1, X2); \
	SCHEDULE(X4, X5, X6, X3, X7); \
	ROUNDS4(X4, 144, X1, X2); \
	SCHEDULE(X5, X6, X3, X4, X7); \
	ROUNDS4(X5, 160, X1, X2); \
	SCHEDULE(X6, X3, X4, X5, X7); \
	ROUNDS4(X6, 176, X1, X2); \
	SCHEDULE(X3, X4, X5, X6, X7); \
	ROUNDS4(X3, 192, X1, X2); \
	SCHEDULE(X4, X5, X6, X3, X7); \
	ROUNDS4(X4, 208, X1, X2); \
	SCHEDULE(X5, X6, X3, X4, X7); \
	ROUNDS4(X5, 224, X1, X2); \
	SCHEDULE(X6, X3, X4, X5, X7); \
	ROUNDS4(X6, 240, X1, X2); \
	TOWORDS(X1, X2, X7); \
	ADDWORDS(CX, X1, X2, X7); \
	PSHUFB X8, X1; \
	PSHUFB X8, X2; \
	MOVOU X1, 0(DX); \
	MOVOU X2, 16(DX)

// func finish(mac *[32]byte, h, outer *[8]uint32, last *[64]byte)
//
// The end of an HMAC: the inner hash's last block, last, on the state h,
// then the outer hash, from the state outer, on the inner digest.
TEXT ·finish(SB), NOSPLIT, $0-32
	MOVQ mac+0(FP), DX
	MOVQ h+8(FP), DI
	MOVQ outer+16(FP), CX
	MOVQ last+24(FP), SI
	MOVOU bswap<>(SB), X8
	LOADSTATE(DI, X1, X2, X7)
	LOADMSG(SI, X3, X4, X5, X6)
	ROUNDS4(X3, 0, X1, X2)
	ROUNDS4(X4, 16, X1, X2)
	ROUNDS4(X5, 32, X1, X2)
	ROUNDS4(X6, 48, X1, X2)
	SCHEDULE(X3, X4, X5, X6, X7)
	ROUNDS4(X3, 64, X1, X2)
	SCHEDULE(X4, X5, X6, X3, X7)
	ROUNDS4(X4, 80, X1, X2)
	SCHEDULE(X5, X6, X3, X4, X7)
	ROUNDS4(X5, 96, X1, X2)
	SCHEDULE(X6, X3, X4, X5, X7)
	ROUNDS4(X6, 112, X1, X2)
	SCHEDULE(X3, X4, X5, X6, X7)
	ROUNDS4(X3, 128, X1, X2)
	SCHEDULE(X4, X5, X6, X3, X7)
	ROUNDS4(X4, 144, X1, X2)
	SCHEDULE(X5, X6, X3, X4, X7)
	ROUNDS4(X5, 160, X1, X2)
	SCHEDULE(X6, X3, X4, X5, X7)
	ROUNDS4(X6, 176, X1, X2)
	SCHEDULE(X3, X4, X5, X6, X7)
	ROUNDS4(X3, 192, X1, X2)
	SCHEDULE(X4, X5, X6, X3, X7)
	ROUNDS4(X4, 208, X1, X2)
	SCHEDULE(X5, X6, X3, X4, X7)
	ROUNDS4(X5, 224, X1, X2)
	SCHEDULE(X6, X3, X4, X5, X7)
	ROUNDS4(X6, 240, X1, X2)
	TOWORDS(X1, X2, X7)
	ADDWORDS(DI, X1, X2, X7)
	OUTER
	RET

// func finishAndHash(mac *[32]byte, h, outer *[8]uint32, last *[64]byte, hash, data *[32]byte)
//
// finish, and the SHA-256 of the 32 bytes at data stored at hash, its one
// compression interleaved with the inner hash's last: each SHA256RNDS2
// waits for the one before it in its own chain, and the other chain's
// fill the wait.
TEXT ·finishAndHash(SB), NOSPLIT, $0-48
	MOVQ mac+0(FP), DX
	MOVQ h+8(FP), DI
	MOVQ outer+16(FP), CX
	MOVQ last+24(FP), SI
	MOVQ hash+32(FP), R8
	MOVQ data+40(FP), R9
	LEAQ iv<>(SB), R10
	MOVOU bswap<>(SB), X8
	LOADSTATE(DI, X1, X2, X7)
	LOADSTATE(R10, X9, X10, X15)
	LOADMSG(SI, X3, X4, X5, X6)
	MOVOU 0(R9), X11
	PSHUFB X8, X11
	MOVOU 16(R9), X12
	PSHUFB X8, X12
	MOVOU pad32w8<>(SB), X13
	MOVOU pad32w12<>(SB), X14
	ROUNDS4(X3, 0, X1, X2)
	ROUNDS4(X11, 0, X9, X10)
	ROUNDS4(X4, 16, X1, X2)
	ROUNDS4(X12, 16, X9, X10)
	ROUNDS4(X5, 32, X1, X2)
	ROUNDS4(X13, 32, X9, X10)
	ROUNDS4(X6, 48, X1, X2)
	ROUNDS4(X14, 48, X9, X10)
	SCHEDULE(X3, X4, X5, X6, X7)
	ROUNDS4(X3, 64, X1, X2)
	SCHEDULE(X11, X12, X13, X14, X15)
	ROUNDS4(X11, 64, X9, X10)
	SCHEDULE(X4, X5, X6, X3, X7)
	ROUNDS4(X4, 80, X1, X2)
	SCHEDULE(X12, X13, X14, X11, X15)
	ROUNDS4(X12, 80, X9, X10)
	SCHEDULE(X5, X6, X3, X4, X7)
	ROUNDS4(X5, 96, X1, X2)
	SCHEDULE(X13, X14, X11, X12, X15)
	ROUNDS4(X13, 96, X9, X10)
	SCHEDULE(X6, X3, X4, X5, X7)
	ROUNDS4(X6, 112, X1, X2)
	SCHEDULE(X14, X11, X12, X13, X15)
	ROUNDS4(X14, 112, X9, X10)
	SCHEDULE(X3, X4, X5, X6, X7)
	ROUNDS4(X3, 128, X1, X2)
	SCHEDULE(X11, X12, X13, X14, X15)
	ROUNDS4(X11, 128, X9, X10)
	SCHEDULE(X4, X5, X6, X3, X7)
	ROUNDS4(X4, 144, X1, X2)
	SCHEDULE(X12, X13, X14, X11, X15)
	ROUNDS4(X12, 144, X9, X10)
	SCHEDULE(X5, X6, X3, X4, X7)
	ROUNDS4(X5, 160, X1, X2)
	SCHEDULE(X13, X14, X11, X12, X15)
	ROUNDS4(X13, 160, X9, X10)
	SCHEDULE(X6, X3, X4, X5, X7)
	ROUNDS4(X6, 176, X1, X2)
	SCHEDULE(X14, X11, X12, X13, X15)
	ROUNDS4(X14, 176, X9, X10)
	SCHEDULE(X3, X4, X5, X6, X7)
	ROUNDS4(X3, 192, X1, X2)
	SCHEDULE(X11, X12, X13, X14, X15)
	ROUNDS4(X11, 192, X9, X10)
	SCHEDULE(X4, X5, X6, X3, X7)
	ROUNDS4(X4, 208, X1, X2)
	SCHEDULE(X12, X13, X14, X11, X15)
	ROUNDS4(X12, 208, X9, X10)
	SCHEDULE(X5, X6, X3, X4, X7)
	ROUNDS4(X5, 224, X1, X2)
	SCHEDULE(X13, X14, X11, X12, X15)
	ROUNDS4(X13, 224, X9, X10)
	SCHEDULE(X6, X3, X4, X5, X7)
	ROUNDS4(X6, 240, X1, X2)
	SCHEDULE(X14, X11, X12, X13, X15)
	ROUNDS4(X14, 240, X9, X10)
	TOWORDS(X9, X10, X15)
	ADDWORDS(R10, X9, X10, X15)
	PSHUFB X8, X9
	PSHUFB X8, X10
	MOVOU X9, 0(R8)
	MOVOU X10, 16(R8)
	TOWORDS(X1, X2, X7)
	ADDWORDS(DI, X1, X2, X7)
	OUTER
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

// SHA-256's initial state, the words a to h.
DATA iv<>+0(SB)/4, $0x6a09e667
DATA iv<>+4(SB)/4, $0xbb67ae85
DATA iv<>+8(SB)/4, $0x3c6ef372
DATA iv<>+12(SB)/4, $0xa54ff53a
DATA iv<>+16(SB)/4, $0x510e527f
DATA iv<>+20(SB)/4, $0x9b05688c
DATA iv<>+24(SB)/4, $0x1f83d9ab
DATA iv<>+28(SB)/4, $0x5be0cd19
GLOBL iv<>(SB), RODATA|NOPTR, $32

// W8-W11 and W12-W15 of a message of 32 bytes (the hashed data) and of 96
// (the outer hash's: a block of key, then the inner digest): 0x80 after
// it, zeros, its length in bits last.
DATA pad32w8<>+0(SB)/4, $0x80000000
DATA pad32w8<>+4(SB)/4, $0
DATA pad32w8<>+8(SB)/4, $0
DATA pad32w8<>+12(SB)/4, $0
GLOBL pad32w8<>(SB), RODATA|NOPTR, $16

DATA pad32w12<>+0(SB)/4, $0
DATA pad32w12<>+4(SB)/4, $0
DATA pad32w12<>+8(SB)/4, $0
DATA pad32w12<>+12(SB)/4, $256
GLOBL pad32w12<>(SB), RODATA|NOPTR, $16

DATA pad96w8<>+0(SB)/4, $0x80000000
DATA pad96w8<>+4(SB)/4, $0
DATA pad96w8<>+8(SB)/4, $0
DATA pad96w8<>+12(SB)/4, $0
GLOBL pad96w8<>(SB), RODATA|NOPTR, $16

DATA pad96w12<>+0(SB)/4, $0
DATA pad96w12<>+4(SB)/4, $0
DATA pad96w12<>+8(SB)/4, $0
DATA pad96w12<>+12(SB)/4, $768
GLOBL pad96w12<>(SB), RODATA|NOPTR, $16

// PSHUFB mask: reverse the bytes of each 32-bit lane.
DATA bswap<>+0(SB)/8, $0x0405060700010203
DATA bswap<>+8(SB)/8, $0x0c0d0e0f08090a0b
GLOBL bswap<>(SB), RODATA|NOPTR, $16
