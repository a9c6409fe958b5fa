//! Console sign-in links (spec §7): AWS federation (role credentials → sign-in token → login URL)
//! and the access portal's deep link. Sign-in tokens and login URLs are credentials: `Secret`.
//!
//! Also: partitions; federation (`getSigninToken` → login URL) asked again without
//! `SessionDuration` when that is refused; and `destination_url`, a service's console page in a
//! region's partition (with granted's aliases).

use crate::aws::oidc::{origin, ApiError};
use crate::aws::portal::RoleCredentials;
use crate::platform::os::Env;
use crate::platform::secret::Secret;
use serde::Deserialize;
use url::Url;

/// The issuer ssotray names in federation links.
pub const ISSUER: &str = "ssotray";
/// Allowed console session lengths, seconds.
pub const SESSION_DURATION_RANGE: std::ops::RangeInclusive<u32> = 900..=43200;

/// AWS partitions, each with its own sign-in and console hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Partition {
    /// Commercial regions.
    Aws,
    /// China (`cn-*`).
    China,
    /// GovCloud (`us-gov-*`).
    GovCloud,
}

impl Partition {
    /// The partition of a region.
    pub fn of_region(region: &str) -> Partition {
        if region.starts_with("cn-") {
            Partition::China
        } else if region.starts_with("us-gov-") {
            Partition::GovCloud
        } else {
            Partition::Aws
        }
    }

    fn signin_host(self) -> &'static str {
        match self {
            Partition::Aws => "signin.aws.amazon.com",
            Partition::China => "signin.amazonaws.cn",
            Partition::GovCloud => "signin.amazonaws-us-gov.com",
        }
    }

    fn console_host(self) -> &'static str {
        match self {
            Partition::Aws => "console.aws.amazon.com",
            Partition::China => "console.amazonaws.cn",
            Partition::GovCloud => "console.amazonaws-us-gov.com",
        }
    }
}

/// The federation endpoint: `SSOTRAY_SIGNIN_ENDPOINT` when set, else the partition's.
pub fn federation_endpoint(
    env: &Env,
    region: &str,
) -> Result<Url, crate::aws::endpoints::EndpointError> {
    if let Some(v) = env.get_non_empty("SSOTRAY_SIGNIN_ENDPOINT") {
        return Url::parse(v.trim()).map_err(|reason| {
            crate::aws::endpoints::EndpointError::NotAUrl {
                var: "SSOTRAY_SIGNIN_ENDPOINT",
                value: v,
                reason,
            }
        });
    }
    Ok(Url::parse(&format!(
        "https://{}/federation",
        Partition::of_region(region).signin_host()
    ))
    .expect("static URL"))
}

/// The console home page of a region.
pub fn console_home(region: &str) -> String {
    let host = Partition::of_region(region).console_host();
    format!("https://{host}/console/home?region={region}")
}

/// Console services by the short names people use (granted's aliases) → their console path.
const SERVICES: &[(&str, &str)] = &[
    ("acm", "acm"),
    ("apigateway", "apigateway"),
    ("athena", "athena"),
    ("backup", "backup"),
    ("billing", "billing"),
    ("cloudformation", "cloudformation"),
    ("cfn", "cloudformation"),
    ("cloudfront", "cloudfront/v4"),
    ("cloudtrail", "cloudtrail"),
    ("cloudwatch", "cloudwatch"),
    ("cw", "cloudwatch"),
    ("codebuild", "codesuite/codebuild"),
    ("codepipeline", "codesuite/codepipeline"),
    ("cognito", "cognito/v2"),
    ("config", "config"),
    ("console", "console"),
    ("dynamodb", "dynamodbv2"),
    ("ddb", "dynamodbv2"),
    ("ebs", "ec2/v2"),
    ("ec2", "ec2/v2"),
    ("ecr", "ecr"),
    ("ecs", "ecs/v2"),
    ("eks", "eks"),
    ("elasticache", "elasticache"),
    ("eventbridge", "events"),
    ("events", "events"),
    ("glue", "glue"),
    ("guardduty", "guardduty"),
    ("iam", "iamv2"),
    ("kinesis", "kinesis"),
    ("kms", "kms"),
    ("lambda", "lambda"),
    ("logs", "cloudwatch"),
    ("organizations", "organizations/v2"),
    ("rds", "rds"),
    ("redshift", "redshiftv2"),
    ("route53", "route53/v2"),
    ("r53", "route53/v2"),
    ("s3", "s3"),
    ("sagemaker", "sagemaker"),
    ("secretsmanager", "secretsmanager"),
    ("securityhub", "securityhub"),
    ("ses", "ses"),
    ("sns", "sns/v3"),
    ("sqs", "sqs/v3"),
    ("ssm", "systems-manager"),
    ("sfn", "states"),
    ("stepfunctions", "states"),
    ("vpc", "vpc"),
    ("waf", "wafv2"),
];

/// Services whose console takes no region.
const GLOBAL_SERVICES: &[&str] = &[
    "billing",
    "cloudfront",
    "iam",
    "organizations",
    "r53",
    "route53",
];

/// A service name [`destination_url`] does not know; the message lists those it knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown service `{}`; use one of {}", .0, service_names().collect::<Vec<_>>().join(", "))]
pub struct UnknownService(pub String);

/// The short service names `destination_url` knows.
pub fn service_names() -> impl Iterator<Item = &'static str> {
    SERVICES.iter().map(|(name, _)| *name)
}

/// A service's console page in a region, in the region's partition:
/// `https://{region}.console.aws.amazon.com/ec2/v2/home?region={region}` (no region prefix in
/// a partition's first region, none and no `?region=` for global services). `Err` names the
/// services it knows.
pub fn destination_url(service: &str, region: &str) -> Result<String, UnknownService> {
    let key = service.trim().to_ascii_lowercase();
    let Some((_, path)) = SERVICES.iter().find(|(name, _)| *name == key) else {
        return Err(UnknownService(service.to_string()));
    };
    let partition = Partition::of_region(region);
    let host = partition.console_host();
    let global = GLOBAL_SERVICES.contains(&key.as_str());
    let first_region = matches!(region, "us-east-1" | "cn-north-1" | "us-gov-west-1");
    if global || region.is_empty() {
        return Ok(format!("https://{host}/{path}/home"));
    }
    let prefix = if first_region {
        String::new()
    } else {
        format!("{region}.")
    };
    Ok(format!(
        "https://{prefix}{host}/{path}/home?region={region}"
    ))
}

/// A start URL that makes no portal link.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortalLinkError {
    /// The issuer form (`https://identitycenter.amazonaws.com/ssoins-…`), which the AWS CLI
    /// accepts as `sso_start_url` since 2.22: logins and credentials work with it, but no access
    /// portal answers there.
    #[error("`{0}` is the Identity Center issuer URL, not an access portal, so it makes no portal link; open the console through the federation link instead (leave out --portal-link, or set `console_link = \"federation\"` for the session), or set `sso_start_url` to your access portal URL (https://d-….awsapps.com/start)")]
    IssuerUrl(String),
}

/// Whether `start_url` is Identity Center's issuer URL (`https://identitycenter.amazonaws.com/ssoins-…`,
/// or a partition's variant) rather than an access portal's.
pub fn is_issuer_url(start_url: &str) -> bool {
    Url::parse(start_url.trim()).is_ok_and(|u| {
        let host = u.host_str().unwrap_or_default().to_ascii_lowercase();
        let aws_host = host == "identitycenter.amazonaws.com"
            || (host.starts_with("identitycenter.")
                && [
                    ".amazonaws.com",
                    ".amazonaws.com.cn",
                    ".amazonaws-us-gov.com",
                ]
                .iter()
                .any(|suffix| host.ends_with(suffix)));
        aws_host && u.path().trim_start_matches('/').starts_with("ssoins-")
    })
}

/// The access portal's deep link to a role's console (no API call; uses the browser's portal
/// session): `<portal>/#/console?account_id=…&role_name=…[&destination=…]`, the portal being
/// the start URL without a trailing `/` or the `#/` of a copied address bar.
pub fn portal_link(
    start_url: &str,
    account_id: &str,
    role_name: &str,
    destination: Option<&str>,
) -> Result<String, PortalLinkError> {
    if is_issuer_url(start_url) {
        return Err(PortalLinkError::IssuerUrl(start_url.to_string()));
    }
    let portal = start_url.trim();
    let portal = portal
        .split('#')
        .next()
        .unwrap_or(portal)
        .trim_end_matches('/');
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let mut link = format!(
        "{portal}/#/console?account_id={}&role_name={}",
        enc(account_id),
        enc(role_name)
    );
    if let Some(d) = destination {
        link.push_str(&format!("&destination={}", enc(d)));
    }
    Ok(link)
}

#[derive(Deserialize)]
struct SigninTokenWire {
    #[serde(rename = "SigninToken")]
    signin_token: String,
}

/// Role credentials → sign-in token → login URL. `session_duration` is sent when given; if the
/// endpoint rejects it (as it does for role-chained credentials), the call is made once more without.
pub async fn federation_login_url(
    http: &reqwest::Client,
    endpoint: &Url,
    credentials: &RoleCredentials,
    session_duration: Option<u32>,
    destination: &str,
) -> Result<Secret, ApiError> {
    let session = serde_json::json!({
        "sessionId": credentials.access_key_id,
        "sessionKey": credentials.secret_access_key.expose(),
        "sessionToken": credentials.session_token.expose(),
    })
    .to_string();
    let mut duration = session_duration;
    let token = loop {
        let mut url = endpoint.clone();
        {
            let mut q = url.query_pairs_mut();
            q.clear().append_pair("Action", "getSigninToken");
            if let Some(d) = duration {
                q.append_pair("SessionDuration", &d.to_string());
            }
            q.append_pair("Session", &session);
        }
        let network = |e: reqwest::Error| ApiError::Network {
            endpoint: origin(endpoint),
            reason: if e.is_timeout() {
                "timed out".into()
            } else {
                "request failed".into()
            },
        };
        let response = http.get(url).send().await.map_err(network)?;
        let (status, _, body) =
            crate::aws::oidc::read_answer(response, &origin(endpoint), network).await?;
        if status.is_success() {
            let wire: SigninTokenWire =
                serde_json::from_slice(&body).map_err(|e| ApiError::Decode {
                    endpoint: origin(endpoint),
                    reason: e.to_string(),
                })?;
            break wire.signin_token;
        }
        if status.as_u16() == 400 && duration.is_some() {
            duration = None;
            continue;
        }
        return Err(ApiError::Service(crate::aws::error::ServiceError {
            code: crate::aws::error::ErrorCode::Other("GetSigninTokenFailed".into()),
            status: status.as_u16(),
            // The body is not quoted: the request carried credentials and the endpoint is configurable.
            message: None,
        }));
    };
    let mut url = endpoint.clone();
    url.query_pairs_mut()
        .clear()
        .append_pair("Action", "login")
        .append_pair("Issuer", ISSUER)
        .append_pair("Destination", destination)
        .append_pair("SigninToken", &token);
    Ok(Secret::new(url.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_hosts_and_links() {
        assert_eq!(
            console_home("eu-west-1"),
            "https://console.aws.amazon.com/console/home?region=eu-west-1"
        );
        assert_eq!(
            console_home("cn-north-1"),
            "https://console.amazonaws.cn/console/home?region=cn-north-1"
        );
        assert_eq!(
            console_home("us-gov-west-1"),
            "https://console.amazonaws-us-gov.com/console/home?region=us-gov-west-1"
        );
        let env = Env::from_slice(&[]);
        assert_eq!(
            federation_endpoint(&env, "cn-north-1").unwrap().as_str(),
            "https://signin.amazonaws.cn/federation"
        );
        assert_eq!(
            federation_endpoint(&env, "us-gov-east-1").unwrap().as_str(),
            "https://signin.amazonaws-us-gov.com/federation"
        );
        assert_eq!(
            federation_endpoint(&env, "us-east-1").unwrap().as_str(),
            "https://signin.aws.amazon.com/federation"
        );
        let env = Env::from_slice(&[("SSOTRAY_SIGNIN_ENDPOINT", "http://127.0.0.1:9/federation")]);
        assert_eq!(
            federation_endpoint(&env, "us-east-1").unwrap().as_str(),
            "http://127.0.0.1:9/federation"
        );
        assert_eq!(
            destination_url("ec2", "us-gov-east-1").unwrap(),
            "https://us-gov-east-1.console.amazonaws-us-gov.com/ec2/v2/home?region=us-gov-east-1"
        );
        assert_eq!(
            destination_url("EC2", "us-gov-west-1").unwrap(),
            "https://console.amazonaws-us-gov.com/ec2/v2/home?region=us-gov-west-1"
        );
        assert_eq!(
            destination_url("ec2", "cn-northwest-1").unwrap(),
            "https://cn-northwest-1.console.amazonaws.cn/ec2/v2/home?region=cn-northwest-1"
        );
        assert_eq!(
            destination_url("lambda", "eu-west-1").unwrap(),
            "https://eu-west-1.console.aws.amazon.com/lambda/home?region=eu-west-1"
        );
        assert_eq!(
            destination_url("iam", "eu-west-1").unwrap(),
            "https://console.aws.amazon.com/iamv2/home"
        );
        assert_eq!(
            destination_url("ssm", "us-east-1").unwrap(),
            "https://console.aws.amazon.com/systems-manager/home?region=us-east-1"
        );
        let e = destination_url("nope", "eu-west-1").unwrap_err();
        assert!(
            e.to_string().contains("unknown service `nope`")
                && e.to_string().contains("cloudwatch"),
            "{e}"
        );
        assert_eq!(
            portal_link("https://d-1234567890.awsapps.com/start/", "111111111111", "Admin", Some("https://console.aws.amazon.com/s3/home")).unwrap(),
            "https://d-1234567890.awsapps.com/start/#/console?account_id=111111111111&role_name=Admin&destination=https%3A%2F%2Fconsole.aws.amazon.com%2Fs3%2Fhome"
        );
    }

    #[test]
    fn start_urls_of_every_form_make_a_portal_link_or_say_why_not() {
        let link = |url: &str| portal_link(url, "111111111111", "Admin", None);
        let tail = "/#/console?account_id=111111111111&role_name=Admin";
        let portals = [
            // The directory-id form, with and without the trailing slash or a copied `#/`.
            (
                "https://d-1234567890.awsapps.com/start",
                "https://d-1234567890.awsapps.com/start",
            ),
            (
                "https://d-1234567890.awsapps.com/start/",
                "https://d-1234567890.awsapps.com/start",
            ),
            (
                "https://d-1234567890.awsapps.com/start/#/",
                "https://d-1234567890.awsapps.com/start",
            ),
            (
                "https://d-1234567890.awsapps.com/start#/",
                "https://d-1234567890.awsapps.com/start",
            ),
            // A vanity name.
            (
                "https://my-company.awsapps.com/start",
                "https://my-company.awsapps.com/start",
            ),
            (
                "https://my-company.awsapps.com/start/#/?tab=accounts",
                "https://my-company.awsapps.com/start",
            ),
            // GovCloud's portal.
            (
                "https://start.us-gov-home.awsapps.com/directory/d-9067012345",
                "https://start.us-gov-home.awsapps.com/directory/d-9067012345",
            ),
            (
                "https://start.us-gov-home.awsapps.com/directory/d-9067012345/#/",
                "https://start.us-gov-home.awsapps.com/directory/d-9067012345",
            ),
        ];
        for (url, portal) in portals {
            assert!(!is_issuer_url(url), "{url}");
            assert_eq!(link(url).unwrap(), format!("{portal}{tail}"), "{url}");
        }
        // The issuer form: logins work with it, a portal link cannot.
        for url in [
            "https://identitycenter.amazonaws.com/ssoins-72234e1d20e1e68d",
            "https://identitycenter.amazonaws.com/ssoins-72234e1d20e1e68d/",
            "https://identitycenter.amazonaws.com.cn/ssoins-1234567890abcdef",
            "https://identitycenter.us-gov-west-1.amazonaws-us-gov.com/ssoins-1234567890abcdef",
        ] {
            assert!(is_issuer_url(url), "{url}");
            let e = link(url).unwrap_err().to_string();
            assert!(
                e.contains("issuer URL")
                    && e.contains("federation link")
                    && e.contains("--portal-link"),
                "{e}"
            );
        }
        // Neither a portal nor the issuer: the host alone does not make one.
        assert!(!is_issuer_url("https://identitycenter.amazonaws.com/start"));
        assert!(!is_issuer_url(
            "https://identitycenter.example.com/ssoins-1"
        ));
    }
}
