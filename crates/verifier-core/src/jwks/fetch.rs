//! The key-set HTTP request: GET, whole-request deadline, 2xx only, no redirects, body
//! capped while streaming and early from `Content-Length`.

use std::time::Duration;

use url::Url;

use crate::keys::KeySetError;

pub(crate) const ACCEPT: &str = "application/json, application/jwk-set+json";
pub(crate) const USER_AGENT: &str = concat!("oidc-jwt-verifier/", env!("CARGO_PKG_VERSION"));

/// What a fetch needs to know.
#[derive(Clone, Debug)]
pub(crate) struct FetchParams {
    pub(crate) url: Url,
    pub(crate) timeout: Duration,
    pub(crate) max_bytes: usize,
}

fn transport(e: impl std::error::Error + Send + Sync + 'static) -> KeySetError {
    KeySetError::Transport(Box::new(e))
}

fn check_head(
    params: &FetchParams,
    status: http::StatusCode,
    final_url: &Url,
    content_length: Option<u64>,
) -> Result<(), KeySetError> {
    if final_url != &params.url {
        // Only a caller-supplied client can follow redirects; refuse the result anyway.
        return Err(KeySetError::Redirected);
    }
    if !status.is_success() {
        return Err(KeySetError::Status(status.as_u16()));
    }
    if content_length.is_some_and(|len| len > params.max_bytes as u64) {
        return Err(KeySetError::TooLarge {
            limit: params.max_bytes,
        });
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

/// Fetches the key-set body.
pub(crate) async fn fetch_async(
    client: &reqwest::Client,
    params: &FetchParams,
) -> Result<(u16, Vec<u8>), KeySetError> {
    let work = async {
        let mut response = client
            .get(params.url.clone())
            .header(http::header::ACCEPT, ACCEPT)
            .header(http::header::USER_AGENT, USER_AGENT)
            .timeout(params.timeout)
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        check_head(params, status, response.url(), response.content_length())?;
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > params.max_bytes {
                return Err(KeySetError::TooLarge {
                    limit: params.max_bytes,
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok((status.as_u16(), body))
    };
    // The per-request timeout covers the body too; this outer deadline also bounds a
    // caller-supplied client whatever its settings.
    match tokio::time::timeout(params.timeout, work).await {
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

/// Fetches the key-set body on the calling thread.
#[cfg(feature = "blocking")]
pub(crate) fn fetch_blocking(
    client: &reqwest::blocking::Client,
    params: &FetchParams,
) -> Result<(u16, Vec<u8>), KeySetError> {
    use std::io::Read;
    let response = client
        .get(params.url.clone())
        .header(http::header::ACCEPT, ACCEPT)
        .header(http::header::USER_AGENT, USER_AGENT)
        .timeout(params.timeout)
        .send()
        .map_err(transport)?;
    let status = response.status();
    check_head(params, status, response.url(), response.content_length())?;
    let mut body = Vec::new();
    response
        .take(params.max_bytes as u64 + 1)
        .read_to_end(&mut body)
        .map_err(transport)?;
    if body.len() > params.max_bytes {
        return Err(KeySetError::TooLarge {
            limit: params.max_bytes,
        });
    }
    Ok((status.as_u16(), body))
}
