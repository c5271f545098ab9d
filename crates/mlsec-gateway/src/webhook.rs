//! POSTs a JSON document to an `http://` or `https://` URL: alerts sent to a
//! webhook (`mlsec data drift --follow --webhook`). HTTPS checks the
//! server's certificate against the given CA or the system's roots.

use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use std::path::Path;
use std::time::Duration;
use tokio_rustls::rustls;

/// The longest a webhook may take to answer.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// POSTs `body` (JSON) to `url`; Ok with the status of a 2xx answer.
pub async fn post_json(url: &str, body: Vec<u8>, ca: Option<&Path>) -> Result<u16, String> {
    let uri: http::Uri = url.parse().map_err(|e| format!("{url}: {e}"))?;
    let https = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => return Err(format!("{url}: expected an http:// or https:// URL")),
    };
    let tls = if https {
        Some(crate::tls::client_tls(ca)?)
    } else {
        None
    };
    tokio::time::timeout(TIMEOUT, send(&uri, body, tls))
        .await
        .map_err(|_| format!("{url}: no answer within {TIMEOUT:?}"))?
        .map_err(|e| format!("{url}: {e}"))
}

async fn send(
    uri: &http::Uri,
    body: Vec<u8>,
    tls: Option<std::sync::Arc<rustls::ClientConfig>>,
) -> Result<u16, String> {
    let host = uri.host().ok_or("no host")?.to_string();
    let port = uri
        .port_u16()
        .unwrap_or(if tls.is_some() { 443 } else { 80 });
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let request = http::Request::post(path)
        .header(
            http::header::HOST,
            uri.authority().map_or(host.as_str(), |a| a.as_str()),
        )
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(http::header::USER_AGENT, "mlsec")
        .body(Full::new(bytes::Bytes::from(body)))
        .map_err(|e| e.to_string())?;
    let response = match tls {
        Some(tls) => {
            let stream = crate::tls::connect(&host, port, tls).await?;
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream))
                    .await
                    .map_err(|e| e.to_string())?;
            tokio::spawn(connection);
            sender.send_request(request).await
        }
        None => {
            let tcp = tokio::net::TcpStream::connect((host.as_str(), port))
                .await
                .map_err(|e| format!("connect: {e}"))?;
            let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
                .await
                .map_err(|e| e.to_string())?;
            tokio::spawn(connection);
            sender.send_request(request).await
        }
    }
    .map_err(|e| e.to_string())?;
    let status = response.status();
    // Read (and drop) the answer so the connection closes cleanly.
    let _ = http_body_util::Limited::new(response.into_body(), 64 << 10)
        .collect()
        .await;
    if status.is_success() {
        Ok(status.as_u16())
    } else {
        Err(format!("status {status}"))
    }
}
