//! How pages show times: [`When`]. JSON and sentences use [`crate::timestamps`].

use std::fmt;

use time::macros::format_description;

use crate::timestamps::datetime;

/// A moment (unix milliseconds) as pages show it: `{{ when }}` in a template renders
/// `<time datetime="2026-11-26T08:12:03Z" title="2026-11-26 08:12:03 UTC">2026-11-26 08:12:03 UTC</time>`,
/// which `static/time.js` rewrites to the viewer's local time (relative when recent), keeping
/// the UTC text as the tooltip. Without JavaScript the UTC text is what people read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct When(i64);

impl When {
    /// The moment `ms` milliseconds after the unix epoch.
    #[must_use]
    pub const fn at(ms: i64) -> Self {
        Self(ms)
    }
}

impl fmt::Display for When {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = datetime(self.0);
        let machine = t
            .format(format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z"))
            .map_err(|_| fmt::Error)?;
        let human = t
            .format(format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC"))
            .map_err(|_| fmt::Error)?;
        write!(f, r#"<time datetime="{machine}" title="{human}">{human}</time>"#)
    }
}

/// The markup is built only from the digits of a date, so templates print it unescaped.
impl askama::filters::HtmlSafe for When {}

#[cfg(test)]
mod tests {
    use super::When;

    #[test]
    fn when_renders_a_time_element_to_the_second() {
        assert_eq!(
            When::at(1_764_144_723_120).to_string(),
            r#"<time datetime="2025-11-26T08:12:03Z" title="2025-11-26 08:12:03 UTC">2025-11-26 08:12:03 UTC</time>"#
        );
    }

    #[derive(askama::Template)]
    #[template(source = "<p>{{ when }}</p>", ext = "html")]
    struct Probe {
        when: When,
    }

    #[test]
    fn templates_print_when_without_escaping() {
        let html = askama::Template::render(&Probe { when: When::at(0) }).expect("renders");
        assert_eq!(
            html,
            r#"<p><time datetime="1970-01-01T00:00:00Z" title="1970-01-01 00:00:00 UTC">1970-01-01 00:00:00 UTC</time></p>"#
        );
    }
}
