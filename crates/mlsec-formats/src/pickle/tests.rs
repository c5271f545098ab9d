use super::decode::{escape_decode, raw_unicode_escape_decode};
use super::*;

fn run(data: &[u8]) -> Trace {
    analyze(data, 0, &PickleLimits::default())
}

#[test]
fn short_strings_stay_inline_and_read_back_whole() {
    assert!(std::mem::size_of::<Value>() <= 48, "Value grew");
    // SHORT_BINUNICODE of 38 bytes (inline, multi-byte UTF-8 at the edge)
    // and of 39 bytes (heap), in a tuple.
    let short = "é".repeat(19);
    let long = format!("{short}x");
    let mut p = b"\x80\x04".to_vec();
    for s in [&short, &long] {
        p.push(0x8c);
        p.push(s.len() as u8);
        p.extend_from_slice(s.as_bytes());
    }
    p.extend_from_slice(b"\x86."); // TUPLE2, STOP
    let t = run(&p);
    assert!(t.complete(), "{:?}", t.error);
    let items = t.values.items(t.result.unwrap());
    assert!(matches!(t.value(items[0]), Value::ShortStr { .. }));
    assert!(matches!(t.value(items[1]), Value::Str(_)));
    assert_eq!(t.values.as_str(items[0]), Some(short.as_str()));
    assert_eq!(t.values.as_str(items[1]), Some(long.as_str()));
    assert_eq!(describe(&t.values, items[0]), format!("{short:?}"));
}

#[test]
fn short_strings_that_are_not_utf8_fail_the_load_as_in_cpython() {
    // SHORT_BINUNICODE of 3 bytes: ASCII (kept inline), a lone
    // continuation byte and a truncated sequence (both errors).
    assert!(run(b"\x80\x04\x8c\x03abc.").complete());
    for bad in [&b"a\x80c"[..], &b"ab\xe2"[..]] {
        let mut p = b"\x80\x04\x8c\x03".to_vec();
        p.extend_from_slice(bad);
        p.push(b'.');
        let t = run(&p);
        assert!(
            matches!(&t.error, Some(e) if matches!(e.kind, ErrorKind::BadArgument(_, _))),
            "{:?}",
            t.error
        );
    }
}

/// Values that hold themselves (a list appended to itself through the
/// memo, a dict through DUP, an object whose state holds it) are handles
/// that point back into the arena: they are described without looping and
/// freed with it.
#[test]
fn reference_cycles_are_described_and_freed() {
    let cases: [(&[u8], &str); 3] = [
        // memo[0] = []; memo[0].append(memo[0])
        (b"\x80\x02]q\x00h\x00a.", "[[[[[[[...]]]]]]]"),
        // memo[0] = {}; memo[0]["k"] = memo[0]
        (
            b"\x80\x02}q\x00X\x01\x00\x00\x00kh\x00s.",
            "{\"k\": {\"k\": {\"k\": {\"k\": {\"k\": {\"k\": {...: ...}}}}}}}",
        ),
        // o = m.C(); memo[0] = o; o.__setstate__(o)
        (b"\x80\x02cm\nC\n)Rq\x00h\x00b.", "m.C()"),
    ];
    for (p, shown) in cases {
        let t = run(p);
        assert!(t.complete(), "{p:?}: {:?}", t.error);
        let result = t.result.unwrap();
        assert_eq!(describe(&t.values, result), shown, "{p:?}");
        drop(t);
    }
}

fn imports(t: &Trace) -> Vec<String> {
    t.imports
        .iter()
        .map(|i| format!("{}.{}", i.module, i.name))
        .collect()
}

/// Runs `f` on a thread with a 256 KiB stack, so that recursion over a deep
/// value overflows in the test as it would on a scanner's worker thread.
fn on_small_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(256 << 10)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn values_nested_200k_deep_are_freed_without_recursion() {
    on_small_stack(|| {
        // N, then 200,000 TUPLE1: ((((None,),),),...)
        let mut p = b"\x80\x02N".to_vec();
        p.extend(std::iter::repeat_n(0x85u8, 200_000));
        p.push(b'.');
        let t = run(&p);
        assert!(t.complete(), "{:?}", t.error);
        drop(t);
        // Lists nested through the memo: memo[0] = [memo[0]] 50,000 times,
        // then calls, builds and persistent ids wrapped around them.
        let mut p = b"\x80\x02Nq\x00".to_vec();
        for _ in 0..50_000 {
            p.extend_from_slice(b"(h\x00lq\x00\x30");
        }
        for _ in 0..50_000 {
            p.extend_from_slice(b"h\x00cmod\nf\n\x85Rq\x00\x30h\x00Q}bq\x00\x30");
        }
        p.extend_from_slice(b"h\x00.");
        let t = run(&p);
        assert!(t.complete(), "{:?}", t.error);
        assert_eq!(t.calls.len(), 50_000);
        assert!(describe(&t.values, t.result.unwrap()).len() <= 300);
    });
}

#[test]
fn protocol0_global_reduce() {
    let t = run(b"cos\nsystem\n(S'echo hi'\ntR.");
    assert!(t.complete(), "{:?}", t.error);
    assert_eq!(imports(&t), ["os.system"]);
    assert_eq!(t.calls.len(), 1);
    assert_eq!(
        describe_call(&t.values, t.calls[0].func, t.calls[0].args),
        "os.system(\"echo hi\")"
    );
}

#[test]
fn stack_global_through_memo_and_memoize() {
    // PUT 5 then MEMOIZE: MEMOIZE uses len(memo) == 1, not 6.
    let mut p = vec![0x80, 4];
    p.extend_from_slice(b"\x8c\x02os\x94"); // memo[0] = "os"
    p.extend_from_slice(b"\x8c\x05torchp5\n"); // memo[5] = "torch"
    p.extend_from_slice(b"0\x8c\x06system\x94"); // pop; memo[2] = "system"
    p.extend_from_slice(b"0h\x00h\x02\x93)R."); // os.system()
    let t = run(&p);
    assert!(t.complete(), "{:?}", t.error);
    assert_eq!(imports(&t), ["os.system"]);
}

#[test]
fn inst_and_obj_are_calls() {
    let t = run(b"(S'ls'\nios\nsystem\n.");
    assert_eq!(imports(&t), ["os.system"]);
    assert_eq!(t.calls[0].kind, CallKind::Inst);
    let t = run(b"(cos\nsystem\nS'ls'\no.");
    assert_eq!(t.calls[0].kind, CallKind::Obj);
}

#[test]
fn computed_stack_global_operand_is_recorded() {
    // GLOBAL numpy prod.a (a BUILD-planted attribute) used as STACK_GLOBAL module.
    let t = run(b"\x80\x04cnumpy\nprod.a\n\x8c\x06system\x93.");
    assert_eq!(t.computed_globals.len(), 1);
    assert!(t.complete());
}

#[test]
fn faults_keep_what_came_before() {
    let t = run(b"cos\nsystem\n(S'id'\ntRh\x07.");
    assert_eq!(t.calls.len(), 1);
    assert_eq!(
        t.error.as_ref().map(|e| e.kind.clone()),
        Some(ErrorKind::MemoMissing(7))
    );
    assert_eq!(t.error.as_ref().unwrap().offset, 20);
}

#[test]
fn malformed_inputs_are_errors_not_panics() {
    for bad in [
        &b""[..],
        b"\x80",
        b"\x80\x09.",
        b"\xff",
        b"0",
        b"t",
        b"X\xff\xff\xff\xff",
        b"\x8d\xff\xff\xff\xff\xff\xff\xff\xff",
        b"\x95\xff\xff\xff\xff\xff\xff\xff\x7fN.",
        b"T\xff\xff\xff\xff",
        b"\x8b\x00\x00\x00\x80",
        b"cos\n",
        b"Ix\n.",
        b"p-1\n",
        b"S'unterminated\n.",
        b"(d",
    ] {
        let t = run(bad);
        assert!(t.error.is_some(), "{bad:?} should fail");
    }
}

#[test]
fn every_prefix_of_a_pickle_fails_cleanly() {
    let p = b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00\x8c\x0bcollections\x94\x8c\x0bOrderedDict\x94\x93)R\x94.";
    assert!(run(p).complete());
    for n in 0..p.len() {
        assert!(run(&p[..n]).error.is_some(), "prefix {n}");
    }
}

#[test]
fn stack_and_memo_limits() {
    let limits = PickleLimits {
        max_opcodes: 1000,
        max_memo_entries: 4,
        max_stack_depth: 16,
        max_nesting: 2,
    };
    let deep = vec![b'('; 100];
    let t = analyze(&deep, 0, &limits);
    assert!(matches!(
        t.error.as_ref().unwrap().kind,
        ErrorKind::Limit(_)
    ));
    let mut memo = b"N".to_vec();
    for i in 0..10u8 {
        memo.extend_from_slice(&[b'q', i]);
    }
    let t = analyze(&memo, 0, &limits);
    assert!(matches!(
        t.error.as_ref().unwrap().kind,
        ErrorKind::Limit(_)
    ));
}

#[test]
fn escapes_and_strings() {
    assert_eq!(escape_decode(br"o\x73\n\\\101"), b"os\n\\A");
    assert_eq!(raw_unicode_escape_decode(br"sy\u0073tem"), "system");
    let t = run(b"S'o\\x73'\nS'sy\\163tem'\n\x93.");
    assert_eq!(imports(&t), ["os.system"]);
}

/// Assembles protocol-4 opcodes: `s(..)` pushes a short string.
fn s(text: &str) -> Vec<u8> {
    let mut out = vec![0x8c, text.len() as u8];
    out.extend_from_slice(text.as_bytes());
    out
}

fn global(module: &str, name: &str) -> Vec<u8> {
    [s(module), s(name), vec![0x93]].concat()
}

/// `numpy.dtype(descr, False, True)` with its BUILD state.
fn dtype(descr: &str, state: &[u8]) -> Vec<u8> {
    [
        global("numpy", "dtype"),
        s(descr),
        b"\x89\x88\x87R".to_vec(),
        state.to_vec(),
        b"b".to_vec(),
    ]
    .concat()
}

fn joblib_wrapper(dtype: Vec<u8>, payload: &[u8]) -> Vec<u8> {
    [
        b"\x80\x04".to_vec(),
        global("joblib.numpy_pickle", "NumpyArrayWrapper"),
        b")\x81}(".to_vec(),
        s("shape"),
        b"K\x01\x85".to_vec(),
        s("dtype"),
        dtype,
        b"ub".to_vec(),
        payload.to_vec(),
        b".".to_vec(),
    ]
    .concat()
}

#[test]
fn joblib_structured_dtype_with_object_field_is_a_nested_pickle() {
    // dtype V8 whose single field is an object: NumPy says hasobject, so joblib
    // writes the array as a nested pickle, not as 8 raw bytes.
    let object_field = dtype(
        "O8",
        b"(K\x03\x8c\x01|NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK?t",
    );
    let fields = [b"}".to_vec(), s("a"), object_field, b"K\x00\x86s".to_vec()].concat();
    let state = [
        b"(K\x03".to_vec(),
        s("|"),
        b"N".to_vec(),
        s("a"),
        b"\x85".to_vec(),
        fields,
        b"K\x08K\x01K?t".to_vec(),
    ]
    .concat();
    let nested = b"\x80\x02cos\nsystem\n)R.";
    let t = run(&joblib_wrapper(dtype("V8", &state), nested));
    assert!(t.complete(), "{:?}", t.error);
    assert_eq!(t.nested.len(), 1);
    assert_eq!(
        t.nested[0].1.imports.len(),
        1,
        "the nested pickle is analysed"
    );
    assert!(t.joblib_arrays.is_empty());
}

#[test]
fn joblib_fixed_size_dtype_ignores_a_forged_elsize() {
    // 'f8' with elsize 100 in its state: NumPy reads 8 bytes per item, so must we.
    let forged = [
        b"(K\x03".to_vec(),
        s("<"),
        b"NNNK\x64J\xff\xff\xff\xffK\x00t".to_vec(),
    ]
    .concat();
    let t = run(&joblib_wrapper(dtype("f8", &forged), &[0u8; 8]));
    assert!(t.complete(), "{:?}", t.error);
    assert_eq!(t.joblib_arrays.len(), 1);
    assert_eq!(t.joblib_arrays[0].1, 8);
}

#[test]
fn long_opcodes() {
    let t = run(b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.");
    assert!(matches!(t.value(t.result.unwrap()), Value::BigInt));
    let t = run(b"\x8a\x02\xff\xff.");
    assert!(matches!(t.value(t.result.unwrap()), Value::Int(-1)));
}
