//! The simulator's wire format, pinned by the official AWS SDK for Rust clients: every
//! operation and every error shape ssotray relies on, decoded by AWS's own models.
//!
//! The clients are aws-sdk-ssooidc and aws-sdk-sso.

use aws_sdk_ssooidc::error::ProvideErrorMetadata;
use aws_sdk_ssooidc::operation::create_token::CreateTokenError;
use base64::Engine as _;
use sha2::Digest;
use ssotray_tests::{count, start_sim, stats, RunningSim, SimConfig};
use std::time::Duration;

const START_URL: &str = "https://d-1234567890.awsapps.com/start";
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

fn oidc(sim: &RunningSim) -> aws_sdk_ssooidc::Client {
    let conf = aws_sdk_ssooidc::Config::builder()
        .behavior_version(aws_sdk_ssooidc::config::BehaviorVersion::latest())
        .region(aws_sdk_ssooidc::config::Region::new("us-east-1"))
        .endpoint_url(&sim.base_url)
        .build();
    aws_sdk_ssooidc::Client::from_conf(conf)
}

fn portal(sim: &RunningSim) -> aws_sdk_sso::Client {
    let conf = aws_sdk_sso::Config::builder()
        .behavior_version(aws_sdk_sso::config::BehaviorVersion::latest())
        .region(aws_sdk_sso::config::Region::new("us-east-1"))
        .endpoint_url(&sim.base_url)
        .build();
    aws_sdk_sso::Client::from_conf(conf)
}

struct Client {
    id: String,
    secret: String,
}

async fn register(oidc: &aws_sdk_ssooidc::Client, scopes: bool) -> Client {
    let mut req = oidc
        .register_client()
        .client_name("sdk-test")
        .client_type("public");
    if scopes {
        req = req.scopes("sso:account:access");
    }
    let out = req.send().await.expect("RegisterClient");
    assert!(
        out.client_secret_expires_at() > chrono::Utc::now().timestamp() + 80 * 24 * 3600,
        "expiry in epoch seconds"
    );
    assert!(out.client_id_issued_at() > 0);
    Client {
        id: out.client_id().unwrap().into(),
        secret: out.client_secret().unwrap().into(),
    }
}

/// A logged-in access token (device flow, auto-approved) and its refresh token.
async fn device_login(sim: &RunningSim, client: &Client) -> (String, Option<String>) {
    let oidc = oidc(sim);
    let auth = oidc
        .start_device_authorization()
        .client_id(&client.id)
        .client_secret(&client.secret)
        .start_url(START_URL)
        .send()
        .await
        .expect("StartDeviceAuthorization");
    let token = oidc
        .create_token()
        .client_id(&client.id)
        .client_secret(&client.secret)
        .grant_type(DEVICE_GRANT)
        .device_code(auth.device_code().unwrap())
        .send()
        .await
        .expect("CreateToken");
    (
        token.access_token().unwrap().to_string(),
        token.refresh_token().map(str::to_string),
    )
}

#[tokio::test]
async fn device_flow_pending_slow_down_approval_and_refresh() {
    let sim = start_sim(SimConfig::default()).await.unwrap();
    let oidc = oidc(&sim);
    let client = register(&oidc, true).await;
    let auth = oidc
        .start_device_authorization()
        .client_id(&client.id)
        .client_secret(&client.secret)
        .start_url(START_URL)
        .send()
        .await
        .unwrap();
    assert_eq!(auth.expires_in(), 600);
    assert_eq!(auth.interval(), 1);
    assert!(auth
        .verification_uri_complete()
        .unwrap()
        .ends_with(&format!("/device?user_code={}", auth.user_code().unwrap())));
    let poll = || {
        oidc.create_token()
            .client_id(&client.id)
            .client_secret(&client.secret)
            .grant_type(DEVICE_GRANT)
            .device_code(auth.device_code().unwrap())
            .send()
    };
    let e = poll().await.unwrap_err().into_service_error();
    assert!(
        matches!(e, CreateTokenError::AuthorizationPendingException(_)),
        "{e:?}"
    );
    // Polled again at once, faster than `interval`.
    let e = poll().await.unwrap_err().into_service_error();
    assert!(matches!(e, CreateTokenError::SlowDownException(_)), "{e:?}");
    assert_eq!(e.code(), Some("SlowDownException"));

    // A person approves on the device page (a real HTML form).
    let page = reqwest::get(auth.verification_uri_complete().unwrap())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(auth.user_code().unwrap()) && page.contains("id=\"allow\""));
    let r = reqwest::Client::new()
        .post(format!("{}/device", sim.base_url))
        .form(&[
            ("user_code", auth.user_code().unwrap()),
            ("decision", "allow"),
        ])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    tokio::time::sleep(Duration::from_secs(6)).await;
    let token = poll().await.expect("approved");
    assert_eq!(token.token_type(), Some("Bearer"));
    assert_eq!(token.expires_in(), 3600);
    let refresh = token
        .refresh_token()
        .expect("refresh token with sso:account:access")
        .to_string();

    let refreshed = oidc
        .create_token()
        .client_id(&client.id)
        .client_secret(&client.secret)
        .grant_type("refresh_token")
        .refresh_token(&refresh)
        .send()
        .await
        .expect("refresh");
    assert_ne!(refreshed.access_token(), token.access_token());
    assert_ne!(
        refreshed.refresh_token(),
        Some(refresh.as_str()),
        "a new refresh token each time"
    );
    let s = stats(&sim.base_url).await;
    assert_eq!(count(&s, "RegisterClient"), 1);
    assert_eq!(count(&s, "StartDeviceAuthorization"), 1);
    assert_eq!(count(&s, "CreateToken"), 4);
}

#[tokio::test]
async fn oidc_error_shapes() {
    let sim = start_sim(SimConfig::default()).await.unwrap();
    let oidc = oidc(&sim);

    let e = oidc
        .register_client()
        .client_name("x")
        .client_type("confidential")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("InvalidClientMetadataException"));

    let client = register(&oidc, false).await;
    let e = oidc
        .start_device_authorization()
        .client_id(&client.id)
        .client_secret("wrong")
        .start_url(START_URL)
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("InvalidClientException"));
    assert_eq!(e.raw_response().unwrap().status().as_u16(), 401);

    // Denied on the device page.
    let auth = oidc
        .start_device_authorization()
        .client_id(&client.id)
        .client_secret(&client.secret)
        .start_url(START_URL)
        .send()
        .await
        .unwrap();
    let page = reqwest::Client::new()
        .post(format!("{}/device", sim.base_url))
        .form(&[
            ("user_code", auth.user_code().unwrap()),
            ("decision", "deny"),
        ])
        .send()
        .await
        .unwrap();
    assert!(page.status().is_success());
    let e = oidc
        .create_token()
        .client_id(&client.id)
        .client_secret(&client.secret)
        .grant_type(DEVICE_GRANT)
        .device_code(auth.device_code().unwrap())
        .send()
        .await
        .unwrap_err();
    assert!(matches!(
        e.into_service_error(),
        CreateTokenError::AccessDeniedException(_)
    ));

    // Expired device code (a simulator whose device codes live one second).
    let short = start_sim(SimConfig {
        device_code_ttl: Duration::from_secs(1),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let short_oidc = self::oidc(&short);
    let c = register(&short_oidc, false).await;
    let auth = short_oidc
        .start_device_authorization()
        .client_id(&c.id)
        .client_secret(&c.secret)
        .start_url(START_URL)
        .send()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let e = short_oidc
        .create_token()
        .client_id(&c.id)
        .client_secret(&c.secret)
        .grant_type(DEVICE_GRANT)
        .device_code(auth.device_code().unwrap())
        .send()
        .await
        .unwrap_err();
    assert!(matches!(
        e.into_service_error(),
        CreateTokenError::ExpiredTokenException(_)
    ));

    // Bad refresh token, unknown grant type, missing parameters.
    let e = oidc
        .create_token()
        .client_id(&client.id)
        .client_secret(&client.secret)
        .grant_type("refresh_token")
        .refresh_token("aor-nope")
        .send()
        .await
        .unwrap_err();
    let e = e.into_service_error();
    assert!(
        matches!(e, CreateTokenError::InvalidGrantException(_)),
        "{e:?}"
    );
    assert_eq!(
        e.meta().message(),
        None,
        "OIDC errors carry error/error_description, not message"
    );
    let e = oidc
        .create_token()
        .client_id(&client.id)
        .client_secret(&client.secret)
        .grant_type("password")
        .send()
        .await
        .unwrap_err();
    assert!(matches!(
        e.into_service_error(),
        CreateTokenError::UnsupportedGrantTypeException(_)
    ));
    let e = oidc
        .create_token()
        .client_id(&client.id)
        .client_secret(&client.secret)
        .grant_type(DEVICE_GRANT)
        .send()
        .await
        .unwrap_err();
    assert!(matches!(
        e.into_service_error(),
        CreateTokenError::InvalidRequestException(_)
    ));
    // A device-code client may not use the authorization code grant.
    let e = oidc
        .create_token()
        .client_id(&client.id)
        .client_secret(&client.secret)
        .grant_type("authorization_code")
        .code("c")
        .redirect_uri("http://127.0.0.1:1/oauth/callback")
        .code_verifier("v")
        .send()
        .await
        .unwrap_err();
    assert!(matches!(
        e.into_service_error(),
        CreateTokenError::UnauthorizedClientException(_)
    ));
}

fn challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()))
}

#[tokio::test]
async fn authorization_code_with_pkce() {
    let sim = start_sim(SimConfig {
        auto_approve: true,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let oidc = oidc(&sim);
    let reg = oidc
        .register_client()
        .client_name("sdk-pkce")
        .client_type("public")
        .grant_types("authorization_code")
        .grant_types("refresh_token")
        .redirect_uris("http://127.0.0.1/oauth/callback")
        .issuer_url(START_URL)
        .scopes("sso:account:access")
        .send()
        .await
        .unwrap();
    let (id, secret) = (reg.client_id().unwrap(), reg.client_secret().unwrap());
    let verifier = "a".repeat(64);
    let redirect = "http://127.0.0.1:45678/oauth/callback";
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let authorize = |redirect_uri: &str| {
        let mut url = reqwest::Url::parse(&format!("{}/authorize", sim.base_url)).unwrap();
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("state", "st-1")
            .append_pair("code_challenge_method", "S256")
            .append_pair("scopes", "sso:account:access")
            .append_pair("code_challenge", &challenge(&verifier));
        no_redirects.get(url).send()
    };
    // A redirect URI that is not the registered one (ignoring the loopback port) is refused.
    assert_eq!(
        authorize("http://127.0.0.1:45678/elsewhere")
            .await
            .unwrap()
            .status(),
        400
    );
    let r = authorize(redirect).await.unwrap();
    assert!(r.status().is_redirection(), "{}", r.status());
    let location = reqwest::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
    assert_eq!(&location.as_str()[..redirect.len()], redirect);
    let q: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
    assert_eq!(q["state"], "st-1");
    let code = q["code"].clone();

    // Wrong verifier: InvalidGrant, and the code is spent.
    let e = oidc
        .create_token()
        .client_id(id)
        .client_secret(secret)
        .grant_type("authorization_code")
        .code(&code)
        .redirect_uri(redirect)
        .code_verifier("b".repeat(64))
        .send()
        .await
        .unwrap_err();
    assert!(matches!(
        e.into_service_error(),
        CreateTokenError::InvalidGrantException(_)
    ));
    let e = oidc
        .create_token()
        .client_id(id)
        .client_secret(secret)
        .grant_type("authorization_code")
        .code(&code)
        .redirect_uri(redirect)
        .code_verifier(&verifier)
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            e.into_service_error(),
            CreateTokenError::InvalidGrantException(_)
        ),
        "a code is good for one exchange"
    );
    let r = authorize(redirect).await.unwrap();
    let location = reqwest::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
    let code = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let token = oidc
        .create_token()
        .client_id(id)
        .client_secret(secret)
        .grant_type("authorization_code")
        .code(&code)
        .redirect_uri(redirect)
        .code_verifier(&verifier)
        .send()
        .await
        .expect("PKCE exchange");
    assert!(token.refresh_token().is_some());
    assert_eq!(count(&stats(&sim.base_url).await, "Authorize"), 3);
}

#[tokio::test]
async fn portal_operations_paging_and_errors() {
    let sim = start_sim(SimConfig {
        auto_approve: true,
        rate_limit: 0.0,
        org: ssotray_sim::Org::generated(5),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let client = register(&oidc(&sim), true).await;
    let (token, _) = device_login(&sim, &client).await;
    let portal = portal(&sim);

    // The SDK's paginator walks every page with max_result 2.
    let mut pages = portal
        .list_accounts()
        .access_token(&token)
        .max_results(2)
        .into_paginator()
        .send();
    let mut ids = Vec::new();
    let mut page_count = 0;
    while let Some(page) = pages.next().await {
        page_count += 1;
        ids.extend(
            page.unwrap()
                .account_list()
                .iter()
                .map(|a| a.account_id().unwrap().to_string()),
        );
    }
    assert_eq!(page_count, 3);
    assert_eq!(ids.len(), 5);
    let first = portal
        .list_accounts()
        .access_token(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(first.account_list()[0].account_name(), Some("account-0001"));
    assert!(first.account_list()[0].email_address().is_some());
    assert!(first.next_token().is_none());

    let roles = portal
        .list_account_roles()
        .access_token(&token)
        .account_id(&ids[0])
        .max_results(1)
        .send()
        .await
        .unwrap();
    assert_eq!(
        roles.role_list()[0].role_name(),
        Some("AdministratorAccess")
    );
    assert_eq!(roles.role_list()[0].account_id(), Some(ids[0].as_str()));
    assert!(roles.next_token().is_some());

    let creds = portal
        .get_role_credentials()
        .access_token(&token)
        .account_id(&ids[0])
        .role_name("ReadOnlyAccess")
        .send()
        .await
        .unwrap();
    let c = creds.role_credentials().unwrap();
    assert!(c.access_key_id().unwrap().starts_with("ASIA"));
    assert!(c.secret_access_key().is_some() && c.session_token().is_some());
    let expiration_ms = c.expiration();
    let now_ms = chrono::Utc::now().timestamp_millis();
    assert!(
        (expiration_ms - now_ms - 3_600_000).abs() < 60_000,
        "expiration in epoch milliseconds"
    );

    let e = portal
        .list_account_roles()
        .access_token(&token)
        .account_id("999999999999")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ResourceNotFoundException"));
    let e = portal
        .get_role_credentials()
        .access_token(&token)
        .account_id(&ids[0])
        .role_name("NotMine")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ForbiddenException"));
    let e = portal
        .list_accounts()
        .access_token("aoa-unknown")
        .send()
        .await
        .unwrap_err();
    assert!(matches!(
        e.into_service_error(),
        aws_sdk_sso::operation::list_accounts::ListAccountsError::UnauthorizedException(_)
    ));

    portal
        .logout()
        .access_token(&token)
        .send()
        .await
        .expect("Logout");
    let e = portal
        .list_accounts()
        .access_token(&token)
        .send()
        .await
        .unwrap_err();
    let e = e.into_service_error();
    assert!(matches!(
        e,
        aws_sdk_sso::operation::list_accounts::ListAccountsError::UnauthorizedException(_)
    ));
    assert_eq!(
        aws_sdk_sso::error::ProvideErrorMetadata::message(&e),
        Some("Session token not found or invalid")
    );
}

#[tokio::test]
async fn throttling_is_too_many_requests() {
    // One request per five seconds, with a burst of one: of six calls made at once, five are throttled.
    let sim = start_sim(SimConfig {
        auto_approve: true,
        rate_limit: 0.2,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let client = register(&oidc(&sim), true).await;
    let (token, _) = device_login(&sim, &client).await;
    // The SDK retries throttling on its own; disable that to see the raw answer.
    let conf = aws_sdk_sso::Config::builder()
        .behavior_version(aws_sdk_sso::config::BehaviorVersion::latest())
        .region(aws_sdk_sso::config::Region::new("us-east-1"))
        .endpoint_url(&sim.base_url)
        .retry_config(aws_sdk_sso::config::retry::RetryConfig::disabled())
        .build();
    let portal = aws_sdk_sso::Client::from_conf(conf);
    let mut throttled = 0;
    for _ in 0..6 {
        if let Err(e) = portal.list_accounts().access_token(&token).send().await {
            let e = e.into_service_error();
            assert!(matches!(e, aws_sdk_sso::operation::list_accounts::ListAccountsError::TooManyRequestsException(_)), "{e:?}");
            throttled += 1;
        }
    }
    assert_eq!(throttled, 5);
    assert_eq!(count(&stats(&sim.base_url).await, "Throttled"), throttled);
}

#[tokio::test]
async fn session_end_and_strict_rotation() {
    let sim = start_sim(SimConfig {
        auto_approve: true,
        strict_rotation: true,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let oidc = oidc(&sim);
    let client = register(&oidc, true).await;
    let (_, refresh) = device_login(&sim, &client).await;
    let refresh = refresh.unwrap();
    let refresh_with = |t: String| {
        oidc.create_token()
            .client_id(&client.id)
            .client_secret(&client.secret)
            .grant_type("refresh_token")
            .refresh_token(t)
            .send()
    };
    let next = refresh_with(refresh.clone()).await.expect("first refresh");
    let e = refresh_with(refresh).await.unwrap_err();
    assert!(
        matches!(
            e.into_service_error(),
            CreateTokenError::InvalidGrantException(_)
        ),
        "used refresh token is dead under --strict-rotation"
    );
    sim.end_all_sessions();
    let e = refresh_with(next.refresh_token().unwrap().to_string())
        .await
        .unwrap_err();
    assert!(
        matches!(
            e.into_service_error(),
            CreateTokenError::InvalidGrantException(_)
        ),
        "session over"
    );
    let e = portal(&sim)
        .list_accounts()
        .access_token(next.access_token().unwrap())
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_sdk_sso::error::ProvideErrorMetadata::code(&e),
        Some("UnauthorizedException")
    );
}
