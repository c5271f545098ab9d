//! Judging a pickle trace: which imports are dangerous, what is called, what is
//! patched, and what could not be read.

use super::globals::{classify, Class};
use super::rules::*;
use crate::rules::general::LIMIT_EXCEEDED;
use crate::{Ctx, Report};
use mlsec_formats::pickle::{analyze, describe, CallKind, ErrorKind, Trace, Value, Values, V};
use serde_json::json;
use std::collections::BTreeMap;
use std::rc::Rc;

/// Loaders whose bytes argument is itself a pickle.
const NESTED_LOADERS: &[&str] = &[
    "pickle.loads",
    "pickle._loads",
    "_pickle.loads",
    "cPickle.loads",
    "dill.loads",
    "dill._dill.loads",
    "cloudpickle.loads",
    "torch.storage._load_from_bytes",
    "numpy.loads",
    "joblib.load",
];

/// How deep pickles nested inside pickles are followed.
const MAX_NESTED_DEPTH: u32 = 4;

/// Per imported global: every place it is imported and how it is used. Calls
/// are described only for globals that get a finding (most are allowed).
#[derive(Default)]
struct Usage<'t> {
    offsets: Vec<u64>,
    opcode: &'static str,
    called: bool,
    passed: bool,
    calls: Vec<&'t mlsec_formats::pickle::Call>,
}

/// Judges `trace`, whose offsets are relative to `data`; `base` is the offset of
/// `data` inside the current member, so findings point at the real bytes.
pub(super) fn judge(
    ctx: &Ctx,
    data: &[u8],
    trace: &Trace,
    base: u64,
    depth: u32,
    report: &mut Report,
) {
    // Keyed by the trace's own shared names: no string is copied per import.
    let mut usage: BTreeMap<(Rc<str>, Rc<str>), Usage> = BTreeMap::new();
    for import in &trace.imports {
        let u = usage
            .entry((import.module.clone(), import.name.clone()))
            .or_default();
        u.offsets.push(base + import.offset as u64);
        u.opcode = import.opcode;
    }

    let values = &trace.values;
    for call in &trace.calls {
        let offset = base + call.offset as u64;
        match (values.get(call.func), call.kind) {
            (Value::Global { .. }, CallKind::Method) => report.push(
                ctx.finding(
                    &COMPUTED_CALLABLE,
                    Some(offset),
                    format!(
                        "container opcode applied to the imported object `{}`, which calls its methods",
                        describe(values, call.func)
                    ),
                )
                .with_evidence(json!({ "target": describe(values, call.func) })),
            ),
            (Value::Global { module, name, .. }, _) => {
                if let Some(u) = usage.get_mut(&(module.clone(), name.clone())) {
                    u.called = true;
                    if u.calls.len() < 5 {
                        u.calls.push(call);
                    }
                }
                nested_pickle(ctx, data, values, call.func, call.args, base, depth, offset, report);
            }
            (Value::Unknown | Value::Extension(_), CallKind::Method) => report.push(ctx.finding(
                &COMPUTED_CALLABLE,
                Some(offset),
                "container opcode applied to a value computed at load time, which calls its methods",
            )),
            (Value::Extension(_), _) => {}
            (Value::Call { .. } | Value::Unknown | Value::PersistentId(_), kind) if kind != CallKind::Method => {
                report.push(
                    ctx.finding(
                        &COMPUTED_CALLABLE,
                        Some(offset),
                        format!(
                            "{} calls a value computed at load time: {}",
                            kind.opcode(),
                            describe_call(values, call.func, call.args, kind)
                        ),
                    )
                    .with_evidence(json!({ "callee": describe(values, call.func), "opcode": kind.opcode() })),
                );
            }
            (_, CallKind::Method) => {}
            (_, kind) => report.push(ctx.finding(
                &MALFORMED,
                Some(offset),
                format!("{} calls a value that is not callable: {}", kind.opcode(), describe(values, call.func)),
            )),
        }
    }
    // Globals handed to a call may be called by it (defaultdict, partial, _reconstructor).
    for_each_global(
        values,
        trace.calls.iter().map(|c| c.args),
        |module, name| {
            if let Some(u) = usage.get_mut(&(module.clone(), name.clone())) {
                u.passed = true;
            }
        },
    );

    for ((module, name), u) in &usage {
        let (module, name): (&str, &str) = (module, name);
        // Decided before anything is formatted: most globals are allowed.
        let (rule, denied) = match classify(module, name, ctx.config) {
            Class::Allowed => continue,
            Class::Denied(why) => (&DANGEROUS_GLOBAL, Some(why)),
            Class::Unknown if u.called || u.passed => (&UNKNOWN_CALLABLE, None),
            Class::Unknown => (&UNKNOWN_IMPORT, None),
        };
        let full = format!("{module}.{name}");
        let calls: Vec<String> = u
            .calls
            .iter()
            .map(|c| describe_call(values, c.func, c.args, c.kind))
            .collect();
        let first = u.offsets.first().copied();
        let how = if let Some(c) = calls.first() {
            format!("called as {c}")
        } else if u.passed {
            "passed to a call".to_string()
        } else {
            format!("imported ({})", u.opcode)
        };
        let times = if u.offsets.len() > 1 {
            format!(" ({} times)", u.offsets.len())
        } else {
            String::new()
        };
        let evidence = json!({
            "global": full, "module": module, "name": name, "opcode": u.opcode,
            "offsets": u.offsets, "called": u.called, "passed_to_call": u.passed, "calls": calls,
        });
        let message = match denied {
            Some(why) => format!("`{full}` {why}; {how}{times}"),
            None if u.called || u.passed => format!(
                "`{full}` is not known to be safe; {how}{times} (allow it in mlsec.toml if trusted)"
            ),
            None => format!("`{full}` is not known to be safe; {how}{times}"),
        };
        report.push(ctx.finding(rule, first, message).with_evidence(evidence));
    }

    for build in &trace.builds {
        if matches!(
            values.get(build.target),
            Value::Global { .. } | Value::Unknown | Value::Extension(_)
        ) {
            report.push(
                ctx.finding(
                    &GLOBAL_PATCHED,
                    Some(base + build.offset as u64),
                    format!(
                        "BUILD sets state {} on the imported object `{}`",
                        describe(values, build.state),
                        describe(values, build.target)
                    ),
                )
                .with_evidence(
                    json!({ "target": describe(values, build.target), "state": describe(values, build.state) }),
                ),
            );
        }
    }

    for g in &trace.computed_globals {
        report.push(ctx.finding(
            &COMPUTED_GLOBAL,
            Some(base + g.offset as u64),
            format!(
                "STACK_GLOBAL imports a name computed at load time: module {}, name {}",
                describe(values, g.module),
                describe(values, g.name)
            ),
        ));
    }

    for (offset, code) in &trace.extensions {
        report.push(ctx.finding(
            &EXTENSION_REGISTRY,
            Some(base + *offset as u64),
            format!("extension registry code {code} names a global that is not in the file"),
        ));
    }

    for (_, nested) in &trace.nested {
        judge(ctx, data, nested, base, depth + 1, report);
    }

    if let Some(err) = &trace.error {
        let offset = Some(base + err.offset as u64);
        let seen = if trace.imports.is_empty() && trace.calls.is_empty() {
            String::new()
        } else {
            format!(
                " ({} imports and {} calls before it were judged)",
                trace.imports.len(),
                trace.calls.len()
            )
        };
        let rule = if matches!(err.kind, ErrorKind::Limit(_)) {
            &LIMIT_EXCEEDED
        } else {
            &MALFORMED
        };
        report.push(ctx.finding(rule, offset, format!("{err}{seen}")));
    }
}

fn describe_call(values: &Values, func: V, args: V, kind: CallKind) -> String {
    let rendered = mlsec_formats::pickle::describe_call(values, func, args);
    format!("{rendered} via {}", kind.opcode())
}

/// Calls `f` for every global inside any of `roots`, however deep. One walk
/// with one visited set (a bit per value of the arena) serves all roots, so
/// shared and deeply nested values cost their size once, not once per call,
/// and never the stack.
fn for_each_global(
    values: &Values,
    roots: impl Iterator<Item = V>,
    mut f: impl FnMut(&Rc<str>, &Rc<str>),
) {
    let mut pending: Vec<V> = roots.collect();
    if pending.is_empty() {
        return;
    }
    let mut seen = vec![0u64; values.len().div_ceil(64)];
    while let Some(v) = pending.pop() {
        let value = values.get(v);
        // Leaves (numbers, strings, bytes) hold nothing: only values that can
        // be reached twice and lead somewhere need the visited set.
        let leads_somewhere = matches!(
            value,
            Value::Global { .. }
                | Value::Tuple(_)
                | Value::FrozenSet(_)
                | Value::List(_)
                | Value::Set(_)
                | Value::Dict(_)
                | Value::Call { .. }
                | Value::PersistentId(_)
        );
        if !leads_somewhere {
            continue;
        }
        let Some(word) = seen.get_mut(v.index() / 64) else {
            continue;
        };
        let bit = 1u64 << (v.index() % 64);
        if *word & bit != 0 {
            continue;
        }
        *word |= bit;
        match value {
            Value::Global { module, name, .. } => f(module, name),
            Value::Tuple(items)
            | Value::FrozenSet(items)
            | Value::List(items)
            | Value::Set(items) => pending.extend_from_slice(items),
            Value::Dict(d) => d.iter().for_each(|(k, v)| {
                pending.push(*k);
                pending.push(*v);
            }),
            Value::Call { func, args, .. } => {
                pending.push(*func);
                pending.push(*args);
            }
            Value::PersistentId(id) => pending.push(*id),
            _ => {}
        }
    }
}

/// A loader called on embedded bytes: report it and judge the inner pickle.
#[allow(clippy::too_many_arguments)]
fn nested_pickle(
    ctx: &Ctx,
    data: &[u8],
    values: &Values,
    func: V,
    args: V,
    base: u64,
    depth: u32,
    offset: u64,
    report: &mut Report,
) {
    // Most calls are to other globals: compare without building the path.
    let Value::Global { module, name, .. } = values.get(func) else {
        return;
    };
    let Some(path) = NESTED_LOADERS.iter().find(|p| {
        p.strip_prefix(&**module)
            .and_then(|rest| rest.strip_prefix('.'))
            .is_some_and(|rest| rest == &**name)
    }) else {
        return;
    };
    let Some(&first) = values.items(args).first() else {
        return;
    };
    let Value::Bytes { start, len } = *values.get(first) else {
        return;
    };
    report.push(
        ctx.finding(
            &NESTED_PICKLE,
            Some(offset),
            format!(
                "`{path}` loads {len} bytes embedded at offset {} as a pickle",
                base + start as u64
            ),
        )
        .with_evidence(json!({ "loader": path, "offset": base + start as u64, "length": len })),
    );
    if depth >= MAX_NESTED_DEPTH {
        report.push(ctx.finding(
            &LIMIT_EXCEEDED,
            Some(offset),
            "pickles nested too deeply; not followed further",
        ));
        return;
    }
    // Bytes values are spans of the buffer the trace was made from: `data`.
    let Some(inner) = start.checked_add(len).and_then(|end| data.get(start..end)) else {
        return;
    };
    let trace = analyze(inner, 0, &ctx.pickle_limits());
    judge(ctx, inner, &trace, base + start as u64, depth + 1, report);
}
