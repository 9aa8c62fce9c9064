//! The site's built files as the server's own pages name them: cargo-leptos renames the
//! stylesheet to `genesys-portal.<hash>.css` (see `hash-files`), and the pages the server
//! writes without Leptos (the embed pages, the panic page) must link that name.

use std::sync::OnceLock;

use leptos::prelude::LeptosOptions;

static STYLESHEET: OnceLock<String> = OnceLock::new();

/// Reads the build's file names once (the first portal built in the process wins: every portal
/// of a process serves the same site).
pub fn publish(options: &LeptosOptions) {
    let _ = STYLESHEET.set(stylesheet_of(options, hashes(options).as_deref()));
}

/// The stylesheet's path, `/pkg/genesys-portal.css` until [`publish`] ran.
pub fn stylesheet() -> &'static str {
    STYLESHEET
        .get()
        .map_or("/pkg/genesys-portal.css", String::as_str)
}

/// `hash.txt` beside the binary, when the build hashed its files.
fn hashes(options: &LeptosOptions) -> Option<String> {
    if !options.hash_files {
        return None;
    }
    let exe = std::env::current_exe().ok()?;
    std::fs::read_to_string(exe.parent()?.join(&*options.hash_file)).ok()
}

/// The stylesheet's path for `hashes` (`css: <hash>` lines, as cargo-leptos writes them).
fn stylesheet_of(options: &LeptosOptions, hashes: Option<&str>) -> String {
    let hash = hashes.into_iter().flat_map(str::lines).find_map(|line| {
        let (file, hash) = line.trim().split_once(':')?;
        (file.trim() == "css").then(|| hash.trim().to_string())
    });
    let name = &options.output_name;
    match hash {
        Some(hash) => format!("/{}/{name}.{hash}.css", options.site_pkg_dir),
        None => format!("/{}/{name}.css", options.site_pkg_dir),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stylesheet_carries_the_builds_hash() {
        let options = LeptosOptions::builder()
            .output_name("genesys-portal")
            .site_pkg_dir("pkg")
            .build();
        let hashes = "js: AAAAAAAAAAAAAAAAAAAAAA\ncss: S2wM3lb2IQRFc6Zb-QSp_w\nwasm: BBBB\n";
        assert_eq!(
            stylesheet_of(&options, Some(hashes)),
            "/pkg/genesys-portal.S2wM3lb2IQRFc6Zb-QSp_w.css"
        );
        assert_eq!(stylesheet_of(&options, None), "/pkg/genesys-portal.css");
        assert_eq!(
            stylesheet_of(&options, Some("js: x\n")),
            "/pkg/genesys-portal.css"
        );
    }
}
