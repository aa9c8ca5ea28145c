//! Proof of the real-time rule: nothing on the audio thread allocates or
//! frees.
//!
//! The engine marks the thread as an audio thread while it renders
//! ([`enter`]); drivers can mark their whole callback the same way. A program
//! (a test binary, typically) that installs [`CountingAllocator`] as its
//! global allocator then counts every allocation and free made while a
//! thread is so marked, on any thread: [`violations`] must stay 0.
//!
//! ```
//! use amio_core::rt_guard::{enter, violations, CountingAllocator};
//!
//! #[global_allocator]
//! static ALLOC: CountingAllocator = CountingAllocator;
//!
//! fn main() {
//!     let before = violations();
//!     let quiet = vec![1.0f32; 4]; // allowed: not an audio thread
//!     {
//!         let _audio = enter();
//!         let loud = quiet.clone(); // counted
//!         drop(loud); // counted
//!     }
//!     assert_eq!(violations() - before, 2);
//! }
//! ```
//!
//! Without that allocator the marks cost two thread-local increments per
//! period and nothing else.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};

thread_local! {
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

static VIOLATIONS: AtomicU64 = AtomicU64::new(0);

/// While alive, the current thread counts as an audio thread. Not `Send`.
#[must_use = "the thread is an audio thread only while the guard lives"]
pub struct AudioThreadGuard(PhantomData<*const ()>);

/// Marks the current thread as an audio thread until the guard drops.
/// Guards nest. Real-time safe.
pub fn enter() -> AudioThreadGuard {
    DEPTH.with(|d| d.set(d.get() + 1));
    AudioThreadGuard(PhantomData)
}

impl Drop for AudioThreadGuard {
    fn drop(&mut self) {
        DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
    }
}

/// Whether the current thread is marked as an audio thread.
pub fn on_audio_thread() -> bool {
    DEPTH.with(|d| d.get() > 0)
}

/// Allocations and frees made on marked threads so far, counted by
/// [`CountingAllocator`] (always 0 if it is not installed).
pub fn violations() -> u64 {
    VIOLATIONS.load(Ordering::SeqCst)
}

/// The system allocator, counting (de)allocations made on marked threads.
pub struct CountingAllocator;

impl CountingAllocator {
    fn check(&self) {
        if on_audio_thread() {
            VIOLATIONS.fetch_add(1, Ordering::SeqCst);
        }
    }
}

// SAFETY: every method forwards to `System` unchanged; the bookkeeping only
// touches a const-initialised thread-local and an atomic, neither of which
// allocates.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.check();
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        self.check();
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        self.check();
        // SAFETY: `ptr` came from this allocator, i.e. from `System`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        self.check();
        // SAFETY: `ptr` came from `System` with `layout`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}
