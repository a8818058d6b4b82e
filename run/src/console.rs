//! Pseudo-terminals for `-t`: the runtime creates the pty inside the container and sends its
//! master end over a unix socket (`--console-socket`, SCM_RIGHTS); the supervisor then copies
//! between the master and the user's terminal (foreground, in raw mode, resized with it) or
//! the container log (detached); `attach` holds the running session.

use std::fs::File;
use std::io::{IoSliceMut, Read, Write};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use rustix::net::{RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags};
use rustix::termios::{tcgetattr, tcgetwinsize, tcsetattr, tcsetwinsize, OptionalActions, Termios};

use crate::error::{Result, RunError};

/// A listening console socket; the runtime connects once and sends the pty master.
pub struct ConsoleSocket {
    path: PathBuf,
    result: mpsc::Receiver<std::io::Result<OwnedFd>>,
    thread: Option<JoinHandle<()>>,
}

/// Receive one descriptor sent over `stream`, reading at most `payload` bytes with it (what
/// follows stays in the stream).
pub(crate) fn receive_fd(stream: &UnixStream, payload: usize) -> std::io::Result<OwnedFd> {
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let mut buf = [0u8; 4096];
    let mut iov = [IoSliceMut::new(&mut buf[..payload.min(4096)])];
    rustix::net::recvmsg(stream, &mut iov, &mut control, RecvFlags::CMSG_CLOEXEC)?;
    for msg in control.drain() {
        if let RecvAncillaryMessage::ScmRights(mut fds) = msg {
            if let Some(fd) = fds.next() {
                return Ok(fd);
            }
        }
    }
    Err(std::io::Error::other("the runtime sent no terminal"))
}

impl ConsoleSocket {
    /// Listen at `path` (a stale file is replaced).
    pub fn bind(path: &Path) -> Result<ConsoleSocket> {
        let _ = std::fs::remove_file(path);
        let listener = UnixListener::bind(path).map_err(|e| RunError::io(path, e))?;
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            let got = listener
                .accept()
                .and_then(|(stream, _)| receive_fd(&stream, 4096));
            let _ = tx.send(got);
        });
        Ok(ConsoleSocket {
            path: path.to_path_buf(),
            result: rx,
            thread: Some(thread),
        })
    }

    /// The socket's path (for `--console-socket`).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The pty master the runtime sent (call after a successful `create`).
    pub fn receive(mut self) -> Result<File> {
        let got = self
            .result
            .recv_timeout(Duration::from_secs(10))
            .map_err(|_| RunError::io(&self.path, std::io::Error::other("no terminal received")))?;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        got.map(File::from).map_err(|e| RunError::io(&self.path, e))
    }
}

impl Drop for ConsoleSocket {
    fn drop(&mut self) {
        if let Some(t) = self.thread.take() {
            // Wake a thread still waiting in accept (the runtime never connected).
            let _ = UnixStream::connect(&self.path);
            let _ = t.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Restores the user's terminal settings on drop.
pub struct RawMode {
    saved: Option<Termios>,
}

impl RawMode {
    /// Put stdin in raw mode when it is a terminal.
    pub fn enter() -> RawMode {
        let stdin = std::io::stdin();
        let saved = match tcgetattr(stdin.as_fd()) {
            Ok(t) => t,
            Err(_) => return RawMode { saved: None },
        };
        let mut raw = saved.clone();
        raw.make_raw();
        let _ = tcsetattr(stdin.as_fd(), OptionalActions::Now, &raw);
        RawMode { saved: Some(saved) }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(t) = &self.saved {
            let _ = tcsetattr(std::io::stdin().as_fd(), OptionalActions::Now, t);
        }
    }
}

static RESIZED: AtomicBool = AtomicBool::new(true);

extern "C" fn on_winch(_: libc::c_int) {
    RESIZED.store(true, Ordering::SeqCst);
}

/// Copy the pty master to `out` until the container side closes; returns the copying thread.
pub fn pump_output(master: &File, mut out: Box<dyn Write + Send>) -> Result<JoinHandle<()>> {
    let mut reader = master
        .try_clone()
        .map_err(|e| RunError::io("pty master", e))?;
    Ok(std::thread::spawn(move || {
        let mut buf = [0u8; 32 * 1024];
        // Once `out` fails (its reader gone: `run -t … | head -1`), read on and drop: a
        // container writing to a pty nobody reads would block for ever.
        let mut out_ok = true;
        loop {
            match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if out_ok {
                        out_ok = out.write_all(&buf[..n]).and_then(|()| out.flush()).is_ok();
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                // EIO: every slave end is closed (the container exited).
                Err(_) => break,
            }
        }
    }))
}

/// Set a terminal's window size (`rows` × `cols`) on its master: a client's resize.
pub fn set_size(master: &File, rows: u16, cols: u16) -> Result<()> {
    let size = rustix::termios::Winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    tcsetwinsize(master, size).map_err(|e| RunError::io("pty master", e.into()))
}

/// Foreground: forward stdin to the master (when `interactive`) and keep the pty's size equal
/// to the user's terminal (SIGWINCH). The threads end with the process.
pub fn attach_input(master: &File, interactive: bool) -> Result<()> {
    if interactive {
        let mut writer = master
            .try_clone()
            .map_err(|e| RunError::io("pty master", e))?;
        std::thread::spawn(move || {
            let mut stdin = std::io::stdin();
            let mut buf = [0u8; 4096];
            loop {
                match stdin.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if writer.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                }
            }
        });
    }
    // The initial size, before the container's process starts.
    match tcgetwinsize(std::io::stdin().as_fd()) {
        Ok(size) => {
            let _ = tcsetwinsize(master, size);
            RESIZED.store(false, Ordering::SeqCst);
        }
        Err(_) => return Ok(()),
    }
    // SAFETY: the handler only stores to an atomic.
    unsafe {
        libc::signal(libc::SIGWINCH, on_winch as *const () as libc::sighandler_t);
    }
    let sizer = master
        .try_clone()
        .map_err(|e| RunError::io("pty master", e))?;
    std::thread::spawn(move || loop {
        if RESIZED.swap(false, Ordering::SeqCst) {
            if let Ok(size) = tcgetwinsize(std::io::stdin().as_fd()) {
                if tcsetwinsize(&sizer, size).is_err() {
                    break;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    });
    Ok(())
}
