use super::*;
use crate::ScanConfig;
use mlsec_core::{Severity, Verdict};

/// A tiny pickle assembler for tests.
#[derive(Default)]
struct P(Vec<u8>);

impl P {
    fn proto(n: u8) -> Self {
        P(vec![0x80, n])
    }
    fn raw(mut self, b: &[u8]) -> Self {
        self.0.extend_from_slice(b);
        self
    }
    fn s(mut self, text: &str) -> Self {
        self.0.push(0x8c);
        self.0.push(text.len() as u8);
        self.0.extend_from_slice(text.as_bytes());
        self
    }
    fn global(self, module: &str, name: &str) -> Self {
        self.s(module).s(name).raw(b"\x93")
    }
    fn bytes(mut self, b: &[u8]) -> Self {
        self.0.push(b'B');
        self.0.extend_from_slice(&(b.len() as u32).to_le_bytes());
        self.0.extend_from_slice(b);
        self
    }
    fn done(self) -> Vec<u8> {
        self.raw(b".").0
    }
}

fn scan_with(data: &[u8], config: &ScanConfig) -> Report {
    let ctx = Ctx::new(config, "t.pkl", None);
    let mut report = Report::default();
    if !probe(&ctx, data, &mut report) {
        scan(&ctx, data, &mut report);
    }
    report
}

fn run(data: &[u8]) -> Report {
    scan_with(data, &ScanConfig::default())
}

fn rules(r: &Report) -> Vec<&str> {
    r.findings.iter().map(|f| f.rule.as_str()).collect()
}

#[test]
fn os_system_protocol0_is_malicious_with_offset_and_call() {
    let r = run(b"cos\nsystem\n(S'echo pwned'\ntR.");
    assert_eq!(r.verdict(), Verdict::Malicious);
    let f = &r.findings[0];
    assert_eq!(
        (f.rule.as_str(), f.severity, f.offset),
        ("PKL001", Severity::Critical, Some(0))
    );
    assert!(
        f.message.contains("os.system(\"echo pwned\")"),
        "{}",
        f.message
    );
    assert_eq!(f.evidence["called"], true);
}

#[test]
fn benign_state_dict_is_clean() {
    let p = P::proto(2)
        .global("collections", "OrderedDict")
        .raw(b")R")
        .s("w")
        .global("torch._utils", "_rebuild_tensor_v2")
        .raw(b"((")
        .s("storage")
        .global("torch", "FloatStorage")
        .s("0")
        .s("cpu")
        .raw(b"K\x04tQK\x00K\x04\x85K\x01\x85\x89")
        .global("collections", "OrderedDict")
        .raw(b")RtRs")
        .done();
    let r = run(&p);
    assert_eq!(r.findings, vec![], "{:?}", r.findings);
    assert_eq!(r.verdict(), Verdict::Clean);
    assert_eq!(r.format.as_deref(), Some("pickle"));
}

#[test]
fn unknown_class_is_suspicious_and_can_be_allowed() {
    let p = P::proto(4)
        .global("mypkg.models", "Net")
        .raw(b")\x81")
        .done();
    let r = run(&p);
    assert_eq!(rules(&r), ["PKL002"]);
    assert_eq!(r.verdict(), Verdict::Suspicious);
    // High: it fails the default gate (--fail-on high) until allowed.
    assert_eq!(r.findings[0].severity, Severity::High);
    let config = ScanConfig {
        allow: vec!["mypkg.*".into()],
        ..Default::default()
    };
    assert_eq!(scan_with(&p, &config).verdict(), Verdict::Clean);
}

#[test]
fn unknown_import_not_called_is_low() {
    let p = P::proto(4)
        .raw(b"}")
        .s("act")
        .global("mypkg.act", "gelu")
        .raw(b"s")
        .done();
    let r = run(&p);
    assert_eq!(rules(&r), ["PKL003"]);
    assert_eq!(r.findings[0].severity, Severity::Low);
}

#[test]
fn submodule_of_denied_module_is_denied() {
    let p = P::proto(4)
        .global("asyncio.unix_events", "_UnixSubprocessTransport")
        .raw(b")R")
        .done();
    assert!(rules(&run(&p)).contains(&"PKL001"));
}

#[test]
fn memo_confusion_resolves_the_real_names() {
    // memo[0] = "os" (MEMOIZE), PUT 5 = "torch", MEMOIZE -> slot 2 (len(memo)), not 6.
    let p = P::proto(4)
        .s("os")
        .raw(b"\x94")
        .s("torch")
        .raw(b"p5\n0")
        .s("system")
        .raw(b"\x940h\x00h\x02\x93)R")
        .done();
    let r = run(&p);
    assert!(
        r.findings
            .iter()
            .any(|f| f.rule == "PKL001" && f.message.contains("os.system")),
        "{:?}",
        r.findings
    );
}

#[test]
fn build_patching_an_allowed_function_is_caught() {
    // modelscan #85: numpy.prod.a = 'os'; GLOBAL numpy prod.a feeds STACK_GLOBAL.
    let p = P::proto(4)
        .global("numpy", "prod")
        .raw(b"}")
        .s("a")
        .s("os")
        .raw(b"sb0")
        .raw(b"cnumpy\nprod.a\n")
        .s("system")
        .raw(b"\x93")
        .s("id")
        .raw(b"\x85R")
        .done();
    let r = run(&p);
    let ids = rules(&r);
    for id in ["PKL005", "PKL006", "PKL004"] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
    assert_eq!(r.verdict(), Verdict::Malicious);
}

#[test]
fn calling_a_call_result_is_a_gadget() {
    // modelscan #330: numpy.size(f, 'eval') returns eval, which is then called.
    let p = P::proto(4)
        .global("numpy", "size")
        .s("f")
        .s("eval")
        .raw(b"\x86R")
        .s("__import__('os').system('id')")
        .raw(b"\x85R")
        .done();
    let r = run(&p);
    assert!(rules(&r).contains(&"PKL004"), "{:?}", r.findings);
    assert_eq!(r.verdict(), Verdict::Malicious);
}

#[test]
fn nested_pickle_is_followed() {
    let inner = b"cos\nsystem\n(S'id'\ntR.";
    let p = P::proto(4)
        .global("pickle", "loads")
        .bytes(inner)
        .raw(b"\x85R")
        .done();
    let r = run(&p);
    let nested = r
        .findings
        .iter()
        .find(|f| f.rule == "PKL009")
        .expect("PKL009");
    assert!(
        nested.message.contains("loads 21 bytes"),
        "{}",
        nested.message
    );
    let inner_start = (p.len() - 3 - inner.len()) as u64;
    let inner_hit = r
        .findings
        .iter()
        .find(|f| f.rule == "PKL001" && f.message.contains("os.system"))
        .expect("inner os.system");
    assert_eq!(inner_hit.offset, Some(inner_start));
}

#[test]
fn faults_fail_closed_and_keep_earlier_findings() {
    // BINGET of a missing memo key before STACK_GLOBAL: exception-directed evasion.
    let r = run(&P::proto(4).raw(b"h\x07").s("system").raw(b"\x93").done());
    assert_eq!(rules(&r), ["PKL008"]);
    assert_eq!(r.verdict(), Verdict::Error);
    assert_eq!(r.findings[0].severity, Severity::High);
    // The payload runs, then the stream breaks: still malicious.
    let r = run(b"cos\nsystem\n(S'id'\ntR\xff");
    assert_eq!(r.verdict(), Verdict::Malicious);
    assert!(rules(&r).contains(&"PKL008"));
}

#[test]
fn second_pickle_back_to_back_is_judged() {
    let mut data = P::proto(2).raw(b"}").done();
    data.extend_from_slice(b"cposix\nsystem\n(S'id'\ntR.");
    let r = run(&data);
    assert!(
        r.findings
            .iter()
            .any(|f| f.rule == "PKL001" && f.offset == Some(4)),
        "{:?}",
        r.findings
    );
}

#[test]
fn trailing_binary_after_stop_is_ignored() {
    let mut data = P::proto(2).raw(b"}").done();
    data.extend_from_slice(&[0x00, 0xff, 0x13, 0x37]);
    assert_eq!(run(&data).verdict(), Verdict::Clean);
}

#[test]
fn text_is_not_taken_for_a_pickle() {
    let config = ScanConfig::default();
    let ctx = Ctx::new(&config, "README.md", None);
    for text in [
        &b"hello world\n"[..],
        b"cat\ndog\nmore",
        b"id,name\n1,foo\n",
        b"(hello",
        b"",
        b"character(len=12), dimension(5,7) :: a\n  character b(5,7) * 12\n(tR.",
    ] {
        let mut report = Report::default();
        assert!(!probe(&ctx, text, &mut report), "{text:?}");
        assert_eq!(report.verdict(), Verdict::Unsupported);
    }
}

#[test]
fn dotted_path_through_allowed_module_is_denied() {
    let r = run(b"ctorch._utils\nos.system\n(S'id'\ntR.");
    assert_eq!(r.verdict(), Verdict::Malicious);
    assert!(
        r.findings[0].message.contains("reaches module `os`"),
        "{}",
        r.findings[0].message
    );
}

#[test]
fn python2_names_are_mapped() {
    let r = run(b"c__builtin__\neval\n(S'1+1'\ntR.");
    assert_eq!(rules(&r), ["PKL001"]);
    let r = run(b"c__builtin__\nset\n((lp0\ntR.");
    assert_eq!(r.verdict(), Verdict::Clean, "{:?}", r.findings);
    // Python 2 names CPython maps to safe Python 3 builtins.
    for name in ["xrange", "unicode", "long", "basestring"] {
        let r = run(format!("c__builtin__\n{name}\n(I3\ntR.").as_bytes());
        assert_eq!(r.verdict(), Verdict::Clean, "{name}: {:?}", r.findings);
    }
    // ... and the dangerous ones keep their danger under their new names.
    let r = run(b"c__builtin__\nreduce\n(tR.");
    assert_eq!(r.verdict(), Verdict::Malicious);
}

#[test]
fn extension_registry_is_suspicious() {
    let r = run(&P::proto(2).raw(b"\x82\x01)R").done());
    assert_eq!(rules(&r), ["PKL007"]);
    assert_eq!(r.verdict(), Verdict::Suspicious);
}

#[test]
fn joblib_array_bytes_are_skipped_not_parsed() {
    // A NumpyArrayWrapper whose array bytes happen to spell a malicious pickle.
    let array = b"cos\nsystem\n)R.\x00\x00";
    assert_eq!(array.len(), 16);
    let p = P::proto(4)
        .global("joblib.numpy_pickle", "NumpyArrayWrapper")
        .raw(b")\x81}(")
        .s("subclass")
        .global("numpy", "ndarray")
        .s("shape")
        .raw(b"K\x02\x85")
        .s("order")
        .s("C")
        .s("dtype")
        .global("numpy", "dtype")
        .s("f8")
        .raw(b"\x89\x88\x87R(K\x03")
        .s("<")
        .raw(b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb")
        .s("allow_mmap")
        .raw(b"\x88")
        .s("numpy_array_alignment_bytes")
        .raw(b"K\x10ub")
        .raw(&[3, 0xff, 0xff, 0xff])
        .raw(array)
        .done();
    let r = run(&p);
    assert_eq!(r.findings, vec![], "{:?}", r.findings);
    assert_eq!(r.format.as_deref(), Some("joblib"));
    // Without the padding the array would be short: fail closed.
    let mut short = p.clone();
    short.truncate(p.len() - 6);
    assert_eq!(run(&short).verdict(), Verdict::Error);
}

#[test]
fn legacy_torch_stops_after_five_pickles() {
    let mut data = TORCH_LEGACY_MAGIC.to_vec();
    for _ in 0..4 {
        data.extend_from_slice(&P::proto(2).raw(b"}").done());
    }
    // Raw storage bytes that would parse as a malicious protocol-0 pickle.
    data.extend_from_slice(b"cos\nsystem\n(S'id'\ntR.");
    let r = run(&data);
    assert_eq!(r.format.as_deref(), Some("pytorch-legacy"));
    assert_eq!(r.verdict(), Verdict::Clean, "{:?}", r.findings);
}

#[test]
fn test_helpers_of_allowlisted_libraries_are_denied() {
    for (module, name) in [
        (
            "sklearn.utils._testing",
            "assert_run_python_script_without_output",
        ),
        ("sklearn.utils._testing", "TempMemmap"),
        ("pandas._testing", "with_csv_dialect"),
        ("torch.testing._internal.common_utils", "shell"),
        ("torch.utils.benchmark", "Timer"),
        ("numpy._pytesttester", "PytestTester"),
        ("scipy._lib._testutils", "PytestTester"),
    ] {
        let p = P::proto(4)
            .global(module, name)
            .s("import os; os.system('id')")
            .raw(b"\x85R")
            .done();
        let r = run(&p);
        assert_eq!(rules(&r), ["PKL001"], "{module}.{name}");
        assert_eq!(r.verdict(), Verdict::Malicious, "{module}.{name}");
    }
}

#[test]
fn a_global_passed_deep_inside_call_arguments_is_still_passed() {
    // OrderedDict(((((...(mypkg.f,)...),),)) with the global 40 tuples deep.
    let mut p = P::proto(4)
        .global("collections", "OrderedDict")
        .global("mypkg", "f");
    for _ in 0..40 {
        p = p.raw(b"\x85");
    }
    let r = run(&p.raw(b"\x85R").done());
    assert_eq!(rules(&r), ["PKL002"]);
    assert_eq!(r.findings[0].evidence["passed_to_call"], true);
}
