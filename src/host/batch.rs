//! Many tomograms: input expansion (paths, globs, list files), a bounded pool of scoped threads,
//! resumable output folders and `--watch` for on-the-fly acquisition.
//!
//! A folder whose `report.json` exists is complete: the report writer writes it last and
//! atomically, so a killed run leaves no folder that looks done but is not.
use std::collections::{HashMap, HashSet};
use std::panic::AssertUnwindSafe;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use serde_json::{json, Value};

use crate::host::check::{check_tomogram, BeadSource, CheckOutcome, CheckParams};
use crate::host::coords::star::{parse_star, read_text, StarBlock};
use crate::host::fsutil::write_atomic;
use crate::host::networks::Networks;
use crate::host::{resolve_threads, AcquisitionInput, Error, Result};

/// Expands command-line inputs into tomogram paths, in a stable order without duplicates.
///
/// Each input is a path to an `.mrc`/`.rec`/`.st`… file, a glob (`tomos/*.mrc`), or a list file:
/// `.txt`/`.lst` (one path per line, `#` comments) or `.star` (RELION/Xmipp/Scipion tables: the
/// tomogram column chosen by label, e.g. RELION 5's `_rlnTomoReconstructedTomogram`, else the
/// first column whose values end in `.mrc` or `.rec`). Relative paths inside a list are relative
/// to it.
pub fn expand_inputs(inputs: &[String]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut push = |p: PathBuf, out: &mut Vec<PathBuf>| {
        if seen.insert(p.clone()) {
            out.push(p);
        }
    };
    for input in inputs {
        if input.contains(['*', '?', '[']) {
            let paths = glob::glob(input)
                .map_err(|e| Error::Invalid(format!("bad glob pattern {input}: {e}")))?;
            let mut matched: Vec<PathBuf> = paths.filter_map(|p| p.ok()).collect();
            if matched.is_empty() {
                return Err(Error::Invalid(format!("{input} matches no file")));
            }
            matched.sort();
            for p in matched {
                push(p, &mut out);
            }
            continue;
        }
        let path = PathBuf::from(input);
        match extension(&path).as_str() {
            "txt" | "lst" | "list" => {
                for p in read_list_file(&path)? {
                    push(p, &mut out);
                }
            }
            "star" => {
                for p in read_star_list(&path)? {
                    push(p, &mut out);
                }
            }
            _ => push(path, &mut out),
        }
    }
    Ok(out)
}

fn extension(p: &Path) -> String {
    p.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default()
}

fn relative_to(list: &Path, entry: &str) -> PathBuf {
    let p = PathBuf::from(entry);
    if p.is_absolute() {
        return p;
    }
    list.parent().unwrap_or(Path::new("")).join(p)
}

fn read_list_file(path: &Path) -> Result<Vec<PathBuf>> {
    Ok(read_text(path)?
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| relative_to(path, l))
        .collect())
}

/// STAR labels that name a tomogram file, most specific first: RELION 5 `tomograms.star`, the
/// Xmipp/Scipion file labels, then RELION's generic image labels.
const TOMOGRAM_LABELS: [&str; 6] = [
    "rlnTomoReconstructedTomogram",
    "tomoFile",
    "fileName",
    "rlnMicrographName",
    "rlnImageName",
    "image",
];

/// Does a STAR value name a volume file (`.mrc`, `.rec`, `.mrcs`, or Xmipp's `file:mrc`)?
fn names_volume(value: &str) -> bool {
    let v = value.to_ascii_lowercase();
    [".mrc", ".rec", ".mrcs", ":mrc"]
        .iter()
        .any(|e| v.ends_with(e))
}

/// The block and column listing the tomograms: the first label of [`TOMOGRAM_LABELS`] that any
/// block has (first such block), else the first column, in file order, whose first value names a
/// volume file (for tables with other labels).
fn tomogram_column(blocks: &[StarBlock]) -> Option<(&StarBlock, usize)> {
    let with_rows = || blocks.iter().filter(|b| !b.rows.is_empty());
    TOMOGRAM_LABELS
        .iter()
        .find_map(|l| with_rows().find_map(|b| b.column(l).map(|c| (b, c))))
        .or_else(|| {
            with_rows().find_map(|b| {
                b.rows[0]
                    .iter()
                    .position(|v| names_volume(v))
                    .map(|c| (b, c))
            })
        })
}

/// Tomogram paths from a RELION/Xmipp/Scipion STAR table (see [`tomogram_column`]), read with the
/// shared STAR parser, so quoted names and multi-block files work. Relative paths are relative to
/// the STAR file's folder.
fn read_star_list(path: &Path) -> Result<Vec<PathBuf>> {
    let name = path.display().to_string();
    let blocks = parse_star(&read_text(path)?, &name)?;
    let paths: Vec<PathBuf> = tomogram_column(&blocks)
        .map(|(block, col)| {
            block
                .rows
                .iter()
                .map(|r| r[col].trim_end_matches(":mrc"))
                .filter(|v| !v.is_empty())
                .map(|v| relative_to(path, v))
                .collect()
        })
        .unwrap_or_default();
    if paths.is_empty() {
        let labels: Vec<String> = TOMOGRAM_LABELS.iter().map(|l| format!("_{l}")).collect();
        return Err(Error::Format(format!(
            "{name} lists no tomogram: no data block has a column {} or values ending in \
             .mrc/.rec",
            labels.join(", ")
        )));
    }
    Ok(paths)
}

/// The output folder of one tomogram: `out` itself for a single input, else `out/<stem>/`.
/// A batch uses [`output_dirs`], which also keeps inputs with the same stem apart.
pub fn output_dir(out: &Path, tomogram: &Path, single: bool) -> PathBuf {
    if single {
        return out.to_path_buf();
    }
    out.join(name_candidates(tomogram).swap_remove(0))
}

/// The output folder of every tomogram of a batch, decided up front (so it does not depend on
/// the thread count): `out` itself for a single input when `single`, else `out/<stem>/`.
/// Inputs that share a stem are told apart by their extension, then by their parent folders:
/// `d1/t.mrc` and `d2/t.mrc` go to `out/d1_t` and `out/d2_t`. Two inputs no name tells apart
/// are an error.
pub fn output_dirs(out: &Path, tomograms: &[PathBuf], single: bool) -> Result<Vec<PathBuf>> {
    if single && tomograms.len() == 1 {
        return Ok(vec![out.to_path_buf()]);
    }
    let names = folder_names(tomograms, &HashSet::new())?;
    Ok(names.into_iter().map(|n| out.join(n)).collect())
}

/// Folder names for `tomograms`, from the shortest of [`name_candidates`] that no other input
/// and nothing in `taken` has.
fn folder_names(tomograms: &[PathBuf], taken: &HashSet<String>) -> Result<Vec<String>> {
    let cands: Vec<Vec<String>> = tomograms.iter().map(|t| name_candidates(t)).collect();
    let mut level = vec![0usize; cands.len()];
    loop {
        let name = |i: usize| cands[i][level[i]].as_str();
        let mut count: HashMap<&str, usize> = HashMap::new();
        for i in 0..cands.len() {
            *count.entry(name(i)).or_default() += 1;
        }
        let clash: Vec<usize> = (0..cands.len())
            .filter(|&i| count[name(i)] > 1 || taken.contains(name(i)))
            .collect();
        if clash.is_empty() {
            return Ok((0..cands.len()).map(|i| name(i).to_string()).collect());
        }
        let stuck = clash.iter().all(|&i| level[i] + 1 == cands[i].len());
        if stuck {
            let i = clash[0];
            let other = (0..cands.len())
                .find(|&j| j != i && name(j) == name(i))
                .map_or_else(
                    || "an earlier tomogram".to_string(),
                    |j| tomograms[j].display().to_string(),
                );
            return Err(Error::Invalid(format!(
                "{} and {other} would share the output folder {}; rename one or check them \
                 into different --out folders",
                tomograms[i].display(),
                name(i)
            )));
        }
        for i in clash {
            level[i] = (level[i] + 1).min(cands[i].len() - 1);
        }
    }
}

/// Folder names for one tomogram, shortest first: `t`, `t_mrc`, `d2_t`, `d2_t_mrc`,
/// `data_d2_t`, … up to its whole absolute path.
fn name_candidates(tomogram: &Path) -> Vec<String> {
    let lossy = |s: &std::ffi::OsStr| s.to_string_lossy().into_owned();
    let stem = tomogram
        .file_stem()
        .map_or_else(|| "tomogram".to_string(), lossy);
    let ext = tomogram.extension().map(lossy);
    let abs = std::path::absolute(tomogram).unwrap_or_else(|_| tomogram.to_path_buf());
    let dirs: Vec<String> = abs
        .parent()
        .map(|d| {
            d.components()
                .filter_map(|c| match c {
                    Component::Normal(s) => Some(lossy(s)),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let mut out = Vec::new();
    let mut name = stem;
    for dir in std::iter::once(None).chain(dirs.iter().rev().map(Some)) {
        if let Some(d) = dir {
            name = format!("{d}_{name}");
        }
        out.push(name.clone());
        if let Some(e) = &ext {
            out.push(format!("{name}_{e}"));
        }
    }
    out
}

/// Is this folder's report complete (so a resumed run may skip it)?
pub fn is_complete(dir: &Path) -> bool {
    let path = dir.join("report.json");
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .is_some_and(|v| v.get("verdict").is_some())
}

/// The file in a report folder recording what the report was made from (see [`fingerprint`]).
pub const RESUME_JSON: &str = "resume.json";

/// Size and modification time of a file (nanoseconds since the epoch), with its absolute path.
fn file_stamp(path: &Path) -> Result<Value> {
    let meta =
        std::fs::metadata(path).map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    let mtime_ns = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    Ok(json!({
        "path": abs.to_string_lossy(),
        "size": meta.len(),
        "mtime_ns": mtime_ns,
    }))
}

/// What a report of `tomogram` depends on: the tomogram file (path, size, modification time),
/// the coordinate file (likewise), every setting that changes the result (the acquisition and
/// [`CheckParams`] except thread counts, one line per field), the weights
/// ([`Networks::fingerprint`]) and the program version. Resume skips a tomogram only when the
/// folder's [`RESUME_JSON`] equals this. Errors when a file cannot be examined (then there is
/// nothing to resume).
pub fn fingerprint(
    tomogram: &Path,
    acquisition: &AcquisitionInput,
    params: &CheckParams,
    nets: &Networks,
) -> Result<Value> {
    let coords = match &params.beads {
        BeadSource::File(p) => file_stamp(p)?,
        BeadSource::Detector => Value::Null,
    };
    let mut settings = params.clone();
    settings.threads = 0;
    settings.detector.threads = 0;
    // From the Debug form, so a new field is covered without being listed here.
    let lines = debug_fields(&format!("{acquisition:#?}\n{settings:#?}"));
    Ok(json!({
        "version": crate::VERSION,
        "tomogram": file_stamp(tomogram)?,
        "coords": coords,
        "weights": nets.fingerprint(),
        "settings": lines,
    }))
}

/// Pretty `Debug` output as one `path.to.field: value` line per leaf field
/// (`threshold: Some(\n 0.45,\n),` → `threshold: 0.45`), so changes can be named field by
/// field.
fn debug_fields(text: &str) -> Vec<String> {
    let mut path: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for line in text.lines() {
        let l = line.trim().trim_end_matches(',');
        let (key, value) = match l.split_once(": ") {
            Some((k, v)) => (Some(k), v),
            None => (None, l),
        };
        if matches!(value, "}" | ")" | "]") {
            path.pop();
        } else if value.ends_with(['{', '(', '[']) {
            path.push(key.unwrap_or_default().to_string());
        } else {
            let full: Vec<&str> = path
                .iter()
                .map(String::as_str)
                .chain(key)
                .filter(|k| !k.is_empty())
                .collect();
            out.push(format!("{}: {value}", full.join(".")));
        }
    }
    out
}

/// Whether the report in `dir` may be reused for `fp`.
#[derive(Debug, PartialEq)]
enum Previous {
    /// No complete report: compute.
    None,
    /// A complete report made from exactly this.
    Same,
    /// A complete report made from something else: recompute, for this reason.
    Differs(String),
}

fn previous(dir: &Path, fp: &Value) -> Previous {
    if !is_complete(dir) {
        return Previous::None;
    }
    let Some(old) = std::fs::read_to_string(dir.join(RESUME_JSON))
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
    else {
        return Previous::Differs(format!(
            "the previous report in {} does not say what it was made from",
            dir.display()
        ));
    };
    if &old == fp {
        return Previous::Same;
    }
    Previous::Differs(difference(&old, fp))
}

/// The first difference between two fingerprints, in words.
fn difference(old: &Value, new: &Value) -> String {
    let path = |v: &Value| v["tomogram"]["path"].as_str().unwrap_or("?").to_string();
    if old["tomogram"]["path"] != new["tomogram"]["path"] {
        return format!("the previous report is for {}", path(old));
    }
    if old["tomogram"] != new["tomogram"] {
        return "the tomogram changed since the previous report (size or modification time)".into();
    }
    if old["version"] != new["version"] {
        return format!(
            "the previous report was made by misalign {}",
            old["version"].as_str().unwrap_or("?")
        );
    }
    if old["weights"] != new["weights"] {
        return "the network weights differ from the previous report's".into();
    }
    if old["coords"] != new["coords"] {
        return "the bead coordinate file differs from the previous report's".into();
    }
    let lines = |v: &Value| -> Vec<String> {
        v["settings"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|l| l.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (a, b) = (lines(old), lines(new));
    let changed: Vec<String> = a
        .iter()
        .zip(&b)
        .filter(|(x, y)| x != y)
        .map(|(x, y)| match (x.split_once(": "), y.split_once(": ")) {
            (Some((k, u)), Some((k2, v))) if k == k2 => format!("{k} {u} → {v}"),
            _ => format!("{x} → {y}"),
        })
        .collect();
    if a.len() != b.len() || changed.is_empty() {
        return "the settings differ from the previous report's".into();
    }
    format!(
        "settings changed since the previous report: {}",
        changed.join(", ")
    )
}

/// What happened to one input of a batch.
#[derive(Debug)]
pub enum ItemResult {
    /// Checked now. When a previous report in the folder was for other input or settings, the
    /// first warning says so ("recomputing: the previous report is for a.mrc").
    Done(CheckOutcome),
    /// Skipped because a complete report of the same tomogram, settings and weights exists
    /// (resume; see [`fingerprint`]).
    AlreadyDone(PathBuf),
    Failed(PathBuf, Error),
}

/// Options of a batch run.
pub struct BatchOptions<'a> {
    pub out: &'a Path,
    /// Recompute even when a complete report exists.
    pub force: bool,
    /// Total threads (0 = every core); split between concurrent tomograms and the work inside
    /// each.
    pub threads: usize,
    /// Force `out/<stem>/` folders even for one tomogram (watch mode).
    pub always_subdirs: bool,
    /// Called after each tomogram, from worker threads (progress display).
    pub on_item: &'a (dyn Fn(usize, usize, &ItemResult) + Sync),
}

/// Test hook (not an interface): a tomogram whose file stem equals this variable's value makes
/// its worker panic, so tests can see a panic isolated to its item.
#[doc(hidden)]
pub const TEST_PANIC_ENV: &str = "MISALIGN_TEST_PANIC_ON";

/// Checks every tomogram with a bounded pool of scoped threads. Results are in input order.
///
/// With T threads and N tomograms, min(T, N) tomograms run at once and each gets T / that many
/// threads inside: streaming detection is light on memory, so running tomograms side by side
/// keeps both cores busy through the serial parts (header reads, report writing).
///
/// Output folders come from [`output_dirs`]. A tomogram whose folder holds a complete report
/// with the same [`fingerprint`] is skipped unless `force`. A panic while checking one
/// tomogram (a bug) fails that tomogram only, with the panic's message; the others go on.
pub fn run_batch(
    tomograms: &[PathBuf],
    acquisition: &AcquisitionInput,
    params: &CheckParams,
    nets: &Networks,
    opts: &BatchOptions,
) -> Vec<ItemResult> {
    let single = !opts.always_subdirs;
    match output_dirs(opts.out, tomograms, single) {
        Ok(dirs) => {
            let items: Vec<(PathBuf, PathBuf)> = tomograms.iter().cloned().zip(dirs).collect();
            run_items(&items, acquisition, params, nets, opts)
        }
        Err(e) => {
            let msg = e.to_string();
            tomograms
                .iter()
                .map(|t| ItemResult::Failed(t.clone(), Error::Invalid(msg.clone())))
                .collect()
        }
    }
}

/// [`run_batch`] on (tomogram, output folder) pairs.
fn run_items(
    items: &[(PathBuf, PathBuf)],
    acquisition: &AcquisitionInput,
    params: &CheckParams,
    nets: &Networks,
    opts: &BatchOptions,
) -> Vec<ItemResult> {
    let n = items.len();
    let threads = resolve_threads(opts.threads);
    let workers = threads.min(n).max(1);
    let mut inner = params.clone();
    inner.threads = (threads / workers).max(1);

    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<ItemResult>>> = Mutex::new((0..n).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let (tomo, dir) = &items[i];
                let one = || check_one(tomo, dir, acquisition, &inner, nets, opts.force);
                let item = std::panic::catch_unwind(AssertUnwindSafe(one)).unwrap_or_else(|p| {
                    ItemResult::Failed(
                        tomo.clone(),
                        Error::Invalid(format!(
                            "internal error (a bug in misalign, please report it): {}",
                            panic_message(p.as_ref())
                        )),
                    )
                });
                let k = done.fetch_add(1, Ordering::Relaxed) + 1;
                (opts.on_item)(k, n, &item);
                let mut r = results.lock().unwrap_or_else(|p| p.into_inner());
                r[i] = Some(item);
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .zip(items)
        .map(|(r, (t, _))| {
            r.unwrap_or_else(|| {
                ItemResult::Failed(t.clone(), Error::Invalid("worker thread panicked".into()))
            })
        })
        .collect()
}

/// The text of a panic payload (`panic!` gives a `&str` or a `String`).
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

/// One tomogram of a batch: resume if the folder already holds its report, else check it and
/// record its fingerprint next to the report.
fn check_one(
    tomo: &Path,
    dir: &Path,
    acquisition: &AcquisitionInput,
    params: &CheckParams,
    nets: &Networks,
    force: bool,
) -> ItemResult {
    if std::env::var_os(TEST_PANIC_ENV).is_some_and(|v| Some(v.as_os_str()) == tomo.file_stem()) {
        panic!("{TEST_PANIC_ENV} asked for a panic on {}", tomo.display());
    }
    // No fingerprint (e.g. the tomogram is gone): nothing to resume; the check says why.
    let fp = fingerprint(tomo, acquisition, params, nets).ok();
    let mut note = None;
    if let (false, Some(fp)) = (force, &fp) {
        match previous(dir, fp) {
            Previous::Same => return ItemResult::AlreadyDone(tomo.to_path_buf()),
            Previous::Differs(why) => note = Some(format!("recomputing: {why}")),
            Previous::None => {}
        }
    }
    // Removed first: a run killed from here on leaves no folder that resumes.
    let resume = dir.join(RESUME_JSON);
    if let Err(e) = std::fs::remove_file(&resume) {
        if e.kind() != std::io::ErrorKind::NotFound {
            let e = Error::io(format!("removing the old {}", resume.display()), e);
            return ItemResult::Failed(tomo.to_path_buf(), e);
        }
    }
    match check_tomogram(tomo, acquisition, params, nets, dir) {
        Ok(mut o) => {
            if let Some(note) = note {
                o.warnings.insert(0, note);
            }
            if let Some(fp) = fp {
                let text = serde_json::to_string_pretty(&fp).unwrap_or_else(|_| fp.to_string());
                if let Err(e) = write_atomic(&resume, text.as_bytes()) {
                    o.warnings
                        .push(format!("a later run will recompute it: {e}"));
                }
            }
            ItemResult::Done(o)
        }
        Err(e) => ItemResult::Failed(tomo.to_path_buf(), e),
    }
}

/// Options of `--watch`.
pub struct WatchOptions {
    pub poll: Duration,
    /// Stop after this long without a new tomogram (`None`: run until killed).
    pub idle_exit: Option<Duration>,
}

/// Size and modification time: what tells that a file is still being written.
type Stamp = (u64, SystemTime);

/// What `watch` knows of one file.
struct Seen {
    /// At the latest poll.
    stamp: Stamp,
    /// When it was last checked (`None`: never).
    tried: Option<Stamp>,
}

/// Watches `dir` for new tomograms (`*.mrc`, `*.rec`) and checks each once its size and
/// modification time have not changed for one poll interval (a microscope or reconstruction
/// may still be writing it). A file that changes after it was checked (it failed as truncated,
/// or was rewritten) is checked again once it is stable. Existing complete reports of the same
/// tomogram and settings are skipped, so a restarted watcher resumes where it stopped.
pub fn watch(
    dir: &Path,
    acquisition: &AcquisitionInput,
    params: &CheckParams,
    nets: &Networks,
    opts: &BatchOptions,
    wopts: &WatchOptions,
) -> Result<Vec<ItemResult>> {
    let mut seen: HashMap<PathBuf, Seen> = HashMap::new();
    // Output folder of every file met so far: stable across polls, never shared.
    let mut folders: HashMap<PathBuf, PathBuf> = HashMap::new();
    let mut taken: HashSet<String> = HashSet::new();
    let mut results = Vec::new();
    let mut last_new = Instant::now();
    loop {
        let mut ready = Vec::new();
        let entries = std::fs::read_dir(dir)
            .map_err(|e| Error::io(format!("watching {}", dir.display()), e))?;
        for entry in entries.flatten() {
            let path = entry.path();
            let ext = extension(&path);
            if !(ext == "mrc" || ext == "rec") {
                continue;
            }
            let Ok(meta) = std::fs::metadata(&path) else {
                continue;
            };
            let stamp = (
                meta.len(),
                meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            );
            match seen.get_mut(&path) {
                None => {
                    seen.insert(path, Seen { stamp, tried: None });
                }
                Some(s) if s.stamp != stamp => s.stamp = stamp,
                // Stable for a poll interval, and not checked in this state.
                Some(s) if s.tried != Some(stamp) => {
                    s.tried = Some(stamp);
                    ready.push(path);
                }
                Some(_) => {}
            }
        }
        ready.sort();
        if !ready.is_empty() {
            last_new = Instant::now();
            let new: Vec<PathBuf> = ready
                .iter()
                .filter(|p| !folders.contains_key(*p))
                .cloned()
                .collect();
            let names = folder_names(&new, &taken)?;
            for (p, name) in new.into_iter().zip(names) {
                folders.insert(p, opts.out.join(&name));
                taken.insert(name);
            }
            let items: Vec<(PathBuf, PathBuf)> = ready
                .iter()
                .map(|p| (p.clone(), folders[p].clone()))
                .collect();
            results.extend(run_items(&items, acquisition, params, nets, opts));
        }
        if let Some(idle) = wopts.idle_exit {
            if last_new.elapsed() >= idle {
                return Ok(results);
            }
        }
        std::thread::sleep(wopts.poll);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("misalign-batch-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn list_and_star_inputs_expand_relative_to_the_list() {
        let d = temp_dir("lists");
        std::fs::write(d.join("l.txt"), "# tomograms\na.mrc\n\nsub/b.mrc\na.mrc\n").unwrap();
        std::fs::write(
            d.join("t.star"),
            "data_global\nloop_\n_rlnTomoName #1\n_rlnTomoReconstructedTomogram #2\nTS_01 rec/TS_01.mrc\nTS_02 rec/TS_02.mrc\n",
        )
        .unwrap();
        let got = expand_inputs(&[
            d.join("l.txt").display().to_string(),
            d.join("t.star").display().to_string(),
        ])
        .unwrap();
        assert_eq!(
            got,
            vec![
                d.join("a.mrc"),
                d.join("sub/b.mrc"),
                d.join("rec/TS_01.mrc"),
                d.join("rec/TS_02.mrc")
            ]
        );
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn empty_glob_is_an_error() {
        let d = temp_dir("glob");
        let pattern = d.join("*.mrc").display().to_string();
        assert!(expand_inputs(std::slice::from_ref(&pattern)).is_err());
        std::fs::write(d.join("x.mrc"), b"").unwrap();
        assert_eq!(expand_inputs(&[pattern]).unwrap(), vec![d.join("x.mrc")]);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn completeness_needs_a_parsable_report_with_a_verdict() {
        let d = temp_dir("complete");
        assert!(!is_complete(&d));
        std::fs::write(d.join("report.json"), "{\"verdict\": \"aligned\"").unwrap();
        assert!(!is_complete(&d));
        std::fs::write(d.join("report.json"), "{\"verdict\": \"aligned\"}").unwrap();
        assert!(is_complete(&d));
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn single_input_writes_into_out_itself() {
        let out = Path::new("/o");
        assert_eq!(
            output_dir(out, Path::new("/d/t1.mrc"), true),
            PathBuf::from("/o")
        );
        assert_eq!(
            output_dir(out, Path::new("/d/t1.mrc"), false),
            PathBuf::from("/o/t1")
        );
    }

    #[test]
    fn inputs_sharing_a_stem_get_folders_of_their_own() {
        let t = PathBuf::from;
        let out = Path::new("/o");
        let dirs = output_dirs(
            out,
            &[t("/d1/t.mrc"), t("/d2/t.mrc"), t("/d2/u.mrc")],
            false,
        );
        assert_eq!(dirs.unwrap(), [t("/o/d1_t"), t("/o/d2_t"), t("/o/u")]);
        let dirs = output_dirs(out, &[t("/d/t.mrc"), t("/d/t.rec")], false).unwrap();
        assert_eq!(dirs, [t("/o/t_mrc"), t("/o/t_rec")]);
        // Only one of the two can take a longer name.
        let dirs = output_dirs(out, &[t("/t.mrc"), t("/d/t.mrc")], false).unwrap();
        assert_eq!(dirs, [t("/o/t_mrc"), t("/o/d_t")]);
        assert_eq!(output_dirs(out, &[t("/d/t.mrc")], true).unwrap(), [t("/o")]);
        let e = output_dirs(out, &[t("/d/t.mrc"), t("/../d/t.mrc")], false).unwrap_err();
        assert!(
            e.to_string().contains("would share the output folder"),
            "{e}"
        );
        // Watch mode: a name given out earlier is not given again.
        let taken: HashSet<String> = ["t".to_string()].into();
        assert_eq!(folder_names(&[t("/w/t.rec")], &taken).unwrap(), ["t_rec"]);
    }

    #[test]
    fn fingerprints_ignore_threads_and_name_what_changed() {
        let d = temp_dir("fingerprint");
        let (a, b) = (d.join("a.mrc"), d.join("b.mrc"));
        std::fs::write(&a, b"a").unwrap();
        std::fs::write(&b, b"bb").unwrap();
        let nets = Networks::baked().unwrap();
        let acq = AcquisitionInput::default();
        let p = CheckParams::default();
        let fp = |t: &Path, acq: &AcquisitionInput, p: &CheckParams| {
            fingerprint(t, acq, p, &nets).unwrap()
        };
        let fa = fp(&a, &acq, &p);
        let mut threads = p.clone();
        threads.threads = 7;
        threads.detector.threads = 3;
        assert_eq!(fa, fp(&a, &acq, &threads));
        let why = difference(&fa, &fp(&b, &acq, &p));
        assert!(why.starts_with("the previous report is for ") && why.ends_with("a.mrc"));
        let t = CheckParams {
            threshold: Some(0.625),
            ..p.clone()
        };
        let why = difference(&fa, &fp(&a, &acq, &t));
        assert!(why.contains("threshold 0.45 → 0.625"), "{why}");
        let mut det = p.clone();
        det.detector.sd_thr = 4.5;
        let why = difference(&fa, &fp(&a, &acq, &det));
        let want = format!("detector.sd_thr {:?} → 4.5", p.detector.sd_thr);
        assert!(why.contains(&want), "{why}");
        let big = AcquisitionInput {
            bead_diameter_a: 150.0,
            ..acq
        };
        let why = difference(&fa, &fp(&a, &big, &p));
        assert!(why.contains("bead_diameter_a 100.0 → 150.0"), "{why}");
        std::fs::write(&a, b"longer now").unwrap();
        let why = difference(&fa, &fp(&a, &acq, &p));
        assert!(why.contains("the tomogram changed"), "{why}");
        std::fs::remove_file(&a).unwrap();
        assert!(fingerprint(&a, &acq, &p, &nets).is_err());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn panic_payloads_become_messages() {
        let p = std::panic::catch_unwind(|| panic!("boom {}", 7)).unwrap_err();
        assert_eq!(panic_message(p.as_ref()), "boom 7");
        let p = std::panic::catch_unwind(|| std::panic::panic_any(3)).unwrap_err();
        assert_eq!(panic_message(p.as_ref()), "a panic without a message");
    }
}
