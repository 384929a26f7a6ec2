//! [`ResponseFuture`]: verification, then the inner service.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use http::{HeaderValue, Request, Response};
use pin_project_lite::pin_project;
use tower_service::Service;

use verifier_core::dpop::DPOP_NONCE;
use verifier_core::{AuthError, AuthenticateFuture, ErrorCode};

use crate::failure::OnFailure;
use crate::layer::Settings;

pin_project! {
    /// Response future of [`BearerAuth`](crate::BearerAuth): waits for the token
    /// verification (if any), then runs the inner service or answers the failure.
    pub struct ResponseFuture<S, ReqBody, F>
    where
        S: Service<Request<ReqBody>>,
    {
        #[pin]
        state: State<S, ReqBody, F>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, ReqBody, F>
    where
        S: Service<Request<ReqBody>>,
    {
        Verifying {
            verify: AuthenticateFuture,
            request: Option<Request<ReqBody>>,
            inner: S,
            settings: Arc<Settings<F>>,
        },
        Inner {
            #[pin]
            future: S::Future,
            // `DPoP-Nonce` for the response (a nonce from the previous window).
            nonce: Option<HeaderValue>,
        },
        Refused {
            response: Option<S::Response>,
        },
    }
}

impl<S, ReqBody, F> ResponseFuture<S, ReqBody, F>
where
    S: Service<Request<ReqBody>>,
{
    pub(crate) fn inner(future: S::Future) -> Self {
        ResponseFuture {
            state: State::Inner {
                future,
                nonce: None,
            },
        }
    }

    pub(crate) fn answered(response: S::Response) -> Self {
        ResponseFuture {
            state: State::Refused {
                response: Some(response),
            },
        }
    }

    pub(crate) fn verifying(
        verify: AuthenticateFuture,
        request: Request<ReqBody>,
        inner: S,
        settings: Arc<Settings<F>>,
    ) -> Self {
        ResponseFuture {
            state: State::Verifying {
                verify,
                request: Some(request),
                inner,
                settings,
            },
        }
    }
}

impl<S, ReqBody, ResBody, F> Future for ResponseFuture<S, ReqBody, F>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    F: OnFailure<ResBody>,
{
    type Output = Result<Response<ResBody>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StateProj::Verifying {
                    verify,
                    request,
                    inner,
                    settings,
                } => {
                    let verified = ready!(verify.as_mut().poll(cx));
                    let mut request = request.take().expect("polled after completion");
                    let mut nonce = None;
                    let refusal = match verified {
                        Ok(Some(authenticated)) => {
                            nonce = authenticated
                                .dpop
                                .as_ref()
                                .and_then(|d| d.next_nonce.clone());
                            let extensions = request.extensions_mut();
                            extensions.insert(authenticated.claims.clone());
                            extensions.insert(authenticated);
                            None
                        }
                        Ok(None) if settings.optional => None,
                        Ok(None) => Some(AuthError::new(ErrorCode::MissingToken)),
                        Err(err) => Some(err),
                    };
                    match refusal {
                        None => {
                            let future = inner.call(request);
                            this.state.set(State::Inner { future, nonce });
                        }
                        Some(err) => {
                            let response = settings.failure(&err);
                            this.state.set(State::Refused { response: None });
                            return Poll::Ready(Ok(response));
                        }
                    }
                }
                StateProj::Inner { future, nonce } => {
                    let mut response = ready!(future.poll(cx))?;
                    if let Some(nonce) = nonce.take() {
                        response.headers_mut().insert(DPOP_NONCE, nonce);
                    }
                    return Poll::Ready(Ok(response));
                }
                StateProj::Refused { response } => {
                    return Poll::Ready(Ok(response.take().expect("polled after completion")))
                }
            }
        }
    }
}
