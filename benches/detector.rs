//! Criterion benchmark of the fiducial detector on a small procedural tomogram
//! (the full-size timing is `cargo run --release --example detector_bench`).
#[path = "../examples/detector_bench/synth.rs"]
mod synth;

use criterion::{criterion_group, criterion_main, Criterion};
use misalign::host::detector::{detect, DetectorParams};
use misalign::host::Acquisition;

fn bench(c: &mut Criterion) {
    let src = synth::Synthetic::new([256, 256, 64], 12, 10.0, 0.4);
    let acq = Acquisition {
        sampling_a: 10.0,
        ..Acquisition::default()
    };
    let p = DetectorParams {
        threads: 2,
        ..DetectorParams::default()
    };
    let mut g = c.benchmark_group("detector");
    g.sample_size(10);
    g.bench_function("detect_256x256x64_2threads", |b| {
        b.iter(|| detect(&src, &acq, &p, None).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
