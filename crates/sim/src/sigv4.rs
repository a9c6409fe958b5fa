//! Verifies an AWS Signature Version 4 (`Authorization: AWS4-HMAC-SHA256 …`) as AWS does: the
//! request is signed again with the secret the simulator issued, by `aws-sigv4` (the AWS SDK for
//! Rust's signer), over exactly the headers the client listed in `SignedHeaders`, and the two
//! signatures are compared.

use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use axum::http::HeaderMap;

/// The parts of a SigV4 `Authorization` header.
#[derive(Debug, PartialEq, Eq)]
pub struct Authorization<'a> {
    /// The access key id.
    pub access_key: &'a str,
    /// `yyyymmdd` of the scope.
    pub date: &'a str,
    /// The region signed for.
    pub region: &'a str,
    /// The service signed for.
    pub service: &'a str,
    /// The headers signed, lower case.
    pub signed_headers: Vec<&'a str>,
    /// The signature, hex.
    pub signature: &'a str,
}

/// Reads an `Authorization` header; `None` unless it is SigV4.
pub fn parse(header: &str) -> Option<Authorization<'_>> {
    let rest = header.strip_prefix("AWS4-HMAC-SHA256 ")?;
    let mut credential = None;
    let mut signed = None;
    let mut signature = None;
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=')?;
        match k {
            "Credential" => credential = Some(v),
            "SignedHeaders" => signed = Some(v),
            "Signature" => signature = Some(v),
            _ => {}
        }
    }
    let mut scope = credential?.split('/');
    let (access_key, date, region, service, terminator) = (
        scope.next()?,
        scope.next()?,
        scope.next()?,
        scope.next()?,
        scope.next()?,
    );
    (terminator == "aws4_request").then(|| Authorization {
        access_key,
        date,
        region,
        service,
        signed_headers: signed.map(|s| s.split(';').collect()).unwrap_or_default(),
        signature: signature.unwrap_or_default(),
    })
}

/// Whether the request carries a valid signature by these credentials. `Err` says why not (for
/// the simulator's log and the test's eyes, never the secret).
pub fn verify(
    method: &str,
    path_and_query: &str,
    headers: &HeaderMap,
    body: &[u8],
    secret: &str,
    session_token: &str,
) -> Result<(), String> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let auth = parse(header("authorization").unwrap_or_default()).ok_or("not SigV4")?;
    let amz_date = header("x-amz-date").ok_or("no X-Amz-Date")?;
    let time = chrono::NaiveDateTime::parse_from_str(amz_date, "%Y%m%dT%H%M%SZ")
        .map_err(|_| "X-Amz-Date is not yyyymmddThhmmssZ")?
        .and_utc();
    if !amz_date.starts_with(auth.date) {
        return Err("the credential scope's date is not X-Amz-Date's".into());
    }
    for required in ["host", "x-amz-date"] {
        if !auth.signed_headers.contains(&required) {
            return Err(format!("`{required}` is not signed"));
        }
    }
    // The signer adds X-Amz-Date and X-Amz-Security-Token itself; every other signed header is
    // given as received.
    let mut signed: Vec<(&str, &str)> = Vec::new();
    for name in &auth.signed_headers {
        if matches!(*name, "x-amz-date" | "x-amz-security-token") {
            continue;
        }
        for v in headers.get_all(*name) {
            signed.push((name, v.to_str().map_err(|_| "a signed header is not text")?));
        }
    }
    let token_signed = auth.signed_headers.contains(&"x-amz-security-token");
    let identity = aws_credential_types::Credentials::new(
        auth.access_key,
        secret,
        token_signed.then(|| session_token.to_string()),
        None,
        "simulator",
    )
    .into();
    let mut settings = SigningSettings::default();
    settings.excluded_headers = Some(Vec::new());
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(auth.region)
        .name(auth.service)
        .time(time.into())
        .settings(settings)
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let request = SignableRequest::new(
        method,
        path_and_query,
        signed.into_iter(),
        SignableBody::Bytes(body),
    )
    .map_err(|e| e.to_string())?;
    let (_, expected) = sign(request, &params)
        .map_err(|e| e.to_string())?
        .into_parts();
    if expected == auth.signature {
        Ok(())
    } else {
        Err(format!(
            "signature mismatch over {}",
            auth.signed_headers.join(";")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_authorization_header() {
        let a = parse("AWS4-HMAC-SHA256 Credential=ASIAX/20260101/eu-west-1/sts/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=abc").unwrap();
        assert_eq!(a.access_key, "ASIAX");
        assert_eq!(
            (a.date, a.region, a.service),
            ("20260101", "eu-west-1", "sts")
        );
        assert_eq!(a.signed_headers, vec!["content-type", "host", "x-amz-date"]);
        assert_eq!(a.signature, "abc");
        assert_eq!(parse("Bearer x"), None);
        assert_eq!(
            parse("AWS4-HMAC-SHA256 Credential=A/B/C/D/nope, Signature=x"),
            None
        );
    }
}
