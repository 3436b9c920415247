// The code leaklab-inspect writes once into the unused padding after the end of libc's
// code (native/src/inspect/README in docs/inspect.md). Position independent, no data of
// its own: everything lives in the call state on the chosen thread's own stack, which rbx
// points at on entry (rsp == rbx, 64-byte aligned). Offsets: native/src/inspect/state.h.
//
//   1. XSAVE the thread's extended state (mask all ones) into the state area.
//   2. Run the call records in order: rdi..r9 and two stack words from the record, al = 0;
//      rax and rdx go back into the record and `done` is set. Flag bits (+104): 1 = rdi is
//      the saved handle, 2 = rsi is the saved handle, 0x40 = save rax as the handle (r15),
//      0x80 = skip the call when the handle is 0.
//      The TSC before the first call and after the last goes to +48 and +56.
//   3. XRSTOR, then tgkill(tgid, tid, sig) with a signal the process neither catches nor
//      blocks. Traced, the thread stops there and the inspector puts the registers back.
//      Untraced (the inspector died), the kernel discards the signal and the code below
//      restores every general register and rflags from the block the inspector wrote,
//      then `ret 512` jumps to the resume address with rsp back at its original value.
        .intel_syntax noprefix
        .section .rodata
        .globl leaklab_tramp_start
        .globl leaklab_tramp_end
        .p2align 4
leaklab_tramp_start:
        mov     eax, -1
        mov     edx, -1
        xsave64 [rbx + 2112]
        mov     qword ptr [rbx], 1
        rdtsc                           // time stamp before the first call, at +48
        shl     rdx, 32
        or      rax, rdx
        mov     [rbx + 48], rax
        lea     r12, [rbx + 64]
        mov     r13, [rbx + 8]
        xor     r15d, r15d
1:
        test    r13, r13
        jz      4f
        test    byte ptr [r12 + 104], 0x80
        jz      2f
        test    r15, r15
        jz      3f
2:
        sub     rsp, 16
        mov     rax, [r12 + 56]
        mov     [rsp], rax
        mov     rax, [r12 + 64]
        mov     [rsp + 8], rax
        mov     rdi, [r12 + 8]
        mov     rsi, [r12 + 16]
        mov     rdx, [r12 + 24]
        mov     rcx, [r12 + 32]
        mov     r8,  [r12 + 40]
        mov     r9,  [r12 + 48]
        test    byte ptr [r12 + 104], 1
        jz      5f
        mov     rdi, r15
5:
        test    byte ptr [r12 + 104], 2
        jz      6f
        mov     rsi, r15
6:
        xor     eax, eax
        call    qword ptr [r12]
        add     rsp, 16
        mov     [r12 + 80], rax
        mov     [r12 + 88], rdx
        mov     qword ptr [r12 + 96], 1
        test    byte ptr [r12 + 104], 0x40
        jz      3f
        mov     r15, rax
3:
        add     r12, 128
        dec     r13
        jmp     1b
4:
        rdtsc                           // and after the last one, at +56
        shl     rdx, 32
        or      rax, rdx
        mov     [rbx + 56], rax
        mov     qword ptr [rbx], 2
        mov     eax, -1
        mov     edx, -1
        xrstor64 [rbx + 2112]
        mov     rdi, [rbx + 16]
        mov     rsi, [rbx + 24]
        mov     rdx, [rbx + 32]
        mov     eax, 234
        syscall
        mov     qword ptr [rbx], 3
        mov     rsp, [rbx + 40]
        pop     r15
        pop     r14
        pop     r13
        pop     r12
        pop     r11
        pop     r10
        pop     r9
        pop     r8
        pop     rbp
        pop     rdi
        pop     rsi
        pop     rdx
        pop     rcx
        pop     rbx
        pop     rax
        popfq
        ret     512
        .ascii  "LEAKLAB-INSPECT1"
leaklab_tramp_end:
        .section .note.GNU-stack,"",@progbits
