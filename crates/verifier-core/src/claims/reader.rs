//! Step 7's one pass over a payload ([`json::Reader`](crate::json::Reader)), keeping
//! only the registered claims the policy reads.

use crate::json::{Reader, Result, Text};

use super::payload::{Registered, Span, Val};

/// Reads `bytes` (a whole payload) as one JSON object and returns its registered claims
/// (and whether a member name may be repeated, see [`Read`]).
pub(super) fn read(bytes: &[u8]) -> Result<Read> {
    Reader::new(bytes).top()
}

/// What [`read`] found.
pub(super) struct Read {
    /// The registered claims.
    pub(super) reg: Registered,
    /// Whether a top-level member name may be repeated (see
    /// [`Reader::object`](crate::json::Reader::object)). The caller then asks the map
    /// parser, which refuses a repeated name (step 7); when false, no name is repeated.
    pub(super) names_unsure: bool,
}

impl Reader<'_> {
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
        self.members(|r, name| {
            if name == b"jkt" {
                jkt = Some(r.pick()?);
            } else {
                only_jkt = false;
                r.skip()?;
            }
            Ok(())
        })?;
        let jkt = match (only_jkt, jkt) {
            (true, Some(Val::Str(span))) => Some(span),
            _ => None,
        };
        Ok((Val::Other, jkt))
    }

    /// The whole payload: one object, whitespace around it.
    fn top(&mut self) -> Result<Read> {
        let mut reg = Registered::default();
        let names_unsure = self.object(|r, name| {
            match name {
                b"exp" => reg.exp = r.pick()?,
                b"nbf" => reg.nbf = r.pick()?,
                b"iat" => reg.iat = r.pick()?,
                b"iss" => reg.iss = r.pick()?,
                b"aud" => reg.aud = r.pick()?,
                b"sub" => reg.sub = r.pick()?,
                b"jti" => reg.jti = r.pick()?,
                b"client_id" => reg.client_id = r.pick()?,
                b"azp" => reg.azp = r.pick()?,
                b"token_use" => reg.token_use = r.pick()?,
                b"cnf" => (reg.cnf, reg.cnf_jkt) = r.cnf()?,
                _ => r.skip()?,
            }
            Ok(())
        })?;
        Ok(Read { reg, names_unsure })
    }
}
