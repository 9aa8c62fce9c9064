//! A throwaway PostgreSQL cluster for a test: `initdb` into a temp directory and `pg_ctl` on a
//! free loopback port (trust authentication, loopback only, fsync off), stopped and deleted on
//! drop. PostgreSQL refuses to run as root, so as root the cluster runs as the `postgres` user.

#![allow(dead_code)]

use std::{
    path::PathBuf,
    process::{Command, Output},
};

pub struct Postgres {
    dir: PathBuf,
    pub port: u16,
    as_postgres_user: bool,
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

impl Postgres {
    /// Starts a new cluster; panics with the tool's output when it cannot.
    pub fn start() -> Postgres {
        let as_postgres_user = is_root();
        let dir =
            std::env::temp_dir().join(format!("portal-pg-{}", app::backend::ids::random_id()));
        std::fs::create_dir_all(&dir).unwrap();
        if as_postgres_user {
            let done = Command::new("chown")
                .args(["postgres:postgres"])
                .arg(&dir)
                .status()
                .expect("chown");
            assert!(done.success(), "chown of {} to postgres", dir.display());
        }
        let pg = Postgres {
            dir,
            port: super::free_port(),
            as_postgres_user,
        };
        let data = pg.data().display().to_string();
        pg.run(&[
            "initdb",
            "-D",
            &data,
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-sync",
        ]);
        pg.start_again();
        pg
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn run(&self, args: &[&str]) -> Output {
        let program = binary(args[0]);
        let args: Vec<&str> = std::iter::once(program.as_str())
            .chain(args[1..].iter().copied())
            .collect();
        let args = &args[..];
        let mut command = if self.as_postgres_user {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]);
            c.args(args);
            c
        } else {
            let mut c = Command::new(args[0]);
            c.args(&args[1..]);
            c
        };
        let out = command.output().unwrap_or_else(|e| {
            panic!(
                "{} cannot run ({e}): is PostgreSQL installed? scripts/setup.sh installs it",
                args[0]
            )
        });
        assert!(
            out.status.success(),
            "{args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Starts the server (again, after [`Postgres::stop`]), on the same port and data.
    pub fn start_again(&self) {
        let data = self.data().display().to_string();
        let log = self.dir.join("server.log").display().to_string();
        let options = format!(
            "-p {} -h 127.0.0.1 -k {} -F -c max_connections=200",
            self.port,
            self.dir.display()
        );
        self.run(&[
            "pg_ctl", "-D", &data, "-l", &log, "-o", &options, "-w", "start",
        ]);
    }

    /// Stops the server at once (`immediate`: as a crash would), keeping the data.
    pub fn stop(&self) {
        let data = self.data().display().to_string();
        self.run(&["pg_ctl", "-D", &data, "-m", "immediate", "-w", "stop"]);
    }

    /// A URL for a database of the cluster (`postgres` is there from the start).
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Creates a database and returns its URL.
    pub async fn database(&self, name: &str) -> String {
        use sqlx::Executor;
        let admin = sqlx::PgPool::connect(&self.url("postgres")).await.unwrap();
        admin
            .execute(format!("CREATE DATABASE \"{name}\"").as_str())
            .await
            .unwrap();
        admin.close().await;
        self.url(name)
    }
}

/// `name` on PATH, else from the newest `/usr/lib/postgresql/<version>/bin` (Debian's place).
fn binary(name: &str) -> String {
    let on_path = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(name).is_file()));
    if on_path {
        return name.to_string();
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path().join("bin").join(name))
                .collect()
        })
        .unwrap_or_default();
    versions.retain(|p| p.is_file());
    versions.sort_by_key(|p| {
        p.components()
            .nth(4)
            .and_then(|c| c.as_os_str().to_str()?.parse::<u32>().ok())
            .unwrap_or(0)
    });
    versions
        .pop()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| name.to_string())
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.data().display().to_string();
        let mut command = if self.as_postgres_user {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(binary("pg_ctl"));
            c
        } else {
            Command::new(binary("pg_ctl"))
        };
        let _ = command
            .args(["-D", &data, "-m", "immediate", "-w", "stop"])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
