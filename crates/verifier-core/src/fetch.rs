//! The one HTTP request behind every refreshed document (key sets, later provider
//! metadata): GET, whole-request deadline, 2xx only, no redirects, body capped while
//! streaming and early from `Content-Length`.

use std::time::Duration;

use url::Url;

pub(crate) const USER_AGENT: &str = concat!("oidc-jwt-verifier/", env!("CARGO_PKG_VERSION"));

/// Why a fetch failed, before the body is looked at. Each document's error type converts
/// from it (see `KeySetError`), so the failure keeps its document-specific wording.
#[derive(Debug)]
pub(crate) enum FetchError {
    /// The endpoint answered with a non-2xx status.
    Status(u16),
    /// The response came from another URL (redirects are never followed).
    Redirected,
    /// The body (or its announced `Content-Length`) exceeds `limit` bytes.
    TooLarge { limit: usize },
    /// Connection, TLS or timeout failure.
    Transport(Box<dyn std::error::Error + Send + Sync>),
}

/// What one fetch targets: the URL (when known before the fetch starts: a discovered
/// key-set URL is not), its deadline and its body cap.
#[derive(Clone, Debug)]
pub(crate) struct FetchParams {
    pub(crate) url: Option<Url>,
    pub(crate) timeout: Duration,
    pub(crate) max_bytes: usize,
}

fn transport(e: impl std::error::Error + Send + Sync + 'static) -> FetchError {
    FetchError::Transport(Box::new(e))
}

fn check_head(
    url: &Url,
    max_bytes: usize,
    status: http::StatusCode,
    final_url: &Url,
    content_length: Option<u64>,
) -> Result<(), FetchError> {
    if final_url != url {
        // Only a caller-supplied client can follow redirects; refuse the result anyway.
        return Err(FetchError::Redirected);
    }
    if !status.is_success() {
        return Err(FetchError::Status(status.as_u16()));
    }
    if content_length.is_some_and(|len| len > max_bytes as u64) {
        return Err(FetchError::TooLarge { limit: max_bytes });
    }
    Ok(())
}

/// A reqwest client configured as the lifecycle expects (used when the caller supplies none).
pub(crate) fn async_client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(USER_AGENT)
        .build()
}

/// GETs `url` and returns its status and body.
pub(crate) async fn fetch(
    client: &reqwest::Client,
    url: &Url,
    accept: &str,
    timeout: Duration,
    max_bytes: usize,
) -> Result<(u16, Vec<u8>), FetchError> {
    let work = async {
        let mut response = client
            .get(url.clone())
            .header(http::header::ACCEPT, accept)
            .header(http::header::USER_AGENT, USER_AGENT)
            .timeout(timeout)
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        check_head(
            url,
            max_bytes,
            status,
            response.url(),
            response.content_length(),
        )?;
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > max_bytes {
                return Err(FetchError::TooLarge { limit: max_bytes });
            }
            body.extend_from_slice(&chunk);
        }
        Ok((status.as_u16(), body))
    };
    // The per-request timeout covers the body too; this outer deadline also bounds a
    // caller-supplied client whatever its settings.
    match tokio::time::timeout(timeout, work).await {
        Ok(result) => result,
        Err(elapsed) => Err(transport(elapsed)),
    }
}

/// A blocking reqwest client configured as the lifecycle expects.
///
/// reqwest cannot build its blocking client on an async executor thread, so inside a
/// tokio runtime it is built on a short-lived plain thread instead: constructing a
/// blocking verifier is then safe anywhere (using it still belongs off the executor).
#[cfg(feature = "blocking")]
pub(crate) fn blocking_client(timeout: Duration) -> Result<reqwest::blocking::Client, String> {
    let build = move || {
        reqwest::blocking::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(USER_AGENT)
            .timeout(timeout)
            .build()
            .map_err(|e| e.to_string())
    };
    if tokio::runtime::Handle::try_current().is_ok() {
        std::thread::spawn(build)
            .join()
            .unwrap_or_else(|_| Err("client builder thread panicked".to_owned()))
    } else {
        build()
    }
}

/// GETs `url` on the calling thread and returns its status and body.
#[cfg(feature = "blocking")]
pub(crate) fn fetch_blocking(
    client: &reqwest::blocking::Client,
    url: &Url,
    accept: &str,
    timeout: Duration,
    max_bytes: usize,
) -> Result<(u16, Vec<u8>), FetchError> {
    use std::io::Read;
    let response = client
        .get(url.clone())
        .header(http::header::ACCEPT, accept)
        .header(http::header::USER_AGENT, USER_AGENT)
        .timeout(timeout)
        .send()
        .map_err(transport)?;
    let status = response.status();
    check_head(
        url,
        max_bytes,
        status,
        response.url(),
        response.content_length(),
    )?;
    let mut body = Vec::new();
    response
        .take(max_bytes as u64 + 1)
        .read_to_end(&mut body)
        .map_err(transport)?;
    if body.len() > max_bytes {
        return Err(FetchError::TooLarge { limit: max_bytes });
    }
    Ok((status.as_u16(), body))
}
