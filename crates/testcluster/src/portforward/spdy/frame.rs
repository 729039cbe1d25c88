//! SPDY/3 frames (SPDY draft 3, section 2.2 and 2.6): the subset a port-forward server reads
//! and writes.

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt};

use super::zlib::{HeaderDeflater, HeaderInflater};

const VERSION: u16 = 3;
pub(crate) const FLAG_FIN: u8 = 0x01;

const SYN_STREAM: u16 = 1;
const SYN_REPLY: u16 = 2;
const RST_STREAM: u16 = 3;
const SETTINGS: u16 = 4;
const PING: u16 = 6;
const GOAWAY: u16 = 7;
const HEADERS: u16 = 8;
const WINDOW_UPDATE: u16 = 9;

/// RST_STREAM status codes.
pub(crate) const PROTOCOL_ERROR: u32 = 1;
pub(crate) const INVALID_STREAM: u32 = 2;

/// Largest frame we accept (the 24-bit length allows 16 MiB; nobody sends that much here).
const MAX_FRAME: usize = 16 * 1024 * 1024;

pub(crate) type HeaderList = Vec<(String, String)>;

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Frame {
    Data {
        stream_id: u32,
        fin: bool,
        data: Bytes,
    },
    SynStream {
        stream_id: u32,
        fin: bool,
        headers: HeaderList,
    },
    RstStream {
        stream_id: u32,
        status: u32,
    },
    Ping {
        id: u32,
    },
    GoAway,
    /// SYN_REPLY, SETTINGS, HEADERS, WINDOW_UPDATE and unknown types: nothing to do for us.
    Ignored(u16),
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum FrameError {
    #[error("connection: {0}")]
    Io(#[from] std::io::Error),
    #[error("unsupported SPDY version {0}")]
    Version(u16),
    #[error("frame of {0} bytes is too large")]
    TooLarge(usize),
    #[error("malformed {0} frame")]
    Malformed(&'static str),
    #[error("header block: {0}")]
    Headers(#[from] super::zlib::InflateError),
}

/// Reads the next frame; `Ok(None)` on a clean end of stream between frames.
pub(crate) async fn read_frame<R: AsyncRead + Unpin>(
    reader: &mut R,
    inflater: &mut HeaderInflater,
) -> Result<Option<Frame>, FrameError> {
    let mut head = [0u8; 8];
    match reader.read_exact(&mut head[..1]).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    reader.read_exact(&mut head[1..]).await?;
    let flags = head[4];
    let length = usize::from(head[5]) << 16 | usize::from(head[6]) << 8 | usize::from(head[7]);
    if length > MAX_FRAME {
        return Err(FrameError::TooLarge(length));
    }
    let mut payload = vec![0u8; length];
    reader.read_exact(&mut payload).await?;

    if head[0] & 0x80 == 0 {
        let stream_id = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
        return Ok(Some(Frame::Data {
            stream_id,
            fin: flags & FLAG_FIN != 0,
            data: Bytes::from(payload),
        }));
    }
    let version = u16::from_be_bytes([head[0] & 0x7f, head[1]]);
    if version != VERSION {
        return Err(FrameError::Version(version));
    }
    let kind = u16::from_be_bytes([head[2], head[3]]);
    let word = |at: usize, what: &'static str| -> Result<u32, FrameError> {
        payload
            .get(at..at + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
            .ok_or(FrameError::Malformed(what))
    };
    let frame = match kind {
        SYN_STREAM => {
            let stream_id = word(0, "SYN_STREAM")? & 0x7fff_ffff;
            // Stream-ID, Associated-To-Stream-ID, priority and slot precede the header block.
            let block = payload
                .get(10..)
                .ok_or(FrameError::Malformed("SYN_STREAM"))?;
            let headers = parse_header_block(&inflater.inflate(block)?)?;
            Frame::SynStream {
                stream_id,
                fin: flags & FLAG_FIN != 0,
                headers,
            }
        }
        SYN_REPLY | HEADERS => {
            // Their header blocks still advance the shared compression context.
            let block = payload.get(4..).ok_or(FrameError::Malformed("SYN_REPLY"))?;
            inflater.inflate(block)?;
            Frame::Ignored(kind)
        }
        RST_STREAM => Frame::RstStream {
            stream_id: word(0, "RST_STREAM")? & 0x7fff_ffff,
            status: word(4, "RST_STREAM")?,
        },
        PING => Frame::Ping {
            id: word(0, "PING")?,
        },
        GOAWAY => Frame::GoAway,
        SETTINGS | WINDOW_UPDATE => Frame::Ignored(kind),
        other => Frame::Ignored(other),
    };
    Ok(Some(frame))
}

/// Name/value header block: count, then length-prefixed names and values (all 32-bit, big
/// endian). Names are lower case on the wire; several values of one name are NUL-separated.
fn parse_header_block(block: &[u8]) -> Result<HeaderList, FrameError> {
    let mut rest = block;
    let mut take = |n: usize| -> Result<&[u8], FrameError> {
        if rest.len() < n {
            return Err(FrameError::Malformed("header block"));
        }
        let (head, tail) = rest.split_at(n);
        rest = tail;
        Ok(head)
    };
    let word = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
    let count = word(take(4)?);
    let mut headers = Vec::with_capacity(count.min(64));
    for _ in 0..count {
        let len = word(take(4)?);
        let name = String::from_utf8_lossy(take(len)?).to_ascii_lowercase();
        let len = word(take(4)?);
        let value = String::from_utf8_lossy(take(len)?).into_owned();
        for value in value.split('\0') {
            headers.push((name.clone(), value.to_string()));
        }
    }
    Ok(headers)
}

fn encode_header_block(headers: &[(&str, &str)]) -> Vec<u8> {
    let mut block = Vec::new();
    block.extend_from_slice(&(headers.len() as u32).to_be_bytes());
    for (name, value) in headers {
        block.extend_from_slice(&(name.len() as u32).to_be_bytes());
        block.extend_from_slice(name.to_ascii_lowercase().as_bytes());
        block.extend_from_slice(&(value.len() as u32).to_be_bytes());
        block.extend_from_slice(value.as_bytes());
    }
    block
}

fn control(kind: u16, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(8 + payload.len());
    frame.extend_from_slice(&(0x8000 | VERSION).to_be_bytes());
    frame.extend_from_slice(&kind.to_be_bytes());
    frame.push(flags);
    frame.extend_from_slice(&(payload.len() as u32).to_be_bytes()[1..]);
    frame.extend_from_slice(payload);
    frame
}

pub(crate) fn syn_reply(stream_id: u32, deflater: &mut HeaderDeflater) -> Vec<u8> {
    let mut payload = stream_id.to_be_bytes().to_vec();
    payload.extend(deflater.deflate(&encode_header_block(&[])));
    control(SYN_REPLY, 0, &payload)
}

/// A SYN_STREAM (what a client sends; used by tests).
#[cfg(test)]
pub(crate) fn syn_stream(
    stream_id: u32,
    headers: &[(&str, &str)],
    deflater: &mut HeaderDeflater,
) -> Vec<u8> {
    let mut payload = stream_id.to_be_bytes().to_vec();
    payload.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    payload.extend(deflater.deflate(&encode_header_block(headers)));
    control(SYN_STREAM, 0, &payload)
}

pub(crate) fn data(stream_id: u32, fin: bool, data: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(8 + data.len());
    frame.extend_from_slice(&(stream_id & 0x7fff_ffff).to_be_bytes());
    frame.push(if fin { FLAG_FIN } else { 0 });
    frame.extend_from_slice(&(data.len() as u32).to_be_bytes()[1..]);
    frame.extend_from_slice(data);
    frame
}

pub(crate) fn rst_stream(stream_id: u32, status: u32) -> Vec<u8> {
    let mut payload = stream_id.to_be_bytes().to_vec();
    payload.extend_from_slice(&status.to_be_bytes());
    control(RST_STREAM, 0, &payload)
}

pub(crate) fn ping(id: u32) -> Vec<u8> {
    control(PING, 0, &id.to_be_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn syn_stream_round_trip() {
        let mut deflater = HeaderDeflater::new();
        let mut bytes = syn_stream(
            1,
            &[("streamType", "error"), ("port", "80"), ("requestID", "0")],
            &mut deflater,
        );
        bytes.extend(data(1, true, b"x"));
        bytes.extend(ping(7));
        let mut inflater = HeaderInflater::new();
        let mut reader = &bytes[..];
        assert_eq!(
            read_frame(&mut reader, &mut inflater).await.unwrap(),
            Some(Frame::SynStream {
                stream_id: 1,
                fin: false,
                headers: vec![
                    ("streamtype".into(), "error".into()),
                    ("port".into(), "80".into()),
                    ("requestid".into(), "0".into()),
                ],
            })
        );
        assert_eq!(
            read_frame(&mut reader, &mut inflater).await.unwrap(),
            Some(Frame::Data {
                stream_id: 1,
                fin: true,
                data: Bytes::from_static(b"x")
            })
        );
        assert_eq!(
            read_frame(&mut reader, &mut inflater).await.unwrap(),
            Some(Frame::Ping { id: 7 })
        );
        assert_eq!(read_frame(&mut reader, &mut inflater).await.unwrap(), None);
    }

    #[test]
    fn control_frame_layout() {
        let frame = rst_stream(5, PROTOCOL_ERROR);
        assert_eq!(frame, [0x80, 3, 0, 3, 0, 0, 0, 8, 0, 0, 0, 5, 0, 0, 0, 1]);
    }
}
