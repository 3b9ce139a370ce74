//! Converts a coordinate file through the crate's readers and writers (used by the CI peer
//! check with `starfile`):
//! `coords_convert IN OUT [--out-format NAME] [--dims NX,NY,NZ] [--sampling A] [--tomo NAME]`.
use misalign::host::coords::{read_coordinates, write_coordinates, CoordContext, CoordFormat};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        return Err("usage: coords_convert IN OUT [--out-format NAME] [--dims NX,NY,NZ] [--sampling A] [--tomo NAME]".into());
    }
    let mut ctx = CoordContext::default();
    let mut out_format = None;
    let mut i = 2;
    while i < args.len() {
        let value = args.get(i + 1).ok_or("option without a value")?;
        match args[i].as_str() {
            "--out-format" => out_format = Some(CoordFormat::from_name(value)?),
            "--dims" => {
                let d: Vec<usize> = value.split(',').map(str::parse).collect::<Result<_, _>>()?;
                ctx.dims = Some(d.try_into().map_err(|_| "--dims needs 3 numbers")?);
            }
            "--sampling" => ctx.sampling = Some(value.parse()?),
            "--tomo" => ctx.tomo_name = Some(value.clone()),
            o => return Err(format!("unknown option {o}").into()),
        }
        i += 2;
    }
    let points = read_coordinates(&args[0], &ctx)?;
    let format = match out_format {
        Some(f) => f,
        None => CoordFormat::from_path(args[1].as_ref())?,
    };
    write_coordinates(&args[1], &points, format, &ctx)?;
    Ok(())
}
