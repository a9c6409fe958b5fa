//! STS AssumeRole over the query protocol, signed with SigV4 by `aws-sigv4` (the AWS SDK for
//! Rust's signer), as in spec credential-protocols §1.1–1.6.
//!
//! The endpoint is the regional one, or `AWS_ENDPOINT_URL_STS`; with no region, the global endpoint
//! signed for us-east-1, as botocore does. XML answers and errors are read with quick-xml
//! (`read_answer`); error messages have the source credentials' secrets taken out.

use crate::aws::chain::{account_of_arn, AssumedRole};
use crate::aws::endpoints::{configured, EndpointError};
use crate::aws::error::{ErrorCode, ServiceError};
use crate::aws::oidc::{origin, ApiError};
use crate::aws::portal::RoleCredentials;
use crate::platform::os::Env;
use crate::platform::secret::Secret;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use chrono::{DateTime, Utc};
use url::Url;

/// What to assume.
#[derive(Debug, Clone)]
pub struct AssumeRoleInput<'a> {
    /// `RoleArn`.
    pub role_arn: &'a str,
    /// `RoleSessionName`.
    pub role_session_name: &'a str,
    /// `ExternalId`.
    pub external_id: Option<&'a str>,
    /// `DurationSeconds` (sent only when set, as botocore does).
    pub duration_seconds: Option<u32>,
}

/// Where and for which region a chained profile's AssumeRole goes, as botocore does it: the
/// profile's own `region`; without one the global endpoint (`sts.amazonaws.com`, signed for
/// `us-east-1`) — in China and GovCloud, which have none, the sso-session's region.
pub fn endpoint_and_region(
    env: &Env,
    region: Option<&str>,
    sso_region: &str,
) -> Result<(Url, String), EndpointError> {
    match region {
        Some(r) => Ok((endpoint(env, r)?, r.to_string())),
        None if crate::aws::console::Partition::of_region(sso_region)
            != crate::aws::console::Partition::Aws =>
        {
            Ok((endpoint(env, sso_region)?, sso_region.to_string()))
        }
        None => {
            let regional = endpoint(env, "us-east-1")?;
            // The SDK variables win; only the default regional host becomes the global one.
            let url = if regional.as_str() == "https://sts.us-east-1.amazonaws.com/" {
                Url::parse("https://sts.amazonaws.com").expect("static URL")
            } else {
                regional
            };
            Ok((url, "us-east-1".into()))
        }
    }
}

/// The STS endpoint of `region`, honouring `AWS_ENDPOINT_URL_STS`, then `AWS_ENDPOINT_URL`,
/// unless `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` is `true` (as botocore and aws-config do);
/// otherwise the regional endpoint `sts.{region}.{dns suffix}`.
pub fn endpoint(env: &Env, region: &str) -> Result<Url, EndpointError> {
    if let Some(url) = configured(env, &["AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL"]) {
        return url;
    }
    let host = format!("sts.{region}.{}", crate::aws::endpoints::dns_suffix(region));
    crate::aws::endpoints::regional(&host, region, "STS", "region")
}

fn form(input: &AssumeRoleInput<'_>) -> String {
    let mut f = url::form_urlencoded::Serializer::new(String::new());
    f.append_pair("Action", "AssumeRole")
        .append_pair("Version", "2011-06-15")
        .append_pair("RoleArn", input.role_arn)
        .append_pair("RoleSessionName", input.role_session_name);
    if let Some(d) = input.duration_seconds {
        f.append_pair("DurationSeconds", &d.to_string());
    }
    if let Some(e) = input.external_id {
        f.append_pair("ExternalId", e);
    }
    f.finish()
}

/// Signs a POST of `body` to `url` for STS in `region` at `time`: the headers to send.
fn signed_headers(
    url: &Url,
    region: &str,
    body: &str,
    source: &RoleCredentials,
    time: DateTime<Utc>,
) -> Result<Vec<(String, String)>, String> {
    let host = match url.port() {
        Some(p) => format!("{}:{p}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_string(),
    };
    let content_type = "application/x-www-form-urlencoded; charset=utf-8";
    let identity = aws_credential_types::Credentials::new(
        source.access_key_id.clone(),
        source.secret_access_key.expose().to_string(),
        Some(source.session_token.expose().to_string()),
        None,
        "ssotray",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("sts")
        .time(time.into())
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let base = [("content-type", content_type), ("host", host.as_str())];
    let request = SignableRequest::new(
        "POST",
        url.as_str(),
        base.iter().copied(),
        SignableBody::Bytes(body.as_bytes()),
    )
    .map_err(|e| e.to_string())?;
    let (instructions, _) = sign(request, &params)
        .map_err(|e| e.to_string())?
        .into_parts();
    let mut headers: Vec<(String, String)> = vec![("content-type".into(), content_type.into())];
    for (name, value) in instructions.headers() {
        headers.push((name.to_string(), value.to_string()));
    }
    Ok(headers)
}

/// Calls AssumeRole with `source`'s credentials, signed for `region` at `now`.
pub async fn assume_role(
    http: &reqwest::Client,
    endpoint: &Url,
    region: &str,
    source: &RoleCredentials,
    input: &AssumeRoleInput<'_>,
    now: DateTime<Utc>,
) -> Result<AssumedRole, ApiError> {
    let body = form(input);
    let mut url = endpoint.clone();
    if url.path().is_empty() {
        url.set_path("/");
    }
    let decode = |reason: String| ApiError::Decode {
        endpoint: origin(endpoint),
        reason,
    };
    let headers = signed_headers(&url, region, &body, source, now)
        .map_err(|e| decode(format!("cannot sign the request: {e}")))?;
    let mut request = http.post(url).body(body);
    for (k, v) in headers {
        request = request.header(k, v);
    }
    let network = |e: reqwest::Error| ApiError::Network {
        endpoint: origin(endpoint),
        reason: if e.is_timeout() {
            "timed out".into()
        } else {
            "request failed".into()
        },
    };
    let response = request.send().await.map_err(network)?;
    let (status, _, body) = crate::aws::oidc::read_answer(response, &origin(endpoint), network)
        .await
        .map_err(|e| redact(e, source))?;
    let text = String::from_utf8_lossy(&body);
    read_answer(status.as_u16(), &text, &origin(endpoint)).map_err(|e| redact(e, source))
}

/// An error's message without the source's secret or session token (a server may echo the
/// request it could not verify; the endpoint is configurable), at most 500 characters.
fn redact(e: ApiError, source: &RoleCredentials) -> ApiError {
    match e {
        ApiError::Service(mut s) => {
            s.message = s.message.map(|m| {
                let mut m = m
                    .replace(source.session_token.expose(), "[redacted]")
                    .replace(source.secret_access_key.expose(), "[redacted]");
                if m.chars().count() > 500 {
                    m = m.chars().take(500).collect::<String>() + "…";
                }
                m
            });
            ApiError::Service(s)
        }
        other => other,
    }
}

/// Reads AssumeRole's answer: the credentials, or the service's error (`Code`, `Message`).
pub fn read_answer(status: u16, text: &str, endpoint: &str) -> Result<AssumedRole, ApiError> {
    let decode = |reason: String| ApiError::Decode {
        endpoint: endpoint.to_string(),
        reason,
    };
    let doc = Xml::parse(text);
    if !(200..300).contains(&status) {
        let code = doc
            .get("Code")
            .unwrap_or_else(|| format!("UnnamedHttp{status}"));
        return Err(ApiError::Service(ServiceError {
            code: ErrorCode::Other(code),
            status,
            message: doc.get("Message"),
        }));
    }
    let need = |k: &str| {
        doc.get(k)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| decode(format!("AssumeRole's answer has no {k}")))
    };
    let arn = need("Arn")?;
    let expiration = crate::aws::chain::parse_expiration(&need("Expiration")?)
        .ok_or_else(|| decode("Expiration is not a time".into()))?;
    let account_id = account_of_arn(&arn)
        .ok_or_else(|| decode("AssumedRoleUser/Arn names no account".into()))?
        .to_string();
    Ok(AssumedRole {
        credentials: RoleCredentials {
            access_key_id: need("AccessKeyId")?,
            secret_access_key: Secret::new(need("SecretAccessKey")?),
            session_token: Secret::new(need("SessionToken")?),
            expiration,
            account_id,
        },
        assumed_role_id: doc.get("AssumedRoleId").unwrap_or_default(),
        arn,
        request_id: doc.get("RequestId").unwrap_or_default(),
    })
}

/// The text of the leaf elements of an XML answer, by local name (STS answers have each name
/// once where ssotray reads them).
struct Xml(Vec<(String, String)>);

impl Xml {
    fn parse(text: &str) -> Xml {
        use quick_xml::events::Event;
        let mut reader = quick_xml::Reader::from_str(text);
        let mut out = Vec::new();
        let mut current: Option<String> = None;
        let mut value = String::new();
        loop {
            match reader.read_event() {
                Ok(Event::Start(e)) => {
                    current = Some(AsRef::<str>::as_ref(&e.local_name()).to_string());
                    value.clear();
                }
                Ok(Event::Text(t)) => {
                    value.push_str(t.as_ref());
                }
                Ok(Event::GeneralRef(r)) => {
                    let name: &str = r.as_ref();
                    let numeric = name
                        .strip_prefix("#x")
                        .and_then(|h| u32::from_str_radix(h, 16).ok())
                        .or_else(|| name.strip_prefix('#').and_then(|d| d.parse().ok()))
                        .and_then(char::from_u32);
                    match (name, numeric) {
                        (_, Some(c)) => value.push(c),
                        ("amp", _) => value.push('&'),
                        ("lt", _) => value.push('<'),
                        ("gt", _) => value.push('>'),
                        ("quot", _) => value.push('"'),
                        ("apos", _) => value.push('\''),
                        _ => {}
                    }
                }
                Ok(Event::End(_)) => {
                    if let Some(name) = current.take() {
                        out.push((name, value.trim().to_string()));
                    }
                    value.clear();
                }
                Ok(Event::Eof) | Err(_) => break,
                _ => {}
            }
        }
        Xml(out)
    }

    fn get(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_regional_and_follow_the_sdk_variables() {
        let env = Env::from_slice(&[]);
        assert_eq!(
            endpoint(&env, "eu-west-1").unwrap().as_str(),
            "https://sts.eu-west-1.amazonaws.com/"
        );
        assert_eq!(
            endpoint(&env, "cn-north-1").unwrap().as_str(),
            "https://sts.cn-north-1.amazonaws.com.cn/"
        );
        assert_eq!(
            endpoint(&env, "us-gov-west-1").unwrap().as_str(),
            "https://sts.us-gov-west-1.amazonaws.com/"
        );
        let env = Env::from_slice(&[
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:1"),
            ("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:2"),
        ]);
        assert_eq!(
            endpoint(&env, "eu-west-1").unwrap().as_str(),
            "http://127.0.0.1:2/"
        );
        let env = Env::from_slice(&[
            ("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:2"),
            ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"),
        ]);
        assert!(endpoint(&env, "eu-west-1")
            .unwrap()
            .as_str()
            .starts_with("https://sts."));
    }

    #[test]
    fn reads_answers_and_errors() {
        let ok = "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleResult><AssumedRoleUser><AssumedRoleId>AROA:s</AssumedRoleId><Arn>arn:aws:sts::333333333333:assumed-role/D/s</Arn></AssumedRoleUser><Credentials><AccessKeyId>ASIA1</AccessKeyId><SecretAccessKey>k</SecretAccessKey><SessionToken>t&amp;u</SessionToken><Expiration>2026-01-01T13:00:00Z</Expiration></Credentials></AssumeRoleResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></AssumeRoleResponse>";
        let x = Xml::parse(ok);
        assert_eq!(x.get("SessionToken").as_deref(), Some("t&u"));
        assert_eq!(x.get("RequestId").as_deref(), Some("r-1"));
        let err = "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: a is not authorized</Message></Error><RequestId>x</RequestId></ErrorResponse>";
        let x = Xml::parse(err);
        assert_eq!(x.get("Code").as_deref(), Some("AccessDenied"));
        assert_eq!(
            x.get("Message").as_deref(),
            Some("User: a is not authorized")
        );
        assert_eq!(Xml::parse("<html>").get("Code"), None);
    }

    #[test]
    fn the_form_carries_what_the_profile_sets() {
        let f = form(&AssumeRoleInput {
            role_arn: "arn:aws:iam::1:role/A",
            role_session_name: "s",
            external_id: Some("e 1"),
            duration_seconds: None,
        });
        assert_eq!(
            f,
            "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2FA&RoleSessionName=s&ExternalId=e+1"
        );
    }

    #[test]
    fn without_a_region_the_global_endpoint_is_signed_for_us_east_1() {
        // As botocore; China and GovCloud have no global endpoint: the sso-session's region.
        let env = Env::from_slice(&[]);
        let (url, region) = endpoint_and_region(&env, None, "eu-west-1").unwrap();
        assert_eq!(
            (url.as_str(), region.as_str()),
            ("https://sts.amazonaws.com/", "us-east-1")
        );
        let (url, region) = endpoint_and_region(&env, None, "cn-north-1").unwrap();
        assert_eq!(
            (url.as_str(), region.as_str()),
            ("https://sts.cn-north-1.amazonaws.com.cn/", "cn-north-1")
        );
        let (url, region) = endpoint_and_region(&env, Some("eu-west-1"), "us-east-1").unwrap();
        assert_eq!(
            (url.as_str(), region.as_str()),
            ("https://sts.eu-west-1.amazonaws.com/", "eu-west-1")
        );
        let env = Env::from_slice(&[("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:2")]);
        let (url, region) = endpoint_and_region(&env, None, "eu-west-1").unwrap();
        assert_eq!(
            (url.as_str(), region.as_str()),
            ("http://127.0.0.1:2/", "us-east-1")
        );
    }

    #[test]
    fn error_messages_never_carry_the_source_secrets_and_empty_credentials_are_refused() {
        let source = RoleCredentials {
            access_key_id: "ASIAX".into(),
            secret_access_key: Secret::new("the-secret"),
            session_token: Secret::new("the-token"),
            expiration: chrono::Utc::now(),
            account_id: "1".into(),
        };
        let e = read_answer(403, "<ErrorResponse><Error><Code>SignatureDoesNotMatch</Code><Message>Canonical: x-amz-security-token:the-token key the-secret</Message></Error></ErrorResponse>", "x")
            .map_err(|e| redact(e, &source))
            .unwrap_err()
            .to_string();
        assert!(!e.contains("the-token") && !e.contains("the-secret"), "{e}");
        assert!(
            e.contains(
                "SignatureDoesNotMatch (HTTP 403): Canonical: x-amz-security-token:[redacted]"
            ),
            "{e}"
        );
        let empty = "<AssumeRoleResponse><AssumeRoleResult><AssumedRoleUser><Arn>arn:aws:sts::333333333333:assumed-role/D/s</Arn></AssumedRoleUser><Credentials><AccessKeyId>A</AccessKeyId><SecretAccessKey></SecretAccessKey><SessionToken>t</SessionToken><Expiration>2026-01-01T13:00:00Z</Expiration></Credentials></AssumeRoleResult></AssumeRoleResponse>";
        assert!(read_answer(200, empty, "x").is_err());
        assert!(read_answer(
            200,
            &empty.replace(
                "<SecretAccessKey></SecretAccessKey>",
                "<SecretAccessKey>k</SecretAccessKey>"
            ),
            "x"
        )
        .is_ok());
    }
}
