//! A running container's terminal ([`TtySession`]: to the user's terminal, the log, or an
//! attach socket), and attaching to a terminal container through its monitor, so the user
//! can detach from it (Podman's conmon attach socket, for `run -it` and `start -a -i`; an
//! exec monitor serves an `exec -it` session the same way, `engine::exec_session`).
//!
//! The monitor (`container-monitor`) holds the container's pty master for as long as the
//! container runs and serves a unix socket in the run root ([`AttachServer`]). A client that
//! connects first receives the pty master itself (SCM_RIGHTS, one byte of payload): it writes
//! the user's input there and sets the window size directly. The container's output goes
//! through the monitor, which writes it to `ctr.log` and to the attached client in frames
//! (`[kind u8][length u32 BE][payload]`: output, then the exit code as 4 bytes, or none when
//! it is unknown). Output written before anyone attached is kept (up to 1 MiB) for the first
//! client; when the client is expected (`await_client`) the monitor waits up to 10 s for one
//! at the end, so a short-lived container's output is not lost.
//!
//! The client ([`attach`]) puts the user's terminal in raw mode, watches the input for the
//! detach keys ([`crate::detach::Matcher`]), and ends on the exit frame ([`AttachEnd::Exited`])
//! or on the keys ([`AttachEnd::Detached`]): then it leaves and the container runs on under
//! its monitor.

use std::fs::File;
use std::io::{self, IoSlice, Read, Write};
use std::mem::MaybeUninit;
use std::os::fd::AsFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustix::net::{SendAncillaryBuffer, SendAncillaryMessage, SendFlags};

use crate::console::{attach_input, pump_output, receive_fd, RawMode};
use crate::detach::Matcher;
use crate::error::{Result, RunError};
use crate::runtime::TtySink;

const OUTPUT: u8 = 1;
const EXIT: u8 = 2;
/// Output kept for a client that has not attached yet.
const BACKLOG_MAX: usize = 1 << 20;
/// How long a monitor that expects a client waits for it once the container has exited.
const AWAIT_CLIENT: Duration = Duration::from_secs(10);

fn write_frame(w: &mut impl Write, kind: u8, payload: &[u8]) -> io::Result<()> {
    let mut head = [0u8; 5];
    head[0] = kind;
    head[1..].copy_from_slice(&(payload.len() as u32).to_be_bytes());
    w.write_all(&head)?;
    w.write_all(payload)
}

/// One frame, or `None` at the end of the stream.
fn read_frame(r: &mut impl Read) -> io::Result<Option<(u8, Vec<u8>)>> {
    let mut head = [0u8; 5];
    match r.read_exact(&mut head) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
    let mut payload = vec![0u8; len];
    r.read_exact(&mut payload)?;
    Ok(Some((head[0], payload)))
}

#[derive(Default)]
struct Shared {
    client: Option<UnixStream>,
    attached_once: bool,
    backlog: Vec<u8>,
}

/// The monitor's side: the attach socket of one terminal container.
pub(crate) struct AttachServer {
    path: PathBuf,
    shared: Arc<Mutex<Shared>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    await_client: bool,
}

fn send_fd(stream: &UnixStream, fd: &File) -> io::Result<()> {
    let fds = [fd.as_fd()];
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    if !control.push(SendAncillaryMessage::ScmRights(&fds)) {
        return Err(io::Error::other("no room for the terminal's descriptor"));
    }
    rustix::net::sendmsg(
        stream,
        &[IoSlice::new(b"t")],
        &mut control,
        SendFlags::empty(),
    )?;
    Ok(())
}

impl AttachServer {
    /// Serve `master` at `path` (a stale socket is replaced).
    pub(crate) fn start(path: &Path, master: &File, await_client: bool) -> Result<AttachServer> {
        let _ = std::fs::remove_file(path);
        let listener = UnixListener::bind(path).map_err(|e| RunError::io(path, e))?;
        let master = master
            .try_clone()
            .map_err(|e| RunError::io("pty master", e))?;
        let shared = Arc::new(Mutex::new(Shared::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (shared.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if st.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(mut stream) = stream else { continue };
                if send_fd(&stream, &master).is_err() {
                    continue;
                }
                let mut sh = s.lock().unwrap_or_else(|e| e.into_inner());
                let backlog = std::mem::take(&mut sh.backlog);
                if !backlog.is_empty() && write_frame(&mut stream, OUTPUT, &backlog).is_err() {
                    continue;
                }
                // A newer client takes over from an older one.
                sh.client = Some(stream);
                sh.attached_once = true;
            }
        });
        Ok(AttachServer {
            path: path.to_path_buf(),
            shared,
            stop,
            thread: Some(thread),
            await_client,
        })
    }

    /// A writer of the container's output: to `log`, and to the attached client.
    pub(crate) fn output(&self, log: Box<dyn Write + Send>) -> Box<dyn Write + Send> {
        Box::new(Tee {
            log,
            shared: self.shared.clone(),
        })
    }

    /// The container has exited with `code`: tell the client (waiting for the expected one
    /// first), and close the socket.
    pub(crate) fn finish(mut self, code: Option<i32>) {
        let deadline = Instant::now() + AWAIT_CLIENT;
        while self.await_client && Instant::now() < deadline {
            if self.lock().attached_once {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        if let Some(mut client) = self.lock().client.take() {
            let payload = code.map(|c| c.to_be_bytes().to_vec()).unwrap_or_default();
            let _ = write_frame(&mut client, EXIT, &payload);
            let _ = client.shutdown(std::net::Shutdown::Both);
        }
        self.close();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn close(&mut self) {
        if let Some(t) = self.thread.take() {
            self.stop.store(true, Ordering::SeqCst);
            // Wake the accepting thread.
            let _ = UnixStream::connect(&self.path);
            let _ = t.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Drop for AttachServer {
    fn drop(&mut self) {
        self.close();
    }
}

/// The container's output to the log and to the attached client (kept for a first client).
struct Tee {
    log: Box<dyn Write + Send>,
    shared: Arc<Mutex<Shared>>,
}

impl Write for Tee {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        {
            let mut guard = self.shared.lock().unwrap_or_else(|e| e.into_inner());
            let sh = &mut *guard;
            let sent = sh
                .client
                .as_mut()
                .map(|c| write_frame(c, OUTPUT, buf).is_ok());
            match sent {
                Some(true) => {}
                // The client left (detached): the log goes on.
                Some(false) => sh.client = None,
                None if !sh.attached_once && sh.backlog.len() + buf.len() <= BACKLOG_MAX => {
                    sh.backlog.extend_from_slice(buf);
                }
                None => {}
            }
        }
        self.log.write_all(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.log.flush()
    }
}

/// How an attached session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttachEnd {
    /// The container exited (with this code, when the monitor knew it).
    Exited(Option<i32>),
    /// The user typed the detach keys; the container runs on.
    Detached,
}

/// A client's connection to a terminal's attach socket: the monitor's frames and the
/// terminal's master (input goes there, and the window size is set on it).
pub struct AttachConn {
    stream: UnixStream,
    pub master: File,
}

/// Connect to the terminal served at `socket` (the first client gets the output kept so far).
pub fn connect(socket: &Path) -> Result<AttachConn> {
    let stream = UnixStream::connect(socket).map_err(|e| RunError::io(socket, e))?;
    let master = File::from(receive_fd(&stream, 1).map_err(|e| RunError::io(socket, e))?);
    Ok(AttachConn { stream, master })
}

/// Relay an attached terminal: `input` to the terminal (watched for the detach `keys`;
/// empty: never), its output to `output`. Returns when the process exits or the keys are
/// typed, or (with `eof_detaches`: a client that went away) at the input's end; else the
/// input thread ends there.
pub fn relay(
    conn: AttachConn,
    keys: Vec<u8>,
    eof_detaches: bool,
    mut input: impl Read + Send + 'static,
    mut output: impl Write + Send + 'static,
) -> Result<AttachEnd> {
    let AttachConn { stream, master } = conn;
    let (tx, rx) = mpsc::channel();
    let mut reader = stream
        .try_clone()
        .map_err(|e| RunError::io("attach socket", e))?;
    let out_tx = tx.clone();
    std::thread::spawn(move || {
        let end = loop {
            match read_frame(&mut reader) {
                Ok(Some((OUTPUT, data))) => {
                    let _ = output.write_all(&data).and_then(|()| output.flush());
                }
                Ok(Some((EXIT, code))) => {
                    let code = <[u8; 4]>::try_from(code.as_slice())
                        .ok()
                        .map(i32::from_be_bytes);
                    break AttachEnd::Exited(code);
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break AttachEnd::Exited(None),
            }
        };
        let _ = out_tx.send(end);
    });
    let mut writer = master;
    std::thread::spawn(move || {
        let mut matcher = Matcher::new(keys);
        let mut buf = [0u8; 4096];
        let mut out = Vec::new();
        loop {
            match input.read(&mut buf) {
                Ok(0) | Err(_) => {
                    let _ = writer.write_all(&matcher.take_held());
                    if eof_detaches {
                        let _ = tx.send(AttachEnd::Detached);
                    }
                    break;
                }
                Ok(n) => {
                    out.clear();
                    let detached = matcher.feed(&buf[..n], &mut out);
                    if writer.write_all(&out).is_err() {
                        break;
                    }
                    if detached {
                        let _ = tx.send(AttachEnd::Detached);
                        break;
                    }
                }
            }
        }
    });
    let end = rx.recv().unwrap_or(AttachEnd::Exited(None));
    // Ends the output thread too (its clone of the socket) when the client detached.
    let _ = stream.shutdown(std::net::Shutdown::Both);
    Ok(end)
}

/// Attach the user's terminal to the container served at `socket`, with `keys` detaching
/// (empty: never). Returns when the container exits or the user detaches.
pub fn attach(socket: &Path, keys: Vec<u8>) -> Result<AttachEnd> {
    let conn = connect(socket)?;
    let _raw = RawMode::enter();
    // The window size now and on SIGWINCH, on the master itself.
    attach_input(&conn.master, false)?;
    relay(conn, keys, false, io::stdin(), io::stdout())
}

/// A running container's terminal: the output pump, the user's terminal in raw mode, or
/// the attach socket serving it.
pub(crate) struct TtySession {
    pump: std::thread::JoinHandle<()>,
    _raw: Option<RawMode>,
    server: Option<AttachServer>,
}

impl TtySession {
    pub(crate) fn connect(master: std::fs::File, sink: TtySink) -> Result<TtySession> {
        match sink {
            TtySink::User { interactive } => {
                let raw = interactive.then(RawMode::enter);
                let pump = pump_output(&master, Box::new(std::io::stdout()))?;
                attach_input(&master, interactive)?;
                Ok(TtySession {
                    pump,
                    _raw: raw,
                    server: None,
                })
            }
            TtySink::File(f) => Ok(TtySession {
                pump: pump_output(&master, f)?,
                _raw: None,
                server: None,
            }),
            TtySink::Served {
                log,
                socket,
                await_client,
            } => {
                let server = AttachServer::start(&socket, &master, await_client)?;
                Ok(TtySession {
                    pump: pump_output(&master, server.output(log))?,
                    _raw: None,
                    server: Some(server),
                })
            }
        }
    }

    /// Wait for the last output, then restore the user's terminal (or tell an attached
    /// client that the container exited with `code`).
    pub(crate) fn finish(self, code: Option<i32>) {
        let _ = self.pump.join();
        if let Some(server) = self.server {
            server.finish(code);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let mut buf = Vec::new();
        write_frame(&mut buf, OUTPUT, b"hello").unwrap();
        write_frame(&mut buf, EXIT, &7i32.to_be_bytes()).unwrap();
        let mut r = buf.as_slice();
        assert_eq!(
            read_frame(&mut r).unwrap(),
            Some((OUTPUT, b"hello".to_vec()))
        );
        assert_eq!(
            read_frame(&mut r).unwrap(),
            Some((EXIT, 7i32.to_be_bytes().to_vec()))
        );
        assert_eq!(read_frame(&mut r).unwrap(), None);
    }

    #[test]
    fn a_first_client_gets_the_backlog_and_the_exit() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("a.sock");
        let (master, _other) = UnixStream::pair().unwrap();
        let master = File::from(std::os::fd::OwnedFd::from(master));
        let server = AttachServer::start(&path, &master, true).unwrap();
        let mut out = server.output(Box::new(io::sink()));
        out.write_all(b"before").unwrap();
        let client = UnixStream::connect(&path).unwrap();
        let _fd = receive_fd(&client, 1).unwrap();
        let mut r = client;
        assert_eq!(
            read_frame(&mut r).unwrap(),
            Some((OUTPUT, b"before".to_vec()))
        );
        out.write_all(b"after").unwrap();
        assert_eq!(
            read_frame(&mut r).unwrap(),
            Some((OUTPUT, b"after".to_vec()))
        );
        server.finish(Some(3));
        assert_eq!(
            read_frame(&mut r).unwrap(),
            Some((EXIT, 3i32.to_be_bytes().to_vec()))
        );
        assert!(!path.exists());
    }
}
