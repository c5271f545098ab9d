//! Which imported globals are known safe in model files, and which give code
//! execution or system access.
//!
//! Matching is by module *prefix*: a denied module denies all its submodules
//! (`asyncio` covers `asyncio.unix_events._UnixSubprocessTransport`), and the
//! attribute path after the module is checked component by component, so an
//! allowed module cannot be used as a stepping stone (`torch._utils` +
//! `os.system`, or anything through `__globals__`).

use crate::ScanConfig;

/// How an imported global is judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Class {
    Allowed,
    /// Known dangerous; the reason says what it gives an attacker.
    Denied(String),
    Unknown,
}

/// Exact `module.name` globals that real model files use and that cannot run
/// code, touch files or reach the network when called with any arguments.
const ALLOWED: &[&str] = &[
    // Python data types and their pickle helpers.
    "builtins.set",
    "builtins.frozenset",
    "builtins.slice",
    "builtins.complex",
    "builtins.bytearray",
    "builtins.bytes",
    "builtins.str",
    "builtins.int",
    "builtins.float",
    "builtins.bool",
    "builtins.list",
    "builtins.dict",
    "builtins.tuple",
    "builtins.range",
    "builtins.object",
    "builtins.Ellipsis",
    "builtins.NotImplemented",
    "copyreg._reconstructor",
    "copyreg.__newobj__",
    "copyreg.__newobj_ex__",
    "_codecs.encode",
    "collections.OrderedDict",
    "collections.defaultdict",
    "collections.deque",
    "collections.Counter",
    "datetime.datetime",
    "datetime.date",
    "datetime.time",
    "datetime.timedelta",
    "datetime.timezone",
    "decimal.Decimal",
    "fractions.Fraction",
    "uuid.UUID",
    "pathlib.Path",
    "pathlib.PosixPath",
    "pathlib.WindowsPath",
    "pathlib.PurePath",
    "pathlib.PurePosixPath",
    "pathlib.PureWindowsPath",
    "argparse.Namespace",
    "types.SimpleNamespace",
    "enum.Enum",
    // NumPy arrays, dtypes, scalars and random states.
    "numpy.ndarray",
    "numpy.dtype",
    "numpy.core.multiarray._reconstruct",
    "numpy._core.multiarray._reconstruct",
    "numpy.core.multiarray.scalar",
    "numpy._core.multiarray.scalar",
    "numpy.core.numeric._frombuffer",
    "numpy._core.numeric._frombuffer",
    "numpy.ma.core._mareconstruct",
    "numpy.ma.core.MaskedArray",
    "numpy.random._pickle.__randomstate_ctor",
    "numpy.random._pickle.__generator_ctor",
    "numpy.random._pickle.__bit_generator_ctor",
    "numpy.random._mt19937.MT19937",
    "numpy.random._pcg64.PCG64",
    "numpy.random._pcg64.PCG64DXSM",
    "numpy.random._philox.Philox",
    "numpy.random._sfc64.SFC64",
    "numpy.random.mtrand.RandomState",
    "numpy.random._generator.Generator",
    // PyTorch tensors, storages, parameters and dtypes.
    "torch._utils._rebuild_tensor",
    "torch._utils._rebuild_tensor_v2",
    "torch._utils._rebuild_tensor_v3",
    "torch._utils._rebuild_parameter",
    "torch._utils._rebuild_parameter_with_state",
    "torch._utils._rebuild_sparse_tensor",
    "torch._utils._rebuild_qtensor",
    "torch._utils._rebuild_meta_tensor_no_storage",
    "torch._utils._rebuild_nested_tensor",
    "torch._utils._rebuild_device_tensor_from_numpy",
    "torch._utils._rebuild_wrapper_subclass",
    "torch._tensor._rebuild_from_type",
    "torch._tensor._rebuild_from_type_v2",
    "torch.nn.parameter.Parameter",
    "torch.nn.parameter.Buffer",
    "torch.Size",
    "torch.device",
    "torch.storage.UntypedStorage",
    "torch.storage.TypedStorage",
    "torch.UntypedStorage",
    "torch.serialization._get_layout",
    "torch.torch_version.TorchVersion",
    "torch.FloatStorage",
    "torch.DoubleStorage",
    "torch.HalfStorage",
    "torch.BFloat16Storage",
    "torch.LongStorage",
    "torch.IntStorage",
    "torch.ShortStorage",
    "torch.CharStorage",
    "torch.ByteStorage",
    "torch.BoolStorage",
    "torch.ComplexFloatStorage",
    "torch.ComplexDoubleStorage",
    "torch.QUInt8Storage",
    "torch.QInt8Storage",
    "torch.QInt32Storage",
    "torch.QUInt4x2Storage",
    "torch.QUInt2x4Storage",
    "torch.float",
    "torch.float16",
    "torch.float32",
    "torch.float64",
    "torch.bfloat16",
    "torch.half",
    "torch.double",
    "torch.int8",
    "torch.int16",
    "torch.int32",
    "torch.int64",
    "torch.uint8",
    "torch.uint16",
    "torch.uint32",
    "torch.uint64",
    "torch.bool",
    "torch.long",
    "torch.int",
    "torch.short",
    "torch.complex64",
    "torch.complex128",
    "torch.cfloat",
    "torch.cdouble",
    "torch.qint8",
    "torch.quint8",
    "torch.qint32",
    "torch.float8_e4m3fn",
    "torch.float8_e5m2",
    "torch.strided",
    "torch.sparse_coo",
    "torch.sparse_csr",
    "torch.per_tensor_affine",
    "torch.per_channel_affine",
    "torch.per_tensor_symmetric",
    "torch.per_channel_symmetric",
    "torch.FloatTensor",
    "torch.DoubleTensor",
    "torch.HalfTensor",
    "torch.BFloat16Tensor",
    "torch.LongTensor",
    "torch.IntTensor",
    "torch.ShortTensor",
    "torch.CharTensor",
    "torch.ByteTensor",
    "torch.BoolTensor",
    // joblib's in-stream array wrappers.
    "joblib.numpy_pickle.NumpyArrayWrapper",
    "joblib.numpy_pickle.NDArrayWrapper",
    "joblib.numpy_pickle.ZNDArrayWrapper",
    "sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper",
    // scikit-learn helpers that are functions rather than classes.
    "sklearn.neighbors._kd_tree.newObj",
    "sklearn.neighbors._ball_tree.newObj",
    // SciPy sparse matrices.
    "scipy.sparse._csr.csr_matrix",
    "scipy.sparse._csc.csc_matrix",
    "scipy.sparse._coo.coo_matrix",
    "scipy.sparse._lil.lil_matrix",
    "scipy.sparse._dok.dok_matrix",
    "scipy.sparse._bsr.bsr_matrix",
    "scipy.sparse._dia.dia_matrix",
    "scipy.sparse._csr.csr_array",
    "scipy.sparse._csc.csc_array",
    "scipy.sparse._coo.coo_array",
    "scipy.sparse.csr.csr_matrix",
    "scipy.sparse.csc.csc_matrix",
    "scipy.sparse.coo.coo_matrix",
    // pandas frames and series.
    "pandas.core.frame.DataFrame",
    "pandas.core.series.Series",
    "pandas.core.internals.managers.BlockManager",
    "pandas.core.internals.managers.SingleBlockManager",
    "pandas._libs.internals._unpickle_block",
    "pandas.core.internals.blocks.new_block",
    "pandas.core.indexes.base._new_Index",
    "pandas.core.indexes.base.Index",
    "pandas.core.indexes.range.RangeIndex",
    "pandas._libs.tslibs.timestamps._unpickle_timestamp",
    "pandas.core.arrays.categorical.Categorical",
    "pandas.core.indexes.datetimes._new_DatetimeIndex",
    "pandas.core.dtypes.dtypes.CategoricalDtype",
];

/// Packages whose *classes* (a single capitalised name, no attribute path) are
/// safe to construct: estimators and configs only store their arguments.
const CLASS_PACKAGES: &[&str] = &[
    "sklearn.",
    "xgboost.",
    "lightgbm.",
    "catboost.",
    "torch.nn.modules.",
    "torch.optim.",
    "transformers.training_args",
    "transformers.trainer_utils",
    "transformers.models.",
    "transformers.configuration_utils",
    "transformers.generation.configuration_utils",
    "accelerate.utils.dataclasses",
    "tokenizers.",
    "sentence_transformers.",
];

/// Module prefixes whose classes are never allowed by [`CLASS_PACKAGES`]
/// (vendored code; test helpers and loaders are denied outright).
const CLASS_PACKAGE_EXCEPTIONS: &[&str] = &["sklearn.externals"];

/// Denied module prefixes and what they give an attacker.
const DENIED_MODULES: &[(&str, &str)] = &[
    ("os", "runs commands and touches files"),
    ("posix", "runs commands and touches files"),
    ("nt", "runs commands and touches files"),
    ("subprocess", "runs commands"),
    ("_posixsubprocess", "runs commands"),
    ("pty", "runs commands"),
    ("popen2", "runs commands"),
    ("commands", "runs commands"),
    ("pexpect", "runs commands"),
    ("asyncio", "runs commands and opens network connections"),
    ("multiprocessing", "starts processes"),
    ("concurrent", "starts processes and threads"),
    ("threading", "runs callables in threads"),
    ("_thread", "runs callables in threads"),
    ("thread", "runs callables in threads"),
    ("signal", "installs signal handlers"),
    ("_winapi", "runs commands"),
    ("msvcrt", "Windows system access"),
    ("winreg", "Windows registry access"),
    ("_winreg", "Windows registry access"),
    ("socket", "opens network connections"),
    ("_socket", "opens network connections"),
    ("ssl", "opens network connections"),
    ("http", "reaches the network"),
    ("httplib", "reaches the network"),
    ("urllib", "reaches the network"),
    ("urllib2", "reaches the network"),
    ("urllib3", "reaches the network"),
    ("requests", "reaches the network"),
    ("httpx", "reaches the network"),
    ("aiohttp", "reaches the network"),
    ("ftplib", "reaches the network"),
    ("smtplib", "reaches the network"),
    ("telnetlib", "reaches the network"),
    ("imaplib", "reaches the network and runs commands"),
    ("poplib", "reaches the network"),
    ("nntplib", "reaches the network"),
    ("xmlrpc", "reaches the network"),
    ("xmlrpclib", "reaches the network"),
    ("socketserver", "opens network servers"),
    ("SocketServer", "opens network servers"),
    ("webbrowser", "launches programs"),
    ("paramiko", "opens remote shells"),
    ("fabric", "runs remote commands"),
    ("shutil", "copies, moves and deletes files"),
    ("tempfile", "creates files"),
    ("glob", "lists files"),
    ("fileinput", "reads files"),
    ("io", "opens files"),
    ("_io", "opens files"),
    ("codecs", "opens files"),
    ("gzip", "opens files"),
    ("bz2", "opens files"),
    ("lzma", "opens files"),
    ("zipfile", "reads and writes archives on disk"),
    ("tarfile", "extracts archives to disk"),
    ("shelve", "loads nested pickles from disk"),
    ("dbm", "opens files"),
    ("sqlite3", "opens databases"),
    ("mmap", "maps files into memory"),
    ("fcntl", "controls file descriptors"),
    ("linecache", "reads files"),
    ("sys", "reaches interpreter internals"),
    (
        "builtins",
        "reaches Python builtins (eval, exec, open, __import__, getattr)",
    ),
    (
        "__builtin__",
        "reaches Python builtins (eval, exec, open, __import__, getattr)",
    ),
    (
        "__builtins__",
        "reaches Python builtins (eval, exec, open, __import__, getattr)",
    ),
    ("exceptions", "reaches Python builtins"),
    ("_sitebuiltins", "reaches Python builtins"),
    ("site", "runs .pth files"),
    ("runpy", "runs Python modules and files"),
    ("importlib", "imports arbitrary modules"),
    ("imp", "imports arbitrary modules"),
    ("_imp", "imports arbitrary modules"),
    ("_frozen_importlib", "imports arbitrary modules"),
    ("_frozen_importlib_external", "imports arbitrary modules"),
    ("pkgutil", "resolves arbitrary names (pkgutil.resolve_name)"),
    ("zipimport", "imports code from archives"),
    ("code", "runs Python source"),
    ("codeop", "compiles Python source"),
    ("compileall", "compiles Python source"),
    ("py_compile", "compiles Python source"),
    ("marshal", "loads Python bytecode"),
    (
        "types",
        "builds functions from bytecode (CodeType, FunctionType)",
    ),
    ("ctypes", "calls native code"),
    ("_ctypes", "calls native code"),
    ("cffi", "calls native code"),
    ("gc", "reaches every live object"),
    ("inspect", "reaches interpreter internals"),
    ("pickle", "loads a nested pickle"),
    ("_pickle", "loads a nested pickle"),
    ("cPickle", "loads a nested pickle"),
    ("dill", "loads pickled code"),
    ("cloudpickle", "loads pickled code"),
    ("joblib", "loads nested pickles"),
    ("copyreg", "registers reducers and extensions"),
    ("copy_reg", "registers reducers and extensions"),
    (
        "operator",
        "calls attributes by name (attrgetter, methodcaller)",
    ),
    (
        "_operator",
        "calls attributes by name (attrgetter, methodcaller)",
    ),
    (
        "functools",
        "wraps callables (partial, reduce) to hide calls",
    ),
    ("itertools", "calls functions over iterables (starmap)"),
    (
        "weakref",
        "calls functions at garbage collection (finalize)",
    ),
    ("atexit", "runs functions at exit"),
    ("unittest", "runs arbitrary side effects (mock)"),
    ("pip", "installs packages"),
    ("ensurepip", "installs packages"),
    ("setuptools", "builds and installs packages"),
    ("distutils", "builds packages and writes files"),
    ("pkg_resources", "loads entry points"),
    ("venv", "creates environments and runs pip"),
    ("timeit", "runs Python source"),
    ("profile", "runs Python source"),
    ("cProfile", "runs Python source"),
    ("trace", "runs Python source"),
    ("pdb", "runs Python source"),
    ("bdb", "runs Python source"),
    ("doctest", "runs Python source"),
    ("idlelib", "runs Python source"),
    ("lib2to3", "runs Python source"),
    ("pydoc", "locates arbitrary objects and runs pagers"),
    ("_pyrepl", "runs pagers (commands)"),
    ("_osx_support", "runs commands"),
    ("_aix_support", "runs commands"),
    ("mailcap", "runs commands"),
    ("platform", "runs commands"),
    ("uuid", "runs commands (_get_command_stdout)"),
    (
        "logging",
        "creates files and listens for configuration (logging.config.listen)",
    ),
    ("_interpreters", "runs source in sub-interpreters"),
    ("_xxsubinterpreters", "runs source in sub-interpreters"),
    ("interpreters", "runs source in sub-interpreters"),
    ("IPython", "runs Python and shell code"),
    ("yaml", "loads YAML with arbitrary Python objects"),
    ("numpy.f2py", "evaluates source code"),
    ("numpy.distutils", "builds and runs code"),
    ("numpy.testing", "runs Python source (runstring)"),
    (
        "numpy.lib.utils",
        "evaluates source (safe_eval) and reaches files",
    ),
    ("numpy.lib.npyio", "loads nested pickles and reads files"),
    ("numpy.ctypeslib", "calls native code"),
    ("numpy.load", "loads nested pickles (allow_pickle)"),
    ("numpy.loads", "loads a nested pickle"),
    ("numpy.fromfile", "reads files"),
    ("numpy.loadtxt", "reads files"),
    ("numpy.genfromtxt", "reads files"),
    ("numpy.memmap", "creates and maps files"),
    ("numpy.save", "writes files"),
    ("numpy.savetxt", "writes files"),
    ("torch.hub", "downloads and runs code"),
    ("torch.load", "loads a nested pickle"),
    ("torch.serialization.load", "loads a nested pickle"),
    ("torch.save", "writes files"),
    ("torch.storage._load_from_bytes", "loads a nested pickle"),
    ("torch.jit", "loads and compiles code"),
    ("torch.package", "loads packaged code"),
    ("torch.fx", "compiles Python source (graph modules)"),
    ("torch._inductor", "compiles and loads code"),
    ("torch._dynamo", "compiles code"),
    ("torch.utils.collect_env", "runs commands"),
    (
        "torch.utils.cpp_extension",
        "compiles and loads native code",
    ),
    ("torch.ops", "loads native libraries"),
    ("torch.classes", "loads native libraries"),
    ("torch.distributed", "runs remote calls"),
    ("torch.multiprocessing", "starts processes"),
    ("tensorflow.io", "reads and writes files"),
    ("tensorflow.python.ops.gen_io_ops", "reads and writes files"),
    ("tensorflow.py_function", "runs Python code in the graph"),
    ("tensorflow.numpy_function", "runs Python code in the graph"),
    ("keras.utils", "downloads files (get_file)"),
    ("tf_keras.utils", "downloads files (get_file)"),
    ("pandas.read_csv", "reads files and URLs"),
    ("pandas.read_pickle", "loads a nested pickle"),
    ("pandas.read_sql", "queries databases"),
    ("pandas.read_html", "reads files and URLs"),
    ("pandas.read_json", "reads files and URLs"),
    ("pandas.read_parquet", "reads files and URLs"),
    ("pandas.read_excel", "reads files and URLs"),
    ("pandas.read_table", "reads files and URLs"),
    ("pandas.read_fwf", "reads files and URLs"),
    ("pandas.read_xml", "reads files and URLs"),
    ("pandas.io", "reads files and URLs"),
    ("pandas.eval", "evaluates expressions"),
    ("pandas.core.computation", "evaluates expressions"),
    ("mlflow", "runs projects and entry points"),
    ("sklearn.datasets", "downloads data"),
    // Test and developer tools of the allowlisted libraries: no model needs
    // them, and several run Python source or commands when called.
    (
        "sklearn.utils._testing",
        "runs Python scripts (assert_run_python_script)",
    ),
    ("sklearn.utils.estimator_checks", "runs test code"),
    ("sklearn.utils._show_versions", "inspects the environment"),
    ("sklearn.conftest", "runs test code"),
    ("sklearn.tests", "runs test code"),
    ("numpy.conftest", "runs test code"),
    ("numpy._pytesttester", "runs the test suite (pytest)"),
    ("numpy.tests", "runs test code"),
    ("pandas._testing", "runs test code"),
    ("pandas.testing", "runs test code"),
    ("pandas.util.testing", "runs test code"),
    ("pandas.util._tester", "runs the test suite (pytest)"),
    ("pandas.util._test_decorators", "runs test code"),
    ("pandas.conftest", "runs test code"),
    ("pandas.tests", "runs test code"),
    ("torch.testing", "runs test code and commands"),
    ("torch.utils.benchmark", "runs Python source (Timer)"),
    ("torch.utils.bottleneck", "runs Python scripts"),
    ("torch.utils.cpp_backtrace", "reaches interpreter internals"),
    ("torch._testing", "runs test code"),
    ("scipy._lib._testutils", "runs the test suite (pytest)"),
    ("scipy.conftest", "runs test code"),
    ("scipy.testing", "runs test code"),
    ("scipy._lib._ccallback", "calls native function pointers"),
    ("pytest", "runs test code"),
    ("_pytest", "runs test code"),
    ("nose", "runs test code"),
];

/// Attribute names that, reached through a dotted path, give code execution.
const DANGEROUS_ATTRIBUTES: &[&str] = &[
    "system",
    "popen",
    "popen2",
    "popen3",
    "spawnl",
    "spawnv",
    "spawnve",
    "spawnvp",
    "execl",
    "execv",
    "execve",
    "execvp",
    "posix_spawn",
    "eval",
    "exec",
    "compile",
    "open",
    "getattr",
    "setattr",
    "delattr",
    "globals",
    "locals",
    "vars",
    "input",
    "breakpoint",
    "Popen",
    "call",
    "check_call",
    "check_output",
    "run",
    "getoutput",
    "getstatusoutput",
    "import_module",
    "load",
    "loads",
    "load_library",
    "from_pretrained",
    "remove",
    "unlink",
    "rmtree",
    "rmdir",
    "write_text",
    "write_bytes",
    "urlopen",
];

/// Names that give code execution whatever module re-exports them
/// (`mypkg.eval` may well be `builtins.eval`).
const DANGEROUS_ANYWHERE: &[&str] = &[
    "system",
    "popen",
    "eval",
    "exec",
    "execv",
    "execve",
    "execl",
    "execvp",
    "spawnl",
    "spawnv",
    "spawnve",
    "spawnvp",
    "posix_spawn",
    "getattr",
    "setattr",
    "delattr",
    "globals",
    "locals",
    "breakpoint",
    "Popen",
    "check_output",
    "check_call",
    "getoutput",
    "getstatusoutput",
    "import_module",
];

/// Dunder attributes that are part of ordinary pickle helpers.
const BENIGN_DUNDERS: &[&str] = &["__newobj__", "__newobj_ex__"];

/// Python 2 module names CPython maps to their Python 3 homes when unpickling.
fn python3_module(module: &str) -> &str {
    match module {
        "__builtin__" | "exceptions" => "builtins",
        "copy_reg" => "copyreg",
        "cPickle" => "pickle",
        "_winreg" => "winreg",
        "thread" => "_thread",
        "SocketServer" => "socketserver",
        "httplib" => "http.client",
        "urllib2" => "urllib.request",
        "commands" => "subprocess",
        other => other,
    }
}

/// Python 2 globals CPython renames when unpickling (`_compat_pickle`), for
/// the names that matter here; everything else keeps its name in its new module.
fn python3_name<'a>(module: &'a str, name: &'a str) -> (&'a str, &'a str) {
    match (module, name) {
        ("__builtin__", "xrange") => ("builtins", "range"),
        ("__builtin__", "unicode" | "basestring") => ("builtins", "str"),
        ("__builtin__", "long") => ("builtins", "int"),
        ("__builtin__", "unichr") => ("builtins", "chr"),
        ("__builtin__", "reduce") => ("functools", "reduce"),
        ("__builtin__", "intern") => ("sys", "intern"),
        ("__builtin__", "raw_input") => ("builtins", "input"),
        ("UserDict", "UserDict") => ("collections", "UserDict"),
        _ => (python3_module(module), name),
    }
}

fn module_matches(module: &str, prefix: &str) -> bool {
    module == prefix
        || (module.starts_with(prefix) && module.as_bytes().get(prefix.len()) == Some(&b'.'))
}

/// Whether `full` (module.name) matches a config entry: exact, or `prefix.*`.
fn entry_matches(entry: &str, full: &str) -> bool {
    match entry.strip_suffix(".*") {
        Some(prefix) => module_matches(full, prefix) && full.len() > prefix.len(),
        None => entry == full,
    }
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c == '_' || c.is_alphabetic())
        && chars.all(|c| c == '_' || c.is_alphanumeric())
}

/// True when `module` and `name` could name a real global (dotted identifiers).
pub fn is_valid_global(module: &str, name: &str) -> bool {
    !module.is_empty()
        && !name.is_empty()
        && module.split('.').all(is_identifier)
        && name.split('.').all(is_identifier)
}

/// What the configuration says about `full` (module.name) before the
/// built-in lists are consulted: a deny entry wins over an allow entry, and
/// only allowances that may override the denylist (`--allow`, or a file
/// under `--trust-config`) count here.
pub fn config_verdict(full: &str, config: &ScanConfig) -> Option<Class> {
    if config.deny.iter().any(|e| entry_matches(e, full)) {
        Some(Class::Denied("denied in mlsec.toml".into()))
    } else if config.allow.iter().any(|e| entry_matches(e, full)) {
        Some(Class::Allowed)
    } else {
        None
    }
}

/// True when the allow entry `entry` (`module.name` or `module.*`) covers a
/// global that the built-in lists deny, so that a configuration file may not
/// apply it without `--trust-config`.
pub fn entry_reaches_denylist(entry: &str) -> bool {
    let builtin = ScanConfig::default();
    match entry.strip_suffix(".*") {
        Some(prefix) => DENIED_MODULES
            .iter()
            .any(|(m, _)| module_matches(prefix, m) || module_matches(m, prefix)),
        None => match entry.rsplit_once('.') {
            Some((module, name)) => matches!(classify(module, name, &builtin), Class::Denied(_)),
            None => false,
        },
    }
}

/// Modules that no attribute of any model library should hand out: an attribute
/// with one of these names is that module (`torch._utils.os`).
const CORE_DANGEROUS_MODULES: &[&str] = &[
    "os",
    "posix",
    "nt",
    "subprocess",
    "sys",
    "builtins",
    "importlib",
    "runpy",
    "shutil",
    "socket",
    "ctypes",
    "marshal",
    "pickle",
    "pty",
    "commands",
];

/// Checks the attribute path after the module, whatever the module is: no
/// dunders, no step through a denied module, no dangerous function reached
/// through a dotted path, no attribute that is itself a core dangerous module.
pub fn attribute_path_verdict(name: &str) -> Option<Class> {
    let parts: Vec<&str> = name.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        let dunder = part.len() > 4 && part.starts_with("__") && part.ends_with("__");
        if dunder && !BENIGN_DUNDERS.contains(part) {
            return Some(Class::Denied(format!(
                "reaches Python internals through `{part}`"
            )));
        }
        if CORE_DANGEROUS_MODULES.contains(part) {
            return Some(Class::Denied(format!(
                "reaches module `{part}` through attribute access"
            )));
        }
        let is_path_step = parts.len() > 1;
        if is_path_step && i < parts.len() - 1 {
            if let Some((m, why)) = DENIED_MODULES.iter().find(|(m, _)| *m == *part) {
                return Some(Class::Denied(format!(
                    "reaches module `{m}` through attribute access, which {why}"
                )));
            }
        }
        if is_path_step && DANGEROUS_ATTRIBUTES.contains(part) {
            return Some(Class::Denied(format!(
                "reaches `{part}` through attribute access"
            )));
        }
    }
    None
}

/// Judges the global `module.name` that a pickle (or a Keras config) imports.
pub fn classify(module: &str, name: &str, config: &ScanConfig) -> Class {
    let (module, name) = python3_name(module, name);
    let full = format!("{module}.{name}");
    if let Some(denied) = attribute_path_verdict(name) {
        return denied;
    }
    if let Some(class) = config_verdict(&full, config) {
        return class;
    }
    if ALLOWED.contains(&full.as_str()) {
        return Class::Allowed;
    }
    if let Some((_, why)) = DENIED_MODULES
        .iter()
        .find(|(m, _)| module_matches(module, m) || module_matches(&full, m))
    {
        return Class::Denied(why.to_string());
    }
    let last = name.rsplit('.').next().unwrap_or(name);
    if DANGEROUS_ANYWHERE.contains(&last) {
        return Class::Denied(format!(
            "is a `{last}` function, which gives code execution"
        ));
    }
    if config
        .allow_unless_denied
        .iter()
        .any(|e| entry_matches(e, &full))
    {
        return Class::Allowed;
    }
    let is_class =
        name.chars().next().is_some_and(|c| c.is_ascii_uppercase()) && is_identifier(name);
    if is_class
        && CLASS_PACKAGES
            .iter()
            .any(|p| module.starts_with(p) || module == p.trim_end_matches('.'))
        && !CLASS_PACKAGE_EXCEPTIONS
            .iter()
            .any(|p| module_matches(module, p))
    {
        return Class::Allowed;
    }
    Class::Unknown
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(module: &str, name: &str) -> Class {
        classify(module, name, &ScanConfig::default())
    }

    #[test]
    fn model_globals_are_allowed() {
        for (m, n) in [
            ("torch._utils", "_rebuild_tensor_v2"),
            ("collections", "OrderedDict"),
            ("numpy.core.multiarray", "_reconstruct"),
            ("__builtin__", "set"),
            ("copy_reg", "_reconstructor"),
            ("sklearn.linear_model._logistic", "LogisticRegression"),
            ("sklearn.tree._tree", "Tree"),
            ("torch.nn.modules.linear", "Linear"),
            ("xgboost.sklearn", "XGBClassifier"),
        ] {
            assert_eq!(c(m, n), Class::Allowed, "{m}.{n}");
        }
    }

    #[test]
    fn dangerous_globals_are_denied() {
        for (m, n) in [
            ("os", "system"),
            ("posix", "system"),
            ("nt", "system"),
            ("subprocess", "Popen"),
            ("builtins", "eval"),
            ("__builtin__", "getattr"),
            ("asyncio.unix_events", "_UnixSubprocessTransport"),
            ("pip", "main"),
            ("operator", "attrgetter"),
            ("functools", "partial"),
            ("pickle", "loads"),
            ("torch._utils", "os.system"),
            ("numpy", "__builtins__"),
            ("collections", "OrderedDict.__init__.__globals__"),
            ("torch.utils.collect_env", "run"),
            ("numpy.testing._private.utils", "runstring"),
            ("pydoc", "locate"),
            ("ctypes", "CDLL"),
            ("torch.storage", "_load_from_bytes"),
            ("pandas", "read_csv"),
            ("commands", "getoutput"),
            ("mypkg.utils", "eval"),
            ("numpy", "system"),
            ("torch._utils", "os"),
        ] {
            assert!(
                matches!(c(m, n), Class::Denied(_)),
                "{m}.{n} should be denied"
            );
        }
    }

    #[test]
    fn unknown_is_neither() {
        assert_eq!(c("mypkg.models", "Net"), Class::Unknown);
        assert_eq!(c("__main__", "MyModel"), Class::Unknown);
        assert_eq!(c("sklearn.metrics", "accuracy_score"), Class::Unknown);
        assert_eq!(c("mypkg.text", "compile"), Class::Unknown);
    }

    #[test]
    fn config_allow_and_deny() {
        let config = ScanConfig {
            allow: vec!["mypkg.*".into()],
            deny: vec!["numpy.dtype".into()],
            ..Default::default()
        };
        assert_eq!(classify("mypkg.models", "Net", &config), Class::Allowed);
        assert!(matches!(
            classify("numpy", "dtype", &config),
            Class::Denied(_)
        ));
        // An allowed prefix cannot be a stepping stone into a denied module.
        assert!(matches!(
            classify("mypkg", "os.system", &config),
            Class::Denied(_)
        ));
    }
}
