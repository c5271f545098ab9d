//! Writing results: atomically to a file, or to standard output.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// A file being written in place of `path`: a temporary file in the same
/// directory, renamed over `path` by [`commit`](Self::commit), so readers never
/// see a half-written file and a failure leaves any old file in place. Every
/// output mlsec writes to a file goes through it.
///
/// Its mode is what users expect of a file a tool writes (on Unix):
/// - a new file gets 0666 less the umask, as files made by `cp`, shell
///   redirections and editors do: the temporary file is created with that
///   mode, so the umask applies as to any other new file;
/// - a file written over keeps its mode, as `cp` and editors keep it, so an
///   output made private stays private and a shared one stays shared; less
///   the setuid, setgid and sticky bits, which new content must not inherit.
///   The temporary file is created with that mode too (the umask can only
///   narrow it), so it is never readable by more users than the result.
///
/// Owner and group are the writer's (giving a file to another owner needs
/// privileges). Elsewhere the platform's defaults apply.
pub struct AtomicFile {
    tmp: tempfile::NamedTempFile,
    path: PathBuf,
}

impl AtomicFile {
    /// Creates the temporary file for `path`: `prefix`, random characters,
    /// `.tmp`.
    pub fn create(path: &Path, prefix: &str) -> io::Result<AtomicFile> {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let mut builder = tempfile::Builder::new();
        builder.prefix(prefix).suffix(".tmp");
        #[cfg(unix)]
        let old_mode = {
            use std::os::unix::fs::PermissionsExt;
            let old = std::fs::metadata(path)
                .ok()
                .filter(|m| m.is_file())
                .map(|m| m.permissions().mode() & 0o777);
            builder.permissions(std::fs::Permissions::from_mode(old.unwrap_or(0o666)));
            old
        };
        let tmp = builder.tempfile_in(dir)?;
        // The umask narrowed the old mode on creation; give it back whole.
        #[cfg(unix)]
        if let Some(mode) = old_mode {
            use std::os::unix::fs::PermissionsExt;
            tmp.as_file()
                .set_permissions(std::fs::Permissions::from_mode(mode))?;
        }
        Ok(AtomicFile {
            tmp,
            path: path.to_path_buf(),
        })
    }

    /// The temporary file, to write the content to.
    pub fn file_mut(&mut self) -> &mut File {
        self.tmp.as_file_mut()
    }

    /// Flushes the content to disk and renames the file over `path`.
    pub fn commit(self) -> io::Result<()> {
        self.tmp.as_file().sync_all()?;
        self.tmp.persist(&self.path).map_err(|e| e.error)?;
        Ok(())
    }
}

/// Writes `bytes` to `path` atomically (see [`AtomicFile`] for how, and for the
/// file's mode).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = AtomicFile::create(path, ".mlsec-")?;
    file.file_mut().write_all(bytes)?;
    file.commit()
}

/// Writes to `path` atomically when given, else to standard output.
pub fn emit(path: Option<&Path>, bytes: &[u8]) -> io::Result<()> {
    match path {
        Some(p) => write_atomic(p, bytes),
        None => {
            let mut out = io::stdout().lock();
            match out.write_all(bytes).and_then(|_| out.flush()) {
                // The reader went away (`mlsec scan ... | head`): nothing left to do.
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
                other => other,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn atomic_write_into_missing_directory_fails_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("nope").join("out.json");
        assert!(write_atomic(&p, b"x").is_err());
        assert!(!p.exists());
    }

    /// A new file gets the mode any tool's new file gets under the process's
    /// umask (0666 less the umask); a file written over keeps its mode, less
    /// setuid, setgid and sticky bits.
    #[cfg(unix)]
    #[test]
    fn atomic_write_honours_the_umask_and_keeps_an_old_files_mode() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
        let dir = tempfile::tempdir().unwrap();
        let reference = dir.path().join("reference");
        std::fs::File::create(&reference).unwrap();
        let p = dir.path().join("out.json");
        write_atomic(&p, b"one").unwrap();
        assert_eq!(mode(&p), mode(&reference));
        for (old, new) in [
            (0o640, 0o640),
            (0o664, 0o664),
            (0o444, 0o444),
            (0o6755, 0o755),
        ] {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(old)).unwrap();
            write_atomic(&p, b"two").unwrap();
            assert_eq!(mode(&p), new, "{old:o}");
        }
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
    }
}
