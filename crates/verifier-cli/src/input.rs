//! The token argument: given on the command line, or read from standard input.

use std::io::{self, IsTerminal, Read};

/// Most bytes read from standard input. Anything larger is refused as too large
/// (the verifier's own limit, `max_token_bytes`, is far lower: 16 KiB by default).
pub(crate) const MAX_STDIN_BYTES: u64 = 64 * 1024 * 1024;

/// Where the token came from, once read.
#[derive(Debug)]
pub(crate) enum Token {
    /// The token, surrounding ASCII whitespace trimmed.
    Bytes(Vec<u8>),
    /// Standard input held more than [`MAX_STDIN_BYTES`].
    TooLarge,
}

/// The token from the argument, or from standard input when it is absent or `-`.
pub(crate) fn read_token(arg: Option<&str>) -> io::Result<Token> {
    match arg {
        Some(token) if token != "-" => Ok(Token::Bytes(token.trim_ascii().as_bytes().to_vec())),
        _ => read_stdin(),
    }
}

fn read_stdin() -> io::Result<Token> {
    let stdin = io::stdin();
    if stdin.is_terminal() {
        eprintln!("reading the token from standard input (end with Ctrl-D)...");
    }
    let mut buf = Vec::new();
    stdin
        .lock()
        .take(MAX_STDIN_BYTES + 1)
        .read_to_end(&mut buf)?;
    if buf.len() as u64 > MAX_STDIN_BYTES {
        return Ok(Token::TooLarge);
    }
    Ok(Token::Bytes(buf.trim_ascii().to_vec()))
}
