use crate::Client;
use crate::classify::classify;
use crate::error::{Error, ErrorKind, Result};
use crate::governor::Budget;
use onefichier_protocol::public::{DirEntry, LinkCheck, MAX_CHECK_LINKS};

impl Client {
    /// The files of a public shared folder (`/dir/ID?json=1`; `POST json=1&pass=` when it has a
    /// password). `id` is the folder's share id or its `https://…/dir/ID` URL.
    pub async fn shared_folder(&self, id: &str, password: Option<&str>) -> Result<Vec<DirEntry>> {
        const OP: &str = "dir";
        let id = id.trim_end_matches('/').rsplit('/').next().unwrap_or(id);
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(Error::new(
                ErrorKind::BadRequest,
                OP,
                format!("{id:?} is not a shared folder id"),
            ));
        }
        let url = format!("{}/dir/{id}", self.site_url());
        self.inner.governor.acquire(Budget::Call, OP).await?;
        let request = match password {
            None => self.http().get(format!("{url}?json=1")),
            Some(pass) => {
                let body: String = url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("json", "1")
                    .append_pair("pass", pass)
                    .finish();
                self.http()
                    .post(url)
                    .header(
                        reqwest::header::CONTENT_TYPE,
                        "application/x-www-form-urlencoded",
                    )
                    .body(body)
            }
        };
        let answer = self.exchange(OP, request).await?;
        let body = crate::body::read_whole(OP, answer.response).await?;
        classify(OP, answer.status, answer.retry_after, &body, false)?;
        // A protected folder answers its password form, not an array.
        if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'[') {
            return Err(Error::new(
                ErrorKind::Password,
                OP,
                "this shared folder is protected by a password",
            )
            .with_hint("give the folder's password"));
        }
        serde_json::from_slice(&body).map_err(|e| {
            Error::new(
                ErrorKind::UnexpectedResponse,
                OP,
                format!("unexpected listing: {e}"),
            )
        })
    }

    /// `check_links.pl`: the status of up to 100 links in one request (the service's bulk
    /// check, gentler on its limits than one `file/info` per link).
    pub async fn check_links(&self, links: &[String]) -> Result<Vec<LinkCheck>> {
        const OP: &str = "check_links";
        let mut checked = Vec::with_capacity(links.len());
        for batch in links.chunks(MAX_CHECK_LINKS) {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            for link in batch {
                form.append_pair("links[]", link);
            }
            self.inner.governor.acquire(Budget::Call, OP).await?;
            let request = self
                .http()
                .post(format!("{}/check_links.pl", self.site_url()))
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .body(form.finish());
            let answer = self.exchange(OP, request).await?;
            let body = crate::body::read_whole(OP, answer.response).await?;
            classify(OP, answer.status, answer.retry_after, &body, false)?;
            checked.extend(
                String::from_utf8_lossy(&body)
                    .lines()
                    .filter_map(LinkCheck::parse),
            );
        }
        Ok(checked)
    }
}
