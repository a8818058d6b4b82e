//! Sending requests: every request of the client goes through [`Client::execute`], which asks
//! [`credentials_for`] what each hop may carry and follows redirects itself (reqwest's own
//! redirects are off), so a redirect is decided like any other request. [`Client::send`]
//! answers a registry's 401 challenge (Basic, or a bearer token from the realm) and retries.

use super::origin::{credentials_for, redirect_allowed, Carry, Purpose};
use super::*;

/// Redirects followed at most for one request.
const MAX_REDIRECTS: usize = 10;

/// What [`Client::execute`] got: the last response, its URL and the credentials it carried.
pub(super) struct Answer {
    pub(super) resp: Response,
    pub(super) url: url::Url,
    pub(super) carried: Carry,
}

impl Client {
    /// The registry's base URL (as pinged).
    fn registry_url(&self) -> Result<url::Url> {
        let base = self.base();
        url::Url::parse(&base).map_err(|e| RegistryError::Invalid {
            what: base.clone(),
            message: format!("registry URL: {e}"),
        })
    }

    /// The registry's `Authorization` for `scope`: the Basic credentials or the bearer token.
    fn registry_authorization(&self, scope: &str) -> Option<String> {
        let a = self.auth.lock().ok()?;
        match a.challenge.as_ref()? {
            Challenge::Basic => self.options.credentials.as_ref().map(basic),
            Challenge::Bearer { .. } => a.tokens.get(scope).map(|t| format!("Bearer {t}")),
        }
    }

    /// Send `method url` built by `build` (called again for each hop) with the credentials
    /// [`credentials_for`] allows each hop for `purpose`. When `follow`, redirects are followed:
    /// 301, 302, 303 of a GET or HEAD, and 307, 308 of any method; never from HTTPS down to
    /// plain HTTP unless the registry is insecure ([`redirect_allowed`]).
    pub(super) async fn execute(
        &self,
        method: &Method,
        url: &str,
        purpose: Purpose<'_>,
        scope: &str,
        follow: bool,
        build: &dyn Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Result<Answer> {
        let registry = self.registry_url()?;
        let mut current = url::Url::parse(url).map_err(|e| RegistryError::Invalid {
            what: url.to_string(),
            message: format!("bad URL: {e}"),
        })?;
        for _ in 0..=MAX_REDIRECTS {
            let carried = credentials_for(&registry, &current, purpose).map_err(|message| {
                RegistryError::Auth {
                    url: registry.origin().ascii_serialization(),
                    message,
                }
            })?;
            let authorization = match carried {
                Carry::Nothing => None,
                Carry::Registry => self.registry_authorization(scope),
                Carry::Basic => self.options.credentials.as_ref().map(basic),
            };
            let mut req = build(self.http.request(method.clone(), current.clone()));
            if let Some(h) = authorization {
                req = req.header(AUTHORIZATION, h);
            }
            let resp = req
                .send()
                .await
                .map_err(|e| http_err(method, current.as_str(), &e))?;
            let redirect = match resp.status().as_u16() {
                301..=303 => matches!(*method, Method::GET | Method::HEAD),
                307 | 308 => true,
                _ => false,
            };
            let location = resp.headers().get(LOCATION).and_then(|v| v.to_str().ok());
            let Some(location) = location.filter(|_| follow && redirect) else {
                return Ok(Answer {
                    resp,
                    url: current,
                    carried,
                });
            };
            let next = current.join(location).map_err(|e| RegistryError::Invalid {
                what: current.to_string(),
                message: format!("bad redirect Location {location:?}: {e}"),
            })?;
            if !redirect_allowed(&current, &next, self.options.insecure) {
                let why = match next.scheme() {
                    "http" => "from HTTPS down to plain HTTP",
                    _ => "not to an http(s) URL",
                };
                return Err(RegistryError::Invalid {
                    what: current.to_string(),
                    message: format!("refusing the redirect to {next}: {why}"),
                });
            }
            current = next;
        }
        Err(RegistryError::Http {
            method: method.to_string(),
            url: url.to_string(),
            message: format!("more than {MAX_REDIRECTS} redirects"),
            failure: NetFailure::Other,
        })
    }

    /// Send a registry API request built by `build` (called again after authenticating on a
    /// 401 from the registry; a 401 from another origin is an error).
    pub(super) async fn send(
        &self,
        method: Method,
        url: &str,
        scope: &str,
        build: impl Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Result<Response> {
        for attempt in 0..2 {
            let answer = self
                .execute(&method, url, Purpose::Registry, scope, true, &build)
                .await?;
            if answer.resp.status() != StatusCode::UNAUTHORIZED {
                return Ok(answer.resp);
            }
            if answer.carried != Carry::Registry {
                return Err(RegistryError::Auth {
                    url: answer.url.to_string(),
                    message: format!(
                        "401 from outside the registry's origin {}: berth sends it no credentials",
                        self.registry_url()?.origin().ascii_serialization()
                    ),
                });
            }
            if attempt == 1 {
                break;
            }
            self.authenticate(answer.url.as_str(), scope, answer.resp.headers())
                .await?;
        }
        Err(RegistryError::Auth {
            url: url.to_string(),
            message: "credentials rejected (401)".into(),
        })
    }

    /// Answer the registry's challenge: Basic needs credentials; Bearer fetches a token for
    /// `scope` from the realm.
    async fn authenticate(&self, url: &str, scope: &str, headers: &HeaderMap) -> Result<()> {
        let challenge = parse_challenge(headers).ok_or_else(|| RegistryError::Auth {
            url: url.to_string(),
            message: "401 without a usable WWW-Authenticate challenge".into(),
        })?;
        if let Ok(mut a) = self.auth.lock() {
            a.challenge = Some(challenge.clone());
        }
        let (realm, service) = match challenge {
            Challenge::Basic if self.options.credentials.is_none() => {
                return Err(RegistryError::Auth {
                    url: url.to_string(),
                    message: "the registry requires credentials (use berth login or --creds)"
                        .into(),
                })
            }
            Challenge::Basic => return Ok(()),
            Challenge::Bearer { realm, service } => (realm, service),
        };
        let realm = url::Url::parse(&realm).map_err(|e| RegistryError::Auth {
            url: realm.clone(),
            message: format!("bad token realm: {e}"),
        })?;
        let mut token_url = realm.clone();
        {
            let mut q = token_url.query_pairs_mut();
            if let Some(s) = &service {
                q.append_pair("service", s);
            }
            if !scope.is_empty() {
                q.append_pair("scope", scope);
            }
        }
        let purpose = Purpose::Token {
            realm: &realm,
            with_credentials: self.options.credentials.is_some(),
        };
        let turl = token_url.to_string();
        let answer = self
            .execute(&Method::GET, &turl, purpose, "", true, &|r| r)
            .await?;
        if !answer.resp.status().is_success() {
            return Err(RegistryError::Auth {
                url: turl,
                message: format!("token request answered {}", answer.resp.status()),
            });
        }
        let raw = read_capped(answer.resp, &turl, MAX_MANIFEST_SIZE).await?;
        let body: serde_json::Value =
            serde_json::from_slice(&raw).map_err(|e| RegistryError::Auth {
                url: turl.clone(),
                message: format!("token response: {e}"),
            })?;
        let token = body["token"]
            .as_str()
            .or(body["access_token"].as_str())
            .ok_or_else(|| RegistryError::Auth {
                url: turl.clone(),
                message: "token response without a token".into(),
            })?;
        if let Ok(mut a) = self.auth.lock() {
            a.tokens.insert(scope.to_string(), token.to_string());
        }
        Ok(())
    }
}
