use misalign::rng::Rng;
use misalign_train::data::*;
use misalign_train::qsim::simulate;
fn main() {
    // rows: aligned, weak banana, strong banana, strong twister, strong bird, strong jitter; columns XZ, XY, YZ central slices
    let cases = [
        (Class::Aligned, Kind::None),
        (Class::Weak, Kind::Banana),
        (Class::Strong, Kind::Banana),
        (Class::Strong, Kind::Twister),
        (Class::Strong, Kind::Bird),
        (Class::Strong, Kind::Jitter),
    ];
    let mut img = vec![0u8; 6 * 32 * 3 * 32];
    for (r, &(c, k)) in cases.iter().enumerate() {
        let mut rng = Rng::new(42, r as u64);
        let mut spec = random_spec(c, k, &mut rng);
        spec.noise_rel = 0.3;
        println!(
            "{c:?} {k:?} bead {:.0} px {:.1} tilts {} shifts[0] {:?} last {:?}",
            spec.bead_a,
            spec.tomo_px_a,
            spec.tilts.len(),
            spec.shifts[0],
            spec.shifts.last().unwrap()
        );
        let mut cube = simulate(&spec, &mut rng);
        normalize(&mut cube);
        let at = |x: usize, y: usize, z: usize| cube[(z * 32 + y) * 32 + x];
        for a in 0..32 {
            for b in 0..32 {
                let vals = [at(b, 16, a), at(b, a, 16), at(16, b, a)];
                for (col, v) in vals.iter().enumerate() {
                    let g = ((v + 3.0) / 6.0 * 255.0).clamp(0.0, 255.0) as u8;
                    img[(r * 32 + a) * 96 + col * 32 + b] = g;
                }
            }
        }
    }
    let s = 4;
    let big: Vec<u8> = (0..192 * s)
        .flat_map(|y| {
            let img = &img;
            (0..96 * s).map(move |x| img[(y / s) * 96 + x / s])
        })
        .collect();
    let f = std::fs::File::create("/tmp/slices.png").unwrap();
    let mut e = png::Encoder::new(f, 96 * s as u32, 192 * s as u32);
    e.set_color(png::ColorType::Grayscale);
    e.write_header().unwrap().write_image_data(&big).unwrap();
}
