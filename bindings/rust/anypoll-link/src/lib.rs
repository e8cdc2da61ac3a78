//! anypoll-link — anypoll's drop-in, linked into a Rust program.
//!
//! Add the dependency and name the crate once, anywhere in the binary:
//!
//! ```ignore
//! use anypoll_link as _;
//! ```
//!
//! From then on libc's `epoll_create1`, `epoll_ctl`, `epoll_wait`, `eventfd`, `read`, `write`,
//! `close`, `poll`, `syscall`... — what std, mio and tokio call — are anypoll's: on a Linux whose
//! kernel refuses epoll (or under `anypoll nosys`) the program runs on anypoll's poll engine. It
//! works for an ordinary build and for a fully static one
//! (`RUSTFLAGS="-C target-feature=+crt-static" cargo build --target x86_64-unknown-linux-gnu`).
//! A binary that never names the crate does not link it (rustc links only the crates a program
//! uses), and then nothing of anypoll is in it: docs/dropin.md, "Rust".
#![no_std]

use libc::c_char; // not core::ffi: Debian 12's rustc 1.63 predates it

// The drop-in's marker for the libc it was compiled for (src/dropin/dropin.c). Referring to it
// makes a link without the drop-in (an archive built without it) fail instead of running on
// libc's epoll.
extern "C" {
    #[cfg(target_env = "gnu")]
    #[link_name = "anypoll_dropin_glibc"]
    static MARKER: [c_char; 8];
    #[cfg(target_env = "musl")]
    #[link_name = "anypoll_dropin_musl"]
    static MARKER: [c_char; 8];
}

#[allow(dead_code)] // only its address matters: it makes the linker resolve MARKER
struct Marker(*const [c_char; 8]);
unsafe impl Sync for Marker {}

#[used]
#[allow(unused_unsafe)] // needed by older rustc (addr_of! of an extern static)
static GUARD: Marker = Marker(unsafe { core::ptr::addr_of!(MARKER) });

extern "C" {
    fn anypoll_engine_name() -> *const c_char;
}

/// The engine serving this process (`"native"`, `"poll"`...), as the drop-in chose it; chosen
/// now if nothing has made anypoll choose yet; `"none"` if no engine can serve it.
pub fn engine() -> &'static str {
    // SAFETY: anypoll returns NULL or a static, NUL-terminated ASCII name.
    unsafe {
        let p = anypoll_engine_name();
        if p.is_null() {
            return "none";
        }
        let mut n = 0;
        while *p.add(n) != 0 {
            n += 1;
        }
        core::str::from_utf8_unchecked(core::slice::from_raw_parts(p as *const u8, n))
    }
}
