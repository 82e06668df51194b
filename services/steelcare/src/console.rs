//! The web console (`web/`): its built assets are embedded in the binary (see `build.rs`) and
//! served on the gRPC port. gRPC and gRPC-Web calls are always POST, so a GET or HEAD is a
//! page: a file of the build, or `index.html` for one of the console's own routes
//! (`/tickets/…`), which the browser app then renders by calling the public API.

use std::task::{Context, Poll};

use bytes::Bytes;
use futures::future::Either;
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use tonic::body::Body;
use tower::{Layer, Service};

/// One file of the console's build.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    /// URL path, e.g. `/assets/index-1a2b3c.js`.
    pub path: &'static str,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// The file.
    pub bytes: &'static [u8],
    /// Its gzip copy, for text files.
    pub gzip: Option<&'static [u8]>,
}

include!(concat!(env!("OUT_DIR"), "/console_assets.rs"));

/// What the console's pages may load: only this origin (scripts, calls) and the identity
/// providers it signs in with (their discovery and token endpoints), inline styles (the
/// component library injects them), images from data and blob URLs (photo previews).
fn content_security_policy(providers: &[String]) -> HeaderValue {
    let mut connect = String::from("'self'");
    for origin in providers.iter().filter_map(|issuer| origin_of(issuer)) {
        connect.push(' ');
        connect.push_str(origin);
    }
    let policy = format!(
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data: blob:; connect-src {connect}; frame-ancestors 'none'; \
         base-uri 'self'; form-action 'self'"
    );
    HeaderValue::from_str(&policy).unwrap_or_else(|_| {
        HeaderValue::from_static("default-src 'self'; connect-src 'self'; frame-ancestors 'none'")
    })
}

/// `https://id.example.com` of `https://id.example.com/realms/x` (settings checked the scheme).
fn origin_of(url: &str) -> Option<&str> {
    let after_scheme = url.find("://")? + 3;
    let end = url[after_scheme..]
        .find('/')
        .map_or(url.len(), |i| after_scheme + i);
    Some(&url[..end])
}

/// Serves the console in front of the gRPC services.
#[derive(Debug, Clone)]
pub struct ConsoleLayer {
    policy: HeaderValue,
}

impl ConsoleLayer {
    /// The console of a deployment whose people sign in at these identity providers' issuers.
    pub fn new(providers: &[String]) -> ConsoleLayer {
        ConsoleLayer {
            policy: content_security_policy(providers),
        }
    }
}

impl<S> Layer<S> for ConsoleLayer {
    type Service = Console<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Console {
            inner,
            policy: self.policy.clone(),
        }
    }
}

/// A GET or HEAD gets a console file; everything else goes to `inner`.
#[derive(Debug, Clone)]
pub struct Console<S> {
    inner: S,
    policy: HeaderValue,
}

impl<S, B> Service<Request<B>> for Console<S>
where
    S: Service<Request<B>, Response = Response<Body>>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = Either<std::future::Ready<Result<Response<Body>, S::Error>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let method = request.method();
        if method == Method::GET || method == Method::HEAD {
            let head = method == Method::HEAD;
            let gzip = accepts_gzip(request.headers());
            let mut response = page(request.uri().path(), head, gzip);
            response
                .headers_mut()
                .insert(header::CONTENT_SECURITY_POLICY, self.policy.clone());
            Either::Left(std::future::ready(Ok(response)))
        } else {
            Either::Right(self.inner.call(request))
        }
    }
}

/// The file at `path`: an exact file of the build, else `index.html` for an app route (a path
/// whose last segment has no extension), else 404.
fn find(path: &str) -> Option<Asset> {
    let exact = |p: &str| ASSETS.iter().find(|a| a.path == p).copied();
    if let Some(found) = exact(path) {
        return Some(found);
    }
    let last = path.rsplit('/').next().unwrap_or("");
    if last.contains('.') {
        return None;
    }
    exact("/index.html")
}

/// Whether the request's `Accept-Encoding` takes gzip (and does not refuse it with `q=0`).
fn accepts_gzip(headers: &http::HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or("");
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

fn page(path: &str, head: bool, gzip: bool) -> Response<Body> {
    let Some(asset) = find(path) else {
        let message = if ASSETS.is_empty() {
            "the console was not built into this binary (run `npm run build` in web/)\n"
        } else {
            "not found\n"
        };
        return plain(StatusCode::NOT_FOUND, message);
    };
    // Hashed file names never change content: cache them for good; index.html names the
    // current ones, so it is checked every time.
    let cache = if asset.path.starts_with("/assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let (bytes, encoded) = match asset.gzip {
        Some(packed) if gzip => (packed, true),
        _ => (asset.bytes, false),
    };
    let body = if head {
        Body::empty()
    } else {
        Body::new(Full::new(Bytes::from_static(bytes)))
    };
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if asset.gzip.is_some() {
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    if encoded {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    security_headers(headers);
    response
}

fn plain(status: StatusCode, message: &'static str) -> Response<Body> {
    let mut response = Response::new(Body::new(Full::new(Bytes::from_static(message.as_bytes()))));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    security_headers(headers);
    response
}

/// The headers of every page but its content security policy (the layer's).
fn security_headers(headers: &mut http::HeaderMap) {
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pages_may_call_this_origin_and_the_identity_providers_only() {
        let policy = content_security_policy(&[
            "https://id.example.com/realms/steelcare".to_owned(),
            "http://127.0.0.1:9000".to_owned(),
        ]);
        let policy = policy.to_str().unwrap_or_default();
        assert!(
            policy.contains("connect-src 'self' https://id.example.com http://127.0.0.1:9000;"),
            "{policy}"
        );
        assert!(
            content_security_policy(&[])
                .to_str()
                .unwrap_or_default()
                .contains("connect-src 'self';")
        );
    }

    #[test]
    fn app_routes_get_the_index_and_missing_files_do_not() {
        if ASSETS.is_empty() {
            assert_eq!(page("/", false, false).status(), StatusCode::NOT_FOUND);
            return;
        }
        assert_eq!(find("/").map(|a| a.path), Some("/index.html"));
        assert_eq!(find("/tickets/abc").map(|a| a.path), Some("/index.html"));
        assert!(find("/assets/missing.js").is_none());
        assert_eq!(
            page("/nope.png", false, false).status(),
            StatusCode::NOT_FOUND
        );
        let Some(script) = ASSETS.iter().find(|a| a.path.ends_with(".js")) else {
            panic!("the build has no script");
        };
        let response = page(script.path, false, false);
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()[header::CACHE_CONTROL],
            "public, max-age=31536000, immutable"
        );
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "text/javascript; charset=utf-8"
        );
        assert!(response.headers().get(header::CONTENT_ENCODING).is_none());
        let packed = page(script.path, false, true);
        assert_eq!(packed.headers()[header::CONTENT_ENCODING], "gzip");
        assert_eq!(packed.headers()[header::VARY], "accept-encoding");
        let size = script.gzip.map(<[u8]>::len).unwrap_or_default();
        assert!(size > 0 && size < script.bytes.len());
    }

    #[test]
    fn gzip_is_sent_only_where_it_is_accepted() {
        let accepts = |value: &str| {
            let mut headers = http::HeaderMap::new();
            if let Ok(value) = HeaderValue::from_str(value) {
                headers.insert(header::ACCEPT_ENCODING, value);
            }
            accepts_gzip(&headers)
        };
        assert!(accepts("gzip, deflate, br"));
        assert!(accepts("br;q=1.0, GZIP;q=0.5"));
        assert!(accepts("*"));
        assert!(!accepts("br, deflate"));
        assert!(!accepts("gzip;q=0, br"));
        assert!(!accepts("gzip; q=0.000"));
        assert!(!accepts(""));
    }
}
