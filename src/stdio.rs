//! berth's own stdout and stderr, and what happens when their reader has gone (`berth images |
//! head -1`): never a panic (std's `outln!` panics on a closed pipe, as Rust ignores SIGPIPE).
//!
//! Every command says in `main` what a closed output means to it ([`OnClosed`]):
//! - [`OnClosed::Quit`]: commands that only show something (`images`, `ps`, `inspect`, `logs`,
//!   `save` to stdout…) end quietly, killed by SIGPIPE as Podman is (the shell sees 141). The
//!   print macros end the process at once (nothing to undo at a print); a stream ([`stdout`])
//!   returns the error, so the command unwinds (removing its temporary files), and `main`
//!   then ends the same way ([`die_by_sigpipe`]).
//! - [`OnClosed::Finish`]: commands that change something (`build`, `pull`, `rm`, `stop`…) drop
//!   the lost output and finish their work; the exit code is the work's. A build also routes
//!   its RUN containers' output through a [`Relay`], so a container never writes into the
//!   closed pipe itself (which would fail the step).
//!
//! `outln!`, `out!`, `errln!` and `errout!` replace `println!`, `print!`, `eprintln!`
//! and `eprint!` (which clippy refuses in this crate).

use std::fmt;
use std::io::{self, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

/// What a command does when a write to its stdout or stderr finds the reader gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnClosed {
    /// End quietly, killed by SIGPIPE (exit status 141 in a shell), as Podman: the command
    /// only shows something, and nobody reads it any more.
    Quit,
    /// Drop the output and finish: the command changes something, and stopping half-way
    /// would leave that half-done.
    Finish,
}

static FINISH: AtomicBool = AtomicBool::new(false);
static CLOSED: AtomicBool = AtomicBool::new(false);

/// Set the running command's policy (once, in `main`).
pub fn set_policy(policy: OnClosed) {
    FINISH.store(policy == OnClosed::Finish, Ordering::SeqCst);
}

/// The running command's policy.
pub fn policy() -> OnClosed {
    if FINISH.load(Ordering::SeqCst) {
        OnClosed::Finish
    } else {
        OnClosed::Quit
    }
}

/// Whether a write found stdout's or stderr's reader gone.
pub fn output_closed() -> bool {
    CLOSED.load(Ordering::SeqCst)
}

/// Which of berth's outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Out,
    Err,
}

impl Stream {
    fn name(self) -> &'static str {
        match self {
            Stream::Out => "stdout",
            Stream::Err => "stderr",
        }
    }
}

/// Write formatted text (what the macros call).
pub fn print(stream: Stream, args: fmt::Arguments<'_>) {
    let result = match stream {
        Stream::Out => {
            let mut out = io::stdout().lock();
            out.write_fmt(args).and_then(|()| out.flush())
        }
        Stream::Err => io::stderr().lock().write_fmt(args),
    };
    if let Err(e) = result {
        print_failed(stream, &e);
    }
}

/// A print failed: apply the policy.
fn print_failed(stream: Stream, e: &io::Error) {
    let closed = note(e);
    if policy() == OnClosed::Finish {
        return;
    }
    if closed {
        die_by_sigpipe();
    }
    // Not a closed pipe (a full disk behind a redirect): say so, if stderr still takes it.
    let _ = writeln!(io::stderr(), "Error: writing to {}: {e}", stream.name());
    std::process::exit(125);
}

/// Remember a closed reader; returns whether `e` is one.
fn note(e: &io::Error) -> bool {
    let closed = e.kind() == io::ErrorKind::BrokenPipe;
    if closed {
        CLOSED.store(true, Ordering::SeqCst);
    }
    closed
}

/// End the process as a program killed by SIGPIPE (Podman's way; the shell sees 141).
pub fn die_by_sigpipe() -> ! {
    // SAFETY: signal(2), sigprocmask and raise(3) with valid arguments; the default action
    // of SIGPIPE ends the whole process.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGPIPE);
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        libc::raise(libc::SIGPIPE);
    }
    std::process::exit(141)
}

/// `println!` on berth's stdout, with the closed-pipe policy.
macro_rules! outln {
    () => { $crate::stdio::print($crate::stdio::Stream::Out, format_args!("\n")) };
    ($($arg:tt)*) => {
        $crate::stdio::print($crate::stdio::Stream::Out, format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `print!` on berth's stdout, with the closed-pipe policy.
macro_rules! out {
    ($($arg:tt)*) => { $crate::stdio::print($crate::stdio::Stream::Out, format_args!($($arg)*)) };
}

/// `eprintln!` on berth's stderr, with the closed-pipe policy.
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::stdio::print($crate::stdio::Stream::Err, format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `eprint!` on berth's stderr, with the closed-pipe policy.
macro_rules! errout {
    ($($arg:tt)*) => { $crate::stdio::print($crate::stdio::Stream::Err, format_args!($($arg)*)) };
}

/// berth's stdout or stderr as a writer for streams (archives, tar, logs): a closed reader is
/// an error (kind `BrokenPipe`) for the caller to return, so that it unwinds and cleans up;
/// `main` then applies the policy.
pub struct Writer(Stream);

/// berth's stdout as a [`Writer`].
pub fn stdout() -> Writer {
    Writer(Stream::Out)
}

/// berth's stderr as a [`Writer`].
pub fn stderr() -> Writer {
    Writer(Stream::Err)
}

impl Write for Writer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let r = match self.0 {
            Stream::Out => io::stdout().write(buf),
            Stream::Err => io::stderr().write(buf),
        };
        r.inspect_err(|e| {
            note(e);
        })
    }

    fn flush(&mut self) -> io::Result<()> {
        let r = match self.0 {
            Stream::Out => io::stdout().flush(),
            Stream::Err => io::stderr().flush(),
        };
        r.inspect_err(|e| {
            note(e);
        })
    }
}

/// While alive, berth's stdout and stderr, where they are pipes or sockets (the only files
/// whose reader can go away), are pipes to a thread of this process that copies to the real
/// ones and, once a reader has gone, reads on and drops. Children (a build's RUN containers)
/// inherit the relay's pipe, so their writes never fail for a reader berth's caller closed.
/// Dropping it puts the real outputs back once everything written was copied.
pub struct Relay {
    /// (fd number, the real file it had), to put back.
    saved: Vec<(i32, OwnedFd)>,
    /// One per relay thread: signalled when its pipe reached end of file.
    done: Vec<mpsc::Receiver<()>>,
}

/// Start relaying stdout and stderr where they are pipes or sockets (one relay for both when
/// they are the same pipe, so their order is kept). Best effort: an output that cannot be
/// relayed stays as it is.
pub fn relay() -> Relay {
    let mut relay = Relay {
        saved: Vec::new(),
        done: Vec::new(),
    };
    let out = relayable(1);
    let err = relayable(2);
    match (out, err) {
        (Some(a), Some(b)) if a == b => relay.start(&[1, 2]),
        (o, e) => {
            if o.is_some() {
                relay.start(&[1]);
            }
            if e.is_some() {
                relay.start(&[2]);
            }
        }
    }
    relay
}

/// The identity (device, inode) of `fd` when it is a pipe or a socket.
fn relayable(fd: i32) -> Option<(u64, u64)> {
    // SAFETY: fds 1 and 2 stay open for the process's life (only dup2 replaces them).
    let fd = unsafe { BorrowedFd::borrow_raw(fd) };
    let st = rustix::fs::fstat(fd).ok()?;
    let kind = rustix::fs::FileType::from_raw_mode(st.st_mode);
    matches!(
        kind,
        rustix::fs::FileType::Fifo | rustix::fs::FileType::Socket
    )
    .then_some((st.st_dev, st.st_ino))
}

impl Relay {
    /// Relay the outputs `fds` (which share one file) through one new pipe.
    fn start(&mut self, fds: &[i32]) {
        let Some(&first) = fds.first() else { return };
        // SAFETY: as in `relayable`.
        let real = unsafe { BorrowedFd::borrow_raw(first) };
        let Ok(saved) = rustix::io::fcntl_dupfd_cloexec(real, 3) else {
            return;
        };
        let Ok(sink) = saved.try_clone() else { return };
        let Ok((read, write)) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC) else {
            return;
        };
        // Copy whatever std buffered for the real output before it changes.
        let _ = io::stdout().flush();
        let (tx, rx) = mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("output-relay".into())
            .spawn(move || {
                copy_until_eof(read, sink);
                let _ = tx.send(());
            });
        if spawned.is_err() {
            return;
        }
        for &fd in fds {
            // SAFETY: dup2 onto a standard descriptor this process owns; the write end stays
            // open through `write` until the loop ends.
            if unsafe { libc::dup2(write.as_raw_fd(), fd) } < 0 {
                continue;
            }
            if let Ok(copy) = saved.try_clone() {
                self.saved.push((fd, copy));
            }
        }
        drop(write);
        self.done.push(rx);
    }
}

/// Copy `from` to `to` until end of file; once `to` fails (its reader gone), read on and drop.
fn copy_until_eof(from: OwnedFd, to: OwnedFd) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut sink_ok = true;
    loop {
        let n = match rustix::io::read(&from, &mut buf) {
            Ok(0) => return,
            Ok(n) => n,
            Err(rustix::io::Errno::INTR) => continue,
            Err(_) => return,
        };
        let mut rest = &buf[..n];
        while sink_ok && !rest.is_empty() {
            match rustix::io::write(to.as_fd(), rest) {
                Ok(k) => rest = &rest[k..],
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => {
                    if e == rustix::io::Errno::PIPE {
                        CLOSED.store(true, Ordering::SeqCst);
                    }
                    sink_ok = false;
                }
            }
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = io::stdout().flush();
        for (fd, real) in self.saved.drain(..) {
            // SAFETY: dup2 of an fd this struct owns back onto the standard descriptor.
            unsafe {
                libc::dup2(real.as_raw_fd(), fd);
            }
        }
        // The pipes end when their last writer closes; a process a RUN step left behind may
        // hold one open, so wait for a bounded time only.
        for rx in self.done.drain(..) {
            let _ = rx.recv_timeout(Duration::from_secs(5));
        }
    }
}
