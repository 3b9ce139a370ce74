use misalign::rng::Rng;
use misalign_train::{adam::Adam, model::*};
fn main() {
    let p0 = init_params(1);
    let mut p = p0.clone();
    let mut r = Rng::new(2, 0);
    let b = 32;
    let cubes: Vec<Vec<f32>> = (0..b)
        .map(|_| (0..32768).map(|_| r.normal() as f32).collect())
        .collect();
    let refs: Vec<&[f32]> = cubes.iter().map(|c| &c[..]).collect();
    let labels: Vec<f32> = (0..b).map(|i| (i % 2) as f32).collect();
    let mut ws = Workspace::new(2);
    let mut adam = Adam::new(p.len(), 1e-3);
    let mask = trainable_mask();
    for s in 0..4 {
        let t = std::time::Instant::now();
        let res = ws.run(
            &p,
            1e-3,
            &refs,
            Some(&labels),
            Mode::Train { dropout_seed: s },
        );
        update_moving_stats(&mut p, &res.bn_stats);
        adam.step(&mut p, &res.grad, &mask);
        println!(
            "step {s} loss {:.4} {:.3}s -> {:.1} samples/s",
            res.loss,
            t.elapsed().as_secs_f64(),
            b as f64 / t.elapsed().as_secs_f64()
        );
    }
}
