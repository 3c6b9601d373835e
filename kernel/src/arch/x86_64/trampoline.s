# Start-up code for the application processors (APs).
#
# The bootstrap core copies the bytes from ap_trampoline_start to
# ap_trampoline_end to physical TRAMPOLINE_BASE, identity-maps that page,
# fills in the parameter block and sends INIT-SIPI-SIPI with vector
# TRAMPOLINE_BASE >> 12 to every AP at once. Each AP starts here in real
# mode with CS = 0x0800, IP = 0, and goes real mode -> protected mode ->
# long mode with the kernel's page tables. There it reads its own APIC id
# from CPUID, finds the slot the kernel prepared for that id (its stack),
# and calls the entry point on that stack with the slot. An AP that finds
# no slot halts for good.
#
# Many APs run this at once: nothing here writes memory. The parameter
# block and the slots are only read; the GDT's descriptors are marked
# accessed already, so loading them writes nothing either.
#
# Every address below is absolute (TRAMPOLINE_BASE + offset in this block),
# computed at assembly time from label differences, so the block runs only
# at TRAMPOLINE_BASE. The parameter block's layout is mirrored by
# `TrampolineParams` in ap_boot.rs, and a slot's by `ApSlot` there, which
# checks these offsets at compile time; keep them in step.

.set TRAMPOLINE_BASE, 0x8000
.set PARAMS, TRAMPOLINE_BASE + (ap_trampoline_params - ap_trampoline_start)
.set P_CR3, 0       # page-table root (must be below 4 GiB: loaded in 32-bit mode)
.set P_CR4, 8       # control register 4 (PAE and the bootstrap core's features)
.set P_CR0, 16      # control register 0 (PG | PE | WP ...)
.set P_EFER, 24     # bits OR-ed into IA32_EFER (LME, NXE, SCE)
.set P_SLOTS, 32    # address of the first slot (kernel virtual)
.set P_COUNT, 40    # number of slots
.set P_ENTRY, 48    # entry point: extern "C" fn(slot) -> !
.set S_APIC_ID, 0   # in a slot: the APIC id it is for (u32)
.set S_STACK, 8     # in a slot: initial stack pointer (16-byte aligned)
.set SLOT_SIZE, 32  # bytes per slot

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
    # This AP's APIC id, as `apic::id_from_cpuid` reads the bootstrap
    # core's: CPUID leaf 0Bh EDX (the 32-bit x2APIC id) where that leaf
    # exists and describes a topology, else leaf 1 EBX bits 31-24.
    xor %eax, %eax
    cpuid                               # EAX: the highest basic leaf
    cmp $0xB, %eax
    jb 1f
    mov $0xB, %eax
    xor %ecx, %ecx
    cpuid
    test %ebx, %ebx
    jz 1f
    mov %edx, %r8d
    jmp 2f
1:  mov $1, %eax
    cpuid
    shr $24, %ebx
    mov %ebx, %r8d
2:  # Look for the slot of that APIC id.
    mov (PARAMS + P_SLOTS), %rdi
    mov (PARAMS + P_COUNT), %rcx
3:  test %rcx, %rcx
    jz ap_no_slot
    cmp %r8d, S_APIC_ID(%rdi)
    je 4f
    add $SLOT_SIZE, %rdi
    dec %rcx
    jmp 3b
4:  mov S_STACK(%rdi), %rsp
    mov (PARAMS + P_ENTRY), %rax
    call *%rax                          # with the slot in RDI
    ud2                                 # the entry point never returns
ap_no_slot:                             # not one the kernel asked for
    cli
    hlt
    jmp ap_no_slot

.align 16
ap_gdt:
    .quad 0                             # null
    .quad 0x00CF9B000000FFFF            # 0x08: 32-bit code, base 0, 4 GiB, accessed
    .quad 0x00CF93000000FFFF            # 0x10: data, base 0, 4 GiB, accessed
    .quad 0x00AF9B000000FFFF            # 0x18: 64-bit code, accessed
ap_gdtr:
    .word ap_gdtr - ap_gdt - 1
    .long TRAMPOLINE_BASE + (ap_gdt - ap_trampoline_start)

.align 8
.global ap_trampoline_params
ap_trampoline_params:
    .fill 7, 8, 0
.global ap_trampoline_end
ap_trampoline_end:
