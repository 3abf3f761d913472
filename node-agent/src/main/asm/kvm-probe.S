/*
 * The accelerator probe's guest: a 64 KiB firmware image (QEMU's -bios) that does what a Linux kernel
 * does early and a nested PVM "KVM" cannot (it runs real-mode code, then ends in "KVM internal error"):
 * from the reset vector it enters long mode, takes an int3 through a 64-bit IDT, and when the CPU has
 * them runs lock cmpxchg16b and xrstor. Then it writes "mpqemu-probe-ok" on the serial port and exits
 * QEMU through isa-debug-exit (iobase 0xf4) with status (0x31 << 1) | 1 = 99. As firmware it needs no
 * disk: QEMU reads it by name, so the agent hands it over as /proc/self/fd/0, read-only.
 *
 * It is mapped at 0xf0000 (the top 64 KiB of the first MiB, as QEMU maps a 64 KiB BIOS); the reset
 * vector at offset 0xfff0 jumps to its start, which copies the probe to RAM at 0x7c00 and runs it there
 * (run from the ROM, a nested PVM loops on the far jump into long mode instead of failing).
 * Build (GNU binutils): as --64 -o p.o kvm-probe.S && ld -m elf_x86_64 -Ttext=0xf0000 --oformat=binary -o kvm-probe.bin p.o
 * The agent carries it as src/main/resources/io/mpqemu/agent/node/kvm-probe.bin; QemuProbeTest checks
 * that it is this source, assembled (install-deps.sh --tests brings binutils), and that it runs under TCG.
 */
        .set    BASE, 0xf0000
        .set    RUN, 0x7c00
        .code16
        .text
        .globl _start
_start:
        cli
        xor     %ax, %ax
        mov     %ax, %es
        mov     %ax, %ss
        mov     $RUN, %sp
        cld
        push    %cs                     /* from the ROM ... */
        pop     %ds
        mov     $(probe - _start), %si
        mov     $RUN, %di               /* ... to RAM */
        mov     $(probe_end - probe), %cx
        rep movsb
        ljmp    $0, $RUN

/* From here on the code runs at RUN: every absolute address is AT(symbol) = symbol - probe + RUN. */
probe:
        xor     %ax, %ax
        mov     %ax, %ds
        /* zero 0x1000..0x6fff: page tables at 0x1000 (PML4), 0x2000 (PDPT), 0x3000 (PD), scratch after */
        mov     $0x1000, %di
        xor     %eax, %eax
        mov     $0x1800, %cx
        rep stosl
        movl    $0x2003, 0x1000         /* PML4[0] -> PDPT, present, writable */
        movl    $0x3003, 0x2000         /* PDPT[0] -> PD */
        movl    $0x0083, 0x3000         /* PD[0]: the first 2 MiB, identity, present, writable, large */
        mov     %cr4, %eax
        or      $0x20, %eax             /* PAE */
        mov     %eax, %cr4
        mov     $0x1000, %eax
        mov     %eax, %cr3
        mov     $0xc0000080, %ecx       /* EFER */
        rdmsr
        or      $0x100, %eax            /* LME */
        wrmsr
        lgdtl   (gdtr - probe + RUN)
        mov     %cr0, %eax
        or      $0x80000001, %eax       /* paging, protection */
        mov     %eax, %cr0
        ljmpl   $0x08, $(long_mode - probe + RUN)

        .code64
long_mode:
        mov     $0x10, %ax
        mov     %ax, %ds
        mov     %ax, %es
        mov     %ax, %ss
        mov     $0x7c00, %rsp
        lidt    (idtr - probe + RUN)
        int3                            /* to breakpoint, which returns */
        mov     $1, %eax
        cpuid
        mov     %ecx, %esi              /* CPUID.1:ECX */
        bt      $13, %esi               /* CMPXCHG16B */
        jnc     1f
        xor     %eax, %eax
        xor     %edx, %edx
        xor     %ebx, %ebx
        xor     %ecx, %ecx
        lock cmpxchg16b 0x5000
1:      bt      $26, %esi               /* XSAVE */
        jnc     2f
        mov     %cr4, %rax
        or      $0x40200, %rax          /* OSXSAVE, OSFXSR */
        mov     %rax, %cr4
        mov     $1, %eax                /* x87 state only: always in XCR0 */
        xor     %edx, %edx
        xrstor  0x6000                  /* a zeroed header: the initial state */
2:      lea     message(%rip), %rsi
        mov     $0x3f8, %dx
3:      lodsb
        test    %al, %al
        jz      4f
        out     %al, %dx
        jmp     3b
4:      mov     $0xf4, %dx
        mov     $0x31, %al
        out     %al, %dx
5:      hlt
        jmp     5b

breakpoint:
        iretq

message:
        .asciz  "mpqemu-probe-ok\n"

        .balign 8
gdt:
        .quad   0
        .quad   0x00209a0000000000      /* 0x08: 64-bit code */
        .quad   0x0000920000000000      /* 0x10: data */
gdtr:
        .word   gdtr - gdt - 1
        .long   gdt - probe + RUN

        .balign 16
idt:
        .fill   48, 1, 0                /* vectors 0 to 2: not present */
        .word   breakpoint - probe + RUN /* vector 3, #BP: offset 15..0 */
        .word   0x08                    /* selector */
        .byte   0                       /* IST */
        .byte   0x8e                    /* present, 64-bit interrupt gate */
        .word   0                       /* offset 31..16 */
        .long   0                       /* offset 63..32 */
        .long   0
idt_end:
idtr:
        .word   idt_end - idt - 1
        .quad   idt - probe + RUN
probe_end:

        .org    0xfff0                  /* the reset vector: 0xffff0, and 0xfffffff0 below 4 GiB */
        .code16
        ljmp    $0xf000, $0
        .org    0x10000, 0
