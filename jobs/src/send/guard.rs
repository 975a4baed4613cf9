//! The SSRF guard: which addresses a webhook may never reach, checked on IP-literal URLs before a
//! request is made and on every DNS answer at connect time.
//!
//! Checking at connect time, in the resolver whose answer is the address actually dialled, is what
//! defeats DNS rebinding (a name that resolves to a public address when the webhook is saved and
//! to `127.0.0.1` when it is sent). reqwest never calls the resolver for IP-literal hosts, hence the
//! separate URL check.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

/// Why the guard refused a target. Returned by the resolver inside reqwest's error chain, where
/// the sender finds it by downcasting, so a refusal is never mistaken for a DNS or network failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The URL or a DNS answer points at an address webhooks may not reach.
    #[error("{}", forbidden_message(host.as_deref(), *ip))]
    ForbiddenAddress {
        /// The name that resolved to `ip`; `None` when the URL's host is the IP literal itself.
        host: Option<String>,
        /// The forbidden address.
        ip: IpAddr,
    },
    /// The URL cannot be sent at all (not http(s), no host, unparsable).
    #[error("{0}")]
    InvalidUrl(String),
}

fn forbidden_message(host: Option<&str>, ip: IpAddr) -> String {
    let why = "an internal or reserved address that webhooks may not reach";
    match host {
        Some(host) => format!("{host} resolves to {ip}, {why}"),
        None => format!("{ip} is {why}"),
    }
}

/// A DNS lookup that failed or found nothing; distinguishable from [`Refusal`] in the error chain.
#[derive(Debug, thiserror::Error)]
#[error("DNS lookup of {host} failed: {reason}")]
pub struct LookupFailed {
    /// The name looked up.
    pub host: String,
    /// What the system resolver said.
    pub reason: String,
}

/// Whether `ip` is an address webhooks may not reach: loopback, private (RFC 1918), CGNAT
/// (100.64/10), link-local (169.254/16, where cloud metadata lives), `0.0.0.0/8`, IETF protocol
/// assignments (192.0.0/24), documentation and benchmark ranges, multicast, reserved (240/4, incl.
/// broadcast); for IPv6 loopback, unspecified, unique-local (fc00::/7), link-local (fe80::/10),
/// multicast, documentation (2001:db8::/32), NAT64 (64:ff9b::/96 and the local-use 64:ff9b:1::/48),
/// and IPv4-mapped / 6to4 forms judged by the IPv4 address they carry.
#[must_use]
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_forbidden_v4(v4),
        IpAddr::V6(v6) => is_forbidden_v6(v6),
    }
}

fn is_forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || a >= 240
        || (a == 100 && (b & 0xc0) == 64)
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (b & 0xfe) == 18)
}

fn is_forbidden_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_forbidden_v4(v4);
    }
    let s = ip.segments();
    if s[0] == 0x2002 {
        // 6to4: the IPv4 address is embedded in bits 16..48.
        let [hi, lo] = [s[1].to_be_bytes(), s[2].to_be_bytes()];
        return is_forbidden_v4(Ipv4Addr::new(hi[0], hi[1], lo[0], lo[1]));
    }
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00
        || (s[0] & 0xffc0) == 0xfe80
        || (s[0] == 0x64 && s[1] == 0xff9b)
        || (s[0] == 0x2001 && s[1] == 0x0db8)
        // IPv4-compatible (deprecated) addresses ::a.b.c.d
        || s[..6].iter().all(|&x| x == 0)
}

/// Parses `raw` and checks what can be checked before connecting: an http(s) scheme, a host, and,
/// when the host is an IP literal, that it is allowed (unless `allow_private`). Names are checked
/// later, by [`GuardedResolver`], on the addresses they resolve to.
///
/// # Errors
/// [`Refusal::InvalidUrl`] or [`Refusal::ForbiddenAddress`].
pub fn check_url(raw: &str, allow_private: bool) -> Result<Url, Refusal> {
    let url = Url::parse(raw).map_err(|e| Refusal::InvalidUrl(format!("the URL “{raw}” is not valid: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Refusal::InvalidUrl(format!(
            "only http and https URLs can receive webhooks, not “{}:”",
            url.scheme()
        )));
    }
    let ip = match url.host() {
        None => return Err(Refusal::InvalidUrl(format!("the URL “{raw}” has no host"))),
        Some(Host::Domain(_)) => None,
        Some(Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
        Some(Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
    };
    match ip {
        Some(ip) if !allow_private && is_forbidden(ip) => Err(Refusal::ForbiddenAddress { host: None, ip }),
        _ => Ok(url),
    }
}

/// The DNS resolver of the shared client: the system resolver, then a refusal if ANY answer is
/// forbidden (a mixed public/private answer could otherwise be dialled on its private address).
/// Errors are [`Refusal`] or [`LookupFailed`], so the sender can tell "blocked" from "DNS".
#[derive(Debug, Clone, Copy, Default)]
pub struct GuardedResolver {
    /// Lift the guard (self-hosting, tests against a local receiver); lookups still go through
    /// here so DNS failures are classified the same way.
    pub allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found = tokio::net::lookup_host((host.clone(), 0)).await;
            let addrs: Vec<SocketAddr> = match found {
                Ok(found) => found.collect(),
                Err(e) => {
                    return Err(LookupFailed {
                        host,
                        reason: e.to_string(),
                    }
                    .into());
                }
            };
            if addrs.is_empty() {
                return Err(LookupFailed {
                    host,
                    reason: "no addresses found".into(),
                }
                .into());
            }
            if !allow_private && let Some(bad) = addrs.iter().find(|a| is_forbidden(a.ip())) {
                return Err(Refusal::ForbiddenAddress {
                    host: Some(host),
                    ip: bad.ip(),
                }
                .into());
            }
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(raw: &str) -> IpAddr {
        raw.parse().expect(raw)
    }

    #[test]
    fn internal_and_reserved_ipv4_addresses_are_forbidden() {
        for raw in [
            "127.0.0.1",
            "127.255.0.9",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "100.64.0.1",
            "100.127.255.254",
            "169.254.169.254",
            "0.0.0.0",
            "0.1.2.3",
            "255.255.255.255",
            "240.0.0.1",
            "224.0.0.1",
            "239.1.1.1",
            "192.0.0.8",
            "192.0.2.1",
            "198.51.100.7",
            "203.0.113.9",
            "198.18.0.1",
            "198.19.255.1",
        ] {
            assert!(is_forbidden(ip(raw)), "{raw}");
        }
    }

    #[test]
    fn public_ipv4_addresses_are_allowed() {
        for raw in [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "198.20.0.1",
            "93.184.216.34",
        ] {
            assert!(!is_forbidden(ip(raw)), "{raw}");
        }
    }

    #[test]
    fn internal_ipv6_addresses_and_embedded_ipv4_forms_are_forbidden() {
        for raw in [
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "febf::1",
            "ff02::1",
            "64:ff9b::7f00:1",
            "64:ff9b::808:808",
            "64:ff9b:1::1",
            "2001:db8::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "2002:7f00:1::1",
            "2002:c0a8:101::1",
        ] {
            assert!(is_forbidden(ip(raw)), "{raw}");
        }
    }

    #[test]
    fn public_ipv6_addresses_are_allowed() {
        for raw in [
            "2606:4700:4700::1111",
            "2a00:1450:4001::200e",
            "::ffff:8.8.8.8",
            "2002:808:808::1",
        ] {
            assert!(!is_forbidden(ip(raw)), "{raw}");
        }
    }

    #[test]
    fn ip_literal_urls_are_checked_before_sending() {
        for raw in [
            "http://127.0.0.1:8080/",
            "http://[::1]/",
            "http://169.254.169.254/latest/meta-data",
            "http://[::ffff:127.0.0.1]:9/",
            "https://2130706433/",
            "http://0x7f.1/",
        ] {
            assert!(
                matches!(check_url(raw, false), Err(Refusal::ForbiddenAddress { .. })),
                "{raw}"
            );
            assert!(check_url(raw, true).is_ok(), "{raw}");
        }
        assert!(check_url("https://example.com/hook", false).is_ok());
        assert!(check_url("https://8.8.8.8/hook", false).is_ok());
    }

    #[test]
    fn urls_that_cannot_be_sent_are_refused_even_when_private_targets_are_allowed() {
        for raw in [
            "ftp://example.com/",
            "file:///etc/passwd",
            "not a url",
            "unix:/run/x.sock",
        ] {
            assert!(matches!(check_url(raw, true), Err(Refusal::InvalidUrl(_))), "{raw}");
        }
    }

    #[tokio::test]
    async fn the_resolver_refuses_names_that_resolve_to_loopback_unless_allowed() {
        let name: Name = "localhost".parse().expect("name");
        let err = GuardedResolver { allow_private: false }
            .resolve(name)
            .await
            .err()
            .expect("refused");
        assert!(err.downcast_ref::<Refusal>().is_some(), "{err}");
        let name: Name = "localhost".parse().expect("name");
        let addrs: Vec<SocketAddr> = GuardedResolver { allow_private: true }
            .resolve(name)
            .await
            .expect("allowed")
            .collect();
        assert!(addrs.iter().all(|a| a.ip().is_loopback()), "{addrs:?}");
    }
}
