//! Copies an MRC file through the crate's reader and writer: `mrc_copy IN OUT [float32|float16]`.
//! Used by the CI peer check (.ci/steps/30-mrc-peers.sh) to validate our output with `mrcfile`.
use misalign::host::mrc::{read_volume, write_volume, MrcMode};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 || args.len() > 3 {
        return Err("usage: mrc_copy IN.mrc OUT.mrc [float32|float16]".into());
    }
    let mode = match args.get(2).map(String::as_str) {
        None | Some("float32") => MrcMode::Float32,
        Some("float16") => MrcMode::Float16,
        Some(m) => return Err(format!("unknown mode {m}").into()),
    };
    let vol = read_volume(&args[0])?;
    write_volume(&args[1], &vol, mode)?;
    Ok(())
}
