//! Answers read whole (API answers, `end.pl` reports, listings of shared folders, error pages)
//! are read within a cap: a server that sends a gigabyte where a page of JSON is due gets a
//! clear error, not the client's memory.

use crate::error::{Error, ErrorKind, Result, transport};
use bytes::Bytes;

/// The largest answer read whole: far above any listing the service sends (a 5,000-file
/// `file/ls` is about 2 MB), far below what would hurt a small machine.
pub(crate) const MAX_ANSWER: usize = 64 << 20;

/// Reads `response`'s body whole, failing once it passes [`MAX_ANSWER`] bytes (or announces
/// more) without reading further.
pub(crate) async fn read_whole(
    operation: &'static str,
    response: reqwest::Response,
) -> Result<Bytes> {
    read_capped(operation, response, MAX_ANSWER).await
}

/// [`read_whole`] for an answer whose status already tells what happened (a refusal, a
/// redirect): a connection that breaks while its body arrives leaves the body empty for the
/// status to speak, but a body past the cap is still refused.
pub(crate) async fn read_status_body(
    operation: &'static str,
    response: reqwest::Response,
) -> Result<Bytes> {
    match read_whole(operation, response).await {
        Err(error) if error.kind() != ErrorKind::UnexpectedResponse => Ok(Bytes::new()),
        read => read,
    }
}

async fn read_capped(
    operation: &'static str,
    mut response: reqwest::Response,
    cap: usize,
) -> Result<Bytes> {
    let too_large = || {
        Error::new(
            ErrorKind::UnexpectedResponse,
            operation,
            format!(
                "the server's answer is larger than {} MiB, more than any answer of this call: \
                 not read",
                cap >> 20
            ),
        )
    };
    if response
        .content_length()
        .is_some_and(|announced| announced > cap as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| transport(operation, e))?
    {
        if body.len() + chunk.len() > cap {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bodies_past_the_cap_are_refused_without_reading_them_whole() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        // One answer without a length (chunked, endless as long as the client reads) and one
        // that announces a gigabyte.
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            for announce in [false, true] {
                let (mut stream, _) = listener.accept().await.unwrap();
                let mut head = [0u8; 1024];
                let _ = stream.read(&mut head).await;
                let head = if announce {
                    "HTTP/1.1 500 X\r\nContent-Length: 1073741824\r\n\r\n"
                } else {
                    "HTTP/1.1 500 X\r\nConnection: close\r\n\r\n"
                };
                stream.write_all(head.as_bytes()).await.unwrap();
                let chunk = vec![b'a'; 64 * 1024];
                while stream.write_all(&chunk).await.is_ok() {}
            }
        });
        let client = reqwest::Client::new();
        for _ in 0..2 {
            let response = client
                .get(format!("http://{address}/"))
                .send()
                .await
                .unwrap();
            let refused = read_capped("test", response, 1 << 20).await.unwrap_err();
            assert_eq!(refused.kind(), ErrorKind::UnexpectedResponse);
            assert!(
                refused.to_string().contains("larger than 1 MiB"),
                "{refused}"
            );
        }
    }
}
