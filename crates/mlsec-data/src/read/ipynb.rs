//! Jupyter notebooks (nbformat 4): the texts of cell sources and of outputs
//! (stream text, `text/*` and `application/json` data, error tracebacks).
//!
//! A place in a notebook is the cell (1-based, in file order), the field (`source`,
//! `outputs[0].text`, `outputs[1].data.text/plain`, `outputs[2].traceback`) and the
//! 1-based line inside that field's text.

use super::ReadOptions;
use crate::error::Place;
use crate::DataError;
use serde_json::Value;
use std::io::Read;
use std::path::Path;

/// One line of text in a notebook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotebookLine {
    /// 1-based cell number.
    pub cell: u64,
    /// Which text of the cell: `source`, `outputs[K].text`, ...
    pub field: String,
    /// 1-based line inside that text.
    pub line: u64,
    pub text: String,
}

/// Reads and parses the notebook at `path`, at most `max_document_bytes` of it.
pub fn load(path: &Path, opts: &ReadOptions) -> Result<Value, DataError> {
    let file = std::fs::File::open(path).map_err(|e| DataError::io(path, &e))?;
    let mut bytes = Vec::new();
    file.take(opts.max_document_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| DataError::io(path, &e))?;
    if bytes.len() as u64 > opts.max_document_bytes {
        return Err(DataError::new(
            path,
            None,
            format!(
                "notebook over the limit of {} bytes",
                opts.max_document_bytes
            ),
        ));
    }
    parse(path, &bytes)
}

/// Parses notebook JSON and checks it has a `cells` list.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Value, DataError> {
    let nb: Value = serde_json::from_slice(bytes)
        .map_err(|e| DataError::new(path, None, format!("not notebook JSON: {e}")))?;
    if !nb.get("cells").is_some_and(Value::is_array) {
        return Err(DataError::new(
            path,
            None,
            "not an nbformat 4 notebook (no `cells` list)",
        ));
    }
    Ok(nb)
}

/// Calls `each(cell, field, text)` for every text of the notebook, joined when
/// nbformat stores it as a list of lines; what `each` leaves in `text` is written
/// back (as a list of lines again when it was one).
pub fn for_each_text(
    path: &Path,
    nb: &mut Value,
    mut each: impl FnMut(u64, &str, &mut String),
) -> Result<(), DataError> {
    let Some(cells) = nb.get_mut("cells").and_then(Value::as_array_mut) else {
        return Err(DataError::new(path, None, "no `cells` list"));
    };
    for (i, cell) in cells.iter_mut().enumerate() {
        let number = i as u64 + 1;
        let Some(cell) = cell.as_object_mut() else {
            return Err(DataError::new(
                path,
                Some(Place::Cell(number)),
                "cell is not a JSON object",
            ));
        };
        if let Some(source) = cell.get_mut("source") {
            visit(path, number, "source", source, &mut each)?;
        }
        let Some(outputs) = cell.get_mut("outputs").and_then(Value::as_array_mut) else {
            continue;
        };
        for (k, output) in outputs.iter_mut().enumerate() {
            if let Some(text) = output.get_mut("text") {
                visit(path, number, &format!("outputs[{k}].text"), text, &mut each)?;
            }
            if let Some(tb) = output.get_mut("traceback") {
                visit(
                    path,
                    number,
                    &format!("outputs[{k}].traceback"),
                    tb,
                    &mut each,
                )?;
            }
            if let Some(data) = output.get_mut("data").and_then(Value::as_object_mut) {
                for (mime, value) in data.iter_mut() {
                    if mime.starts_with("text/") {
                        visit(
                            path,
                            number,
                            &format!("outputs[{k}].data.{mime}"),
                            value,
                            &mut each,
                        )?;
                    } else if mime == "application/json" {
                        // JSON output data is an object: scan and rewrite its strings.
                        visit_json_strings(value, &mut |s| {
                            each(number, &format!("outputs[{k}].data.{mime}"), s)
                        });
                    }
                }
            }
        }
    }
    Ok(())
}

fn visit(
    path: &Path,
    cell: u64,
    field: &str,
    value: &mut Value,
    each: &mut impl FnMut(u64, &str, &mut String),
) -> Result<(), DataError> {
    match value {
        Value::String(s) => each(cell, field, s),
        Value::Array(parts) => {
            let mut text = String::new();
            for part in parts.iter() {
                match part.as_str() {
                    Some(s) => text.push_str(s),
                    None => {
                        return Err(DataError::new(
                            path,
                            Some(Place::Cell(cell)),
                            format!("`{field}` holds a non-string"),
                        ))
                    }
                }
            }
            let before = text.clone();
            each(cell, field, &mut text);
            if text != before {
                *parts = split_keeping_newlines(&text)
                    .map(|l| Value::String(l.to_string()))
                    .collect();
            }
        }
        Value::Null => {}
        _ => {
            return Err(DataError::new(
                path,
                Some(Place::Cell(cell)),
                format!("`{field}` is neither text nor a list of lines"),
            ))
        }
    }
    Ok(())
}

fn visit_json_strings(value: &mut Value, each: &mut impl FnMut(&mut String)) {
    // Bounded: serde_json refuses documents nested deeper than 128 levels.
    match value {
        Value::String(s) => each(s),
        Value::Array(items) => items.iter_mut().for_each(|v| visit_json_strings(v, each)),
        Value::Object(map) => map.values_mut().for_each(|v| visit_json_strings(v, each)),
        _ => {}
    }
}

/// Lines as nbformat stores them: each but the last keeps its `\n`.
fn split_keeping_newlines(text: &str) -> impl Iterator<Item = &str> {
    text.split_inclusive('\n')
}

/// Every line of every text of the notebook, in file order.
pub fn lines(path: &Path, nb: &Value) -> Result<Vec<NotebookLine>, DataError> {
    let mut nb = nb.clone();
    let mut out = Vec::new();
    for_each_text(path, &mut nb, |cell, field, text| {
        for (i, line) in text.lines().enumerate() {
            out.push(NotebookLine {
                cell,
                field: field.to_string(),
                line: i as u64 + 1,
                text: line.to_string(),
            });
        }
    })?;
    Ok(out)
}
