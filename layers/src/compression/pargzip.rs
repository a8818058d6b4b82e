//! A gzip writer that compresses on several threads and still writes the same bytes whatever
//! their number, timing or the caller's write sizes (image digests are compared across
//! machines).
//!
//! The input is cut into fixed [`BLOCK_SIZE`] blocks; worker threads encode them
//! ([`super::block`]) and a writer thread puts them out in order between one gzip header and a
//! trailer whose CRC-32 is combined from the blocks' own. At most `2 × threads` blocks are in
//! flight, so memory stays flat however long the stream. A stream that ends within its first
//! block is encoded on the caller's thread, without starting any.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use super::block::{Block, Encoded, Encoder, BLOCK_SIZE, DICT_SIZE};
use super::FinishWrite;

/// The parallel gzip writer; see the module doc.
pub(super) struct ParGzip<W: Write + Send + 'static> {
    level: u32,
    threads: usize,
    /// Input not yet handed to a worker: less than one block.
    buf: Vec<u8>,
    /// The last 32 KiB of the input handed out so far: the next block's dictionary.
    tail: Vec<u8>,
    state: State<W>,
}

enum State<W: Write + Send + 'static> {
    /// No full block yet: the sink waits here.
    Idle(W),
    Running(Pipeline<W>),
    /// Stopped by an error: its message, for the calls that follow.
    Failed(String),
    Finished,
}

/// What the writer thread receives, in stream order.
enum Msg {
    /// A block's result, to wait for.
    Block(Receiver<io::Result<Encoded>>),
    /// All blocks sent: write the trailer and hand the sink back.
    Finish,
}

struct Job {
    block: Block,
    reply: SyncSender<io::Result<Encoded>>,
}

struct Pipeline<W> {
    jobs: Option<SyncSender<Job>>,
    results: Option<SyncSender<Msg>>,
    writer: Option<JoinHandle<io::Result<W>>>,
    workers: Vec<JoinHandle<()>>,
    /// Set when dropped unfinished: the writer thread stops writing.
    abandoned: Arc<AtomicBool>,
}

impl<W: Write + Send + 'static> ParGzip<W> {
    /// A writer at deflate `level` (0–9) on `threads` worker threads.
    pub fn new(sink: W, level: u32, threads: usize) -> ParGzip<W> {
        ParGzip {
            level,
            threads: threads.max(1),
            buf: Vec::with_capacity(BLOCK_SIZE),
            tail: Vec::new(),
            state: State::Idle(sink),
        }
    }

    /// Hand the buffered input to the workers as one block, starting them on the first one.
    fn send_block(&mut self, last: bool) -> io::Result<()> {
        let data = std::mem::replace(
            &mut self.buf,
            Vec::with_capacity(if last { 0 } else { BLOCK_SIZE }),
        );
        // Blocks before the last are full, so the next dictionary is this block's tail.
        let next_dict = data[data.len().saturating_sub(DICT_SIZE)..].to_vec();
        let dict = std::mem::replace(&mut self.tail, next_dict);
        if let State::Idle(_) = self.state {
            if let State::Idle(sink) = std::mem::replace(&mut self.state, State::Finished) {
                match Pipeline::start(sink, self.level, self.threads) {
                    Ok(p) => self.state = State::Running(p),
                    Err(e) => {
                        self.state = State::Failed(format!("starting threads: {e}"));
                        return Err(e);
                    }
                }
            }
        }
        let State::Running(p) = &mut self.state else {
            return Err(self.stopped());
        };
        let (reply, result) = sync_channel(1);
        let job = Job {
            block: Block { data, dict, last },
            reply,
        };
        let sent = p
            .results
            .as_ref()
            .is_some_and(|r| r.send(Msg::Block(result)).is_ok())
            && p.jobs.as_ref().is_some_and(|j| j.send(job).is_ok());
        if sent {
            Ok(())
        } else {
            Err(self.fail())
        }
    }

    /// Stop the pipeline after a failed send and return the error that caused it.
    fn fail(&mut self) -> io::Error {
        let err = match std::mem::replace(&mut self.state, State::Finished) {
            State::Running(p) => match p.stop() {
                Err(e) => e,
                Ok(_) => io::Error::other("gzip: compressor threads stopped"),
            },
            _ => io::Error::other("gzip: compressor already stopped"),
        };
        self.state = State::Failed(err.to_string());
        err
    }

    fn stopped(&self) -> io::Error {
        match &self.state {
            State::Failed(msg) => io::Error::other(format!(
                "gzip: compressor already stopped after an error: {msg}"
            )),
            _ => io::Error::other("gzip: compressor already finished"),
        }
    }
}

impl<W: Write + Send + 'static> Write for ParGzip<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if let State::Failed(_) | State::Finished = self.state {
            return Err(self.stopped());
        }
        let n = data.len().min(BLOCK_SIZE - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == BLOCK_SIZE {
            self.send_block(false)?;
        }
        Ok(n)
    }

    /// Checks for an earlier failure only: data goes out in whole blocks, and cutting one
    /// short here would make the output depend on when the caller flushes.
    fn flush(&mut self) -> io::Result<()> {
        match self.state {
            State::Failed(_) | State::Finished => Err(self.stopped()),
            State::Idle(_) | State::Running(_) => Ok(()),
        }
    }
}

impl<W: Write + Send + 'static> FinishWrite<W> for ParGzip<W> {
    fn finish(mut self: Box<Self>) -> io::Result<W> {
        match std::mem::replace(&mut self.state, State::Finished) {
            State::Idle(mut sink) => {
                // The whole stream is one block: encode it here.
                let block = Block {
                    data: std::mem::take(&mut self.buf),
                    dict: Vec::new(),
                    last: true,
                };
                let encoded = Encoder::new(self.level).encode(&block)?;
                let mut gz = Trailer::new();
                sink.write_all(&header(self.level))?;
                gz.add(&encoded);
                sink.write_all(&encoded.deflate)?;
                sink.write_all(&gz.bytes())?;
                sink.flush()?;
                Ok(sink)
            }
            state @ State::Running(_) => {
                self.state = state;
                self.send_block(true)?;
                let State::Running(p) = std::mem::replace(&mut self.state, State::Finished) else {
                    return Err(self.stopped());
                };
                let sent = p
                    .results
                    .as_ref()
                    .is_some_and(|r| r.send(Msg::Finish).is_ok());
                let out = p.stop();
                if !sent && out.is_ok() {
                    return Err(io::Error::other("gzip: writer thread stopped early"));
                }
                out
            }
            stopped => {
                self.state = stopped;
                Err(self.stopped())
            }
        }
    }
}

impl<W: Write + Send + 'static> Drop for ParGzip<W> {
    fn drop(&mut self) {
        if let State::Running(p) = std::mem::replace(&mut self.state, State::Finished) {
            // Abandoned (an error elsewhere): stop the threads, drop what they made.
            p.abandoned.store(true, Ordering::Relaxed);
            let _ = p.stop();
        }
    }
}

impl<W: Write + Send + 'static> Pipeline<W> {
    /// Start the worker and writer threads. If one cannot be started, those already running
    /// stop as the queue they wait on is dropped.
    fn start(sink: W, level: u32, threads: usize) -> io::Result<Pipeline<W>> {
        let spawn = |name: &str| std::thread::Builder::new().name(name.to_string());
        let (jobs, queue) = sync_channel::<Job>(threads);
        let queue = Arc::new(Mutex::new(queue));
        let workers = (0..threads)
            .map(|_| {
                let queue = Arc::clone(&queue);
                spawn("berth-gzip").spawn(move || work(&queue, level))
            })
            .collect::<io::Result<_>>()?;
        let (results, in_order) = sync_channel(2 * threads);
        let abandoned = Arc::new(AtomicBool::new(false));
        let stop = Arc::clone(&abandoned);
        let writer =
            spawn("berth-gzip-out").spawn(move || write_in_order(sink, level, &in_order, &stop))?;
        Ok(Pipeline {
            jobs: Some(jobs),
            results: Some(results),
            writer: Some(writer),
            workers,
            abandoned,
        })
    }

    /// Close the queues, wait for every thread, and return the writer's outcome.
    fn stop(mut self) -> io::Result<W> {
        self.jobs = None;
        self.results = None;
        let out = match self.writer.take().map(JoinHandle::join) {
            Some(Ok(out)) => out,
            _ => Err(io::Error::other("gzip: writer thread panicked")),
        };
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
        out
    }
}

/// A worker: encode blocks until the queue closes. A panic drops the reply sender, which the
/// writer thread sees as an error.
fn work(queue: &Mutex<Receiver<Job>>, level: u32) {
    let mut encoder = Encoder::new(level);
    loop {
        let job = queue.lock().unwrap_or_else(|e| e.into_inner()).recv();
        let Ok(job) = job else { return };
        let _ = job.reply.send(encoder.encode(&job.block));
    }
}

/// The writer thread: header, each block as it is ready in stream order, trailer.
fn write_in_order<W: Write>(
    mut sink: W,
    level: u32,
    in_order: &Receiver<Msg>,
    abandoned: &AtomicBool,
) -> io::Result<W> {
    sink.write_all(&header(level))?;
    let mut gz = Trailer::new();
    for msg in in_order {
        if abandoned.load(Ordering::Relaxed) {
            break;
        }
        match msg {
            Msg::Block(result) => {
                let encoded = result
                    .recv()
                    .map_err(|_| io::Error::other("gzip: worker thread panicked"))??;
                gz.add(&encoded);
                sink.write_all(&encoded.deflate)?;
            }
            Msg::Finish => {
                sink.write_all(&gz.bytes())?;
                sink.flush()?;
                return Ok(sink);
            }
        }
    }
    Err(io::Error::other("gzip: stream abandoned before its end"))
}

/// The 10-byte gzip header: no name, no mtime, XFL as zlib sets it, OS unknown (255) so the
/// bytes are the same on every system.
fn header(level: u32) -> [u8; 10] {
    let xfl = match level {
        9 => 2,
        0 | 1 => 4,
        _ => 0,
    };
    [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 255]
}

/// CRC-32 and length of the input so far, combined block by block.
struct Trailer(crc32fast::Hasher);

impl Trailer {
    fn new() -> Trailer {
        Trailer(crc32fast::Hasher::new())
    }

    fn add(&mut self, block: &Encoded) {
        self.0.combine(&crc32fast::Hasher::new_with_initial_len(
            block.crc, block.len,
        ));
    }

    /// CRC-32 and the length modulo 2³², little-endian.
    fn bytes(&self) -> [u8; 8] {
        let mut t = [0; 8];
        t[..4].copy_from_slice(&self.0.clone().finalize().to_le_bytes());
        t[4..].copy_from_slice(&(self.0.total_len() as u32).to_le_bytes());
        t
    }
}

#[cfg(test)]
mod tests;
