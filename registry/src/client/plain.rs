//! Downloads outside the registry API through the same client (an `ADD <url>` source): no
//! credentials, redirects as for the registry ([`super::origin::redirect_allowed`]), the body
//! streamed.

use super::*;

impl Client {
    /// Open `url` for streaming. Any answer but a success is an error naming the URL and
    /// the status with its reason (`404 Not Found`).
    pub fn open_plain(&self, url: &str) -> Result<Box<dyn Read + Send>> {
        let resp = self.rt.block_on(async {
            let answer = self
                .execute(&Method::GET, url, Purpose::Anonymous, "", true, &|r| r)
                .await?;
            let status = answer.resp.status();
            if !status.is_success() {
                return Err(RegistryError::Status {
                    method: Method::GET.to_string(),
                    url: url.to_string(),
                    status: status.as_u16(),
                    detail: status
                        .canonical_reason()
                        .map(|r| format!(" {r}"))
                        .unwrap_or_default(),
                });
            }
            Ok(answer.resp)
        })?;
        Ok(self.body_reader(resp, url.to_string()))
    }
}
