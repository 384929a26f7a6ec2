//! The one conversion of an actix request into what the core pipeline reads
//! ([`RequestParts`]): actix-web 4 uses `http` 0.2 types, the core `http` 1.

use actix_web::http::header::{self as actix_header, HeaderMap as ActixHeaders};
use actix_web::HttpRequest;
use http::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, COOKIE};
use http::{Method, Uri};
use verifier_core::dpop::DPOP;
use verifier_core::{AuthError, ErrorCode, RequestParts, Requirements};

/// The method, the URI and the headers the pipeline reads (`Authorization`, `DPoP`, and
/// `Cookie` when there is no `Authorization`), as `http` 1 values.
pub(crate) struct Converted {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
}

impl Converted {
    /// The parts of `req`: its method, its URI as the client sent it (path and query;
    /// actix scopes do not strip their prefix from it) and the credential headers.
    pub(crate) fn from_request(req: &HttpRequest) -> Result<Self, AuthError> {
        let method = Method::from_bytes(req.method().as_str().as_bytes())
            .map_err(|_| malformed("method"))?;
        let uri = match req.uri().path_and_query() {
            Some(pq) => Uri::try_from(pq.as_str()).map_err(|_| malformed("URI"))?,
            None => Uri::from_static("/"),
        };
        Ok(Converted {
            method,
            uri,
            headers: credential_headers(req.headers())?,
        })
    }

    /// The parts of a request known only by its headers: `GET /`.
    pub(crate) fn from_headers(headers: &ActixHeaders) -> Result<Self, AuthError> {
        Ok(Converted {
            method: Method::GET,
            uri: Uri::from_static("/"),
            headers: credential_headers(headers)?,
        })
    }

    /// The [`RequestParts`] for the core, with the route's `requirements`.
    pub(crate) fn parts<'a>(&'a self, requirements: &'a Requirements) -> RequestParts<'a> {
        let parts = RequestParts::new(&self.method, &self.uri, &self.headers);
        match requirements.is_empty() {
            true => parts,
            false => parts.requiring(requirements),
        }
    }
}

/// `Authorization`, `DPoP`, and `Cookie` (read by the core only without `Authorization`)
/// converted through their bytes; every field is kept, so two fields stay two.
fn credential_headers(headers: &ActixHeaders) -> Result<HeaderMap, AuthError> {
    let mut out = HeaderMap::new();
    let mut copy = |from: &actix_header::HeaderName, to: HeaderName| -> Result<(), AuthError> {
        for value in headers.get_all(from) {
            // Both `http` versions accept the same bytes, so this does not fail; if it
            // did, the credentials would be unreadable.
            let value = HeaderValue::from_bytes(value.as_bytes())
                .map_err(|_| AuthError::new(ErrorCode::MissingToken))?;
            out.append(to.clone(), value);
        }
        Ok(())
    };
    copy(&actix_header::AUTHORIZATION, AUTHORIZATION)?;
    copy(&actix_header::HeaderName::from_static("dpop"), DPOP)?;
    if !headers.contains_key(actix_header::AUTHORIZATION) {
        copy(&actix_header::COOKIE, COOKIE)?;
    }
    Ok(out)
}

fn malformed(what: &str) -> AuthError {
    AuthError::new(ErrorCode::InvalidRequest).with_message(format!("Malformed request {what}"))
}

/// An `http` 1 header value as an actix (`http` 0.2) one, through its bytes.
pub(crate) fn to_actix_value(value: &HeaderValue) -> Option<actix_header::HeaderValue> {
    actix_header::HeaderValue::from_bytes(value.as_bytes()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn copies_method_full_uri_and_credential_headers_only() {
        let req = TestRequest::post()
            .uri("/api/items?page=2")
            .append_header(("Authorization", "DPoP abc"))
            .append_header(("DPoP", "proof"))
            .append_header(("Cookie", "at=x"))
            .append_header(("X-Other", "y"))
            .to_http_request();
        let c = Converted::from_request(&req).unwrap();
        assert_eq!(c.method, Method::POST);
        assert_eq!(c.uri, "/api/items?page=2");
        assert_eq!(c.headers.len(), 2);
        assert_eq!(c.headers[AUTHORIZATION], "DPoP abc");
        assert_eq!(c.headers[DPOP], "proof");
        let none = Requirements::new();
        assert!(c.parts(&none).requirements.is_none());
        let admin = Requirements::new().scopes(["admin"]);
        assert_eq!(c.parts(&admin).requirements, Some(&admin));
    }

    #[test]
    fn keeps_every_field_and_reads_the_cookie_without_authorization() {
        let req = TestRequest::default()
            .append_header(("Authorization", "Bearer a"))
            .append_header(("Authorization", "Bearer b"))
            .to_http_request();
        let c = Converted::from_request(&req).unwrap();
        assert_eq!(c.headers.get_all(AUTHORIZATION).iter().count(), 2);
        let req = TestRequest::default()
            .append_header(("Cookie", "a=1"))
            .append_header(("Cookie", "at=x"))
            .to_http_request();
        let c = Converted::from_headers(req.headers()).unwrap();
        assert_eq!(c.headers.get_all(COOKIE).iter().count(), 2);
        assert_eq!((c.method, c.uri), (Method::GET, Uri::from_static("/")));
    }
}
