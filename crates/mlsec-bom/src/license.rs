//! A licence file in the model folder (`LICENSE`, `LICENSE.txt`, `COPYING`,
//! ...), recognised by its text when it is one of the common licences.

use std::path::Path;

/// Names a licence file goes by, compared case-insensitively.
const FILE_NAMES: &[&str] = &[
    "license",
    "license.txt",
    "license.md",
    "licence",
    "licence.txt",
    "licence.md",
    "copying",
];
/// Only this much of a licence file is read: the phrases that identify the
/// common licences all lie in their first few KiB.
const MAX_READ: u64 = 64 * 1024;

/// What a licence file says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenseFile {
    /// The file's name in the folder.
    pub file: String,
    /// The SPDX id when the text is recognised.
    pub spdx_id: Option<&'static str>,
    /// The first non-blank line (the licence's title, usually), for a text
    /// that is not recognised.
    pub title: Option<String>,
}

/// Looks for a licence file directly in `dir`. An unreadable one is an error
/// naming it.
pub fn find(dir: &Path) -> Result<Option<LicenseFile>, crate::BomError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => return Err(crate::BomError::io(dir, &e)),
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| FILE_NAMES.contains(&n.to_ascii_lowercase().as_str()))
        .collect();
    names.sort();
    let Some(file) = names.into_iter().next() else {
        return Ok(None);
    };
    let path = dir.join(&file);
    let mut text = Vec::new();
    std::io::Read::read_to_end(
        &mut std::io::Read::take(
            std::fs::File::open(&path).map_err(|e| crate::BomError::io(&path, &e))?,
            MAX_READ,
        ),
        &mut text,
    )
    .map_err(|e| crate::BomError::io(&path, &e))?;
    let text = String::from_utf8_lossy(&text);
    let spdx_id = recognise(&text);
    let title = spdx_id.is_none().then(|| title(&text)).flatten();
    Ok(Some(LicenseFile {
        file,
        spdx_id,
        title,
    }))
}

/// The SPDX id of a licence text, by phrases each licence has and the others
/// lack. Whitespace and case are ignored, so reflowed copies match.
pub fn recognise(text: &str) -> Option<&'static str> {
    let flat = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_lowercase();
    let has = |phrase: &str| flat.contains(phrase);
    if has("apache license") && has("version 2.0") {
        return Some("Apache-2.0");
    }
    if has("permission is hereby granted, free of charge, to any person obtaining a copy") {
        return Some("MIT");
    }
    if has("redistribution and use in source and binary forms, with or without modification, are permitted") {
        return Some(if has("neither the name of") || has("contributors may be used to endorse") {
            "BSD-3-Clause"
        } else {
            "BSD-2-Clause"
        });
    }
    None
}

/// The first non-blank line, trimmed and cut to 200 characters.
fn title(text: &str) -> Option<String> {
    let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    Some(line.chars().take(200).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIT: &str = "MIT License\n\nCopyright (c) 2024 Acme\n\nPermission is hereby granted, free of charge, to any person obtaining a copy\nof this software and associated documentation files (the \"Software\"), to deal\n";
    const BSD3: &str = "Copyright (c) 2024, Acme\n\nRedistribution and use in source and binary forms, with or without\nmodification, are permitted provided that the following conditions are met:\n\n3. Neither the name of the copyright holder nor the names of its\n   contributors may be used to endorse or promote products\n";

    #[test]
    fn common_licences_are_recognised_through_reflowed_whitespace() {
        assert_eq!(
            recognise("                                 Apache License\n                           Version 2.0, January 2004\n"),
            Some("Apache-2.0")
        );
        assert_eq!(recognise(MIT), Some("MIT"));
        assert_eq!(recognise(BSD3), Some("BSD-3-Clause"));
        let bsd2 = BSD3.split("3. Neither").next().unwrap();
        assert_eq!(recognise(bsd2), Some("BSD-2-Clause"));
    }

    #[test]
    fn other_texts_are_not_guessed() {
        assert_eq!(recognise("LLAMA 2 COMMUNITY LICENSE AGREEMENT\n..."), None);
        assert_eq!(recognise("Apache License, version 1.1"), None);
        assert_eq!(recognise(""), None);
    }

    #[test]
    fn finds_the_file_and_keeps_the_title_of_an_unknown_licence() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(find(dir.path()).unwrap(), None);
        std::fs::write(dir.path().join("README.md"), MIT).unwrap();
        assert_eq!(find(dir.path()).unwrap(), None, "only licence file names");
        std::fs::write(
            dir.path().join("LICENSE.txt"),
            "\n  LLAMA 2 COMMUNITY LICENSE AGREEMENT\nLlama 2 Version Release Date: July 18, 2023\n",
        )
        .unwrap();
        assert_eq!(
            find(dir.path()).unwrap(),
            Some(LicenseFile {
                file: "LICENSE.txt".into(),
                spdx_id: None,
                title: Some("LLAMA 2 COMMUNITY LICENSE AGREEMENT".into()),
            })
        );
        std::fs::write(dir.path().join("LICENSE.txt"), MIT).unwrap();
        assert_eq!(find(dir.path()).unwrap().unwrap().spdx_id, Some("MIT"));
    }

    #[test]
    fn binary_garbage_is_not_a_licence_and_does_not_fail() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("COPYING"), [0xffu8, 0xfe, 0, 1, 2]).unwrap();
        let found = find(dir.path()).unwrap().unwrap();
        assert_eq!(found.spdx_id, None);
    }
}
