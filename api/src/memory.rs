//! The service's heap: glibc's allocator tuned for a long-lived process whose blocking threads
//! come and go with its clients. Without this, a burst of clients left the service at 59 MiB
//! (11 at idle) with every one of their threads gone (measured, 20 clients for 30 s).

use std::time::Duration;

/// Cap glibc's arenas at two. glibc gives each thread that allocates an arena of its own and
/// keeps what the thread freed in it; two arenas hold the service's allocations.
/// Call it before the service starts any thread.
pub(crate) fn limit_arenas() {
    // SAFETY: mallopt only sets an allocator parameter; the caller runs it before any thread
    // of the service starts.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// How long the service waits with no client before it gives freed memory back: past tokio's
/// keep-alive of an idle blocking thread (10 s), so the threads that served a burst have
/// gone, and what they freed is in the arenas, when it trims.
pub(crate) const TRIM_AFTER: Duration = Duration::from_secs(12);

/// How often the idle service looks at the clock (for the trim and `--time`): the trim comes
/// within a second of [`TRIM_AFTER`] (it came 10 to 20 s after a burst with a 10 s tick:
/// 22 MiB of freed heap still held 12 s after 20 clients, 5.8 once trimmed, measured).
pub(crate) const IDLE_TICK: Duration = Duration::from_secs(1);

/// Return the heap memory freed by a burst of clients to the system: the blocking threads
/// that served them are gone, but glibc keeps what they freed (RSS 11 → 43 MiB after 20
/// clients for 30 s, measured; back to the idle size after this).
pub(crate) fn give_back_freed_memory() {
    // SAFETY: malloc_trim only releases free heap pages; it touches no live allocation.
    unsafe {
        libc::malloc_trim(0);
    }
}
