//! Where Identity Center lives for a region, and how the AWS SDKs' endpoint variables move it.
//!
//! Default endpoints per partition, moved by the SDKs' `AWS_ENDPOINT_URL*` overrides.

use crate::platform::os::Env;
use url::Url;

/// The two Identity Center APIs a client talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// SSO-OIDC (`oidc.{region}…`): registration, login, refresh.
    Oidc,
    /// The access portal API (`portal.sso.{region}…`): accounts, roles, credentials, logout.
    Portal,
}

/// DNS suffix of the partition a region belongs to.
pub fn dns_suffix(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        // Commercial and GovCloud (`us-gov-*`) regions share the suffix.
        "amazonaws.com"
    }
}

/// An endpoint that cannot be had; each message says which setting to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    /// An endpoint variable holds no URL.
    #[error("{var} = `{value}` is not a URL ({reason}); fix or unset it")]
    NotAUrl {
        /// The variable.
        var: &'static str,
        /// Its value.
        value: String,
        /// What the URL parser said.
        reason: url::ParseError,
    },
    /// A region that makes no host name.
    #[error("region `{region}` gives no valid {service} endpoint ({reason}); check `{setting}`")]
    BadRegion {
        /// The region.
        region: String,
        /// Which endpoint.
        service: &'static str,
        /// The setting it came from.
        setting: &'static str,
        /// What the URL parser said.
        reason: url::ParseError,
    },
}

/// The URL the first set variable of `vars` gives (as the SDKs read `AWS_ENDPOINT_URL_*`), unless
/// `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` is `true`; `None` when none is set.
pub fn configured(env: &Env, vars: &[&'static str]) -> Option<Result<Url, EndpointError>> {
    let ignore = env
        .get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    if ignore {
        return None;
    }
    vars.iter().find_map(|&var| {
        env.get_non_empty(var).map(|value| {
            Url::parse(value.trim()).map_err(|reason| EndpointError::NotAUrl { var, value, reason })
        })
    })
}

/// `https://{host}` of a region's host name, or which setting gave the region.
pub fn regional(
    host: &str,
    region: &str,
    service: &'static str,
    setting: &'static str,
) -> Result<Url, EndpointError> {
    Url::parse(&format!("https://{host}")).map_err(|reason| EndpointError::BadRegion {
        region: region.to_string(),
        service,
        setting,
        reason,
    })
}

/// The endpoint of `service` in `region`, honouring, like the AWS SDKs,
/// `AWS_ENDPOINT_URL_SSO_OIDC` / `AWS_ENDPOINT_URL_SSO`, then `AWS_ENDPOINT_URL`,
/// unless `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` is `true`.
pub fn endpoint(env: &Env, service: Service, region: &str) -> Result<Url, EndpointError> {
    let specific = match service {
        Service::Oidc => "AWS_ENDPOINT_URL_SSO_OIDC",
        Service::Portal => "AWS_ENDPOINT_URL_SSO",
    };
    if let Some(url) = configured(env, &[specific, "AWS_ENDPOINT_URL"]) {
        return url;
    }
    let (host, name) = match service {
        Service::Oidc => (format!("oidc.{region}.{}", dns_suffix(region)), "OIDC"),
        Service::Portal => (
            format!("portal.sso.{region}.{}", dns_suffix(region)),
            "portal",
        ),
    };
    regional(&host, region, name, "sso_region")
}

/// Joins an API path onto an endpoint that may carry a path prefix of its own.
pub fn join(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    let prefix = url.path().trim_end_matches('/').to_string();
    url.set_path(&format!("{prefix}{path}"));
    url.set_query(None);
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(vars: &[(&str, &str)], service: Service, region: &str, expected: &str) {
        let got = endpoint(&Env::from_slice(vars), service, region).unwrap();
        assert_eq!(got.as_str(), expected, "{vars:?} {service:?} {region}");
    }

    #[test]
    fn default_endpoints_per_partition() {
        check(
            &[],
            Service::Oidc,
            "us-east-1",
            "https://oidc.us-east-1.amazonaws.com/",
        );
        check(
            &[],
            Service::Portal,
            "eu-west-1",
            "https://portal.sso.eu-west-1.amazonaws.com/",
        );
        check(
            &[],
            Service::Oidc,
            "cn-north-1",
            "https://oidc.cn-north-1.amazonaws.com.cn/",
        );
        check(
            &[],
            Service::Portal,
            "cn-northwest-1",
            "https://portal.sso.cn-northwest-1.amazonaws.com.cn/",
        );
        check(
            &[],
            Service::Oidc,
            "us-gov-west-1",
            "https://oidc.us-gov-west-1.amazonaws.com/",
        );
        check(
            &[],
            Service::Portal,
            "us-gov-east-1",
            "https://portal.sso.us-gov-east-1.amazonaws.com/",
        );
    }

    #[test]
    fn overrides_follow_the_sdks_order() {
        let both = [
            ("AWS_ENDPOINT_URL_SSO_OIDC", "http://127.0.0.1:1"),
            ("AWS_ENDPOINT_URL_SSO", "http://127.0.0.1:2"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:3"),
        ];
        check(&both, Service::Oidc, "us-east-1", "http://127.0.0.1:1/");
        check(&both, Service::Portal, "us-east-1", "http://127.0.0.1:2/");
        check(
            &both[2..],
            Service::Oidc,
            "us-east-1",
            "http://127.0.0.1:3/",
        );
        check(
            &both[2..],
            Service::Portal,
            "us-east-1",
            "http://127.0.0.1:3/",
        );
        check(
            &[("AWS_ENDPOINT_URL_SSO", "")],
            Service::Portal,
            "us-east-1",
            "https://portal.sso.us-east-1.amazonaws.com/",
        );
        let ignored = [both[0], ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")];
        check(
            &ignored,
            Service::Oidc,
            "us-east-1",
            "https://oidc.us-east-1.amazonaws.com/",
        );
        let err = endpoint(
            &Env::from_slice(&[("AWS_ENDPOINT_URL", "not a url")]),
            Service::Oidc,
            "us-east-1",
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("AWS_ENDPOINT_URL = `not a url` is not a URL"),
            "{err}"
        );
    }

    #[test]
    fn join_keeps_a_path_prefix() {
        let base = Url::parse("http://127.0.0.1:9/prefix/").unwrap();
        assert_eq!(
            join(&base, "/token").as_str(),
            "http://127.0.0.1:9/prefix/token"
        );
        let base = Url::parse("http://127.0.0.1:9").unwrap();
        assert_eq!(join(&base, "/token").as_str(), "http://127.0.0.1:9/token");
    }
}
