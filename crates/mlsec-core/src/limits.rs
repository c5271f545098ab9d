/// Bounds on the work and memory any parser may spend on one input.
///
/// Every parser checks these and reports a clear error (an error finding) when one
/// is hit, instead of allocating without bound or running forever.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Most pickle opcodes executed per stream (bounds time and values held).
    pub max_pickle_opcodes: usize,
    /// Most memo entries one pickle may create.
    pub max_memo_entries: usize,
    /// Deepest pickle stack / mark nesting.
    pub max_stack_depth: usize,
    /// Deepest nesting of archives and compressed wrappers.
    pub max_nesting: u32,
    /// Most bytes produced by decompressing one member or wrapper.
    pub max_decompressed_bytes: u64,
    /// Highest decompressed/compressed ratio before a member is a decompression bomb.
    pub max_compression_ratio: u64,
    /// Most members read from one archive.
    pub max_members: usize,
    /// Largest metadata blob (JSON header, GGUF string, config) read into memory.
    pub max_metadata_bytes: u64,
    /// Most archive members opened for one top-level file, across every
    /// nesting level; a larger file may open one member per 64 bytes of its
    /// size (no flat archive spends fewer bytes on a member's headers).
    pub max_file_members: usize,
    /// Most bytes decompressed for one top-level file, across every member
    /// and nesting level; a larger file may expand [`Self::max_file_expansion`]
    /// times its size in all.
    pub max_file_decompressed_bytes: u64,
    /// See [`Self::max_file_decompressed_bytes`].
    pub max_file_expansion: u64,
    /// Most protobuf fields walked in one ONNX model or SavedModel (keeps the
    /// decoded structures within a few GiB even for a file of empty messages).
    pub max_protobuf_fields: u64,
    /// Deepest protobuf message nesting (prost's own recursion limit).
    pub max_protobuf_depth: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_pickle_opcodes: 20_000_000,
            max_memo_entries: 1 << 20,
            max_stack_depth: 1 << 16,
            max_nesting: 8,
            max_decompressed_bytes: 2 << 30,
            max_compression_ratio: 200,
            max_members: 100_000,
            max_metadata_bytes: 256 << 20,
            max_file_members: 16_384,
            max_file_decompressed_bytes: 64 << 20,
            max_file_expansion: 100,
            max_protobuf_fields: 4 << 20,
            max_protobuf_depth: 100,
        }
    }
}
