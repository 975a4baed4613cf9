//! Where a visit came from: `trafficSource{channel, source, campaign}` of the visit payload.
//!
//! Precedence, first match wins:
//! 1. **UTM parameters** of the landing URL. The tagger's statement beats our guess from the
//!    referrer: a newsletter link clicked in Gmail's web client has a `mail.google.com` referrer,
//!    or one of Google's, but `utm_medium=email` says what it was. `utm_medium` decides the channel
//!    (`email` → Email, `cpc`/`ppc`/`paid…`/`display` → Paid, `social` → Social, `organic` →
//!    Organic Search, anything else → Referral); with only `utm_source`, the source is looked up in
//!    the table below (else Referral). `source` is `utm_source` as sent, `campaign` is
//!    `utm_campaign`.
//! 2. **Ad click ids** (`gclid`, `gbraid`, `wbraid`, `dclid` → Google; `msclkid` → Bing): Paid.
//! 3. **Referrer host**, looked up in the [`KNOWN`] table: Email (webmail), Organic Search, Social;
//!    an unknown host is Referral with the host as source. A referrer on the landing page's own
//!    host is not a source (a visit resumed after the timeout): Direct.
//! 4. Otherwise **Direct**.

use std::collections::BTreeMap;

use serde::Serialize;

/// A marketing channel, named as receivers of the seed's payload expect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Channel {
    #[serde(rename = "Organic Search")]
    OrganicSearch,
    Social,
    Email,
    Paid,
    Referral,
    Direct,
}

/// The payload's `trafficSource` object; `source` and `campaign` are `null` when unknown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrafficSource {
    pub channel: Channel,
    pub source: Option<String>,
    pub campaign: Option<String>,
}

/// How a table entry matches a host.
#[derive(Debug, Clone, Copy)]
enum Host {
    /// The domain or any subdomain of it (`facebook.com` matches `l.facebook.com`).
    Domain(&'static str),
    /// A brand under any country domain (`google` matches `google.com`, `www.google.co.uk`), with
    /// only a harmless prefix before it (`www`, `m`, `search`, …) so `docs.google.com` does not.
    Brand(&'static str),
}

/// One known site: how to match it, the name reported as `source`, and its channel.
#[derive(Debug, Clone, Copy)]
struct Known {
    host: Host,
    name: &'static str,
    channel: Channel,
}

const fn known(host: Host, name: &'static str, channel: Channel) -> Known {
    Known { host, name, channel }
}

/// The maintained table, checked in order: webmail before the search brand it lives under.
const KNOWN: &[Known] = &[
    known(Host::Domain("mail.google.com"), "Gmail", Channel::Email),
    known(Host::Domain("outlook.live.com"), "Outlook", Channel::Email),
    known(Host::Domain("outlook.office.com"), "Outlook", Channel::Email),
    known(Host::Domain("outlook.office365.com"), "Outlook", Channel::Email),
    known(Host::Domain("mail.yahoo.com"), "Yahoo Mail", Channel::Email),
    known(Host::Domain("mail.proton.me"), "Proton Mail", Channel::Email),
    known(Host::Domain("mail.aol.com"), "AOL Mail", Channel::Email),
    known(Host::Domain("mail.zoho.com"), "Zoho Mail", Channel::Email),
    known(Host::Domain("fastmail.com"), "Fastmail", Channel::Email),
    known(Host::Brand("google"), "Google", Channel::OrganicSearch),
    known(Host::Brand("bing"), "Bing", Channel::OrganicSearch),
    known(Host::Brand("duckduckgo"), "DuckDuckGo", Channel::OrganicSearch),
    known(Host::Brand("yahoo"), "Yahoo", Channel::OrganicSearch),
    known(Host::Brand("baidu"), "Baidu", Channel::OrganicSearch),
    known(Host::Brand("yandex"), "Yandex", Channel::OrganicSearch),
    known(Host::Brand("ecosia"), "Ecosia", Channel::OrganicSearch),
    known(Host::Brand("naver"), "Naver", Channel::OrganicSearch),
    known(Host::Brand("seznam"), "Seznam", Channel::OrganicSearch),
    known(Host::Brand("qwant"), "Qwant", Channel::OrganicSearch),
    known(Host::Domain("search.brave.com"), "Brave Search", Channel::OrganicSearch),
    known(Host::Domain("startpage.com"), "Startpage", Channel::OrganicSearch),
    known(Host::Domain("facebook.com"), "Facebook", Channel::Social),
    known(Host::Domain("fb.com"), "Facebook", Channel::Social),
    known(Host::Domain("t.co"), "Twitter", Channel::Social),
    known(Host::Domain("twitter.com"), "Twitter", Channel::Social),
    known(Host::Domain("x.com"), "Twitter", Channel::Social),
    known(Host::Domain("linkedin.com"), "LinkedIn", Channel::Social),
    known(Host::Domain("lnkd.in"), "LinkedIn", Channel::Social),
    known(Host::Domain("instagram.com"), "Instagram", Channel::Social),
    known(Host::Domain("reddit.com"), "Reddit", Channel::Social),
    known(Host::Domain("youtube.com"), "YouTube", Channel::Social),
    known(Host::Domain("youtu.be"), "YouTube", Channel::Social),
    known(Host::Domain("tiktok.com"), "TikTok", Channel::Social),
    known(Host::Brand("pinterest"), "Pinterest", Channel::Social),
    known(Host::Domain("threads.net"), "Threads", Channel::Social),
    known(Host::Domain("bsky.app"), "Bluesky", Channel::Social),
    known(Host::Domain("mastodon.social"), "Mastodon", Channel::Social),
    known(Host::Domain("news.ycombinator.com"), "Hacker News", Channel::Social),
    known(Host::Domain("quora.com"), "Quora", Channel::Social),
];

/// Labels allowed before a [`Host::Brand`].
const BRAND_PREFIXES: &[&str] = &["www", "m", "l", "lm", "search", "mobile"];

/// Ad click ids and the engine they belong to.
const CLICK_IDS: &[(&str, &str)] = &[
    ("gclid", "Google"),
    ("gbraid", "Google"),
    ("wbraid", "Google"),
    ("dclid", "Google"),
    ("msclkid", "Bing"),
];

fn host_matches(host: &str, pattern: Host) -> bool {
    match pattern {
        Host::Domain(d) => host == d || host.strip_suffix(d).is_some_and(|rest| rest.ends_with('.')),
        Host::Brand(brand) => {
            let labels: Vec<&str> = host.split('.').collect();
            let Some(at) = labels.iter().position(|l| *l == brand) else {
                return false;
            };
            let (before, after) = (&labels[..at], &labels[at + 1..]);
            !after.is_empty()
                && after.iter().all(|l| (2..=3).contains(&l.len()))
                && before.iter().all(|l| BRAND_PREFIXES.contains(l))
        }
    }
}

fn lookup_host(host: &str) -> Option<&'static Known> {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    KNOWN.iter().find(|k| host_matches(&host, k.host))
}

/// A `utm_source` value (`google`, `Facebook`, `news.ycombinator.com`) looked up by name or host.
fn lookup_source(source: &str) -> Option<&'static Known> {
    let lower = source.trim().to_ascii_lowercase();
    KNOWN
        .iter()
        .find(|k| k.name.eq_ignore_ascii_case(&lower))
        .or_else(|| lookup_host(&lower))
}

fn medium_channel(medium: &str) -> Channel {
    let m = medium.trim().to_ascii_lowercase();
    match m.as_str() {
        "email" | "e-mail" | "e_mail" | "newsletter" => Channel::Email,
        "social" | "social-media" | "social_media" | "social-network" | "social_network" | "sm" => Channel::Social,
        "organic" => Channel::OrganicSearch,
        _ if ["cpc", "ppc", "cpm", "cpv", "paid", "display", "banner"]
            .iter()
            .any(|p| m.contains(p)) =>
        {
            Channel::Paid
        }
        _ => Channel::Referral,
    }
}

/// The host of a URL without a leading `www.`, lower-cased.
#[must_use]
pub fn bare_host(raw: &str) -> Option<String> {
    let host = url::Url::parse(raw.trim()).ok()?.host_str()?.to_ascii_lowercase();
    Some(host.strip_prefix("www.").map(str::to_owned).unwrap_or(host))
}

fn non_empty<'a>(params: &'a BTreeMap<String, String>, key: &str) -> Option<&'a str> {
    params.get(key).map(|v| v.trim()).filter(|v| !v.is_empty())
}

/// Classifies a visit from its landing URL's query `params`, its `referrer` and the landing
/// page's `landing_host` (see the module docs for the rules and their order).
#[must_use]
pub fn classify(
    params: &BTreeMap<String, String>,
    referrer: Option<&str>,
    landing_host: Option<&str>,
) -> TrafficSource {
    let campaign = non_empty(params, "utm_campaign").map(str::to_owned);
    let utm_source = non_empty(params, "utm_source");
    if let Some(medium) = non_empty(params, "utm_medium") {
        return TrafficSource {
            channel: medium_channel(medium),
            source: utm_source.map(str::to_owned),
            campaign,
        };
    }
    if let Some(source) = utm_source {
        return TrafficSource {
            channel: lookup_source(source).map_or(Channel::Referral, |k| k.channel),
            source: Some(source.to_owned()),
            campaign,
        };
    }
    if let Some((_, engine)) = CLICK_IDS.iter().find(|(id, _)| non_empty(params, id).is_some()) {
        return TrafficSource {
            channel: Channel::Paid,
            source: Some((*engine).to_owned()),
            campaign,
        };
    }
    let referrer_host = referrer
        .and_then(bare_host)
        .filter(|h| Some(h.as_str()) != landing_host);
    let (channel, source) = match referrer_host {
        Some(host) => match lookup_host(&host) {
            Some(k) => (k.channel, Some(k.name.to_owned())),
            None => (Channel::Referral, Some(host)),
        },
        None => (Channel::Direct, None),
    };
    TrafficSource {
        channel,
        source,
        campaign,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    fn channel(pairs: &[(&str, &str)], referrer: Option<&str>) -> (Channel, Option<String>) {
        let t = classify(&params(pairs), referrer, Some("example.com"));
        (t.channel, t.source)
    }

    #[test]
    fn utm_parameters_win_over_the_referrer() {
        let t = classify(
            &params(&[
                ("utm_source", "newsletter"),
                ("utm_medium", "email"),
                ("utm_campaign", "spring_sale"),
            ]),
            Some("https://www.google.com/"),
            Some("example.com"),
        );
        assert_eq!(t.channel, Channel::Email);
        assert_eq!(t.source.as_deref(), Some("newsletter"));
        assert_eq!(t.campaign.as_deref(), Some("spring_sale"));
        assert_eq!(
            channel(&[("utm_medium", "cpc"), ("utm_source", "google")], None).0,
            Channel::Paid
        );
        assert_eq!(channel(&[("utm_medium", "paid_social")], None).0, Channel::Paid);
        assert_eq!(channel(&[("utm_medium", "Social")], None).0, Channel::Social);
        assert_eq!(channel(&[("utm_medium", "partner")], None).0, Channel::Referral);
        assert_eq!(channel(&[("utm_source", "facebook")], None).0, Channel::Social);
        assert_eq!(channel(&[("utm_source", "acme-blog")], None).0, Channel::Referral);
    }

    #[test]
    fn click_ids_are_paid() {
        assert_eq!(
            channel(&[("gclid", "abc")], Some("https://www.google.com/")),
            (Channel::Paid, Some("Google".into()))
        );
        assert_eq!(channel(&[("msclkid", "x")], None), (Channel::Paid, Some("Bing".into())));
    }

    #[test]
    fn referrer_hosts_follow_the_table() {
        let cases = [
            ("https://www.google.com/", Channel::OrganicSearch, "Google"),
            ("https://www.google.co.uk/search?q=x", Channel::OrganicSearch, "Google"),
            ("https://duckduckgo.com/", Channel::OrganicSearch, "DuckDuckGo"),
            ("https://search.yahoo.com/", Channel::OrganicSearch, "Yahoo"),
            ("https://yandex.ru/", Channel::OrganicSearch, "Yandex"),
            ("https://www.bing.com/", Channel::OrganicSearch, "Bing"),
            ("https://mail.google.com/mail/u/0/", Channel::Email, "Gmail"),
            ("https://outlook.live.com/", Channel::Email, "Outlook"),
            ("https://l.facebook.com/l.php", Channel::Social, "Facebook"),
            ("https://t.co/abc", Channel::Social, "Twitter"),
            ("https://x.com/someone", Channel::Social, "Twitter"),
            ("https://www.linkedin.com/feed", Channel::Social, "LinkedIn"),
            ("https://www.reddit.com/r/rust", Channel::Social, "Reddit"),
            ("https://www.youtube.com/watch", Channel::Social, "YouTube"),
            ("https://docs.google.com/doc", Channel::Referral, "docs.google.com"),
            (
                "https://blog.rust-lang.org/post",
                Channel::Referral,
                "blog.rust-lang.org",
            ),
            ("https://notfacebook.com/", Channel::Referral, "notfacebook.com"),
        ];
        for (referrer, want, source) in cases {
            assert_eq!(
                channel(&[], Some(referrer)),
                (want, Some(source.to_owned())),
                "{referrer}"
            );
        }
    }

    #[test]
    fn no_referrer_no_utm_or_an_own_host_referrer_is_direct() {
        assert_eq!(channel(&[], None), (Channel::Direct, None));
        assert_eq!(channel(&[("page", "2")], Some("")), (Channel::Direct, None));
        assert_eq!(
            channel(&[], Some("https://www.example.com/pricing")),
            (Channel::Direct, None)
        );
        assert_eq!(
            serde_json::to_value(Channel::OrganicSearch).unwrap(),
            serde_json::json!("Organic Search")
        );
    }
}
