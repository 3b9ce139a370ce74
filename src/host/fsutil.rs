//! File-system helpers shared by every reader and writer: inputs must be regular files (opening
//! a FIFO for reading blocks until a writer comes, so it is refused from its metadata first),
//! text inputs lose a UTF-8 byte-order mark, and outputs appear whole or not at all.
use std::collections::HashSet;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use super::{Error, Result};

/// What a non-regular node is, for messages.
fn node_kind(ft: &fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if ft.is_char_device() {
            return "a character device";
        }
        if ft.is_block_device() {
            return "a block device";
        }
        if ft.is_socket() {
            return "a socket";
        }
    }
    if ft.is_dir() {
        "a folder"
    } else {
        "a special file"
    }
}

/// The metadata of `path` (links followed) if it is a regular file, else an error naming what
/// it is. Nothing is opened, so a FIFO cannot block.
pub fn ensure_regular(path: &Path) -> Result<fs::Metadata> {
    let meta =
        fs::metadata(path).map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    if !meta.is_file() {
        return Err(Error::Invalid(format!(
            "{} is {}, not a regular file",
            path.display(),
            node_kind(&meta.file_type())
        )));
    }
    Ok(meta)
}

/// Opens `path` for reading after [`ensure_regular`] (the one way every reader opens inputs).
pub fn open_regular(path: &Path) -> Result<fs::File> {
    ensure_regular(path)?;
    fs::File::open(path).map_err(|e| Error::io(format!("opening {}", path.display()), e))
}

/// The whole content of the regular file `path`.
pub fn read_regular(path: &Path) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    open_regular(path)?
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    Ok(bytes)
}

/// A text input (coordinates, list files, STAR, XMD) as UTF-8, without the byte-order mark
/// that spreadsheet programs put in front of CSV files.
pub fn read_text(path: &Path) -> Result<String> {
    let text = String::from_utf8(read_regular(path)?)
        .map_err(|e| Error::Format(format!("{} is not UTF-8 text: {e}", path.display())))?;
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    })
}

/// Errors unless files can be created in `dir` (made if missing): found before hours of work,
/// not after. Probes by creating and removing a hidden file.
pub fn probe_writable(dir: &Path) -> Result<()> {
    let fail = |e| {
        Error::io(
            format!("the output folder {} is not writable", dir.display()),
            e,
        )
    };
    fs::create_dir_all(dir).map_err(fail)?;
    let probe = dir.join(format!(".misalign-probe.{}.tmp", std::process::id()));
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .map_err(fail)?;
    fs::remove_file(&probe).map_err(fail)
}

/// Writes `bytes` to `path` atomically: a temporary file in the same folder, fsync, rename.
/// A reader (or a crashed run) never sees a half-written file. See [`write_atomic_with`] for
/// links, FIFOs and devices.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, |w| w.write_all(bytes))
}

/// Like [`write_atomic`], streaming: `fill` writes the content into a buffered writer.
///
/// A symbolic link is followed: its target is replaced and the link stays a link. A FIFO or
/// device (`/dev/null`, `/dev/stdout`) is written in place: a rename would replace the node.
/// Temporaries left by killed runs in the folder are removed first ([`remove_stale_temps`]).
pub fn write_atomic_with(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    let ctx = || format!("writing {}", path.display());
    // `metadata` and `open` follow links, also the kernel's (`/dev/stdout` → a pipe).
    if fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
        let result = (|| -> std::io::Result<()> {
            let file = fs::OpenOptions::new().write(true).open(path)?;
            let mut w = std::io::BufWriter::new(file);
            fill(&mut w)?;
            w.flush()
        })();
        return result.map_err(|e| Error::io(ctx(), e));
    }
    let target = follow_links(path);
    let tmp = temp_path(&target);
    remove_stale_temps(tmp.parent().unwrap_or(Path::new(".")));
    let result = (|| -> std::io::Result<()> {
        let file = fs::File::create(&tmp)?;
        let mut w = std::io::BufWriter::new(file);
        fill(&mut w)?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        fs::rename(&tmp, &target)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(Error::io(ctx(), e));
    }
    Ok(())
}

/// The file a chain of symbolic links ends at (itself when not a link; the last name of a
/// dangling chain, which the writer then creates). Gives up after 40 links, as the kernel does.
pub fn follow_links(path: &Path) -> PathBuf {
    let is_link = |p: &Path| fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink());
    if !is_link(path) {
        return path.to_path_buf();
    }
    if let Ok(real) = fs::canonicalize(path) {
        return real;
    }
    let mut p = path.to_path_buf();
    for _ in 0..40 {
        let Some(next) = is_link(&p).then(|| fs::read_link(&p).ok()).flatten() else {
            break;
        };
        p = match p.parent() {
            Some(dir) if next.is_relative() => dir.join(next),
            _ => next,
        };
    }
    p
}

/// `dir/.name.<pid>.tmp`: hidden, unique per process, same file system as the target.
fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let tmp = format!(".{name}.{}.tmp", std::process::id());
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.join(tmp),
        _ => PathBuf::from(tmp),
    }
}

/// A temporary older than this is stale whoever made it.
const STALE_AGE: Duration = Duration::from_secs(3600);

/// Is process `pid` alive? `None` where this cannot be told (no `/proc`).
fn pid_alive(pid: u32) -> Option<bool> {
    let proc = Path::new("/proc");
    proc.join("self")
        .exists()
        .then(|| proc.join(pid.to_string()).exists())
}

/// Removes the temporaries (`.name.<pid>.tmp`, also the MRC writer's) in `dir` left by killed runs: those whose process
/// is gone, and any older than an hour. Once per folder and process.
pub fn remove_stale_temps(dir: &Path) {
    static SWEPT: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);
    {
        let mut swept = SWEPT.lock().unwrap_or_else(|p| p.into_inner());
        if !swept
            .get_or_insert_with(HashSet::new)
            .insert(dir.to_path_buf())
        {
            return;
        }
    }
    let Ok(entries) = fs::read_dir(if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    }) else {
        return;
    };
    let me = std::process::id();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix('.')
            .and_then(|n| n.strip_suffix(".tmp"))
            .and_then(|n| n.rsplit_once('.'))
            .and_then(|(_, pid)| pid.parse::<u32>().ok())
        else {
            continue;
        };
        let old = entry
            .metadata()
            .ok()
            .filter(fs::Metadata::is_file)
            .and_then(|m| m.modified().ok())
            .and_then(|t| SystemTime::now().duration_since(t).ok())
            .map(|age| age > STALE_AGE);
        let Some(old) = old else { continue };
        if pid != me && pid != 0 && (old || pid_alive(pid) == Some(false)) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(tag: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("misalign-fsutil-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn writes_whole_files_and_leaves_no_temp() {
        let dir = temp_dir("whole");
        let p = dir.join("a.txt");
        write_atomic(&p, b"hello").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"hello");
        let failed = write_atomic_with(&p, |_| Err(std::io::Error::other("boom")));
        assert!(failed.is_err());
        // The old content survives a failed write, and no temporary is left behind.
        assert_eq!(fs::read(&p).unwrap(), b"hello");
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_stays_a_link_and_its_target_gets_the_content() {
        let dir = temp_dir("link");
        fs::create_dir_all(dir.join("real")).unwrap();
        fs::write(dir.join("real/t.csv"), b"old").unwrap();
        std::os::unix::fs::symlink("real/t.csv", dir.join("link.csv")).unwrap();
        write_atomic(&dir.join("link.csv"), b"new").unwrap();
        let meta = fs::symlink_metadata(dir.join("link.csv")).unwrap();
        assert!(meta.file_type().is_symlink());
        assert_eq!(fs::read(dir.join("real/t.csv")).unwrap(), b"new");
        // A dangling link: the target is created.
        std::os::unix::fs::symlink("real/u.csv", dir.join("dangling.csv")).unwrap();
        write_atomic(&dir.join("dangling.csv"), b"u").unwrap();
        assert_eq!(fs::read(dir.join("real/u.csv")).unwrap(), b"u");
        assert!(fs::symlink_metadata(dir.join("dangling.csv"))
            .unwrap()
            .file_type()
            .is_symlink());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn devices_are_written_in_place_not_replaced() {
        use std::os::unix::fs::FileTypeExt;
        write_atomic(Path::new("/dev/null"), b"nothing").unwrap();
        assert!(fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device());
        if Path::new("/dev/full").exists() {
            let e = write_atomic(Path::new("/dev/full"), &[0u8; 65536]).unwrap_err();
            assert!(e.to_string().contains("/dev/full"), "{e}");
            assert!(fs::metadata("/dev/full")
                .unwrap()
                .file_type()
                .is_char_device());
        }
    }

    #[test]
    fn stale_temporaries_of_dead_or_old_runs_are_removed() {
        let dir = temp_dir("stale");
        // No process has a pid this large (Linux caps pids at 2^22).
        let dead = dir.join(".report.json.4294967.tmp");
        let old_live = dir.join(format!(".beads.csv.{}.tmp", 1));
        let fresh_live = dir.join(".beads.star.1.tmp");
        let unrelated = dir.join(".notes.tmp");
        for p in [&dead, &old_live, &fresh_live, &unrelated] {
            fs::write(p, b"x").unwrap();
        }
        let hours_ago = SystemTime::now() - Duration::from_secs(7200);
        fs::File::options()
            .write(true)
            .open(&old_live)
            .unwrap()
            .set_modified(hours_ago)
            .unwrap();
        write_atomic(&dir.join("report.json"), b"{}").unwrap();
        assert!(!old_live.exists());
        if pid_alive(1).is_some() {
            assert!(!dead.exists());
            assert!(fresh_live.exists(), "pid 1 is alive: its fresh temp stays");
        }
        assert!(unrelated.exists());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn text_inputs_lose_the_bom_and_special_files_are_refused() {
        let dir = temp_dir("text");
        let p = dir.join("c.csv");
        fs::write(&p, "\u{feff}x,y,z\n1,2,3\n").unwrap();
        assert_eq!(read_text(&p).unwrap(), "x,y,z\n1,2,3\n");
        let e = read_text(&dir).unwrap_err().to_string();
        assert!(e.contains("is a folder, not a regular file"), "{e}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_output_folder_under_a_file_is_not_writable() {
        let dir = temp_dir("probe");
        probe_writable(&dir.join("new/sub")).unwrap();
        assert_eq!(fs::read_dir(dir.join("new/sub")).unwrap().count(), 0);
        fs::write(dir.join("file"), b"").unwrap();
        let e = probe_writable(&dir.join("file/out"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("is not writable"), "{e}");
        fs::remove_dir_all(&dir).unwrap();
    }
}
