//! The stylesheet, scripts and icon, compiled into the binary so it runs from any directory.
//! Pages load scripts only from here (no inline scripts), so a strict CSP can allow `'self'`.

use actix_web::{HttpResponse, web};

/// `(path, content type, body, seconds browsers may cache it)`.
const ASSETS: &[(&str, &str, &str, u32)] = &[
    (
        "/static/herald.css",
        "text/css; charset=utf-8",
        include_str!("../../../static/herald.css"),
        3600,
    ),
    (
        "/static/ui.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../static/ui.js"),
        3600,
    ),
    (
        "/static/time.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../static/time.js"),
        3600,
    ),
    (
        "/static/rows.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../static/rows.js"),
        3600,
    ),
    (
        "/static/favicon.svg",
        "image/svg+xml",
        include_str!("../../../static/favicon.svg"),
        86400,
    ),
];

/// One `GET` route per asset.
pub fn routes(cfg: &mut web::ServiceConfig) {
    for &(path, content_type, body, max_age) in ASSETS {
        cfg.route(
            path,
            web::get().to(move || async move {
                HttpResponse::Ok()
                    .content_type(content_type)
                    .insert_header(("Cache-Control", format!("public, max-age={max_age}")))
                    .body(body)
            }),
        );
    }
}
