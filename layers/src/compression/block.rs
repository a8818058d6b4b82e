//! One block of the parallel gzip stream, encoded on its own: raw deflate that ends
//! byte-aligned, so blocks encoded on different threads concatenate into one deflate stream.
//!
//! A block is cut into segments of [`SEGMENT_SIZE`]; each segment whose bytes look uniformly
//! distributed (compressed files, random data) is written as deflate *stored* blocks, at
//! memcpy speed, instead of going through level-N deflate, which would spend as much CPU on
//! it as on text and save nothing (zlib itself falls back to stored blocks there). Runs of the
//! other segments are deflated, primed with the 32 KiB of input before them, whatever way that
//! input was encoded. Every decision looks at the segment's own bytes only, so the output is a
//! function of the input bytes and the level.

use std::io;

use flate2::{Compress, CompressError, FlushCompress, Status};

/// Input bytes per block: the unit of parallel work, and the distance between dictionary
/// restarts. Measured from 256 KiB to 2 MiB the ratio and speed hardly change (±0.01 %);
/// 512 KiB keeps the blocks in flight (about 4 per thread, in and out) small on many cores.
pub(super) const BLOCK_SIZE: usize = 512 * 1024;
/// Deflate's window: the dictionary each deflate run is primed with.
pub(super) const DICT_SIZE: usize = 32 * 1024;
/// The unit of the stored-or-deflate decision: small enough to find the incompressible files
/// in a tar of mixed ones (16 KiB stored a little more of such a tar, 64 KiB less), large
/// enough for a steady statistic.
const SEGMENT_SIZE: usize = 32 * 1024;
/// Segments shorter than this are always deflated: too few bytes for a sure statistic, and
/// cheap to deflate anyway.
const MIN_TESTED: usize = 16 * 1024;
/// Stored blocks hold at most this many bytes (RFC 1951, 3.2.4).
const STORED_MAX: usize = 65535;

/// A block to encode. `dict` is the (up to) 32 KiB of input right before `data`.
pub(super) struct Block {
    pub data: Vec<u8>,
    pub dict: Vec<u8>,
    /// The stream's last block: its encoding ends with a final deflate block.
    pub last: bool,
}

/// A block's deflate bytes and the CRC-32 of its input.
pub(super) struct Encoded {
    pub deflate: Vec<u8>,
    pub crc: u32,
    pub len: u64,
}

/// Encodes blocks at one level; one per thread.
pub(super) struct Encoder {
    level: u32,
    /// Scratch for a dictionary that spans the previous block and this one.
    dict: Vec<u8>,
}

impl Encoder {
    pub fn new(level: u32) -> Encoder {
        Encoder {
            level,
            dict: Vec::with_capacity(DICT_SIZE),
        }
    }

    pub fn encode(&mut self, block: &Block) -> io::Result<Encoded> {
        let data = &block.data[..];
        let mut out = Vec::with_capacity(data.len() + data.len() / 64 + 64);
        // Runs of segments with the same decision, each encoded in one go.
        let stored: Vec<bool> = data.chunks(SEGMENT_SIZE).map(|s| self.stored(s)).collect();
        let mut i = 0;
        while i < stored.len() {
            let mut j = i + 1;
            while j < stored.len() && stored[j] == stored[i] {
                j += 1;
            }
            let range = i * SEGMENT_SIZE..(j * SEGMENT_SIZE).min(data.len());
            let last = block.last && j == stored.len();
            if stored[i] {
                write_stored(&mut out, &data[range], last);
            } else {
                self.deflate_run(&block.dict, data, range, last, &mut out)
                    .map_err(deflate_error)?;
            }
            i = j;
        }
        if data.is_empty() && block.last {
            // An empty final block ends the stream.
            self.deflate_run(&[], data, 0..0, true, &mut out)
                .map_err(deflate_error)?;
        }
        Ok(Encoded {
            deflate: out,
            crc: crc32fast::hash(data),
            len: data.len() as u64,
        })
    }

    /// Whether a segment goes out as stored blocks.
    fn stored(&self, seg: &[u8]) -> bool {
        self.level == 0 || (seg.len() >= MIN_TESTED && looks_uniform(seg))
    }

    /// Deflate `data[range]`, primed with the 32 KiB before it (from `prev` where the run
    /// starts less than 32 KiB into the block), ending with a sync flush or, for the stream's
    /// last run, a final block.
    ///
    /// Each run gets a fresh (zeroed) deflate state: zlib-rs's reset keeps the old window and
    /// chain table, and they were seen to leak into the output, which then depended on which
    /// blocks the thread had encoded before (the determinism test pins this).
    fn deflate_run(
        &mut self,
        prev: &[u8],
        data: &[u8],
        range: std::ops::Range<usize>,
        last: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), CompressError> {
        let mut deflate = Compress::new(flate2::Compression::new(self.level), false);
        let dict: &[u8] = if range.start >= DICT_SIZE {
            &data[range.start - DICT_SIZE..range.start]
        } else {
            self.dict.clear();
            let from_prev = (DICT_SIZE - range.start).min(prev.len());
            self.dict.extend_from_slice(&prev[prev.len() - from_prev..]);
            self.dict.extend_from_slice(&data[..range.start]);
            &self.dict
        };
        if !dict.is_empty() {
            deflate.set_dictionary(dict)?;
        }
        let flush = if last {
            FlushCompress::Finish
        } else {
            FlushCompress::Sync
        };
        let mut input = &data[range];
        loop {
            // compress_vec writes into spare capacity only; deflate's worst case is the input
            // plus 5 bytes per stored block and a few for the flush.
            out.reserve(input.len() + input.len() / 1000 + 64);
            let before = deflate.total_in();
            let status = deflate.compress_vec(input, out, flush)?;
            input = &input[(deflate.total_in() - before) as usize..];
            let done = if last {
                status == Status::StreamEnd
            } else {
                input.is_empty() && out.len() < out.capacity()
            };
            if done {
                return Ok(());
            }
        }
    }
}

fn deflate_error(e: CompressError) -> io::Error {
    io::Error::other(format!("gzip: deflate: {e}"))
}

/// Whether the byte histogram of `seg` is close enough to uniform that deflate cannot gain:
/// Pearson's chi-square against the uniform distribution is at most 512 + n/64. Random data
/// scores 255 ± 23 whatever n; text and machine code score in the thousands per KiB, and two
/// tar headers (mostly zero bytes) in a segment of random data are enough to fail it. For a
/// 32 KiB segment this bounds what coding the bytes by their frequencies could save at about
/// 0.3 %; on a tar of /usr/share the output is 0.04 % larger than deflating everything.
/// Integer arithmetic only, so the answer is the same on every machine.
///
/// It does not see repeats of random-looking strings within the window (a random 1 KiB
/// record written twice); layers rarely hold such data, and it then loses only its matches.
pub(super) fn looks_uniform(seg: &[u8]) -> bool {
    let mut counts = [[0u32; 256]; 4];
    let mut quads = seg.chunks_exact(4);
    for q in &mut quads {
        counts[0][q[0] as usize] += 1;
        counts[1][q[1] as usize] += 1;
        counts[2][q[2] as usize] += 1;
        counts[3][q[3] as usize] += 1;
    }
    for &b in quads.remainder() {
        counts[0][b as usize] += 1;
    }
    let n = seg.len() as u64;
    let sum_sq: u64 = (0..256)
        .map(|i| {
            let c = (counts[0][i] + counts[1][i] + counts[2][i] + counts[3][i]) as u64;
            c * c
        })
        .sum();
    // chi² = 256·Σc²/n − n ≤ 512 + n/64  ⇔  64·256·Σc² ≤ (64·512 + 65·n)·n
    64 * 256 * sum_sq <= (64 * 512 + 65 * n) * n
}

/// Frame `data` as stored blocks; the last one is final when `last`. Empty data makes one
/// (final) empty stored block when `last`, nothing otherwise.
fn write_stored(out: &mut Vec<u8>, data: &[u8], last: bool) {
    if data.is_empty() {
        if last {
            out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
        }
        return;
    }
    let mut chunks = data.chunks(STORED_MAX).peekable();
    while let Some(chunk) = chunks.next() {
        let len = chunk.len() as u16;
        out.push(u8::from(last && chunks.peek().is_none()));
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniformity_test_tells_random_from_text() {
        let mut x = 0x9e3779b97f4a7c15u64;
        let random: Vec<u8> = (0..SEGMENT_SIZE)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect();
        assert!(looks_uniform(&random));
        let text: Vec<u8> = b"the quick brown fox jumps over the lazy dog "
            .iter()
            .copied()
            .cycle()
            .take(SEGMENT_SIZE)
            .collect();
        assert!(!looks_uniform(&text));
        // Random data with a tar header's worth of zeros in every 4 KiB.
        let mut headers = random.clone();
        for chunk in headers.chunks_mut(4096) {
            chunk[..400].fill(0);
        }
        assert!(!looks_uniform(&headers));
    }

    #[test]
    fn stored_framing() {
        let mut out = Vec::new();
        write_stored(&mut out, &[7; STORED_MAX + 1], true);
        assert_eq!(out.len(), STORED_MAX + 1 + 10);
        assert_eq!(&out[..5], &[0, 0xff, 0xff, 0, 0]);
        assert_eq!(
            &out[STORED_MAX + 5..STORED_MAX + 10],
            &[1, 1, 0, 0xfe, 0xff]
        );
        let mut out = Vec::new();
        write_stored(&mut out, &[], false);
        assert!(out.is_empty());
    }
}
