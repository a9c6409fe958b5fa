//! STS over the query protocol (`POST /`): GetCallerIdentity and AssumeRole, for callers
//! signing with SigV4 the role credentials this simulator issued.
//!
//! GetCallerIdentity tells whose role credentials signed a call. AssumeRole assumes the org's IAM
//! roles by their trust (`ACCOUNT/ROLE` principals, an optional external id). Both refuse unknown
//! and expired credentials and wrong SigV4 signatures (`sigv4`). Every AssumeRole counts as role
//! chaining: at most 1 hour, `ValidationError` above. Refused calls are counted as
//! `<Action>Refused`.

use super::{uuid_like, App, Shared};
use crate::state::{random_token, RoleCredentials, State};
use axum::extract::State as AxState;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;

const STS_NS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

fn sts_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        "<ErrorResponse xmlns=\"{STS_NS}\">\n  <Error>\n    <Type>Sender</Type>\n    <Code>{code}</Code>\n    <Message>{message}</Message>\n  </Error>\n  <RequestId>{}</RequestId>\n</ErrorResponse>\n",
        uuid_like()
    );
    (status, [("content-type", "text/xml")], body).into_response()
}

/// `POST /`: STS over the query protocol (`AWS_ENDPOINT_URL_STS` pointed here):
/// GetCallerIdentity and AssumeRole. The caller is judged by the access key in the SigV4
/// `Authorization` header and the `X-Amz-Security-Token` (both must be role credentials this
/// simulator issued, not expired by its clock), with a valid SigV4 signature (`sigv4`).
pub(super) async fn sts(
    AxState(sim): App,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    sim.latency().await;
    let form: HashMap<String, String> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let action = form.get("Action").cloned().unwrap_or_default();
    let mut state = sim.lock();
    state.count(&action);
    if action != "GetCallerIdentity" && action != "AssumeRole" {
        return sts_error(
            StatusCode::BAD_REQUEST,
            "InvalidAction",
            "Could not find operation for this request",
        );
    }
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let (access_key, c) = match sts_caller(&sim, &state, path, &headers, &body) {
        Ok(found) => found,
        Err(refused) => {
            state.count(&format!("{action}Refused"));
            return refused;
        }
    };
    // The signature's scope: the service must be STS; the region is recorded for tests (AWS
    // answers in any region the caller signed for at a regional endpoint).
    let scope = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(crate::sigv4::parse)
        .map(|a| (a.region.to_string(), a.service.to_string()))
        .unwrap_or_default();
    if scope.1 != "sts" {
        state.count(&format!("{action}Refused"));
        return sts_error(
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch",
            &format!(
                "Credential should be scoped to correct service: 'sts'. (signed for '{}')",
                scope.1
            ),
        );
    }
    state
        .seen
        .insert("stsScope".into(), format!("{}/{}", scope.0, scope.1));
    let response = if action == "AssumeRole" {
        assume_role(&sim, &mut state, &c, &form)
    } else {
        // Which credentials signed GetCallerIdentity calls, each once in order of first use
        // (tests count the credential lifetimes an SDK went through).
        let keys = state.seen.entry("callerKeys".into()).or_default();
        if !keys.split(' ').any(|k| k == access_key) {
            if !keys.is_empty() {
                keys.push(' ');
            }
            keys.push_str(&access_key);
        }
        let session = c.assumed_session.as_deref().unwrap_or("sim-user");
        let body = format!(
            "<GetCallerIdentityResponse xmlns=\"{STS_NS}\">\n  <GetCallerIdentityResult>\n    <Arn>{arn}</Arn>\n    <UserId>{role_id}:{session}</UserId>\n    <Account>{account}</Account>\n  </GetCallerIdentityResult>\n  <ResponseMetadata>\n    <RequestId>{}</RequestId>\n  </ResponseMetadata>\n</GetCallerIdentityResponse>\n",
            uuid_like(),
            arn = c.arn(),
            role_id = role_id(&c.role_name),
            account = c.account_id,
        );
        Ok((StatusCode::OK, [("content-type", "text/xml")], body).into_response())
    };
    response.unwrap_or_else(|refused| {
        state.count(&format!("{action}Refused"));
        refused
    })
}

/// A role id as AWS shapes them (AROA + 17 characters), the same for every session of the role.
fn role_id(role_name: &str) -> String {
    format!("AROA{}", hex_of(role_name).to_uppercase())
        .chars()
        .take(21)
        .collect()
}

/// Who signed an STS request: its access key and credentials, or the error AWS answers.
fn sts_caller(
    sim: &Shared,
    state: &State,
    path: &str,
    headers: &HeaderMap,
    body: &str,
) -> Result<(String, RoleCredentials), Response> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let authorization = header("authorization");
    let access_key = authorization
        .split("Credential=")
        .nth(1)
        .and_then(|c| c.split('/').next())
        .unwrap_or_default()
        .to_string();
    let invalid = || {
        sts_error(
            StatusCode::FORBIDDEN,
            "InvalidClientTokenId",
            "The security token included in the request is invalid.",
        )
    };
    if !authorization.starts_with("AWS4-HMAC-SHA256 ") {
        return Err(sts_error(
            StatusCode::FORBIDDEN,
            "MissingAuthenticationToken",
            "Request is missing Authentication Token",
        ));
    }
    let Some(c) = state.role_credentials.get(&access_key).cloned() else {
        return Err(invalid());
    };
    if c.session_token != header("x-amz-security-token") {
        return Err(invalid());
    }
    if let Err(why) = crate::sigv4::verify(
        "POST",
        path,
        headers,
        body.as_bytes(),
        &c.secret_access_key,
        &c.session_token,
    ) {
        tracing::info!(%why, "STS: signature refused");
        return Err(sts_error(
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
        ));
    }
    if c.expires_at_ms <= sim.now_ms() {
        return Err(sts_error(
            StatusCode::FORBIDDEN,
            "ExpiredToken",
            "The security token included in the request is expired",
        ));
    }
    Ok((access_key, c))
}

/// AssumeRole with the caller's credentials. Every caller here holds role credentials, so every
/// AssumeRole is role chaining: the session lasts at most 1 hour, and a longer
/// `DurationSeconds` is refused, as AWS does.
fn assume_role(
    sim: &Shared,
    state: &mut State,
    caller: &RoleCredentials,
    form: &HashMap<String, String>,
) -> Result<Response, Response> {
    let validation = |message: &str| sts_error(StatusCode::BAD_REQUEST, "ValidationError", message);
    let role_arn = form.get("RoleArn").map(String::as_str).unwrap_or_default();
    let Some(session_name) = form.get("RoleSessionName").filter(|n| {
        (2..=64).contains(&n.len())
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
    }) else {
        return Err(validation(
            "1 validation error detected: Value at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*",
        ));
    };
    let duration = match form.get("DurationSeconds") {
        None => 3600,
        Some(d) => match d.parse::<u64>() {
            Ok(d) if (900..=43200).contains(&d) => d,
            _ => {
                return Err(validation(
                    "1 validation error detected: Value at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200",
                ))
            }
        },
    };
    if duration > 3600 {
        return Err(validation(
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
        ));
    }
    let denied = || {
        sts_error(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            &format!(
                "User: {} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
                caller.arn()
            ),
        )
    };
    let target = role_arn
        .strip_prefix("arn:aws:iam::")
        .and_then(|rest| rest.split_once(":role/"))
        .and_then(|(account, path)| {
            let name = path.rsplit('/').next()?;
            let role = sim
                .config
                .org
                .account(account)?
                .iam_roles
                .iter()
                .find(|r| r.name == name)?;
            Some((account.to_string(), role.clone()))
        });
    let Some((account_id, role)) = target else {
        return Err(denied());
    };
    if !role.trusted.contains(&caller.principal())
        || role.external_id.as_deref() != form.get("ExternalId").map(String::as_str)
    {
        return Err(denied());
    }
    let access_key_id = format!("ASIA{}", random_token("", 16).to_uppercase());
    let credentials = RoleCredentials {
        secret_access_key: random_token("", 40),
        session_token: random_token("IQoJb3JpZ2luX2Vj", 200),
        account_id,
        role_name: role.name.clone(),
        expires_at_ms: sim.now_ms() + duration * 1000,
        assumed_session: Some(session_name.clone()),
    };
    let expiration = chrono::DateTime::from_timestamp_millis(credentials.expires_at_ms as i64)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ");
    let body = format!(
        "<AssumeRoleResponse xmlns=\"{STS_NS}\">\n  <AssumeRoleResult>\n    <AssumedRoleUser>\n      <AssumedRoleId>{role_id}:{session_name}</AssumedRoleId>\n      <Arn>{arn}</Arn>\n    </AssumedRoleUser>\n    <Credentials>\n      <AccessKeyId>{access_key_id}</AccessKeyId>\n      <SecretAccessKey>{secret}</SecretAccessKey>\n      <SessionToken>{token}</SessionToken>\n      <Expiration>{expiration}</Expiration>\n    </Credentials>\n  </AssumeRoleResult>\n  <ResponseMetadata>\n    <RequestId>{}</RequestId>\n  </ResponseMetadata>\n</AssumeRoleResponse>\n",
        uuid_like(),
        role_id = role_id(&role.name),
        arn = credentials.arn(),
        secret = credentials.secret_access_key,
        token = credentials.session_token,
    );
    state.role_credentials.insert(access_key_id, credentials);
    Ok((StatusCode::OK, [("content-type", "text/xml")], body).into_response())
}

fn hex_of(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}
