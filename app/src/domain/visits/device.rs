//! `device` and `browser` of the visit payload, parsed from the page event's `context.userAgent`
//! with [`woothee`]: pure Rust with its dataset compiled in (no regex file to ship or download,
//! nothing to load at startup), and it reports the browser vendor the seed's payload shows.
//!
//! woothee names Apple's mobile systems by device (`iPhone`, `iPad`), so those become the device
//! `model` and the `os` is reported as `iOS <version>` / `iPadOS <version>`; unknown values are
//! `null`, never woothee's `UNKNOWN`.

use serde::Serialize;

/// The payload's `device`: `model` (`iPhone`, `iPad`, `Mac`; `null` when the user agent does not
/// say), `os` with its version (`iOS 17.0`, `Windows 10`, `Android 14`), and `type` (`mobile`,
/// `tablet`, `desktop`, `bot`, `other`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Device {
    pub model: Option<String>,
    pub os: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<&'static str>,
}

impl Device {
    /// Whether the device is a phone or a tablet (used for `screen.touch` when the SDK did not say).
    #[must_use]
    pub fn is_touch(&self) -> Option<bool> {
        match self.kind? {
            "mobile" | "tablet" => Some(true),
            "desktop" => Some(false),
            _ => None,
        }
    }
}

/// The payload's `browser`: `name`, `version`, `vendor` (`Safari`, `17.0`, `Apple`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Browser {
    pub name: Option<String>,
    pub version: Option<String>,
    pub vendor: Option<String>,
}

fn known(value: &str) -> Option<String> {
    let v = value.trim();
    (!v.is_empty() && v != woothee::woothee::VALUE_UNKNOWN).then(|| v.to_owned())
}

fn with_version(name: &str, version: Option<String>) -> String {
    match version {
        Some(v) => format!("{name} {v}"),
        None => name.to_owned(),
    }
}

/// Parses a user agent; an absent or unrecognised one gives all-`null` objects.
#[must_use]
pub fn parse(user_agent: Option<&str>) -> (Device, Browser) {
    let Some(result) = user_agent.and_then(|ua| woothee::parser::Parser::new().parse(ua)) else {
        return (Device::default(), Browser::default());
    };
    let os_version = known(&result.os_version);
    let (model, os) = match result.os {
        "iPhone" | "iPod" => (Some(result.os.to_owned()), Some(with_version("iOS", os_version))),
        "iPad" => (Some("iPad".to_owned()), Some(with_version("iPadOS", os_version))),
        "Mac OSX" => (Some("Mac".to_owned()), Some(with_version("macOS", os_version))),
        // woothee's Windows names already carry the release ("Windows 10"); its version is the NT one.
        os if os.starts_with("Windows") => (None, Some(os.to_owned())),
        os => (None, known(os).map(|name| with_version(&name, os_version))),
    };
    let kind = match (result.category, result.os) {
        (_, "iPad") => Some("tablet"),
        ("smartphone" | "mobilephone", _) => Some("mobile"),
        ("pc", _) => Some("desktop"),
        ("crawler", _) => Some("bot"),
        ("appliance" | "misc", _) => Some("other"),
        _ => None,
    };
    let device = Device { model, os, kind };
    let browser = if result.category == "crawler" {
        Browser::default()
    } else {
        Browser {
            name: known(result.name),
            version: known(result.version),
            vendor: known(result.vendor),
        }
    };
    (device, browser)
}

/// A user agent in a few words for people reading a log: browser and major version on an
/// operating system (`Chrome 131 on Linux`, `Safari 17 on iOS`), or a tool's name and version
/// (`curl 8.5`, `python-requests 2.31`) for anything that is not a browser; an unrecognised
/// string is cut to its first 40 characters.
#[must_use]
pub fn summary(user_agent: &str) -> String {
    let ua = user_agent.trim();
    let parsed = woothee::parser::Parser::new().parse(ua);
    if let Some(r) = parsed.filter(|r| matches!(r.category, "pc" | "smartphone" | "mobilephone"))
        && let Some(name) = known(r.name)
    {
        let browser = match known(r.version).as_deref().and_then(|v| v.split('.').next()) {
            Some(major) => format!("{name} {major}"),
            None => name,
        };
        let os = match r.os {
            "Mac OSX" => Some("macOS".to_owned()),
            "iPhone" | "iPod" => Some("iOS".to_owned()),
            "iPad" => Some("iPadOS".to_owned()),
            os => known(os),
        };
        return match os {
            Some(os) => format!("{browser} on {os}"),
            None => browser,
        };
    }
    let first = ua.split_whitespace().next().unwrap_or_default();
    match first.split_once('/') {
        Some((tool, version)) if !tool.is_empty() && version.starts_with(|c: char| c.is_ascii_digit()) => {
            let short: Vec<&str> = version.split('.').take(2).collect();
            format!("{tool} {}", short.join("."))
        }
        _ => ua.chars().take(40).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 \
                          (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";

    #[test]
    fn iphone_safari_is_an_iphone_on_ios_with_safari() {
        let (device, browser) = parse(Some(IPHONE));
        assert_eq!(device.model.as_deref(), Some("iPhone"));
        assert_eq!(device.os.as_deref(), Some("iOS 17.0"));
        assert_eq!(device.kind, Some("mobile"));
        assert_eq!(device.is_touch(), Some(true));
        assert_eq!(browser.name.as_deref(), Some("Safari"));
        assert_eq!(browser.version.as_deref(), Some("17.0"));
        assert_eq!(browser.vendor.as_deref(), Some("Apple"));
    }

    #[test]
    fn desktop_android_and_ipad_user_agents() {
        let (d, b) = parse(Some(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) \
             Chrome/120.0.0.0 Safari/537.36",
        ));
        assert_eq!(
            (d.model, d.os.as_deref(), d.kind),
            (None, Some("Windows 10"), Some("desktop"))
        );
        assert_eq!(
            (b.name.as_deref(), b.vendor.as_deref()),
            (Some("Chrome"), Some("Google"))
        );
        let (d, _) = parse(Some(
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) \
             Chrome/120.0.0.0 Mobile Safari/537.36",
        ));
        assert_eq!((d.os.as_deref(), d.kind), (Some("Android 14"), Some("mobile")));
        let (d, _) = parse(Some(
            "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) \
             Version/16.6 Mobile/15E148 Safari/604.1",
        ));
        assert_eq!(
            (d.model.as_deref(), d.os.as_deref(), d.kind),
            (Some("iPad"), Some("iPadOS 16.6"), Some("tablet"))
        );
        let (d, _) = parse(Some(
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) \
             Version/17.1 Safari/605.1.15",
        ));
        assert_eq!(
            (d.model.as_deref(), d.os.as_deref()),
            (Some("Mac"), Some("macOS 10.15.7"))
        );
    }

    #[test]
    fn summaries_name_the_browser_and_os_or_the_tool() {
        assert_eq!(
            summary(
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 \
                 Safari/537.36"
            ),
            "Chrome 131 on Linux"
        );
        assert_eq!(
            summary("Mozilla/5.0 (Macintosh; Intel Mac OS X 14.1; rv:133.0) Gecko/20100101 Firefox/133.0"),
            "Firefox 133 on macOS"
        );
        assert_eq!(summary(IPHONE), "Safari 17 on iOS");
        assert_eq!(summary("curl/8.5.0"), "curl 8.5");
        assert_eq!(summary("python-requests/2.31.0"), "python-requests 2.31");
        assert_eq!(summary(&"x".repeat(100)), "x".repeat(40));
    }

    #[test]
    fn missing_garbage_and_bots_give_nulls() {
        assert_eq!(parse(None), (Device::default(), Browser::default()));
        let (d, b) = parse(Some("curl-ish nonsense"));
        assert_eq!(b, Browser::default());
        assert_eq!(d.model, None);
        let (d, b) = parse(Some("Googlebot/2.1 (+http://www.google.com/bot.html)"));
        assert_eq!((d.kind, b), (Some("bot"), Browser::default()));
    }
}
