//! STAR list files as batch inputs: the tomogram column is chosen by label from whichever data
//! block has it, read with the shared STAR parser (quotes, several blocks).
use std::path::{Path, PathBuf};

use misalign::host::batch::expand_inputs;

/// A fresh folder holding one STAR file with `text`; returns (folder, file).
fn star_file(tag: &str, text: &str) -> (PathBuf, PathBuf) {
    let dir =
        std::env::temp_dir().join(format!("misalign-batch-star-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("list.star");
    std::fs::write(&file, text).unwrap();
    (dir, file)
}

fn expand(file: &Path) -> misalign::host::Result<Vec<PathBuf>> {
    expand_inputs(&[file.display().to_string()])
}

#[test]
fn relion5_tomograms_star_uses_the_reconstructed_tomogram_column() {
    // As RELION 5's reconstruction job writes it: the tilt-series STAR and half maps are also
    // file names, and the first file-like value of the row is not the tomogram.
    let (dir, file) = star_file(
        "relion5",
        "\n# version 50001\n\ndata_global\n\nloop_\n\
         _rlnTomoName #1\n_rlnVoltage #2\n_rlnTomoTiltSeriesStarFile #3\n\
         _rlnTomoReconstructedTomogramHalf1 #4\n_rlnTomoReconstructedTomogram #5\n\
         TS_01 300.0 Tomograms/job006/tilt_series/TS_01.star Tomograms/job010/tomograms/rec_TS_01_half1.mrc Tomograms/job010/tomograms/rec_TS_01.mrc\n\
         TS_02 300.0 Tomograms/job006/tilt_series/TS_02.star Tomograms/job010/tomograms/rec_TS_02_half1.mrc /abs/rec_TS_02.mrc\n\n",
    );
    assert_eq!(
        expand(&file).unwrap(),
        vec![
            dir.join("Tomograms/job010/tomograms/rec_TS_01.mrc"),
            PathBuf::from("/abs/rec_TS_02.mrc"),
        ]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn multi_block_file_takes_the_block_that_lists_tomograms() {
    // The first block (key/value pairs) and the second (a loop) have no tomogram column; the
    // third lists them under an Xmipp/Scipion label; a later block with other files is ignored.
    let (dir, file) = star_file(
        "multi",
        "data_general\n_rlnVersion 50001\n_rlnComment none\n\n\
         data_optics\nloop_\n_rlnOpticsGroup #1\n_rlnImagePixelSize #2\n1 10.0\n2 13.5\n\n\
         data_tomograms\nloop_\n_tsId\n_tomoFile\nTS_01 a/TS_01.rec\nTS_02 a/TS_02.rec:mrc\n\n\
         data_extra\nloop_\n_rlnMicrographName\nmics/m1.mrc\n",
    );
    assert_eq!(
        expand(&file).unwrap(),
        vec![dir.join("a/TS_01.rec"), dir.join("a/TS_02.rec")]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn unlabelled_tables_fall_back_to_the_first_column_naming_volumes() {
    let (dir, file) = star_file(
        "fallback",
        "data_a\nloop_\n_myIndex\n_myNote\n1 first\n\n\
         data_b\nloop_\n_myIndex\n_myVolume\n_myMask\n1 t1.mrc m1.mrc\n2 t2.mrc m2.mrc\n",
    );
    assert_eq!(
        expand(&file).unwrap(),
        vec![dir.join("t1.mrc"), dir.join("t2.mrc")]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn quoted_names_with_spaces_stay_one_path() {
    let (dir, file) = star_file(
        "quoted",
        "data_global\nloop_\n_rlnTomoName\n_rlnTomoReconstructedTomogram\n\
         'TS 01' \"b c.mrc\"\nTS_02 'my tomos/TS_02.mrc'\n",
    );
    assert_eq!(
        expand(&file).unwrap(),
        vec![dir.join("b c.mrc"), dir.join("my tomos/TS_02.mrc")]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn no_block_with_a_tomogram_is_an_error_naming_the_file() {
    // Names only, no file column: nothing to check, and the message says which file and why.
    let (dir, file) = star_file(
        "none",
        "data_global\nloop_\n_rlnTomoName\n_rlnVoltage\nTS_01 300\n\ndata_optics\n_rlnImagePixelSize 10\n",
    );
    let msg = expand(&file).unwrap_err().to_string();
    assert!(msg.contains(&file.display().to_string()), "{msg}");
    assert!(msg.contains("lists no tomogram"), "{msg}");
    assert!(msg.contains("_rlnTomoReconstructedTomogram"), "{msg}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn malformed_star_is_an_error_naming_the_file_and_line() {
    let (dir, file) = star_file(
        "malformed",
        "data_global\nloop_\n_rlnTomoName\n_rlnTomoReconstructedTomogram\nTS_01\n",
    );
    let msg = expand(&file).unwrap_err().to_string();
    assert!(msg.contains(&format!("{}:5", file.display())), "{msg}");
    std::fs::remove_dir_all(&dir).unwrap();
}
