//! The document's script: it loads the wasm and brings the page's islands to life, and only on
//! a page that has islands. A page without one (the landing page, a sign-in failure, most error
//! pages) is HTML and downloads no JavaScript or wasm at all.
//!
//! Leptos' `HydrationScripts` preloads the JavaScript and the wasm on every page from the
//! document's head, before the body says whether anything will need them. The loader here runs
//! once the document is parsed (a module script), looks for `<leptos-island>` first, and fetches
//! nothing when there is none. Lazy islands still get their own chunks preloaded: Leptos' SSR
//! adds those links for the islands a page rendered, through the split manifest provided here.

use leptos::prelude::*;

/// The loader: `(pkg root, js file, wasm file)`. It sets `<body data-hydrated="true">` once
/// every island is live (right away on a page without islands), which end-to-end tests wait for.
/// `<leptos-children>` is how Leptos passes server-rendered children into an island: their
/// hydration callback runs before the island inside them hydrates.
#[cfg(feature = "ssr")]
const LOADER: &str = r#"((root, js, wasm) => {
  const done = () => document.body.setAttribute('data-hydrated', 'true');
  if (!document.querySelector('leptos-island')) { done(); return; }
  const childrenHooks = [];
  async function island(el, mod) {
    const hydrate = mod[el.dataset.component];
    if (!hydrate) { console.warn(`no wasm function for the island ${el.dataset.component}`); return; }
    const hook = childrenHooks[childrenHooks.length - 1];
    if (hook) hook();
    await hydrate(el);
  }
  async function walk(node, mod) {
    for (const el of node.children) {
      const tag = el.tagName.toLowerCase();
      if (tag === 'leptos-island') { await island(el, mod); await walk(el, mod); }
      else if (tag === 'leptos-children') { childrenHooks.push(el.$$on_hydrate); await walk(el, mod); childrenHooks.pop(); }
      else await walk(el, mod);
    }
  }
  async function start() {
    const mod = await import(`${root}/${js}.js`);
    await mod.default({ module_or_path: `${root}/${wasm}.wasm` });
    mod.hydrate();
    await walk(document.body, mod);
    done();
  }
  if ('requestIdleCallback' in window) requestIdleCallback(start); else start();
})"#;

/// The build's file names, read once per process: cargo-leptos' `hash.txt` beside the binary
/// when `hash-files` is on, and the split manifest when the wasm was built with `--split`.
#[cfg(feature = "ssr")]
struct Build {
    pkg: String,
    js: String,
    wasm: String,
    split: Option<leptos::WasmSplitManifest>,
}

#[cfg(feature = "ssr")]
fn build(options: &LeptosOptions) -> &'static Build {
    use std::{collections::HashMap, sync::OnceLock};
    static BUILD: OnceLock<Build> = OnceLock::new();
    BUILD.get_or_init(|| {
        let name = options.output_name.to_string();
        let pkg = format!("/{}", options.site_pkg_dir);
        let mut hashes = HashMap::new();
        if options.hash_files {
            let path = std::env::current_exe()
                .ok()
                .and_then(|exe| exe.parent().map(|dir| dir.join(options.hash_file.as_ref())));
            match path.map(std::fs::read_to_string) {
                Some(Ok(text)) => {
                    for line in text.lines() {
                        if let Some((file, hash)) = line.split_once(':') {
                            hashes.insert(file.trim().to_string(), hash.trim().to_string());
                        }
                    }
                }
                _ => tracing::error!(
                    "hash-files is on but the build's hash file was not found; the page loads unhashed names"
                ),
            }
        }
        let named = |base: &str, key: &str| match hashes.get(key) {
            Some(hash) => format!("{base}.{hash}"),
            None => base.to_string(),
        };
        let js = named(&name, "js");
        let mut wasm = named(&name, "wasm");
        if !options.hash_files && option_env!("LEPTOS_OUTPUT_NAME").is_none() {
            wasm.push_str("_bg");
        }
        let manifest = std::path::Path::new(options.site_root.as_ref())
            .join(options.site_pkg_dir.as_ref())
            .join(format!("{}.json", named("__wasm_split_manifest", "manifest")));
        let split = std::fs::read_to_string(manifest).ok().and_then(|text| {
            match serde_json::from_str::<HashMap<String, Vec<String>>>(&text) {
                Ok(chunks) => Some(leptos::WasmSplitManifest(ArcStoredValue::new((
                    pkg.clone(),
                    chunks,
                    format!("{}.js", named("__wasm_split", "split")),
                )))),
                Err(error) => {
                    tracing::error!(%error, "the wasm split manifest is not valid JSON; lazy islands load without preloads");
                    None
                }
            }
        });
        Build {
            pkg,
            js,
            wasm,
            split,
        }
    })
}

/// In the document's head, in place of Leptos' `HydrationScripts` (islands mode).
#[component]
pub fn IslandScripts(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    return loader(&options);
    #[cfg(not(feature = "ssr"))]
    let _ = options;
}

#[cfg(feature = "ssr")]
fn loader(options: &LeptosOptions) -> impl IntoView {
    let build = build(options);
    if let Some(split) = &build.split {
        provide_context(split.clone());
    }
    // Islands mode: only islands carry hydration markers.
    if let Some(context) = Owner::current_shared_context() {
        context.set_is_hydrating(false);
    }
    let script = format!(
        "{LOADER}({:?}, {:?}, {:?});",
        build.pkg, build.js, build.wasm
    );
    view! { <script type="module" nonce=leptos::nonce::use_nonce()>{script}</script> }
}
