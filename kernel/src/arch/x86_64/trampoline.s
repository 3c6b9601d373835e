# Start-up code for the application processors (APs).
#
# The bootstrap core copies the bytes from ap_trampoline_start to
# ap_trampoline_end to physical TRAMPOLINE_BASE, identity-maps that page,
# fills in the parameter block and sends INIT-SIPI-SIPI with vector
# TRAMPOLINE_BASE >> 12. The AP starts here in real mode with CS = 0x0800,
# IP = 0, and goes real mode -> protected mode -> long mode, then calls the
# Rust entry point on its own stack with the kernel's page tables.
#
# Every address below is absolute (TRAMPOLINE_BASE + offset in this block),
# computed at assembly time from label differences, so the block runs only
# at TRAMPOLINE_BASE. The parameter block's layout is mirrored by
# `TrampolineParams` in smp.rs; keep the two in step.

.set TRAMPOLINE_BASE, 0x8000
.set PARAMS, TRAMPOLINE_BASE + (ap_trampoline_params - ap_trampoline_start)
.set P_CR3, 0       # page-table root (must be below 4 GiB: loaded in 32-bit mode)
.set P_CR4, 8       # control register 4 (PAE and the bootstrap core's features)
.set P_CR0, 16      # control register 0 (PG | PE | WP ...)
.set P_EFER, 24     # bits OR-ed into IA32_EFER (LME, NXE, SCE)
.set P_STACK, 32    # initial stack pointer (16-byte aligned)
.set P_ENTRY, 40    # Rust entry point: extern "C" fn(arg) -> !
.set P_ARG, 48      # its argument: the AP's Cpu

.section .rodata.ap_trampoline, "a"
.code16
.global ap_trampoline_start
ap_trampoline_start:
    cli
    cld
    mov %cs, %ax
    mov %ax, %ds
    lgdtl (ap_gdtr - ap_trampoline_start)
    mov %cr0, %eax
    or $1, %eax                         # CR0.PE: protected mode
    mov %eax, %cr0
    ljmpl $0x08, $(TRAMPOLINE_BASE + ap_protected - ap_trampoline_start)

.code32
ap_protected:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov (PARAMS + P_CR4), %eax
    mov %eax, %cr4
    mov (PARAMS + P_CR3), %eax
    mov %eax, %cr3
    mov $0xC0000080, %ecx               # IA32_EFER
    rdmsr
    or (PARAMS + P_EFER), %eax
    wrmsr
    mov (PARAMS + P_CR0), %eax
    mov %eax, %cr0                      # CR0.PG with EFER.LME: long mode
    ljmp $0x18, $(TRAMPOLINE_BASE + ap_long - ap_trampoline_start)

.code64
ap_long:
    xor %eax, %eax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov %ax, %fs
    mov %ax, %gs
    mov (PARAMS + P_STACK), %rsp
    mov (PARAMS + P_ARG), %rdi
    mov (PARAMS + P_ENTRY), %rax
    call *%rax
    ud2                                 # the entry point never returns

.align 16
ap_gdt:
    .quad 0                             # null
    .quad 0x00CF9A000000FFFF            # 0x08: 32-bit code, base 0, 4 GiB
    .quad 0x00CF92000000FFFF            # 0x10: data, base 0, 4 GiB
    .quad 0x00AF9A000000FFFF            # 0x18: 64-bit code
ap_gdtr:
    .word ap_gdtr - ap_gdt - 1
    .long TRAMPOLINE_BASE + (ap_gdt - ap_trampoline_start)

.align 8
.global ap_trampoline_params
ap_trampoline_params:
    .fill 7, 8, 0
.global ap_trampoline_end
ap_trampoline_end:
