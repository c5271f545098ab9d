#![no_main]
//! The text files `mlsec bom` reads from a model folder: README.md front
//! matter (model-index results included), config.json, generation_config.json,
//! a licence file and the dependency files. Errors are fine; panics,
//! hangs and unbounded memory are not.
use libfuzzer_sys::fuzz_target;
use mlsec_bom::{card, deps, license};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut info = card::CardInfo::default();
    let _ = card::front_matter_into(text, &mut info);
    let _ = card::config_into(text, &mut info);
    let _ = card::generation_into(text, &mut info);
    let _ = license::recognise(text);
    let _ = deps::parse_requirements(text, "requirements.txt");
    let _ = deps::parse_pyproject(text);
    let _ = deps::parse_poetry_lock(text);
    let _ = deps::parse_pipfile_lock(text);
    let _ = deps::parse_conda_environment(text, "environment.yml");
});
