//! SPDY/3 header-block compression: one zlib stream per direction and connection, primed with
//! the SPDY/3 dictionary, flushed (Z_SYNC_FLUSH) after every header block.
//!
//! Reading needs a real inflater (Go's compressor refers back into the dictionary); writing may
//! use stored (uncompressed) deflate blocks, which every inflater accepts. Written from RFC 1950
//! (zlib) and RFC 1951 (deflate).

use std::sync::OnceLock;

/// The deflate window: back-references reach at most this far.
const WINDOW: usize = 32 * 1024;

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum InflateError {
    #[error("bad zlib header")]
    Header,
    #[error("header block compressed with a different dictionary (id {0:08x})")]
    Dictionary(u32),
    #[error("compressed header block ends early")]
    Truncated,
    #[error("invalid deflate data: {0}")]
    Invalid(&'static str),
}

/// The SPDY/3 header compression dictionary (SPDY draft 3, section 2.6.10.1): length-prefixed
/// common header names and values, then a run of common strings.
pub(crate) fn dictionary() -> &'static [u8] {
    static DICTIONARY: OnceLock<Vec<u8>> = OnceLock::new();
    DICTIONARY.get_or_init(|| {
        const WORDS: [&str; 65] = [
            "options",
            "head",
            "post",
            "put",
            "delete",
            "trace",
            "accept",
            "accept-charset",
            "accept-encoding",
            "accept-language",
            "accept-ranges",
            "age",
            "allow",
            "authorization",
            "cache-control",
            "connection",
            "content-base",
            "content-encoding",
            "content-language",
            "content-length",
            "content-location",
            "content-md5",
            "content-range",
            "content-type",
            "date",
            "etag",
            "expect",
            "expires",
            "from",
            "host",
            "if-match",
            "if-modified-since",
            "if-none-match",
            "if-range",
            "if-unmodified-since",
            "last-modified",
            "location",
            "max-forwards",
            "pragma",
            "proxy-authenticate",
            "proxy-authorization",
            "range",
            "referer",
            "retry-after",
            "server",
            "te",
            "trailer",
            "transfer-encoding",
            "upgrade",
            "user-agent",
            "vary",
            "via",
            "warning",
            "www-authenticate",
            "method",
            "get",
            "status",
            "200 OK",
            "version",
            "HTTP/1.1",
            "url",
            "public",
            "set-cookie",
            "keep-alive",
            "origin",
        ];
        const TAIL: &str = concat!(
            "100101201202205206300302303304305306307402405406407408409410411412413414415416417",
            "502504505",
            "203 Non-Authoritative Information",
            "204 No Content",
            "301 Moved Permanently",
            "400 Bad Request",
            "401 Unauthorized",
            "403 Forbidden",
            "404 Not Found",
            "500 Internal Server Error",
            "501 Not Implemented",
            "503 Service Unavailable",
            "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 ",
            "Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT",
            "chunked,text/html,image/png,image/jpg,image/gif,application/xml,",
            "application/xhtml+xml,text/plain,text/javascript,public",
            "private",
            "max-age=",
            "gzip,deflate,sdch",
            "charset=utf-8",
            "charset=iso-8859-1,utf-,*,enq=0.",
        );
        let mut dictionary = Vec::with_capacity(1423);
        for word in WORDS {
            dictionary.extend_from_slice(&(word.len() as u32).to_be_bytes());
            dictionary.extend_from_slice(word.as_bytes());
        }
        dictionary.extend_from_slice(TAIL.as_bytes());
        dictionary
    })
}

pub(crate) fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for chunk in data.chunks(5552) {
        for &byte in chunk {
            a += u32::from(byte);
            b += a;
        }
        a %= 65521;
        b %= 65521;
    }
    (b << 16) | a
}

/// Decompresses the header blocks one peer sends, frame after frame.
pub(crate) struct HeaderInflater {
    started: bool,
    /// Output history (starts as the dictionary); back-references point into it.
    history: Vec<u8>,
}

impl HeaderInflater {
    pub(crate) fn new() -> Self {
        Self {
            started: false,
            history: dictionary().to_vec(),
        }
    }

    /// Inflates one frame's header block (which ends on a sync flush, so on a block boundary).
    pub(crate) fn inflate(&mut self, block: &[u8]) -> Result<Vec<u8>, InflateError> {
        let mut input = block;
        if !self.started {
            input = self.read_zlib_header(input)?;
            self.started = true;
        }
        let start = self.history.len();
        let mut bits = BitReader::new(input);
        while !bits.at_end() {
            let last = bits.bits(1)? == 1;
            match bits.bits(2)? {
                0 => stored(&mut bits, &mut self.history)?,
                1 => codes(&mut bits, &mut self.history, fixed_tables())?,
                2 => {
                    let tables = dynamic_tables(&mut bits)?;
                    codes(&mut bits, &mut self.history, &tables)?
                }
                _ => return Err(InflateError::Invalid("block type 3")),
            }
            if last {
                break;
            }
        }
        let output = self.history[start..].to_vec();
        if self.history.len() > 2 * WINDOW {
            self.history.drain(..self.history.len() - WINDOW);
        }
        Ok(output)
    }

    fn read_zlib_header<'a>(&self, input: &'a [u8]) -> Result<&'a [u8], InflateError> {
        let [cmf, flg, rest @ ..] = input else {
            return Err(InflateError::Truncated);
        };
        if cmf & 0x0f != 8 || cmf >> 4 > 7 || (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 != 0 {
            return Err(InflateError::Header);
        }
        if flg & 0x20 == 0 {
            return Ok(rest);
        }
        let [a, b, c, d, rest @ ..] = rest else {
            return Err(InflateError::Truncated);
        };
        let id = u32::from_be_bytes([*a, *b, *c, *d]);
        if id != adler32(dictionary()) {
            return Err(InflateError::Dictionary(id));
        }
        Ok(rest)
    }
}

/// Compresses the header blocks we send, as stored blocks (valid zlib, no compression needed).
pub(crate) struct HeaderDeflater {
    started: bool,
}

impl HeaderDeflater {
    pub(crate) fn new() -> Self {
        Self { started: false }
    }

    pub(crate) fn deflate(&mut self, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(data.len() + 16);
        if !self.started {
            // CMF: deflate, 32K window; FLG: no dictionary, check bits make it divisible by 31.
            out.extend_from_slice(&[0x78, 0x01]);
            self.started = true;
        }
        for chunk in data.chunks(usize::from(u16::MAX)) {
            stored_block(&mut out, chunk);
        }
        // The sync-flush marker (an empty stored block), as zlib writes it.
        stored_block(&mut out, &[]);
        out
    }
}

fn stored_block(out: &mut Vec<u8>, data: &[u8]) {
    // BFINAL=0, BTYPE=00, padded to the byte boundary (we are always aligned here).
    out.push(0);
    let len = data.len() as u16;
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&(!len).to_le_bytes());
    out.extend_from_slice(data);
}

struct BitReader<'a> {
    input: &'a [u8],
    pos: usize,
    buffer: u32,
    count: u32,
}

impl<'a> BitReader<'a> {
    fn new(input: &'a [u8]) -> Self {
        Self {
            input,
            pos: 0,
            buffer: 0,
            count: 0,
        }
    }

    /// True when only padding bits of the last byte are left.
    fn at_end(&self) -> bool {
        self.pos >= self.input.len() && (self.count == 0 || self.buffer == 0 && self.count < 8)
    }

    fn bits(&mut self, n: u32) -> Result<u32, InflateError> {
        while self.count < n {
            let byte = *self.input.get(self.pos).ok_or(InflateError::Truncated)?;
            self.pos += 1;
            self.buffer |= u32::from(byte) << self.count;
            self.count += 8;
        }
        let value = self.buffer & ((1u32 << n) - 1);
        self.buffer >>= n;
        self.count -= n;
        Ok(value)
    }

    fn align(&mut self) {
        self.buffer = 0;
        self.count = 0;
    }

    fn bytes(&mut self, n: usize) -> Result<&'a [u8], InflateError> {
        let end = self.pos.checked_add(n).ok_or(InflateError::Truncated)?;
        let slice = self
            .input
            .get(self.pos..end)
            .ok_or(InflateError::Truncated)?;
        self.pos = end;
        Ok(slice)
    }
}

fn stored(bits: &mut BitReader<'_>, out: &mut Vec<u8>) -> Result<(), InflateError> {
    bits.align();
    let header = bits.bytes(4)?;
    let len = u16::from_le_bytes([header[0], header[1]]);
    let nlen = u16::from_le_bytes([header[2], header[3]]);
    if len != !nlen {
        return Err(InflateError::Invalid("stored block length check"));
    }
    out.extend_from_slice(bits.bytes(usize::from(len))?);
    Ok(())
}

/// A canonical Huffman code as counts per length and symbols in code order.
struct Huffman {
    counts: [u16; 16],
    symbols: Vec<u16>,
}

impl Huffman {
    fn new(lengths: &[u8]) -> Result<Self, InflateError> {
        let mut counts = [0u16; 16];
        for &len in lengths {
            counts[usize::from(len)] += 1;
        }
        counts[0] = 0;
        // Over-subscribed codes are invalid; incomplete ones are allowed (single-code trees).
        let mut left: i32 = 1;
        for &count in &counts[1..] {
            left = (left << 1) - i32::from(count);
            if left < 0 {
                return Err(InflateError::Invalid("over-subscribed code"));
            }
        }
        let mut offsets = [0u16; 16];
        for len in 1..15 {
            offsets[len + 1] = offsets[len] + counts[len];
        }
        let mut symbols = vec![0u16; lengths.len()];
        for (symbol, &len) in lengths.iter().enumerate() {
            if len != 0 {
                symbols[usize::from(offsets[usize::from(len)])] = symbol as u16;
                offsets[usize::from(len)] += 1;
            }
        }
        Ok(Self { counts, symbols })
    }

    fn decode(&self, bits: &mut BitReader<'_>) -> Result<u16, InflateError> {
        let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
        for len in 1..16 {
            code |= bits.bits(1)? as i32;
            let count = i32::from(self.counts[len]);
            if code - count < first {
                return Ok(self.symbols[(index + (code - first)) as usize]);
            }
            index += count;
            first += count;
            first <<= 1;
            code <<= 1;
        }
        Err(InflateError::Invalid("no such code"))
    }
}

struct Tables {
    literal: Huffman,
    distance: Huffman,
}

fn fixed_tables() -> &'static Tables {
    static FIXED: OnceLock<Tables> = OnceLock::new();
    FIXED.get_or_init(|| {
        let mut lengths = [0u8; 288];
        lengths[..144].fill(8);
        lengths[144..256].fill(9);
        lengths[256..280].fill(7);
        lengths[280..].fill(8);
        // Constant, complete codes: construction cannot fail.
        let literal = Huffman::new(&lengths).expect("fixed literal code");
        let distance = Huffman::new(&[5u8; 30]).expect("fixed distance code");
        Tables { literal, distance }
    })
}

fn dynamic_tables(bits: &mut BitReader<'_>) -> Result<Tables, InflateError> {
    const ORDER: [usize; 19] = [
        16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
    ];
    let nlen = bits.bits(5)? as usize + 257;
    let ndist = bits.bits(5)? as usize + 1;
    let ncode = bits.bits(4)? as usize + 4;
    if nlen > 286 || ndist > 30 {
        return Err(InflateError::Invalid("bad counts"));
    }
    let mut code_lengths = [0u8; 19];
    for &index in &ORDER[..ncode] {
        code_lengths[index] = bits.bits(3)? as u8;
    }
    let code = Huffman::new(&code_lengths)?;
    let mut lengths = vec![0u8; nlen + ndist];
    let mut i = 0;
    while i < nlen + ndist {
        let symbol = code.decode(bits)?;
        let (value, repeat) = match symbol {
            0..=15 => (symbol as u8, 1),
            16 => {
                let previous = *lengths
                    .get(i.wrapping_sub(1))
                    .filter(|_| i > 0)
                    .ok_or(InflateError::Invalid("repeat without length"))?;
                (previous, 3 + bits.bits(2)? as usize)
            }
            17 => (0, 3 + bits.bits(3)? as usize),
            18 => (0, 11 + bits.bits(7)? as usize),
            _ => return Err(InflateError::Invalid("bad code length symbol")),
        };
        if i + repeat > lengths.len() {
            return Err(InflateError::Invalid("too many lengths"));
        }
        lengths[i..i + repeat].fill(value);
        i += repeat;
    }
    if lengths[256] == 0 {
        return Err(InflateError::Invalid("no end-of-block code"));
    }
    Ok(Tables {
        literal: Huffman::new(&lengths[..nlen])?,
        distance: Huffman::new(&lengths[nlen..])?,
    })
}

fn codes(bits: &mut BitReader<'_>, out: &mut Vec<u8>, tables: &Tables) -> Result<(), InflateError> {
    const LENGTH_BASE: [u16; 29] = [
        3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115,
        131, 163, 195, 227, 258,
    ];
    const LENGTH_EXTRA: [u8; 29] = [
        0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
    ];
    const DIST_BASE: [u16; 30] = [
        1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
        2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
    ];
    const DIST_EXTRA: [u8; 30] = [
        0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12,
        13, 13,
    ];
    loop {
        let symbol = tables.literal.decode(bits)?;
        match symbol {
            0..=255 => out.push(symbol as u8),
            256 => return Ok(()),
            _ => {
                let index = usize::from(symbol - 257);
                let base = *LENGTH_BASE
                    .get(index)
                    .ok_or(InflateError::Invalid("bad length symbol"))?;
                let len = usize::from(base) + bits.bits(u32::from(LENGTH_EXTRA[index]))? as usize;
                let dist_symbol = usize::from(tables.distance.decode(bits)?);
                let dist_base = *DIST_BASE
                    .get(dist_symbol)
                    .ok_or(InflateError::Invalid("bad distance symbol"))?;
                let dist = usize::from(dist_base)
                    + bits.bits(u32::from(DIST_EXTRA[dist_symbol]))? as usize;
                if dist > out.len() || dist > WINDOW {
                    return Err(InflateError::Invalid("distance too far back"));
                }
                let from = out.len() - dist;
                // Byte by byte: the source may overlap what is being written.
                for k in 0..len {
                    let byte = out[from + k];
                    out.push(byte);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dictionary_is_the_spdy3_one() {
        let d = dictionary();
        assert_eq!(d.len(), 1423);
        assert_eq!(&d[..11], b"\0\0\0\x07options");
        assert!(d.ends_with(b"charset=iso-8859-1,utf-,*,enq=0."));
        // The dictionary id Go's SPDY framer (kubectl) puts in its zlib header.
        assert_eq!(adler32(d), 0xe3c6_a7c2);
    }

    #[test]
    fn adler32_known_values() {
        assert_eq!(adler32(b""), 1);
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
    }

    #[test]
    fn stored_round_trip_across_frames() {
        let mut deflater = HeaderDeflater::new();
        let mut inflater = HeaderInflater::new();
        for message in [&b"first"[..], b"", &vec![7u8; 70_000]] {
            let block = deflater.deflate(message);
            assert_eq!(inflater.inflate(&block).unwrap(), message);
        }
    }

    /// A fixed-Huffman block referring back into the dictionary: "options" is at offset 4, so
    /// length 7 at distance 1419 (+ EOB), then the sync-flush marker.
    #[test]
    fn fixed_block_with_dictionary_reference() {
        let mut writer = BitWriter::default();
        writer.put(0, 1); // not last
        writer.put(1, 2); // fixed
        // Length 7 = symbol 261: 7-bit code 0000101 (256 + 5 => codes 256..279 are 0000000+).
        writer.put_rev(0b0000101, 7);
        // Distance 1419: symbol 20 (base 1025, 9 extra bits), extra 394.
        writer.put_rev(20, 5);
        writer.put(1419 - 1025, 9);
        writer.put_rev(0, 7); // end of block (256)
        writer.put(0, 3); // sync flush: empty stored block header, then padding, LEN, NLEN
        let mut block = vec![0x78, 0xbb];
        block.extend_from_slice(&adler32(dictionary()).to_be_bytes());
        block.extend(writer.finish());
        block.extend_from_slice(&[0, 0, 0xff, 0xff]);
        assert_eq!(HeaderInflater::new().inflate(&block).unwrap(), b"options");
    }

    /// Three header blocks compressed by real zlib (Python's, level 9, SPDY dictionary, sync
    /// flush after each): fixed Huffman with dictionary references, a dynamic-Huffman block,
    /// and references back into earlier frames.
    #[test]
    fn inflates_real_zlib_output_across_frames() {
        fn block(headers: &[(String, String)]) -> Vec<u8> {
            let mut out = (headers.len() as u32).to_be_bytes().to_vec();
            for (name, value) in headers {
                out.extend_from_slice(&(name.len() as u32).to_be_bytes());
                out.extend_from_slice(name.as_bytes());
                out.extend_from_slice(&(value.len() as u32).to_be_bytes());
                out.extend_from_slice(value.as_bytes());
            }
            out
        }
        fn hex(s: &str) -> Vec<u8> {
            (0..s.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
                .collect()
        }
        let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
            list.iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect()
        };
        let first = block(&pairs(&[
            ("streamtype", "error"),
            ("port", "80"),
            ("requestid", "0"),
        ]));
        let long: Vec<(String, String)> = (0..40u32)
            .map(|i| {
                let letter = char::from(b'A' + (i % 26) as u8);
                let run: String = std::iter::repeat_n(letter, (i % 9) as usize + 1).collect();
                (
                    format!("x-header-{i}"),
                    format!(
                        "value {} content-type accept-encoding gzip,deflate {run}",
                        i * 7919 % 1000
                    ),
                )
            })
            .collect();
        let second = block(&long);
        let third = block(&pairs(&[
            ("streamtype", "data"),
            ("port", "80"),
            ("requestid", "1"),
        ]));
        const DYNAMIC_BLOCK: &str = concat!(
            "9cd6b94e03311485e15799920669eceb95a548c29a04c292b0751474b4201e1f3b9ed19d4377b845248f944f29fef14d",
            "f938a85ffd39ac9778795fea13f97efffcfae8fa6e7a3b757feee76efa9bbb1920f535080dc92613cc7c0e8e2da7d89c",
            "248970168b0540524ea941d147023a2b03922ba7dca41003219dd701aa6e84a346f9ec09ea623f6085723a1e2ce308eb",
            "b20d60b19c4e1ae64408ec6a18d052399d364dbc25b4eb7180cbe5e41b67a321b865dd2e9a68af8d9acca4be5a216434",
            "52d333b1afd76b9426b95ba6f69b322889569a1dd3fb6d1db49c669a0253fc663f8879ed3426a6f9bb36a8050d35f64c",
            "f5f7c32017b5d46099ee1fc6412f69aade31e53fa29335551798e4b75b806caf8149629adfed762819bd506d66a27f2a",
            "8394d556ad61b27fae839668ab4698ee5ff683d8247ccf74ffda0631afa9e6c884ff360c7241534d99297f360e7a5153",
            "4d86497f8e4ed254a3586a63239435d5e00db7b141925e53f5b12737365246537529b31b1b2dab7595bff2f4c6464cf4",
            "5a151bf98d8d9ad356ad0bffd8d8c8796dd50426fde538e8d5f6ddd02a933eee6d89ca08b5b591491a6ab696dbda2865",
            "0d3539432eed5f000000ffff",
        );
        let mut inflater = HeaderInflater::new();
        let compressed_first = hex(concat!(
            "78f9e3c6a7c202253a703a2b294a4dcc851625aca9a0808614cb45a024cc64610024398b209198094adc8c06",
            "00000000ffff"
        ));
        assert_eq!(inflater.inflate(&compressed_first).unwrap(), first);
        let compressed_second = hex(DYNAMIC_BLOCK);
        assert_eq!(compressed_second[0] >> 1 & 3, 2, "a dynamic Huffman block");
        assert_eq!(inflater.inflate(&compressed_second).unwrap(), second);
        let compressed_third = hex("c2da07000d272412e8021802000000ffff");
        assert_eq!(inflater.inflate(&compressed_third).unwrap(), third);
    }

    #[test]
    fn wrong_dictionary_is_reported() {
        let block = [0x78, 0xbb, 0, 0, 0, 1, 0, 0, 0, 0xff, 0xff];
        assert_eq!((0x78u16 << 8 | 0xbb) % 31, 0);
        assert_eq!(
            HeaderInflater::new().inflate(&block),
            Err(InflateError::Dictionary(1))
        );
    }

    #[derive(Default)]
    struct BitWriter {
        out: Vec<u8>,
        buffer: u32,
        count: u32,
    }

    impl BitWriter {
        fn put(&mut self, value: u32, n: u32) {
            self.buffer |= value << self.count;
            self.count += n;
            while self.count >= 8 {
                self.out.push(self.buffer as u8);
                self.buffer >>= 8;
                self.count -= 8;
            }
        }

        /// Huffman codes are sent most significant bit first.
        fn put_rev(&mut self, code: u32, n: u32) {
            for i in (0..n).rev() {
                self.put((code >> i) & 1, 1);
            }
        }

        fn finish(mut self) -> Vec<u8> {
            if self.count > 0 {
                self.out.push(self.buffer as u8);
            }
            self.out
        }
    }
}
