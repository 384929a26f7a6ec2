//! One pass over a JSON object, written for the shape of a JWS header (step 3) and a JWT
//! payload (step 7): it accepts exactly what `serde_json` accepts for a `Value` under a
//! top-level object without duplicate member names, and lets its caller keep only the
//! members it reads ([`Reader::object`]).
//!
//! It handles the common forms itself (unescaped strings, eight bytes at a time while
//! they are ASCII, checked as UTF-8 whole when they are not; non-negative integers of up
//! to 19 digits; `true`, `false`, `null`; nesting) and hands the rare ones to
//! `serde_json` itself, lexeme by lexeme: a string holding a backslash (escapes,
//! surrogate pairs) and any other number (sign, fraction, exponent, range). So every
//! string and number is accepted and read exactly as `serde_json` reads it; the grammar
//! around them (whitespace, separators, nesting limit, trailing bytes) is the JSON
//! grammar, which `serde_json` follows. Differential tests (`tests/fuzz_corpus.rs`) and
//! fuzz targets (`fuzzing::payload_target`, `fuzzing::header_target`) compare the two on
//! random and mutated input.
//!
//! Why not `serde_json` with visitors (what this replaced): on a Keycloak-sized payload
//! its generic string reading and `MapAccess` machinery cost about as much again as
//! this whole pass (docs/benchmarks.md §0.00).

use std::borrow::Cow;
use std::fmt;

use serde_json::Value;

/// The deepest nesting accepted (the top-level object counts): `serde_json`'s recursion
/// limit refuses a 128th level.
const MAX_DEPTH: usize = 127;

/// Why a payload is not a JSON object as step 7 requires: the source of its
/// `malformed_token`.
#[derive(Debug)]
pub(crate) enum JsonError {
    /// The reader's own finding, and the byte offset where it was made.
    Syntax(&'static str, usize),
    /// `serde_json`'s, on a string or number handed to it.
    Lexeme(serde_json::Error),
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JsonError::Syntax(what, at) => write!(f, "{what} at byte {at}"),
            JsonError::Lexeme(e) => fmt::Display::fmt(e, f),
        }
    }
}

impl std::error::Error for JsonError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            JsonError::Syntax(..) => None,
            JsonError::Lexeme(e) => Some(e),
        }
    }
}

/// The reader's results: the error is boxed, so a result of nothing or a flag is one
/// word wide and every step's `?` stays cheap on the hot path.
pub(crate) type Result<T> = std::result::Result<T, Box<JsonError>>;

/// The top-level member names read so far, as 64-bit digests in a small open-addressing
/// table on the stack: no allocation and no sort for a typical payload (sorting the names
/// cost a quarter of the pass when they are not in order, as in real tokens).
struct Seen {
    slots: [u64; 128],
    len: usize,
    unsure: bool,
}

impl Seen {
    /// Names kept before giving up (half the table, so probe runs stay short).
    const MAX: usize = 64;

    fn new() -> Seen {
        Seen {
            slots: [0; 128],
            len: 0,
            unsure: false,
        }
    }

    #[inline]
    fn insert(&mut self, name: &[u8]) {
        if self.unsure {
            return;
        }
        if self.len == Self::MAX {
            self.unsure = true;
            return;
        }
        let d = digest(name) | 1; // 0 marks an empty slot
        let mut i = (d >> 57) as usize;
        loop {
            match self.slots[i] {
                0 => {
                    self.slots[i] = d;
                    self.len += 1;
                    return;
                }
                x if x == d => {
                    self.unsure = true;
                    return;
                }
                _ => i = (i + 1) % self.slots.len(),
            }
        }
    }
}

/// A 64-bit digest of a member name, eight bytes at a time. Not keyed: a payload built so
/// that digests collide only sends itself to the map parser, at the cost every payload
/// had before this reader. The last word is read overlapping the one before it (or, for
/// names under eight bytes, from two overlapping halves), so no byte is copied.
#[inline]
fn digest(name: &[u8]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let n = name.len();
    let word = |at: usize| u64::from_le_bytes(name[at..at + 8].try_into().unwrap_or_default());
    let half = |at: usize| {
        u64::from(u32::from_le_bytes(
            name[at..at + 4].try_into().unwrap_or_default(),
        ))
    };
    let mut h = n as u64;
    let last = if n >= 8 {
        let mut at = 0;
        while at + 8 < n {
            h = (h ^ word(at)).wrapping_mul(K).rotate_left(29);
            at += 8;
        }
        word(n - 8)
    } else if n >= 4 {
        half(0) | half(n - 4) << 32
    } else if n > 0 {
        u64::from(name[0]) | u64::from(name[n / 2]) << 8 | u64::from(name[n - 1]) << 16
    } else {
        0
    };
    h = (h ^ last).wrapping_mul(K);
    h ^ (h >> 29)
}

/// A string's text: where it is (no backslash), or its unescaped copy.
pub(crate) enum Text {
    At(usize, usize),
    Owned(String),
}

/// The reader: where it is in the bytes and how deep.
pub(crate) struct Reader<'a> {
    /// The whole input.
    pub(crate) b: &'a [u8],
    /// The offset of the next byte to read.
    pub(crate) at: usize,
    depth: usize,
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `v` that ends a plain run of string bytes: `"`, `\\`, a
/// control character below 0x20 or a byte above 0x7F (UTF-8, checked by the slow path).
///
/// A byte subtraction sets the high bit of `x - 1` exactly when `x` is 0, and of `x - 0x20`
/// exactly when `x < 0x20`, for bytes below 0x80 and no borrow from the byte below; bytes
/// from 0x80 are flagged anyway (the last term), and a borrow only comes from a flagged
/// byte below. So the lowest flagged byte is exact (those above it may not be), and it is
/// the only one read.
#[inline]
fn specials(v: u64) -> u64 {
    let quote = v ^ (ONES * u64::from(b'"'));
    let slash = v ^ (ONES * u64::from(b'\\'));
    (quote.wrapping_sub(ONES) | slash.wrapping_sub(ONES) | v.wrapping_sub(ONES * 0x20) | v) & HIGHS
}

/// Where the string whose contents start at `j` ends (its closing quote), when nothing
/// in it needs a closer look (no backslash, no control character, only ASCII); eight
/// bytes at a time.
#[inline(always)]
fn plain_end(b: &[u8], mut j: usize) -> Option<usize> {
    while let Some(chunk) = b.get(j..j + 8) {
        let mask = specials(u64::from_le_bytes(chunk.try_into().unwrap_or([0xff; 8])));
        if mask != 0 {
            j += (mask.trailing_zeros() / 8) as usize;
            return (b[j] == b'"').then_some(j);
        }
        j += 8;
    }
    while let Some(&c) = b.get(j) {
        match c {
            b'"' => return Some(j),
            b'\\' => return None,
            c if !(0x20..0x80).contains(&c) => return None,
            _ => j += 1,
        }
    }
    None
}

impl<'a> Reader<'a> {
    /// A reader at the start of `bytes`.
    pub(crate) fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader {
            b: bytes,
            at: 0,
            depth: 0,
        }
    }

    /// The whole input as one object (whitespace around it): calls `member` at each
    /// member's value, with its name, to read or [`skip`](Self::skip) that value. True
    /// when a member name may be repeated (two names with the same digest, or more than
    /// [`Seen`] keeps): the caller then asks a parser that keeps every name; when false,
    /// no name is repeated.
    ///
    /// UTF-8 is checked where JSON allows bytes above 0x7F, inside strings (anywhere else
    /// the grammar refuses them): a string holding one is checked whole.
    #[inline(always)]
    pub(crate) fn object(
        &mut self,
        mut member: impl FnMut(&mut Self, &[u8]) -> Result<()>,
    ) -> Result<bool> {
        let mut seen = Seen::new();
        self.ws();
        if self.peek() != Some(b'{') {
            return self.fail("expected a JSON object");
        }
        self.members(|r, name| {
            seen.insert(name);
            member(r, name)
        })?;
        self.ws();
        if self.at != self.b.len() {
            return self.fail("trailing characters");
        }
        Ok(seen.unsure)
    }

    /// At `{`: the object, calling `member` at each member's value, with its name, to read
    /// or [`skip`](Self::skip) that value. Names may repeat (as `Value` allows in nested
    /// objects, where the last one wins).
    #[inline(always)]
    pub(crate) fn members(
        &mut self,
        mut member: impl FnMut(&mut Self, &[u8]) -> Result<()>,
    ) -> Result<()> {
        if !self.open(b'}')? {
            loop {
                let name = self.name()?;
                self.colon()?;
                member(self, &name)?;
                if !self.next(b'}')? {
                    break;
                }
            }
        }
        Ok(())
    }

    /// At an opening quote: the string's text, borrowed from the input unless it had
    /// escapes.
    pub(crate) fn text(&mut self) -> Result<Cow<'a, str>> {
        let bytes = self.b;
        match self.string()? {
            // Always UTF-8: ASCII, or checked by `string_slow`.
            Text::At(start, end) => match std::str::from_utf8(&bytes[start..end]) {
                Ok(s) => Ok(Cow::Borrowed(s)),
                Err(_) => self.fail("invalid UTF-8 in a string"),
            },
            Text::Owned(s) => Ok(Cow::Owned(s)),
        }
    }

    /// Reports `what` at the current offset.
    #[cold]
    fn fail<T>(&self, what: &'static str) -> Result<T> {
        Err(Box::new(JsonError::Syntax(what, self.at)))
    }

    /// The next byte.
    #[inline]
    pub(crate) fn peek(&self) -> Option<u8> {
        self.b.get(self.at).copied()
    }

    /// Skips whitespace.
    #[inline]
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    /// Skips whitespace, a `:` and whitespace.
    #[inline]
    fn colon(&mut self) -> Result<()> {
        self.ws();
        if self.peek() != Some(b':') {
            return self.fail("expected `:`");
        }
        self.at += 1;
        self.ws();
        Ok(())
    }

    /// After a member or an element: skips whitespace and a `,` (then true, with the
    /// whitespace after it skipped) or the closing `close` (then false).
    #[inline]
    pub(crate) fn next(&mut self, close: u8) -> Result<bool> {
        self.ws();
        match self.peek() {
            Some(b',') => {
                self.at += 1;
                self.ws();
                Ok(true)
            }
            Some(c) if c == close => {
                self.at += 1;
                self.depth -= 1;
                Ok(false)
            }
            _ => self.fail("expected `,` or the end of the container"),
        }
    }

    /// At `[` or `{`: steps in (one level deeper) and skips whitespace; true when the
    /// container is empty (then its `close` is consumed too).
    #[inline]
    pub(crate) fn open(&mut self, close: u8) -> Result<bool> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.fail("recursion limit exceeded");
        }
        self.at += 1;
        self.ws();
        if self.peek() == Some(close) {
            self.at += 1;
            self.depth -= 1;
            return Ok(true);
        }
        Ok(false)
    }

    /// At a member name's opening quote (anything else is refused).
    #[inline(always)]
    fn name(&mut self) -> Result<Cow<'a, [u8]>> {
        if self.peek() != Some(b'"') {
            return self.fail("expected a member name");
        }
        Ok(match self.string()? {
            Text::At(start, end) => Cow::Borrowed(&self.b[start..end]),
            Text::Owned(s) => Cow::Owned(s.into_bytes()),
        })
    }

    /// At an opening quote: the string, unescaped by `serde_json` when it holds a
    /// backslash; leaves the reader after the closing quote.
    #[inline]
    pub(crate) fn string(&mut self) -> Result<Text> {
        let start = self.at + 1;
        match plain_end(self.b, start) {
            Some(end) => {
                self.at = end + 1;
                Ok(Text::At(start, end))
            }
            None => self.string_slow(start),
        }
    }

    /// [`string`](Self::string) for a string that holds a backslash, a control
    /// character, a byte above 0x7F or no closing quote.
    #[cold]
    #[inline(never)]
    fn string_slow(&mut self, start: usize) -> Result<Text> {
        let mut j = start;
        let mut escaped = false;
        loop {
            match self.b.get(j) {
                Some(b'"') => break,
                Some(b'\\') => {
                    escaped = true;
                    j += 2;
                }
                Some(c) if *c < 0x20 => {
                    self.at = j;
                    return self.fail("control character in a string");
                }
                Some(_) => j += 1,
                None => {
                    self.at = self.b.len();
                    return self.fail("unterminated string");
                }
            }
        }
        self.at = j + 1;
        if !escaped {
            if std::str::from_utf8(&self.b[start..j]).is_err() {
                self.at = start;
                return self.fail("invalid UTF-8 in a string");
            }
            return Ok(Text::At(start, j));
        }
        // `serde_json` checks UTF-8 as it unescapes.
        let lexeme = &self.b[start - 1..j + 1];
        let s =
            serde_json::from_slice::<String>(lexeme).map_err(|e| Box::new(JsonError::Lexeme(e)))?;
        Ok(Text::Owned(s))
    }

    /// At `-` or a digit: the number as `Value::as_f64` reads it.
    pub(crate) fn number(&mut self) -> Result<f64> {
        let b = self.b;
        let start = self.at;
        // The common case in one pass: a non-negative integer of up to 19 digits fits a
        // u64; `serde_json` reads it as one, and `as_f64` converts it.
        let mut j = start;
        let mut n = 0u64;
        while let Some(&d) = b.get(j) {
            if !d.is_ascii_digit() {
                break;
            }
            n = n.wrapping_mul(10).wrapping_add(u64::from(d - b'0'));
            j += 1;
        }
        let plain = j > start && j - start <= 19 && (b[start] != b'0' || j == start + 1);
        if plain && !matches!(b.get(j), Some(b'.' | b'e' | b'E')) {
            self.at = j;
            return Ok(n as f64);
        }
        self.number_slow(start)
    }

    /// [`number`](Self::number) for any other number: the grammar checked here, the
    /// value read by `serde_json`.
    #[inline(never)]
    fn number_slow(&mut self, start: usize) -> Result<f64> {
        let b = self.b;
        let digits = |mut j: usize| {
            while b.get(j).is_some_and(u8::is_ascii_digit) {
                j += 1;
            }
            j
        };
        let mut j = start + usize::from(b[start] == b'-');
        match b.get(j) {
            Some(b'0') => j += 1,
            Some(b'1'..=b'9') => j = digits(j + 1),
            _ => {
                self.at = j;
                return self.fail("invalid number");
            }
        }
        if b.get(j) == Some(&b'.') {
            if !b.get(j + 1).is_some_and(u8::is_ascii_digit) {
                self.at = j + 1;
                return self.fail("invalid number");
            }
            j = digits(j + 1);
        }
        if let Some(b'e' | b'E') = b.get(j) {
            j += 1;
            if let Some(b'+' | b'-') = b.get(j) {
                j += 1;
            }
            if !b.get(j).is_some_and(u8::is_ascii_digit) {
                self.at = j;
                return self.fail("invalid number");
            }
            j = digits(j);
        }
        self.at = j;
        let value = serde_json::from_slice::<Value>(&b[start..j])
            .map_err(|e| Box::new(JsonError::Lexeme(e)))?;
        // Always a number (the lexeme is one); should `as_f64` ever say no, the
        // value is read as not a number.
        Ok(value.as_f64().unwrap_or(f64::NAN))
    }

    /// At `t`, `f` or `n`: the literal `word`.
    #[inline]
    pub(crate) fn literal(&mut self, word: &[u8]) -> Result<()> {
        if self.b.get(self.at..self.at + word.len()) != Some(word) {
            return self.fail("expected a value");
        }
        self.at += word.len();
        Ok(())
    }

    /// Any value, checked and not kept (nested objects may repeat a name, as `Value`
    /// allows).
    #[inline(always)]
    pub(crate) fn skip(&mut self) -> Result<()> {
        // Strings first and inline: most values are.
        if self.peek() == Some(b'"') {
            self.string()?;
            return Ok(());
        }
        self.skip_other()
    }

    /// [`skip`](Self::skip) for anything but a string.
    pub(crate) fn skip_other(&mut self) -> Result<()> {
        match self.peek() {
            Some(b'"') => {
                self.string()?;
            }
            Some(b'{') => {
                if !self.open(b'}')? {
                    loop {
                        // The name is checked, not kept.
                        if self.peek() != Some(b'"') {
                            return self.fail("expected a member name");
                        }
                        self.string()?;
                        self.colon()?;
                        self.skip()?;
                        if !self.next(b'}')? {
                            break;
                        }
                    }
                }
            }
            Some(b'[') => {
                if !self.open(b']')? {
                    loop {
                        self.skip()?;
                        if !self.next(b']')? {
                            break;
                        }
                    }
                }
            }
            Some(b't') => self.literal(b"true")?,
            Some(b'f') => self.literal(b"false")?,
            Some(b'n') => self.literal(b"null")?,
            Some(b'-' | b'0'..=b'9') => {
                self.number()?;
            }
            _ => return self.fail("expected a value"),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{digest, specials, Seen};

    /// The lowest byte `specials` flags is the first byte that ends a plain run, on words
    /// built from the bytes that matter (and their neighbours) in every position.
    #[test]
    fn specials_finds_the_first_special_byte() {
        const BYTES: [u8; 12] = [
            b'"', b'\\', 0x00, 0x1f, 0x20, 0x21, 0x23, 0x5b, 0x5d, 0x7f, 0x80, 0xff,
        ];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..200_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let word: [u8; 8] =
                std::array::from_fn(|i| BYTES[((state >> (i * 5)) % BYTES.len() as u64) as usize]);
            let first = word
                .iter()
                .position(|&c| c == b'"' || c == b'\\' || !(0x20..0x80).contains(&c));
            let mask = specials(u64::from_le_bytes(word));
            let found = (mask != 0).then(|| (mask.trailing_zeros() / 8) as usize);
            assert_eq!(found, first, "{word:02x?}");
        }
    }

    /// Every byte of a name reaches its digest, whatever the length (the words read
    /// overlap for lengths that are not a multiple of eight), and so does the length.
    #[test]
    fn digest_depends_on_every_byte_and_the_length() {
        for len in 0..=40usize {
            let name: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            let d = digest(&name);
            for at in 0..len {
                for flip in [0x01u8, 0x20, 0x80] {
                    let mut other = name.clone();
                    other[at] ^= flip;
                    assert_ne!(digest(&other), d, "{len} {at} {flip:#x}");
                }
            }
            let mut longer = name.clone();
            longer.push(0);
            assert_ne!(digest(&longer), d, "{len}");
        }
    }

    #[test]
    fn seen_is_unsure_after_a_repeated_name_or_too_many() {
        let mut seen = Seen::new();
        for i in 0..Seen::MAX {
            seen.insert(format!("claim_{i}").as_bytes());
        }
        assert!(!seen.unsure);
        seen.insert(b"one more");
        assert!(seen.unsure);

        let mut seen = Seen::new();
        for name in [&b"iss"[..], b"sub", b"a-much-longer-claim-name", b""] {
            seen.insert(name);
        }
        assert!(!seen.unsure);
        seen.insert(b"a-much-longer-claim-name");
        assert!(seen.unsure);
    }
}
