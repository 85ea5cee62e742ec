//! The first request head of a connection, read before hyper sees it. Real servers answer
//! garbage, TLS on a plaintext port, an HTTP/2 preface and oversized heads each in their own
//! way, and a generic framework answer would give the decoy away. So the head is read here,
//! within the size and time limits, classified, and either answered by the skin or handed to
//! hyper through [`Prefixed`], which replays the bytes already read.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};

use super::skin::CANONICAL_CASE;
use crate::touch::MalformedReason;

/// What the first bytes of a connection turned out to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sniff {
    /// A complete head that starts with a well-formed HTTP/1.x request line.
    Http,
    /// Not HTTP/1.x.
    Malformed(MalformedReason),
    /// A well-formed request line, but the head exceeds the size limit.
    HeadTooLarge,
    /// The client closed the connection before a complete head.
    Closed,
}

const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n";

/// Reads into `buf` until the first head is complete or classified. `buf` keeps what was
/// read even when the caller's timeout cancels this future, for the touch's preview.
pub async fn read_head<S: AsyncRead + Unpin>(
    s: &mut S,
    buf: &mut BytesMut,
    max: usize,
) -> io::Result<Sniff> {
    loop {
        if let Some(verdict) = classify(buf, max) {
            return Ok(verdict);
        }
        // classify() stops once more than `max` bytes are in, so this stays bounded.
        buf.reserve(4096);
        if s.read_buf(buf).await? == 0 {
            return Ok(classify(buf, max).unwrap_or(Sniff::Closed));
        }
    }
}

/// Classifies what has arrived so far, or `None` when more bytes are needed.
pub fn classify(buf: &[u8], max: usize) -> Option<Sniff> {
    let first = *buf.first()?;
    if first == 0x16 {
        return Some(Sniff::Malformed(MalformedReason::TlsHandshake));
    }
    // The HTTP/2 preface starts like a request line; recognise it before judging the line.
    let n = buf.len().min(H2_PREFACE.len());
    if buf[..n] == H2_PREFACE[..n] {
        if n == H2_PREFACE.len() {
            return Some(Sniff::Malformed(MalformedReason::Http2Preface));
        }
        return None;
    }
    // The method must be a token; judge it as soon as it arrives so binary garbage is
    // answered at once rather than after a timeout.
    let method_end = buf.iter().position(|&b| b == b' ');
    let method = &buf[..method_end.unwrap_or(buf.len())];
    if method.len() > 32 || !method.iter().all(|&b| is_tchar(b)) || method_end == Some(0) {
        return Some(Sniff::Malformed(MalformedReason::BadRequestLine));
    }
    let Some(line_end) = buf.iter().position(|&b| b == b'\n') else {
        return (buf.len() > max).then_some(Sniff::Malformed(MalformedReason::RequestLineTooLong));
    };
    if line_end > max {
        return Some(Sniff::Malformed(MalformedReason::RequestLineTooLong));
    }
    match request_line(&buf[..line_end]) {
        Line::Valid => {}
        Line::OtherVersion => return Some(Sniff::Malformed(MalformedReason::UnsupportedVersion)),
        Line::Invalid => return Some(Sniff::Malformed(MalformedReason::BadRequestLine)),
    }
    let head_end = find(buf, b"\r\n\r\n")
        .map(|i| i + 4)
        .or_else(|| find(buf, b"\n\n").map(|i| i + 2));
    match head_end {
        Some(end) if end <= max => Some(Sniff::Http),
        Some(_) => Some(Sniff::HeadTooLarge),
        None if buf.len() > max => Some(Sniff::HeadTooLarge),
        None => None,
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// What a request line is.
enum Line {
    /// `METHOD SP request-target SP HTTP/1.x`, with an optional trailing CR.
    Valid,
    /// The same shape with `HTTP/<digit>.<digit>` of another version.
    OtherVersion,
    /// Anything else.
    Invalid,
}

fn request_line(line: &[u8]) -> Line {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut parts = line.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Line::Invalid;
    };
    let shape = !method.is_empty()
        && method.iter().all(|&b| is_tchar(b))
        && !target.is_empty()
        && target.iter().all(|&b| b > 0x20 && b != 0x7f);
    match version {
        _ if !shape => Line::Invalid,
        b"HTTP/1.1" | b"HTTP/1.0" => Line::Valid,
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
            if major.is_ascii_digit() && minor.is_ascii_digit() =>
        {
            Line::OtherVersion
        }
        _ => Line::Invalid,
    }
}

/// RFC 9110 token characters.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A stream that first replays bytes already read, then reads from the socket, counting
/// every byte the client sent.
pub struct Prefixed<S> {
    prefix: Bytes,
    inner: S,
    received: Arc<AtomicU64>,
}

impl<S> Prefixed<S> {
    /// Wraps `inner`; `received` already counts the prefix.
    pub fn new(prefix: Bytes, inner: S, received: Arc<AtomicU64>) -> Self {
        Prefixed {
            prefix,
            inner,
            received,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Prefixed<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.prefix.is_empty() {
            let n = self.prefix.len().min(buf.remaining());
            buf.put_slice(&self.prefix[..n]);
            self.prefix.advance(n);
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        let res = Pin::new(&mut self.inner).poll_read(cx, buf);
        let got = buf.filled().len() - before;
        self.received.fetch_add(got as u64, Ordering::Relaxed);
        res
    }
}

/// Restores real-world spellings of header names that hyper writes in title case
/// ([`CANONICAL_CASE`]); `None` when there is nothing to change. Replacements have the same
/// length, so byte counts of partial writes stay true.
fn fix_header_case(data: &[u8]) -> Option<Vec<u8>> {
    let mut out: Option<Vec<u8>> = None;
    for (wrong, right) in CANONICAL_CASE {
        let mut from = 0;
        while let Some(i) = find(&data[from..], wrong) {
            let at = from + i;
            out.get_or_insert_with(|| data.to_vec())[at..at + right.len()].copy_from_slice(right);
            from = at + wrong.len();
        }
    }
    out
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Prefixed<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        match fix_header_case(data) {
            Some(fixed) => Pin::new(&mut self.inner).poll_write(cx, &fixed),
            None => Pin::new(&mut self.inner).poll_write(cx, data),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if bufs.iter().any(|b| fix_header_case(b).is_some()) {
            // Rare (only heads with those headers): write the first slice alone, fixed.
            let first = bufs
                .iter()
                .find(|b| !b.is_empty())
                .map(|b| &b[..])
                .unwrap_or(&[]);
            return self.poll_write(cx, first);
        }
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(b: &[u8]) -> Option<Sniff> {
        classify(b, 8192)
    }

    #[test]
    fn complete_requests_pass() {
        assert_eq!(c(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"), Some(Sniff::Http));
        assert_eq!(
            c(b"POST /j_spring_security_check HTTP/1.0\n\n"),
            Some(Sniff::Http)
        );
    }

    #[test]
    fn partial_requests_wait() {
        assert_eq!(c(b"GE"), None);
        assert_eq!(c(b"GET / HTTP/1.1\r\nHost: x\r\n"), None);
        assert_eq!(c(b"PRI * HT"), None);
    }

    #[test]
    fn garbage_is_judged_at_once() {
        assert_eq!(
            c(b"\x00\x01\x02"),
            Some(Sniff::Malformed(MalformedReason::BadRequestLine))
        );
        assert_eq!(
            c(b"\x16\x03\x01\x02\x00"),
            Some(Sniff::Malformed(MalformedReason::TlsHandshake))
        );
        assert_eq!(
            c(b" GET"),
            Some(Sniff::Malformed(MalformedReason::BadRequestLine))
        );
        assert_eq!(
            c(b"GET / HTTP/3.0\r\n"),
            Some(Sniff::Malformed(MalformedReason::UnsupportedVersion))
        );
        assert_eq!(
            c(b"GET / HTTP/1.x\r\n"),
            Some(Sniff::Malformed(MalformedReason::BadRequestLine))
        );
        assert_eq!(
            c(b"GET /\r\n"),
            Some(Sniff::Malformed(MalformedReason::BadRequestLine))
        );
        assert_eq!(
            c(b"GET /a b HTTP/1.1\r\n"),
            Some(Sniff::Malformed(MalformedReason::BadRequestLine))
        );
    }

    #[test]
    fn h2_preface_is_recognised() {
        assert_eq!(
            c(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
            Some(Sniff::Malformed(MalformedReason::Http2Preface))
        );
    }

    #[test]
    fn oversized_heads_are_caught() {
        let mut long = b"GET /".to_vec();
        long.extend(std::iter::repeat_n(b'a', 9000));
        assert_eq!(
            c(&long),
            Some(Sniff::Malformed(MalformedReason::RequestLineTooLong))
        );
        let mut big = b"GET / HTTP/1.1\r\nX: ".to_vec();
        big.extend(std::iter::repeat_n(b'a', 9000));
        assert_eq!(c(&big), Some(Sniff::HeadTooLarge));
    }

    #[test]
    fn header_names_get_their_real_spelling() {
        let head =
            b"HTTP/1.1 401 Unauthorized\r\nWww-Authenticate: Basic\r\nEtag: \"1\"\r\n\r\nWww-x";
        let fixed = fix_header_case(head).unwrap();
        assert_eq!(
            &fixed[..],
            &b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic\r\nETag: \"1\"\r\n\r\nWww-x"[..]
        );
        assert_eq!(
            fix_header_case(b"HTTP/1.1 200 OK\r\nServer: x\r\n\r\n"),
            None
        );
    }

    #[tokio::test]
    async fn prefixed_replays_then_reads() {
        let (mut a, b) = tokio::io::duplex(64);
        let counter = Arc::new(AtomicU64::new(3));
        let mut p = Prefixed::new(Bytes::from_static(b"abc"), b, counter.clone());
        tokio::io::AsyncWriteExt::write_all(&mut a, b"def")
            .await
            .unwrap();
        drop(a);
        let mut out = Vec::new();
        p.read_to_end(&mut out).await.unwrap();
        assert_eq!(out, b"abcdef");
        assert_eq!(counter.load(Ordering::Relaxed), 6);
    }
}
