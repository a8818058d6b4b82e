//! A throwaway HTTP server on 127.0.0.1 for unit tests: each connection gets the next canned
//! answer, written after the request's headers were read (or at once, for a TLS client).

use std::io::{BufRead, Write};
use std::net::TcpListener;

/// Serve `answers`, one per connection, in order; returns `http://127.0.0.1:PORT`.
pub(crate) fn serve(answers: Vec<Vec<u8>>) -> String {
    serve_with(answers, true)
}

/// As [`serve`]; without `read_request` the answer is written as soon as a client connects
/// (so a TLS client gets plain HTTP in answer to its hello).
pub(crate) fn serve_with(answers: Vec<Vec<u8>>, read_request: bool) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for answer in answers {
            let Ok((s, _)) = listener.accept() else {
                return;
            };
            let mut r = std::io::BufReader::new(s);
            let mut line = String::new();
            while read_request && r.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let _ = r.get_mut().write_all(&answer);
        }
    });
    format!("http://{addr}")
}

/// A 200 answer carrying `body`.
pub(crate) fn ok(body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}
