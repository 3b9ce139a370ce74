//! Dumps blocks and our cubes for the numpy cross-check (`.ci/steps/40-extract-numpy.sh`,
//! `tests/peers/extract_numpy.py`). Ignored by default: it only writes files.
use std::path::PathBuf;

use misalign::host::extract::{
    extract, resample_block, resample_block_shifted, BoxRule, ExtractParams, Normalization,
};
use misalign::host::Acquisition;
use misalign::host::Volume;
use misalign::net::topology::CUBE_LEN;

mod common;
use common::noise;

fn write(dir: &std::path::Path, name: &str, v: &[f32]) {
    let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    std::fs::write(dir.join(name), bytes).unwrap();
}

#[test]
#[ignore = "writes files for the numpy peer; run by .ci/steps/40-extract-numpy.sh"]
fn numpy_peer_dump() {
    let dir = PathBuf::from(std::env::var("MISALIGN_PEER_DIR").expect("MISALIGN_PEER_DIR"));
    std::fs::create_dir_all(&dir).unwrap();
    let mut out = [0.0f32; CUBE_LEN];
    for &b in &[8usize, 13, 14, 32, 37, 48, 74] {
        let block = noise(b * b * b, b as u64);
        write(&dir, &format!("block_{b}.f32"), &block);
        resample_block(&block, b, &mut out);
        write(&dir, &format!("sym_{b}.f32"), &out);
        resample_block_shifted(&block, b, [0.3, -0.45, 0.125], &mut out);
        write(&dir, &format!("symshift_{b}.f32"), &out);
    }
    // V1: a volume that is exactly the block, bead at index ⌊B/2⌋ (s_tomo gives B_e).
    for &(s, b) in &[(13.7f32, 14usize), (13.0, 15), (5.4, 37), (2.7, 74)] {
        let p = ExtractParams {
            normalization: Normalization::Raw,
            box_rule: BoxRule::XmippV1,
            threads: 1,
            ..ExtractParams::new(Acquisition {
                sampling_a: s as f64,
                bead_diameter_a: 100.0,
            })
        };
        let vol = Volume::from_data([b; 3], [s; 3], noise(b * b * b, 1000 + b as u64)).unwrap();
        let h = (b / 2) as f64;
        let e = extract(&vol, &[[h, h, h]], &p).unwrap();
        assert_eq!(e.box_edge, b);
        write(&dir, &format!("v1block_{b}.f32"), &vol.data);
        write(&dir, &format!("v1_{b}.f32"), e.cube(0));
    }
}
