/*
 * A multiboot kernel for the direct-kernel-boot tests: QEMU loads it (-kernel) and its module
 * (-initrd), and it writes on the serial port the command line it was given and the first bytes of
 * its module, then halts:
 *   mpqemu-test-kernel cmdline=[...]
 *   mpqemu-test-kernel initrd=[...]     (printable bytes of the module, up to 64, when there is one)
 *   mpqemu-test-kernel done
 * Build (GNU binutils): as --32 -o k.o test-kernel.S && ld -m elf_i386 -Ttext=0x100000 --oformat=binary -o test-kernel.bin k.o
 */
        .code32
        .set    MAGIC, 0x1badb002
        .set    FLAGS, 0x00010000       /* the load addresses below are valid (a flat binary) */
        .text
        .globl  _start
_start:
header:
        .long   MAGIC
        .long   FLAGS
        .long   -(MAGIC + FLAGS)
        .long   header                  /* header_addr */
        .long   _start                  /* load_addr */
        .long   0                       /* load_end_addr: the whole file */
        .long   0                       /* bss_end_addr: none */
        .long   entry                   /* entry_addr */

entry:
        mov     %ebx, %ebp              /* multiboot information */
        mov     $hello, %esi
        call    puts
        testl   $4, (%ebp)              /* a command line is given */
        jz      1f
        mov     16(%ebp), %esi
        call    puts
1:      mov     $close, %esi
        call    puts
        testl   $8, (%ebp)              /* modules */
        jz      3f
        cmpl    $0, 20(%ebp)
        je      3f
        mov     $module, %esi
        call    puts
        mov     24(%ebp), %ebx          /* the first module */
        mov     (%ebx), %esi            /* its start */
        mov     4(%ebx), %ecx           /* its end */
        sub     %esi, %ecx
        cmp     $64, %ecx
        jbe     2f
        mov     $64, %ecx
2:      test    %ecx, %ecx
        jz      21f
        lodsb
        cmp     $0x20, %al
        jb      22f
        cmp     $0x7e, %al
        ja      22f
        call    putc
22:     dec     %ecx
        jmp     2b
21:     mov     $close, %esi
        call    puts
3:      mov     $done, %esi
        call    puts
4:      cli
        hlt
        jmp     4b

/* puts: writes the NUL-terminated string at %esi; putc: writes %al */
puts:
        lodsb
        test    %al, %al
        jz      5f
        call    putc
        jmp     puts
5:      ret
putc:
        push    %edx
        mov     $0x3f8, %dx
        out     %al, %dx
        pop     %edx
        ret

hello:  .asciz  "mpqemu-test-kernel cmdline=["
module: .asciz  "mpqemu-test-kernel initrd=["
close:  .asciz  "]\n"
done:   .asciz  "mpqemu-test-kernel done\n"
