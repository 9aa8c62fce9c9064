//! How long the sandbox takes to seed its largest org (100,000 users) and be ready to serve,
//! beside the default 1,250: what `sandbox/tests/api.rs` used to bound with a timing assert.
//!
//! `cargo bench -p conformance --bench sandbox_start`

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use sandbox::{SandboxConfig, SandboxState};

fn start(c: &mut Criterion) {
    let mut group = c.benchmark_group("sandbox_start");
    group.sample_size(10);
    for users in [1_250, 100_000] {
        group.bench_with_input(BenchmarkId::new("users", users), &users, |b, &users| {
            b.iter(|| {
                let state = SandboxState::new(&SandboxConfig {
                    users,
                    ..SandboxConfig::default()
                })
                .expect("the sandbox state builds");
                assert_eq!(state.user_count(), users);
                state
            })
        });
    }
    group.finish();
}

criterion_group!(benches, start);
criterion_main!(benches);
