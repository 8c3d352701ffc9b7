//! The page `ser serve` serves: three files embedded in the binary
//! (`page/index.html`, `page/app.js`, `page/style.css`); nothing else is
//! served, and the page fetches nothing from the internet.

use super::http::Reply;

/// The embedded files: name, content type, bytes.
const ASSETS: [(&str, &str, &str); 3] = [
    (
        "index.html",
        "text/html; charset=utf-8",
        include_str!("page/index.html"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("page/app.js"),
    ),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("page/style.css"),
    ),
];

/// The reply for an embedded file (404 for any other name).
pub fn asset(name: &str) -> Reply {
    match ASSETS.iter().find(|(n, _, _)| *n == name) {
        Some((_, ty, body)) => Reply::bytes(200, ty, body.as_bytes().to_vec()),
        None => Reply::error(404, format!("not found: /{name}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_loads_nothing_from_elsewhere() {
        for (name, _, body) in ASSETS {
            for needle in ["http://", "https://", "//cdn", "@import"] {
                assert!(!body.contains(needle), "{name} mentions {needle}");
            }
        }
        assert_eq!(asset("index.html").status, 200);
        assert_eq!(asset("../Cargo.toml").status, 404);
    }
}
