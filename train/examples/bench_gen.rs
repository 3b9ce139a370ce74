use misalign_train::data::*;
fn main() {
    let t = std::time::Instant::now();
    let ds = generate(5, 200, 2);
    let dt = t.elapsed().as_secs_f64();
    println!(
        "{} cubes in {dt:.2}s = {:.1}/s",
        ds.len(),
        ds.len() as f64 / dt
    );
    let mut c = vec![0f32; 32768];
    for i in 0..10 {
        ds.cube(i, &mut c);
        let mn = c.iter().cloned().fold(f32::MAX, f32::min);
        let centre = c[(16 * 32 + 16) * 32 + 16];
        println!(
            "{i} {:?} {:?} min {mn:.2} centre {centre:.2}",
            ds.class[i], ds.kind[i]
        );
    }
}
