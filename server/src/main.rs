//! genesys-portal's server binary: reads the configuration, builds the portal and serves it
//! until SIGINT or SIGTERM.

use leptos::config::get_configuration;
use server::{build, cli, config, scope, shutdown};

/// mimalloc instead of glibc's malloc: a page render allocates and frees thousands of small
/// strings, and glibc's allocator took about a fifth of the directory benchmark's CPU
/// (`docs/BENCHMARKS.md`, "Directory SSR throughput").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn exit_with(errors: &[String]) -> ! {
    eprintln!("genesys-portal cannot start; fix these settings:");
    for e in errors {
        eprintln!("  - {e}");
    }
    std::process::exit(2)
}

fn init_tracing(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("info,sqlx=warn,tower_sessions=warn,hyper=warn")
    });
    // Colours only on a terminal: log files and collectors get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn main() {
    // `.env` first, while this is the only thread (it sets variables the environment lacks).
    if let Err(e) = cli::load_dotenv() {
        exit_with(&[e]);
    }
    let invocation = match cli::parse(std::env::args_os()) {
        Ok(i) => i,
        Err(e) => match e.kind() {
            clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                let _ = e.print();
                std::process::exit(0)
            }
            _ => {
                eprintln!("{}", cli::one_line(&e));
                std::process::exit(2)
            }
        },
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| exit_with(&[format!("cannot start the runtime: {e}")]));
    runtime.block_on(run(invocation))
}

async fn run(invocation: cli::Invocation) {
    let conf = get_configuration(None)
        .unwrap_or_else(|e| exit_with(&[format!("Leptos configuration: {e}")]));
    let mut leptos_options = conf.leptos_options;
    // cargo-leptos names the site's files by their hash and writes the names beside the binary;
    // a binary started by hand (not by `cargo leptos`) reads them too.
    if !leptos_options.hash_files {
        leptos_options.hash_files = std::env::current_exe()
            .ok()
            .and_then(|exe| Some(exe.parent()?.join(&*leptos_options.hash_file)))
            .is_some_and(|file| file.is_file());
    }
    if let Some(addr) = invocation.site_addr {
        leptos_options.site_addr = addr;
    }
    let config = config::from_vars(&invocation.vars, leptos_options.site_addr)
        .unwrap_or_else(|errors| exit_with(&errors));
    init_tracing(config.json_logs);
    scope::install_panic_hook();
    let stopping = shutdown::watch_signals(config.shutdown_grace)
        .unwrap_or_else(|e| exit_with(&[format!("cannot watch for signals: {e}")]));
    let addr = leptos_options.site_addr;
    let built = build(&config, leptos_options)
        .await
        .unwrap_or_else(|errors| exit_with(&errors));
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .unwrap_or_else(|e| {
            exit_with(&[format!("cannot listen on {addr} (LEPTOS_SITE_ADDR): {e}")])
        });
    tracing::info!(%addr, replica = %config.replica_id, database = built.portal.grants.engine().name(), public = %config.public_url, upstream = %built.portal.upstream.label(), "genesys-portal listening");
    let served = axum::serve(
        listener,
        built
            .router
            .into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(stopping.cancelled_owned())
    .await;
    if let Err(e) = served {
        exit_with(&[format!("server error: {e}")]);
    }
    // What the drained requests spawned gets a moment to finish; the watcher's deadline still
    // holds. Exiting here, not by dropping the runtime, which would wait on any stuck thread.
    shutdown::drain_render_tasks(std::time::Duration::from_secs(2)).await;
    tracing::info!("stopped");
    std::process::exit(0);
}
