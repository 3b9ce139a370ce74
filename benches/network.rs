//! Forward-pass speed: ms per cube and GFLOP/s at batch 1 on one thread (per backend), and the
//! throughput gain of two threads through `score_cubes`. Run: `cargo bench --bench network`.
use std::time::Instant;

use criterion::{criterion_group, Criterion, Throughput};
use misalign::host::infer::score_cubes;
use misalign::net::forward::{logit_with, Prepared, Scratch};
use misalign::net::kernels::{conv_pool_row, panel_len, Backend};
use misalign::net::topology::{CUBE_LEN, FLOPS_PER_CUBE};
use misalign::net::weights::WeightFile;

fn setup() -> (Box<Prepared>, Vec<f32>) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/keras-golden");
    let bytes = std::fs::read(format!("{dir}/model.mlw")).expect("fixture weights");
    let net = Prepared::boxed(&WeightFile::parse(&bytes).expect("valid fixture"));
    let mrc = std::fs::read(format!("{dir}/cubes.mrc")).expect("fixture cubes");
    let cubes = mrc[1024..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    (net, cubes)
}

/// Time per cube (seconds) of single-thread calls: the best of 30 rounds of `reps` calls (the
/// same statistic `tools/ort_bench.py` reports for ONNX Runtime).
fn time_single(b: Backend, net: &Prepared, cubes: &[f32], reps: usize) -> f64 {
    let mut scratch = Scratch::boxed();
    let n = cubes.len() / CUBE_LEN;
    let mut best = f64::INFINITY;
    for _ in 0..30 {
        let t = Instant::now();
        let mut acc = 0.0f32;
        for r in 0..reps {
            let c: &[f32; CUBE_LEN] = cubes[(r % n) * CUBE_LEN..(r % n + 1) * CUBE_LEN]
                .try_into()
                .unwrap();
            acc += logit_with(b, net, c, &mut scratch);
        }
        std::hint::black_box(acc);
        best = best.min(t.elapsed().as_secs_f64() / reps as f64);
    }
    best
}

/// One layer's row kernel run as often as one forward pass runs it (E² rows), on a full panel:
/// prints ms per cube and GFLOP/s, to show where the time goes.
fn layer<const CI: usize, const CO: usize, const E: usize, const P: usize>(b: Backend) {
    let panel: Vec<f32> = (0..panel_len(CI, E))
        .map(|i| (i % 7) as f32 - 3.0)
        .collect();
    let w: Vec<f32> = (0..27 * CI * CO).map(|i| (i % 5) as f32 * 0.1).collect();
    let bias = vec![0.5f32; CO];
    let mut pooled = vec![0.0f32; (E / P) * CO];
    let valid = [true; 9];
    // Best of many short runs: the minimum is what survives a noisy shared machine.
    let mut best = f64::INFINITY;
    for _ in 0..40 {
        let t = Instant::now();
        for _ in 0..E * E {
            conv_pool_row::<CI, CO, E, P>(b, &panel, &valid, &w, &bias, &mut pooled);
        }
        std::hint::black_box(&mut pooled);
        best = best.min(t.elapsed().as_secs_f64());
    }
    let flops = 2.0 * (27 * CI * CO * E * E * E) as f64;
    println!(
        "network/{:<9} conv {CI:>2}->{CO:<2} at {E:>2}^3: {:.3} ms/cube, {:.1} GFLOP/s",
        b.name(),
        best * 1e3,
        flops / best / 1e9
    );
}

fn summary() {
    let b = Backend::best();
    layer::<1, 16, 32, 2>(b);
    layer::<16, 16, 16, 2>(b);
    layer::<16, 32, 8, 2>(b);
    layer::<32, 64, 4, 4>(b);
    let (net, cubes) = setup();
    let mut backends = vec![Backend::scalar()];
    backends.extend(Backend::avx2_fma());
    for b in backends {
        let s = time_single(b, &net, &cubes, 10);
        println!(
            "network/{:<9} batch 1, 1 thread: {:.3} ms/cube, {:.1} GFLOP/s",
            b.name(),
            s * 1e3,
            FLOPS_PER_CUBE as f64 / s / 1e9
        );
    }
    // Throughput: 64 cubes through score_cubes with 1 and 2 threads, the two alternating over
    // 10 rounds (so both see the same machine load), best round of each.
    let many = batch(&cubes);
    let mut per = [f64::INFINITY; 2];
    for _ in 0..10 {
        for (k, threads) in [1usize, 2].into_iter().enumerate() {
            let t = Instant::now();
            std::hint::black_box(score_cubes(&net, &many, false, threads).unwrap());
            per[k] = per[k].min(t.elapsed().as_secs_f64() / 64.0);
        }
    }
    for (k, threads) in [1usize, 2].into_iter().enumerate() {
        println!(
            "network/score_cubes {threads} thread(s): {:.3} ms/cube, {:.1} GFLOP/s",
            per[k] * 1e3,
            FLOPS_PER_CUBE as f64 / per[k] / 1e9
        );
    }
    println!("network/2-thread throughput ratio: {:.2}x", per[0] / per[1]);
}

/// The throughput batch: 64 cubes (the fixture's 16, repeated).
fn batch(cubes: &[f32]) -> Vec<f32> {
    cubes.iter().cycle().take(64 * CUBE_LEN).copied().collect()
}

fn bench(c: &mut Criterion) {
    let (net, cubes) = setup();
    let cube: &[f32; CUBE_LEN] = cubes[..CUBE_LEN].try_into().unwrap();
    let mut scratch = Scratch::boxed();
    let b = Backend::best();
    c.bench_function(&format!("logit batch1 {}", b.name()), |bn| {
        bn.iter(|| logit_with(b, &net, std::hint::black_box(cube), &mut scratch))
    });
    let many = batch(&cubes);
    let mut g = c.benchmark_group("score_cubes 64");
    g.throughput(Throughput::Elements(64));
    for threads in [1usize, 2] {
        g.bench_function(format!("{threads} thread(s)"), |bn| {
            bn.iter(|| score_cubes(&net, std::hint::black_box(&many), false, threads).unwrap())
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(3));
    targets = bench
}

fn main() {
    summary();
    // tools/bench_vs_ort.py only needs the summary lines.
    if std::env::var_os("MISALIGN_BENCH_SUMMARY_ONLY").is_some() {
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
