//! The first request head of a connection, read before hyper sees it. Real servers answer
//! garbage, TLS on a plaintext port, an HTTP/2 preface and oversized heads each in their own
//! way, and a generic framework answer would give the decoy away. So the head is read here,
//! within the size and time limits, classified, and either answered by the skin or handed to
//! hyper through [`DecoyStream`], which replays the bytes already read.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use std::future::Future;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::sync::oneshot;

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
    let mut sniffer = Sniffer::new(max);
    loop {
        if let Some(verdict) = sniffer.feed(buf) {
            return Ok(verdict);
        }
        // feed() stops once more than `max` bytes are in, so this stays bounded.
        buf.reserve(4096);
        if s.read_buf(buf).await? == 0 {
            return Ok(sniffer.feed(buf).unwrap_or(Sniff::Closed));
        }
    }
}

/// Classifies a first request head as its bytes arrive. Each call looks only at what is new
/// (a client trickling one byte at a time costs linear work, not quadratic).
#[derive(Debug)]
pub struct Sniffer {
    max: usize,
    /// Where the request line ends, once seen (and found well-formed).
    line_end: Option<usize>,
    /// How far the buffer has been searched.
    scanned: usize,
}

impl Sniffer {
    /// A sniffer for heads of at most `max` bytes.
    pub fn new(max: usize) -> Sniffer {
        Sniffer {
            max,
            line_end: None,
            scanned: 0,
        }
    }

    /// Classifies what has arrived so far (the whole buffer, which only ever grows), or
    /// `None` when more bytes are needed.
    pub fn feed(&mut self, buf: &[u8]) -> Option<Sniff> {
        let malformed = |r| Some(Sniff::Malformed(r));
        let first = *buf.first()?;
        if first == 0x16 {
            return malformed(MalformedReason::TlsHandshake);
        }
        // The HTTP/2 preface starts like a request line; recognise it before judging the line.
        let n = buf.len().min(H2_PREFACE.len());
        if buf[..n] == H2_PREFACE[..n] {
            return (n == H2_PREFACE.len())
                .then_some(Sniff::Malformed(MalformedReason::Http2Preface));
        }
        let line_end = match self.line_end {
            Some(end) => end,
            None => {
                // The method must be a token; judge it as soon as it arrives so binary
                // garbage is answered at once rather than after a timeout.
                let start = &buf[..buf.len().min(MAX_METHOD + 1)];
                let method_end = start.iter().position(|&b| b == b' ');
                let method = &start[..method_end.unwrap_or(start.len())];
                if method.len() > MAX_METHOD
                    || method_end == Some(0)
                    || !method.iter().all(|&b| is_tchar(b))
                {
                    return malformed(MalformedReason::BadRequestLine);
                }
                let Some(i) = buf[self.scanned..].iter().position(|&b| b == b'\n') else {
                    self.scanned = buf.len();
                    return (buf.len() > self.max)
                        .then_some(Sniff::Malformed(MalformedReason::RequestLineTooLong));
                };
                let end = self.scanned + i;
                if end > self.max {
                    return malformed(MalformedReason::RequestLineTooLong);
                }
                match request_line(&buf[..end]) {
                    Line::Valid => {}
                    Line::OtherVersion => return malformed(MalformedReason::UnsupportedVersion),
                    Line::Invalid => return malformed(MalformedReason::BadRequestLine),
                }
                self.line_end = Some(end);
                self.scanned = end;
                end
            }
        };
        // The head ends at the first empty line: an LF followed by LF or by CR LF (any mix of
        // line endings, as hyper and nginx accept). Only LFs not judged yet are looked at; an
        // LF too near the end to judge is looked at again next time.
        let mut head_end = None;
        let mut i = self.scanned.max(line_end);
        while let Some(off) = buf[i..].iter().position(|&b| b == b'\n') {
            let lf = i + off;
            match &buf[lf + 1..] {
                [b'\n', ..] => head_end = Some(lf + 2),
                [b'\r', b'\n', ..] => head_end = Some(lf + 3),
                [] | [b'\r'] => break,
                _ => {}
            }
            if head_end.is_some() {
                break;
            }
            i = lf + 1;
        }
        if head_end.is_none() {
            // Resume at the undecided LF, or at the end.
            self.scanned = buf[i..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(buf.len(), |off| i + off);
            return (buf.len() > self.max).then_some(Sniff::HeadTooLarge);
        }
        match head_end {
            Some(end) if end <= self.max => Some(Sniff::Http),
            _ => Some(Sniff::HeadTooLarge),
        }
    }
}

/// Longest method accepted.
const MAX_METHOD: usize = 32;

/// Classifies a complete buffer in one go (tests).
#[cfg(test)]
pub fn classify(buf: &[u8], max: usize) -> Option<Sniff> {
    Sniffer::new(max).feed(buf)
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

/// The connection as hyper sees it. It
/// - replays the bytes the sniffer already read, then reads from the socket, counting every
///   byte the client sent;
/// - restores real-world spellings of header names hyper title-cases wrongly;
/// - fails a write that makes no progress for `write_timeout` (a client that never reads must
///   not hold a connection slot forever);
/// - intercepts the answers hyper generates by itself for heads it cannot parse (400, 414,
///   431, always without a `Server` header, which every skin answer has): they are swallowed
///   and, when hyper lets go of the connection, the socket is handed back with the status, so
///   the decoy can record the touch first and then answer the way its product does.
pub struct DecoyStream<S> {
    prefix: Bytes,
    inner: Option<S>,
    received: Arc<AtomicU64>,
    write_timeout: Duration,
    stall: Option<Pin<Box<tokio::time::Sleep>>>,
    intercepted: Option<u16>,
    give_back: Option<oneshot::Sender<(u16, S)>>,
    http10_as_11: bool,
}

impl<S> DecoyStream<S> {
    /// Wraps `inner`; `received` already counts the prefix. An intercepted hyper answer sends
    /// the socket back through `give_back`.
    pub fn new(
        prefix: Bytes,
        inner: S,
        received: Arc<AtomicU64>,
        write_timeout: Duration,
        give_back: oneshot::Sender<(u16, S)>,
    ) -> Self {
        DecoyStream {
            prefix,
            inner: Some(inner),
            received,
            write_timeout,
            stall: None,
            intercepted: None,
            give_back: Some(give_back),
            http10_as_11: false,
        }
    }

    /// Writes `HTTP/1.1` in the status line of answers hyper would send as `HTTP/1.0`.
    pub fn answer_http10_as_11(mut self, yes: bool) -> Self {
        self.http10_as_11 = yes;
        self
    }

    fn inner(&mut self) -> io::Result<&mut S> {
        self.inner
            .as_mut()
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotConnected))
    }
}

impl<S> Drop for DecoyStream<S> {
    fn drop(&mut self) {
        if let (Some(status), Some(tx), Some(inner)) =
            (self.intercepted, self.give_back.take(), self.inner.take())
        {
            let _ = tx.send((status, inner));
        }
    }
}

/// The status of an answer hyper wrote by itself, if `data` starts one.
fn hyper_error_status(data: &[u8]) -> Option<u16> {
    let rest = data
        .strip_prefix(b"HTTP/1.1 ")
        .or_else(|| data.strip_prefix(b"HTTP/1.0 "))?;
    let status: u16 = std::str::from_utf8(rest.get(..3)?).ok()?.parse().ok()?;
    if !matches!(status, 400 | 414 | 431) {
        return None;
    }
    let head_end = find(data, b"\r\n\r\n").unwrap_or(data.len());
    (find(&data[..head_end], b"\r\nServer: ").is_none()).then_some(status)
}

impl<S: AsyncRead + Unpin> AsyncRead for DecoyStream<S> {
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
        if self.intercepted.is_some() {
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        let res = match self.inner() {
            Ok(inner) => Pin::new(inner).poll_read(cx, buf),
            Err(e) => return Poll::Ready(Err(e)),
        };
        let got = buf.filled().len() - before;
        self.received.fetch_add(got as u64, Ordering::Relaxed);
        res
    }
}

/// Restores real-world spellings of header names that hyper writes in title case
/// ([`CANONICAL_CASE`]), and optionally the `HTTP/1.1` of a status line hyper writes as
/// `HTTP/1.0`; `None` when there is nothing to change. Replacements have the same length, so
/// byte counts of partial writes stay true.
fn fix_head(data: &[u8], http10_as_11: bool) -> Option<Vec<u8>> {
    let mut out: Option<Vec<u8>> = None;
    if http10_as_11 && data.starts_with(b"HTTP/1.0 ") {
        out.get_or_insert_with(|| data.to_vec())[..9].copy_from_slice(b"HTTP/1.1 ");
    }
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

impl<S: AsyncWrite + Unpin> DecoyStream<S> {
    /// Called when a write made no progress: true once none has for `write_timeout`.
    fn stalled(&mut self, cx: &mut Context<'_>) -> bool {
        let timeout = self.write_timeout;
        let stall = self
            .stall
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        if stall.as_mut().poll(cx).is_ready() {
            self.stall = None;
            return true;
        }
        false
    }

    /// A finished write resets the stall clock; an unfinished one fails once the client has
    /// taken nothing for `write_timeout`.
    fn progress(
        &mut self,
        cx: &mut Context<'_>,
        res: Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        if res.is_ready() {
            self.stall = None;
            return res;
        }
        if self.stalled(cx) {
            return Poll::Ready(Err(stalled_error()));
        }
        Poll::Pending
    }

    /// Writes through, failing when the client has not taken a byte for `write_timeout`.
    fn write_through(&mut self, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let res = match self.inner() {
            Ok(inner) => Pin::new(inner).poll_write(cx, data),
            Err(e) => return Poll::Ready(Err(e)),
        };
        self.progress(cx, res)
    }
}

fn stalled_error() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "the client stopped reading")
}

impl<S: AsyncWrite + Unpin> AsyncWrite for DecoyStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.intercepted.is_some() {
            return Poll::Ready(Ok(data.len()));
        }
        if let Some(status) = hyper_error_status(data) {
            self.intercepted = Some(status);
            return Poll::Ready(Ok(data.len()));
        }
        match fix_head(data, self.http10_as_11) {
            Some(fixed) => self.write_through(cx, &fixed),
            None => self.write_through(cx, data),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.intercepted.is_some() {
            return Poll::Ready(Ok(()));
        }
        match self.inner() {
            Ok(inner) => Pin::new(inner).poll_flush(cx),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // An intercepted connection stays open for the decoy's own answer.
        if self.intercepted.is_some() {
            return Poll::Ready(Ok(()));
        }
        match self.inner() {
            Ok(inner) => Pin::new(inner).poll_shutdown(cx),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        // Heads are always the first slice; anything unusual goes through poll_write, one
        // slice at a time (a vectored write may write less than everything).
        let first = bufs
            .iter()
            .find(|b| !b.is_empty())
            .map(|b| &b[..])
            .unwrap_or(&[]);
        if self.intercepted.is_some()
            || bufs.iter().any(|b| {
                hyper_error_status(b).is_some() || fix_head(b, self.http10_as_11).is_some()
            })
        {
            return self.poll_write(cx, first);
        }
        let res = match self.inner() {
            Ok(inner) => Pin::new(inner).poll_write_vectored(cx, bufs),
            Err(e) => return Poll::Ready(Err(e)),
        };
        self.progress(cx, res)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.as_ref().is_some_and(|i| i.is_write_vectored())
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
        assert_eq!(c(b"GET / HTTP/1.0\r\n\r\n"), Some(Sniff::Http));
        assert_eq!(c(b"GET / HTTP/1.0\nHost: x\n\r\n"), Some(Sniff::Http));
        // The earliest empty line ends the head, whatever follows in the same read.
        let mut early = b"GET / HTTP/1.0\nHost: x\n\n".to_vec();
        early.extend(std::iter::repeat_n(b'b', 100));
        early.extend_from_slice(b"\r\n\r\n");
        assert_eq!(classify(&early, 64), Some(Sniff::Http));
        assert_eq!(c(b"GET / HTTP/1.0\n\n"), Some(Sniff::Http));
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
    fn byte_by_byte_gives_the_same_verdicts() {
        for input in [
            &b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..],
            b"GET / HTTP/1.0\r\n\r\n",
            b"GET / HTTP/1.0\n\n",
            b"GET / HTTP/1.0\nHost: x\n\r\n",
            b"GET / HTTP/1.0\r\nHost: x\r\n\n",
            b"GET / HTTP/1.1\nHost: x\n\n",
            b"GET / HTTP/2.0\r\n",
            b"PRI * HTTP/2.0\r\n\r\nSM",
            b"\x00garbage",
        ] {
            let mut s = Sniffer::new(8192);
            let mut verdict = None;
            for n in 1..=input.len() {
                verdict = s.feed(&input[..n]);
                if verdict.is_some() {
                    break;
                }
            }
            assert_eq!(verdict, classify(input, 8192), "{input:?}");
        }
    }

    #[test]
    fn random_splits_never_change_the_verdict() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let pieces: &[&[u8]] = &[
            b"GET / HTTP/1.1",
            b"POST /login?x=1 HTTP/1.0",
            b"PRI * HTTP/2.0",
            b"GET / HTTP/2.0",
            b"\x16\x03",
            b"\r\n",
            b"\n",
            b"\r",
            b"Host: x",
            b"X-A: b",
            b"",
            b" ",
            b"\x00",
            b"body=1",
            b"\r\n\r\n",
            b"\n\n",
        ];
        for _ in 0..20_000 {
            let mut input = Vec::new();
            for _ in 0..rng.random_range(1..8) {
                input.extend_from_slice(pieces[rng.random_range(0..pieces.len())]);
            }
            let max = rng.random_range(10..80);
            let whole = classify(&input, max);
            let mut s = Sniffer::new(max);
            let (mut n, mut verdict) = (0, None);
            while n < input.len() && verdict.is_none() {
                n = (n + rng.random_range(1..4)).min(input.len());
                verdict = s.feed(&input[..n]);
            }
            assert_eq!(
                verdict,
                whole,
                "{:?} max {max}",
                String::from_utf8_lossy(&input)
            );
        }
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
        let fixed = fix_head(head, false).unwrap();
        assert_eq!(
            &fixed[..],
            &b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic\r\nETag: \"1\"\r\n\r\nWww-x"[..]
        );
        assert_eq!(
            fix_head(b"HTTP/1.1 200 OK\r\nServer: x\r\n\r\n", true),
            None
        );
        assert_eq!(
            fix_head(b"HTTP/1.0 200 OK\r\n", true).unwrap(),
            b"HTTP/1.1 200 OK\r\n"
        );
        assert_eq!(fix_head(b"HTTP/1.0 200 OK\r\n", false), None);
    }

    #[tokio::test]
    async fn prefixed_replays_then_reads() {
        let (mut a, b) = tokio::io::duplex(64);
        let counter = Arc::new(AtomicU64::new(3));
        let (tx, _rx) = oneshot::channel();
        let mut p = DecoyStream::new(
            Bytes::from_static(b"abc"),
            b,
            counter.clone(),
            Duration::from_secs(5),
            tx,
        );
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
