//! The hostile test provider plus 64 MiB of zeroed static memory: its initial linear memory
//! is larger than any test manifest allows, so instantiation itself fails, before any export
//! runs. For the host's install-time start check.

#[path = "../../hostile/src/lib.rs"]
mod hostile;

static mut BALLAST: [u8; 64 << 20] = [0; 64 << 20];

/// Keeps the ballast in the binary: its address escapes through an export.
#[unsafe(no_mangle)]
pub extern "C" fn ballast_address() -> usize {
    std::ptr::addr_of!(BALLAST) as usize
}
