//! The interrupt descriptor table, shared by all cores, and the entry points
//! of exceptions and interrupts.
//!
//! Handlers here only decode what the CPU gives them and pass it to the
//! handlers the kernel registered (`handlers`): a fault becomes a `Fault` or
//! a `PageFault`; the timer, the wake-up IPI and the turn IPI enter through
//! `interrupt_entry`.

use x86_64::registers::control::Cr2;
use x86_64::structures::idt::{InterruptDescriptorTable, InterruptStackFrame, PageFaultErrorCode};

use super::handlers::{Fault, PageFault, handlers};
use super::interrupt_entry::{timer_entry, turn_entry, wake_entry};
use super::vectors::*;

static IDT: spin::Lazy<InterruptDescriptorTable> = spin::Lazy::new(|| {
    let mut idt = InterruptDescriptorTable::new();
    idt.divide_error.set_handler_fn(divide_error);
    idt.invalid_opcode.set_handler_fn(invalid_opcode);
    idt.general_protection_fault.set_handler_fn(general_protection);
    idt.stack_segment_fault.set_handler_fn(stack_segment);
    idt.segment_not_present.set_handler_fn(segment_not_present);
    idt.alignment_check.set_handler_fn(alignment_check);
    idt.breakpoint.set_handler_fn(breakpoint);
    idt.machine_check.set_handler_fn(machine_check);
    // SAFETY: the IST slots are set up on every core by `percpu::enter`
    // before this IDT is loaded there.
    unsafe {
        idt.double_fault.set_handler_fn(double_fault).set_stack_index(DOUBLE_FAULT_IST);
        idt.non_maskable_interrupt.set_handler_fn(nmi).set_stack_index(NMI_IST);
        idt.page_fault.set_handler_fn(page_fault).set_stack_index(PAGE_FAULT_IST);
    }
    // SAFETY: the entry points save what they clobber and end with `iretq`;
    // the interrupt stack slot is set up on every core by `percpu::enter`
    // before this IDT is loaded there.
    unsafe {
        idt[TIMER_VECTOR].set_handler_addr(entry_address(timer_entry)).set_stack_index(INTERRUPT_IST);
        idt[WAKE_VECTOR].set_handler_addr(entry_address(wake_entry)).set_stack_index(INTERRUPT_IST);
        idt[TURN_VECTOR].set_handler_addr(entry_address(turn_entry)).set_stack_index(INTERRUPT_IST);
    }
    for vector in PIC_VECTORS..PIC_VECTORS + 16 {
        idt[vector].set_handler_fn(pic_spurious);
    }
    idt[SPURIOUS_VECTOR].set_handler_fn(apic_spurious);
    idt
});

fn entry_address(entry: unsafe extern "C" fn()) -> x86_64::VirtAddr {
    x86_64::VirtAddr::from_ptr(entry as *const ())
}

/// Loads the IDT on the running core.
pub fn load() {
    IDT.load();
}

fn fault(what: &'static str, frame: &InterruptStackFrame, address: Option<u64>, code: Option<u64>) -> ! {
    (handlers().fault)(Fault { what, ip: frame.instruction_pointer.as_u64(), address, code })
}

extern "x86-interrupt" fn divide_error(frame: InterruptStackFrame) {
    fault("divide error", &frame, None, None)
}

extern "x86-interrupt" fn invalid_opcode(frame: InterruptStackFrame) {
    fault("invalid opcode", &frame, None, None)
}

extern "x86-interrupt" fn general_protection(frame: InterruptStackFrame, code: u64) {
    fault("general protection fault", &frame, None, Some(code))
}

extern "x86-interrupt" fn stack_segment(frame: InterruptStackFrame, code: u64) {
    fault("stack-segment fault", &frame, None, Some(code))
}

extern "x86-interrupt" fn segment_not_present(frame: InterruptStackFrame, code: u64) {
    fault("segment not present", &frame, None, Some(code))
}

extern "x86-interrupt" fn alignment_check(frame: InterruptStackFrame, code: u64) {
    fault("alignment check", &frame, None, Some(code))
}

extern "x86-interrupt" fn breakpoint(frame: InterruptStackFrame) {
    fault("breakpoint", &frame, None, None)
}

extern "x86-interrupt" fn machine_check(frame: InterruptStackFrame) -> ! {
    fault("machine check", &frame, None, None)
}

extern "x86-interrupt" fn double_fault(frame: InterruptStackFrame, _code: u64) -> ! {
    fault("double fault", &frame, None, None)
}

extern "x86-interrupt" fn page_fault(frame: InterruptStackFrame, code: PageFaultErrorCode) {
    (handlers().page_fault)(PageFault {
        address: Cr2::read_raw(),
        not_present: !code.contains(PageFaultErrorCode::PROTECTION_VIOLATION),
        ip: frame.instruction_pointer.as_u64(),
        code: code.bits(),
    })
}

extern "x86-interrupt" fn nmi(_frame: InterruptStackFrame) {
    (handlers().nmi)()
}

extern "x86-interrupt" fn pic_spurious(_frame: InterruptStackFrame) {
    // Masked PIC lines only ever deliver spurious interrupts; they need no EOI.
}

extern "x86-interrupt" fn apic_spurious(_frame: InterruptStackFrame) {
    // The APIC's spurious vector needs no EOI (Intel SDM 3A 11.9).
}
