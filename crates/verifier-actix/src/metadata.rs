//! The RFC 9728 protected-resource metadata endpoint (SPEC-2 §4.2, §4.5).

use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse, Resource};
use verifier_core::{ProtectedResourceMetadata, ResourceServer};

use crate::auth::Auth;
use crate::request::to_actix_value;

/// The path served when the verifier has no resource configured.
const DEFAULT_PATH: &str = "/.well-known/oauth-protected-resource";

/// The protected-resource metadata endpoint of `auth`'s verifier, for `App::service`.
///
/// Served at exactly the path of the metadata URL (RFC 9728 §3.1; e.g.
/// `/.well-known/oauth-protected-resource/mcp` for the resource
/// `https://api.example.com/mcp`), with no credentials needed:
/// - `GET`: 200, the document's bytes as built at construction, `Content-Type:
///   application/json`, `Cache-Control: public, max-age=3600`,
///   `Access-Control-Allow-Origin: *`;
/// - `HEAD`: the same without a body;
/// - any other method: 405 with `Allow: GET, HEAD`.
///
/// Query strings are ignored; a trailing-slash variant is another path (404 from the
/// router). A [`BearerAuth`](crate::BearerAuth) (or a
/// [`RequireScopes`](crate::RequireScopes)) wrapping the `App` lets these requests through
/// without authentication. Without a resource configured there is no document:
/// the resource answers 404 at `/.well-known/oauth-protected-resource` (and a warning is
/// logged when it is built).
///
/// ```
/// use actix_web::{web, App};
/// use verifier_actix::{resource_metadata, Auth, BearerAuth, Claims};
///
/// # fn app(auth: Auth) {
/// let app = App::new()
///     .wrap(BearerAuth::required(auth.clone()))
///     .service(resource_metadata(&auth))
///     .route("/me", web::get().to(|Claims(c): Claims| async move { web::Json(c) }));
/// # }
/// ```
pub fn resource_metadata(auth: &Auth) -> Resource {
    match auth.verifier().resource_metadata() {
        Some(doc) => {
            let doc = web::Data::new(doc.clone());
            web::resource(doc.path().to_owned()).app_data(doc).to(serve)
        }
        None => {
            tracing::warn!(
                "verifier_actix::resource_metadata: the verifier has no resource configured \
                 (OIDC_RESOURCE); {DEFAULT_PATH} answers 404"
            );
            web::resource(DEFAULT_PATH).to(HttpResponse::NotFound)
        }
    }
}

async fn serve(req: HttpRequest, doc: web::Data<ProtectedResourceMetadata>) -> HttpResponse {
    metadata_response(&doc, req.method())
}

/// The answer of SPEC-2 §4.5 for `method`, as an actix response.
pub(crate) fn metadata_response(doc: &ProtectedResourceMetadata, method: &Method) -> HttpResponse {
    let method = http::Method::from_bytes(method.as_str().as_bytes()).unwrap_or(http::Method::POST);
    let (parts, body) = doc.respond(&method).into_parts();
    let status =
        StatusCode::from_u16(parts.status.as_u16()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::with_body(status, body);
    let headers = response.headers_mut();
    for (name, value) in &parts.headers {
        if let (Ok(name), Some(value)) = (
            actix_web::http::header::HeaderName::from_bytes(name.as_str().as_bytes()),
            to_actix_value(value),
        ) {
            headers.append(name, value);
        }
    }
    response.map_into_boxed_body()
}

/// The metadata document when `auth`'s verifier serves one at exactly `path`.
pub(crate) fn metadata_at<'a>(auth: &'a Auth, path: &str) -> Option<&'a ProtectedResourceMetadata> {
    auth.verifier()
        .resource_metadata()
        .filter(|doc| doc.path() == path)
}
