//! Step 7's one pass over a payload: a reader written for the shape of a JWT payload
//! that accepts exactly what the map parser (`serde_json::Value` under a top-level
//! object without duplicate member names) accepts, and keeps only the registered claims.
//!
//! It handles the common forms itself (unescaped strings, eight bytes at a time while
//! they are ASCII, checked as UTF-8 whole when they are not; non-negative integers of up
//! to 19 digits; `true`, `false`, `null`; nesting) and hands the rare ones to
//! `serde_json` itself, lexeme by lexeme: a string holding a backslash (escapes,
//! surrogate pairs) and any other number (sign, fraction, exponent, range). So every
//! string and number is accepted and read exactly as `serde_json` reads it; the grammar
//! around them (whitespace, separators, nesting limit, trailing bytes) is the JSON
//! grammar, which `serde_json` follows. Differential tests (`tests/fuzz_corpus.rs`) and a
//! fuzz target (`fuzzing::payload_target`) compare the two on random and mutated
//! payloads.
//!
//! Why not `serde_json` with visitors (what this replaced): on a Keycloak-sized payload
//! its generic string reading and `MapAccess` machinery cost about as much again as
//! this whole pass (docs/benchmarks.md §0.0).

use std::borrow::Cow;
use std::fmt;

use serde_json::Value;

use super::payload::{Registered, Span, Val};

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

type Result<T> = std::result::Result<T, JsonError>;

/// Reads `bytes` (a whole payload) as one JSON object and returns its registered claims.
///
/// UTF-8 is checked where JSON allows bytes above 0x7F, inside strings (anywhere else
/// the grammar refuses them): a string holding one is checked whole.
pub(super) fn read(bytes: &[u8]) -> Result<Registered> {
    let mut reader = Reader {
        b: bytes,
        at: 0,
        depth: 0,
    };
    reader.top()
}

/// A string's text: where it is (no backslash), or its unescaped copy.
enum Text {
    At(usize, usize),
    Owned(String),
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
    depth: usize,
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `v` that ends a plain run of string bytes: `"`, `\\`, a
/// control character below 0x20 or a byte above 0x7F (UTF-8, checked by the slow path).
/// Only the lowest flagged byte is exact (a borrow can flag bytes above it), which is the
/// only one read.
#[inline]
fn specials(v: u64) -> u64 {
    let quote = v ^ (ONES * u64::from(b'"'));
    let slash = v ^ (ONES * u64::from(b'\\'));
    ((quote.wrapping_sub(ONES) & !quote)
        | (slash.wrapping_sub(ONES) & !slash)
        | (v.wrapping_sub(ONES * 0x20) & !v)
        | v)
        & HIGHS
}

/// Where the string whose contents start at `j` ends (its closing quote), when nothing
/// in it needs a closer look (no backslash, no control character, only ASCII); eight
/// bytes at a time.
#[inline(always)]
fn plain_end(b: &[u8], mut j: usize) -> Option<usize> {
    while let Some(chunk) = b.get(j..).and_then(<[u8]>::first_chunk::<8>) {
        let mask = specials(u64::from_le_bytes(*chunk));
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
    fn fail<T>(&self, what: &'static str) -> Result<T> {
        Err(JsonError::Syntax(what, self.at))
    }

    #[inline]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.at).copied()
    }

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
    fn next(&mut self, close: u8) -> Result<bool> {
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
    fn open(&mut self, close: u8) -> Result<bool> {
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
    #[inline]
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
    fn string(&mut self) -> Result<Text> {
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
        let s = serde_json::from_slice::<String>(lexeme).map_err(JsonError::Lexeme)?;
        Ok(Text::Owned(s))
    }

    /// At `-` or a digit: the number as `Value::as_f64` reads it.
    fn number(&mut self) -> Result<f64> {
        let b = self.b;
        let start = self.at;
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
        let int_end = j;
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
        // A non-negative integer of up to 19 digits fits a u64: `serde_json` reads it as
        // one, and `as_f64` converts it.
        if j == int_end && b[start] != b'-' && j - start <= 19 {
            let n = b[start..j]
                .iter()
                .fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
            return Ok(n as f64);
        }
        let value = serde_json::from_slice::<Value>(&b[start..j]).map_err(JsonError::Lexeme)?;
        // Always a number (the lexeme is one); should `as_f64` ever say no, the
        // value is read as not a number.
        Ok(value.as_f64().unwrap_or(f64::NAN))
    }

    /// At `t`, `f` or `n`: the literal `word`.
    #[inline]
    fn literal(&mut self, word: &[u8]) -> Result<()> {
        if self.b.get(self.at..self.at + word.len()) != Some(word) {
            return self.fail("expected a value");
        }
        self.at += word.len();
        Ok(())
    }

    /// Any value, checked and not kept (nested objects may repeat a name, as `Value`
    /// allows).
    fn skip(&mut self) -> Result<()> {
        match self.peek() {
            Some(b'"') => {
                self.string()?;
            }
            Some(b'{') => {
                if !self.open(b'}')? {
                    loop {
                        self.name()?;
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

    fn span(&self, text: Text) -> Span {
        match text {
            Text::At(start, end) => match (u32::try_from(start), u32::try_from(end - start)) {
                (Ok(at), Ok(len)) => Span::At(at, len),
                _ => Span::Owned(String::from_utf8_lossy(&self.b[start..end]).into()),
            },
            Text::Owned(s) => Span::Owned(s.into_boxed_str()),
        }
    }

    /// A registered claim's value: strings as spans, numbers as `f64`, arrays item by
    /// item, objects and booleans checked and not kept.
    fn pick(&mut self) -> Result<Val> {
        Ok(match self.peek() {
            Some(b'"') => {
                let text = self.string()?;
                Val::Str(self.span(text))
            }
            Some(b'[') => {
                let mut items = Vec::new();
                if !self.open(b']')? {
                    loop {
                        items.push(self.pick()?);
                        if !self.next(b']')? {
                            break;
                        }
                    }
                }
                Val::Arr(items)
            }
            Some(b'n') => {
                self.literal(b"null")?;
                Val::Null
            }
            Some(b'-' | b'0'..=b'9') => Val::Num(self.number()?),
            _ => {
                self.skip()?;
                Val::Other
            }
        })
    }

    /// `cnf`: as [`pick`](Self::pick) reads it, and its `jkt` when that is all it holds
    /// (see [`Registered::cnf_jkt`]); repeated names allowed, the last one wins.
    fn cnf(&mut self) -> Result<(Val, Option<Span>)> {
        if self.peek() != Some(b'{') {
            return Ok((self.pick()?, None));
        }
        let (mut jkt, mut only_jkt) = (None, true);
        if !self.open(b'}')? {
            loop {
                let name = self.name()?;
                self.colon()?;
                if *name == *b"jkt" {
                    jkt = Some(self.pick()?);
                } else {
                    only_jkt = false;
                    self.skip()?;
                }
                if !self.next(b'}')? {
                    break;
                }
            }
        }
        let jkt = match (only_jkt, jkt) {
            (true, Some(Val::Str(span))) => Some(span),
            _ => None,
        };
        Ok((Val::Other, jkt))
    }

    /// The whole payload: one object (duplicate member names refused), whitespace around it.
    fn top(&mut self) -> Result<Registered> {
        let mut reg = Registered::default();
        self.ws();
        if self.peek() != Some(b'{') {
            return self.fail("expected a JSON object");
        }
        // Every name, checked for duplicates once at the end by sorting: O(n log n) for a
        // hostile payload, and cheaper than a scan per member for a typical one.
        let mut names: Vec<Cow<'a, [u8]>> = Vec::with_capacity(32);
        if !self.open(b'}')? {
            loop {
                let name = self.name()?;
                self.colon()?;
                let slot = match &*name {
                    b"exp" => &mut reg.exp,
                    b"nbf" => &mut reg.nbf,
                    b"iat" => &mut reg.iat,
                    b"iss" => &mut reg.iss,
                    b"aud" => &mut reg.aud,
                    b"sub" => &mut reg.sub,
                    b"jti" => &mut reg.jti,
                    b"client_id" => &mut reg.client_id,
                    b"azp" => &mut reg.azp,
                    b"token_use" => &mut reg.token_use,
                    b"cnf" => {
                        (reg.cnf, reg.cnf_jkt) = self.cnf()?;
                        names.push(name);
                        if self.next(b'}')? {
                            continue;
                        }
                        break;
                    }
                    _ => {
                        self.skip()?;
                        names.push(name);
                        if self.next(b'}')? {
                            continue;
                        }
                        break;
                    }
                };
                *slot = self.pick()?;
                names.push(name);
                if !self.next(b'}')? {
                    break;
                }
            }
        }
        self.ws();
        if self.at != self.b.len() {
            return self.fail("trailing characters");
        }
        names.sort_unstable();
        if names.windows(2).any(|w| w[0] == w[1]) {
            return Err(JsonError::Syntax("duplicate member name", 0));
        }
        Ok(reg)
    }
}
