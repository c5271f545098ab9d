//! Paths named inside model files (ONNX external-data locations, Keras config
//! values, archive member names and link targets), judged on their face: does
//! one leave the folder it is relative to? A backslash counts as a separator,
//! as Windows loaders and extractors treat it.

/// How a path is rooted outside the folder it should be relative to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rooted {
    /// `/x`, `\x`, `//server/x`.
    Absolute,
    /// On a Windows drive: `C:x`, `C:\x`, `C:/x`.
    WindowsDrive,
}

/// Whether `path` is absolute or on a Windows drive.
pub fn rooted(path: &str) -> Option<Rooted> {
    if path.starts_with(['/', '\\']) {
        return Some(Rooted::Absolute);
    }
    match path.as_bytes() {
        [drive, b':', ..] if drive.is_ascii_alphabetic() => Some(Rooted::WindowsDrive),
        _ => None,
    }
}

/// Whether `path` has a `..` component.
pub fn climbs(path: &str) -> bool {
    path.split(['/', '\\']).any(|c| c == "..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rooted_and_climbing_paths() {
        for (path, want) in [
            ("/etc/passwd", Some(Rooted::Absolute)),
            ("\\\\server\\share", Some(Rooted::Absolute)),
            ("//server/x", Some(Rooted::Absolute)),
            ("C:x", Some(Rooted::WindowsDrive)),
            ("c:\\x", Some(Rooted::WindowsDrive)),
            ("weights.bin", None),
            ("1:x", None),
            ("", None),
        ] {
            assert_eq!(rooted(path), want, "{path:?}");
        }
        for path in ["..", "../x", "a/../b", "a\\..\\b", "a/.."] {
            assert!(climbs(path), "{path:?}");
        }
        for path in ["..x", "a/..b/c", "x..", "a/./b", ""] {
            assert!(!climbs(path), "{path:?}");
        }
    }
}
