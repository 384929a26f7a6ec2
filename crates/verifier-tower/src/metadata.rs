//! [`ResourceMetadataService`]: the RFC 9728 protected-resource metadata document as a
//! tower service, and the answer [`BearerAuth`](crate::BearerAuth) gives on its path.

use std::convert::Infallible;
use std::fmt;
use std::future::{ready, Ready};
use std::marker::PhantomData;
use std::task::{Context, Poll};

use http::{Method, Request, Response};
use tower_service::Service;
use verifier_core::{ProtectedResourceMetadata, ResourceServer};

/// The answer for the metadata path (SPEC-2 §4.5), with the body as any `B: From<String>`:
/// `GET` 200 with the document, `HEAD` 200 without a body, other methods 405 with
/// `Allow: GET, HEAD`.
pub(crate) fn respond<B: From<String>>(
    doc: &ProtectedResourceMetadata,
    method: &Method,
) -> Response<B> {
    let (parts, bytes) = doc.respond(method).into_parts();
    let body = match bytes.is_empty() {
        true => String::new(),
        false => doc.body().to_owned(),
    };
    Response::from_parts(parts, B::from(body))
}

/// A service answering every request with the protected-resource metadata document
/// (RFC 9728, SPEC-2 §4.5): `GET` → 200, `application/json`, `Cache-Control: public,
/// max-age=3600`, `Access-Control-Allow-Origin: *`; `HEAD` → the same without a body;
/// other methods → 405 with `Allow: GET, HEAD`. Mount it at
/// [`path`](Self::path) in a router of your own; [`BearerAuthLayer`](crate::BearerAuthLayer)
/// answers that path itself by default.
///
/// `B` is the response body type (`String`, `http_body_util::Full<Bytes>`,
/// `axum::body::Body`, ...). Cheap to clone.
///
/// ```
/// use tower::ServiceExt;
/// use verifier_core::{AsyncJwtVerifier, AuthConfig, ResourceConfig};
/// use verifier_tower::ResourceMetadataService;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
/// # rt.block_on(async {
/// let verifier = AsyncJwtVerifier::builder()
///     .issuer(AuthConfig::builder().issuer("https://idp.example.com").audience("https://api.example.com/mcp").build()?)
///     .resource(ResourceConfig::builder().resource("https://api.example.com/mcp").build()?)
///     .build()?;
/// let service = ResourceMetadataService::<String>::for_verifier(&verifier).expect("a resource is configured");
/// assert_eq!(service.path(), "/.well-known/oauth-protected-resource/mcp");
/// let response = service.oneshot(http::Request::new(())).await?;
/// assert_eq!(response.status(), 200);
/// assert!(response.body().starts_with(r#"{"resource":"https://api.example.com/mcp""#));
/// # Ok::<_, Box<dyn std::error::Error>>(())
/// # })
/// # }
/// ```
pub struct ResourceMetadataService<B = String> {
    document: ProtectedResourceMetadata,
    body: PhantomData<fn() -> B>,
}

impl<B> ResourceMetadataService<B> {
    /// Serves `document`.
    pub fn new(document: ProtectedResourceMetadata) -> Self {
        ResourceMetadataService {
            document,
            body: PhantomData,
        }
    }

    /// Serves the document of `verifier`; `None` when it has no resource configured.
    pub fn for_verifier(verifier: &impl ResourceServer) -> Option<Self> {
        verifier.resource_metadata().cloned().map(Self::new)
    }

    /// The path to mount it at (the path of the metadata URL).
    pub fn path(&self) -> &str {
        self.document.path()
    }

    /// The document.
    pub fn document(&self) -> &ProtectedResourceMetadata {
        &self.document
    }
}

impl<B> Clone for ResourceMetadataService<B> {
    fn clone(&self) -> Self {
        ResourceMetadataService::new(self.document.clone())
    }
}

impl<B> fmt::Debug for ResourceMetadataService<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResourceMetadataService")
            .field("path", &self.path())
            .finish()
    }
}

impl<ReqBody, B: From<String>> Service<Request<ReqBody>> for ResourceMetadataService<B> {
    type Response = Response<B>;
    type Error = Infallible;
    type Future = Ready<Result<Response<B>, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        ready(Ok(respond(&self.document, req.method())))
    }
}
