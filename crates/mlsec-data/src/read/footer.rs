//! A pre-check of the Thrift structures the parquet crate decodes (the file footer
//! and each page header) before it decodes them.
//!
//! That crate's decoder trusts its input in two ways that a hostile file abuses:
//! - It dispatches on field ids, not on the types the encoding declares: for
//!   FileMetaData field 5 it reads a list of KeyValue whatever the field header
//!   says, and truncates the list's 64-bit count to an `i32`. A walk that skips
//!   fields by their declared type therefore falls out of step with it, and the
//!   crate reads a "list header" from bytes the walk took for something else.
//! - It reserves `count × size_of::<T>()` for a list before reading any element,
//!   hundreds of bytes per element for a row group's column chunks, so even a
//!   list whose count fits in the bytes left can ask for tens of gigabytes.
//!
//! So this walk reads exactly what the crate reads: known fields by the type the
//! Parquet format gives them (a different declared type is refused: the crate
//! would misread it, or panic on a boolean), unknown fields skipped the way the
//! crate skips them. It adds up what the crate will reserve for each list, for
//! the strings it copies and for the schema tree it builds (each leaf copies the
//! names on its path), and refuses a footer whose total is over [`MEMORY_BUDGET`].
//! Field ids and types are those of the Parquet format's `parquet.thrift`.

use parquet::basic::ColumnOrder;
use parquet::file::metadata::{
    ColumnChunkMetaData, KeyValue, PageEncodingStats, RowGroupMetaData, SortingColumn,
};
use parquet::schema::types::ColumnDescriptor;
use std::mem::size_of;

/// Most memory the parquet crate may be made to reserve for one footer.
pub const MEMORY_BUDGET: u64 = 1 << 30;
/// Deepest Thrift nesting walked (the crate's own skip limit).
const MAX_DEPTH: u32 = 64;
/// Most levels of the schema tree, root and leaves included: the crate and
/// Arrow convert it recursively.
pub const MAX_SCHEMA_DEPTH: usize = 100;
/// Per schema element: the crate's SchemaElement, its Parquet type node, the
/// Arrow field and the reader's field tree (none is public to measure).
const SCHEMA_NODE_COST: u64 = 1024;
/// Per leaf column: its descriptor, besides the names on its path.
const LEAF_COST: u64 = size_of::<ColumnDescriptor>() as u64 + 64;
/// Per struct element of a list: what the crate boxes or copies besides the
/// element itself (statistics, histograms).
const SLACK: u64 = 64;
/// Strings are copied into the crate's metadata and again into the schemas.
const BINARY_COPIES: u64 = 3;
/// The INT96 physical type, whose statistics the crate asserts are 12 bytes.
const INT96: i32 = 3;

/// What the parquet crate reads at a field.
#[derive(Clone, Copy)]
enum Ty {
    Bool,
    I8,
    I16,
    I32,
    I64,
    Double,
    Binary,
    Struct(&'static Struct),
    /// A list, and the bytes the crate reserves per declared element.
    List(&'static Ty, u64),
}

impl Ty {
    /// The compact-protocol type codes that encode this type.
    fn matches(self, code: u8) -> bool {
        match self {
            Ty::Bool => code == 1 || code == 2,
            other => other.code() == code,
        }
    }

    fn code(self) -> u8 {
        match self {
            Ty::Bool => 1,
            Ty::I8 => 3,
            Ty::I16 => 4,
            Ty::I32 => 5,
            Ty::I64 => 6,
            Ty::Double => 7,
            Ty::Binary => 8,
            Ty::List(..) => 9,
            Ty::Struct(_) => 12,
        }
    }
}

fn type_name(code: u8) -> &'static str {
    match code {
        1 | 2 => "bool",
        3 => "byte",
        4 => "i16",
        5 => "i32",
        6 => "i64",
        7 => "double",
        8 => "binary",
        9 => "list",
        10 => "set",
        11 => "map",
        12 => "struct",
        _ => "unknown",
    }
}

/// A Thrift struct or union: its known fields by id.
struct Struct {
    name: &'static str,
    fields: &'static [(i16, &'static str, Ty)],
}

impl Struct {
    fn field(&self, id: i16) -> Option<&(i16, &'static str, Ty)> {
        self.fields.iter().find(|f| f.0 == id)
    }
}

/// A list of structs of `size` bytes each.
const fn list_of(elem: &'static Ty, size: usize) -> Ty {
    Ty::List(elem, size as u64 + SLACK)
}

static EMPTY: Struct = Struct {
    name: "empty struct",
    fields: &[],
};

static FILE_META_DATA: Struct = Struct {
    name: "FileMetaData",
    fields: &[
        (1, "version", Ty::I32),
        (
            2,
            "schema",
            Ty::List(&Ty::Struct(&SCHEMA_ELEMENT), SCHEMA_NODE_COST),
        ),
        (3, "num_rows", Ty::I64),
        (
            4,
            "row_groups",
            list_of(&Ty::Struct(&ROW_GROUP), size_of::<RowGroupMetaData>()),
        ),
        (
            5,
            "key_value_metadata",
            list_of(&Ty::Struct(&KEY_VALUE), size_of::<KeyValue>()),
        ),
        (6, "created_by", Ty::Binary),
        (
            7,
            "column_orders",
            list_of(&Ty::Struct(&COLUMN_ORDER), size_of::<ColumnOrder>()),
        ),
        (8, "encryption_algorithm", Ty::Struct(&ENCRYPTION_ALGORITHM)),
        (9, "footer_signing_key_metadata", Ty::Binary),
    ],
};

static SCHEMA_ELEMENT: Struct = Struct {
    name: "SchemaElement",
    fields: &[
        (1, "type", Ty::I32),
        (2, "type_length", Ty::I32),
        (3, "repetition_type", Ty::I32),
        (4, "name", Ty::Binary),
        (5, "num_children", Ty::I32),
        (6, "converted_type", Ty::I32),
        (7, "scale", Ty::I32),
        (8, "precision", Ty::I32),
        (9, "field_id", Ty::I32),
        (10, "logicalType", Ty::Struct(&LOGICAL_TYPE)),
    ],
};

static LOGICAL_TYPE: Struct = Struct {
    name: "LogicalType",
    fields: &[
        (1, "STRING", Ty::Struct(&EMPTY)),
        (2, "MAP", Ty::Struct(&EMPTY)),
        (3, "LIST", Ty::Struct(&EMPTY)),
        (4, "ENUM", Ty::Struct(&EMPTY)),
        (5, "DECIMAL", Ty::Struct(&DECIMAL_TYPE)),
        (6, "DATE", Ty::Struct(&EMPTY)),
        (7, "TIME", Ty::Struct(&TIME_TYPE)),
        (8, "TIMESTAMP", Ty::Struct(&TIMESTAMP_TYPE)),
        (10, "INTEGER", Ty::Struct(&INT_TYPE)),
        (11, "UNKNOWN", Ty::Struct(&EMPTY)),
        (12, "JSON", Ty::Struct(&EMPTY)),
        (13, "BSON", Ty::Struct(&EMPTY)),
        (14, "UUID", Ty::Struct(&EMPTY)),
        (15, "FLOAT16", Ty::Struct(&EMPTY)),
        (16, "VARIANT", Ty::Struct(&VARIANT_TYPE)),
        (17, "GEOMETRY", Ty::Struct(&GEOMETRY_TYPE)),
        (18, "GEOGRAPHY", Ty::Struct(&GEOGRAPHY_TYPE)),
    ],
};

static DECIMAL_TYPE: Struct = Struct {
    name: "DecimalType",
    fields: &[(1, "scale", Ty::I32), (2, "precision", Ty::I32)],
};

static TIME_UNIT: Struct = Struct {
    name: "TimeUnit",
    fields: &[
        (1, "MILLIS", Ty::Struct(&EMPTY)),
        (2, "MICROS", Ty::Struct(&EMPTY)),
        (3, "NANOS", Ty::Struct(&EMPTY)),
    ],
};

static TIME_TYPE: Struct = Struct {
    name: "TimeType",
    fields: &[
        (1, "isAdjustedToUTC", Ty::Bool),
        (2, "unit", Ty::Struct(&TIME_UNIT)),
    ],
};

static TIMESTAMP_TYPE: Struct = Struct {
    name: "TimestampType",
    fields: TIME_TYPE.fields,
};

static INT_TYPE: Struct = Struct {
    name: "IntType",
    fields: &[(1, "bitWidth", Ty::I8), (2, "isSigned", Ty::Bool)],
};

static VARIANT_TYPE: Struct = Struct {
    name: "VariantType",
    fields: &[(1, "specification_version", Ty::I8)],
};

static GEOMETRY_TYPE: Struct = Struct {
    name: "GeometryType",
    fields: &[(1, "crs", Ty::Binary)],
};

static GEOGRAPHY_TYPE: Struct = Struct {
    name: "GeographyType",
    fields: &[(1, "crs", Ty::Binary), (2, "algorithm", Ty::I32)],
};

static ROW_GROUP: Struct = Struct {
    name: "RowGroup",
    fields: &[
        (
            1,
            "columns",
            list_of(&Ty::Struct(&COLUMN_CHUNK), size_of::<ColumnChunkMetaData>()),
        ),
        (2, "total_byte_size", Ty::I64),
        (3, "num_rows", Ty::I64),
        (
            4,
            "sorting_columns",
            list_of(&Ty::Struct(&SORTING_COLUMN), size_of::<SortingColumn>()),
        ),
        (5, "file_offset", Ty::I64),
        (6, "total_compressed_size", Ty::I64),
        (7, "ordinal", Ty::I16),
    ],
};

static COLUMN_CHUNK: Struct = Struct {
    name: "ColumnChunk",
    fields: &[
        (1, "file_path", Ty::Binary),
        (2, "file_offset", Ty::I64),
        (3, "meta_data", Ty::Struct(&COLUMN_META_DATA)),
        (4, "offset_index_offset", Ty::I64),
        (5, "offset_index_length", Ty::I32),
        (6, "column_index_offset", Ty::I64),
        (7, "column_index_length", Ty::I32),
        (8, "crypto_metadata", Ty::Struct(&COLUMN_CRYPTO_META_DATA)),
        (9, "encrypted_column_metadata", Ty::Binary),
    ],
};

static COLUMN_META_DATA: Struct = Struct {
    name: "ColumnMetaData",
    fields: &[
        (1, "type", Ty::I32),
        (2, "encodings", Ty::List(&Ty::I32, 4)),
        (3, "path_in_schema", Ty::List(&Ty::Binary, 24)),
        (4, "codec", Ty::I32),
        (5, "num_values", Ty::I64),
        (6, "total_uncompressed_size", Ty::I64),
        (7, "total_compressed_size", Ty::I64),
        (
            8,
            "key_value_metadata",
            list_of(&Ty::Struct(&KEY_VALUE), size_of::<KeyValue>()),
        ),
        (9, "data_page_offset", Ty::I64),
        (10, "index_page_offset", Ty::I64),
        (11, "dictionary_page_offset", Ty::I64),
        (12, "statistics", Ty::Struct(&STATISTICS)),
        (
            13,
            "encoding_stats",
            list_of(
                &Ty::Struct(&PAGE_ENCODING_STATS),
                size_of::<PageEncodingStats>(),
            ),
        ),
        (14, "bloom_filter_offset", Ty::I64),
        (15, "bloom_filter_length", Ty::I32),
        (16, "size_statistics", Ty::Struct(&SIZE_STATISTICS)),
        (
            17,
            "geospatial_statistics",
            Ty::Struct(&GEOSPATIAL_STATISTICS),
        ),
    ],
};

static STATISTICS: Struct = Struct {
    name: "Statistics",
    fields: &[
        (1, "max", Ty::Binary),
        (2, "min", Ty::Binary),
        (3, "null_count", Ty::I64),
        (4, "distinct_count", Ty::I64),
        (5, "max_value", Ty::Binary),
        (6, "min_value", Ty::Binary),
        (7, "is_max_value_exact", Ty::Bool),
        (8, "is_min_value_exact", Ty::Bool),
    ],
};

static PAGE_ENCODING_STATS: Struct = Struct {
    name: "PageEncodingStats",
    fields: &[
        (1, "page_type", Ty::I32),
        (2, "encoding", Ty::I32),
        (3, "count", Ty::I32),
    ],
};

static SIZE_STATISTICS: Struct = Struct {
    name: "SizeStatistics",
    fields: &[
        (1, "unencoded_byte_array_data_bytes", Ty::I64),
        (2, "repetition_level_histogram", Ty::List(&Ty::I64, 8)),
        (3, "definition_level_histogram", Ty::List(&Ty::I64, 8)),
    ],
};

static GEOSPATIAL_STATISTICS: Struct = Struct {
    name: "GeospatialStatistics",
    fields: &[
        (1, "bbox", Ty::Struct(&BOUNDING_BOX)),
        (2, "geospatial_types", Ty::List(&Ty::I32, 4)),
    ],
};

static BOUNDING_BOX: Struct = Struct {
    name: "BoundingBox",
    fields: &[
        (1, "xmin", Ty::Double),
        (2, "xmax", Ty::Double),
        (3, "ymin", Ty::Double),
        (4, "ymax", Ty::Double),
        (5, "zmin", Ty::Double),
        (6, "zmax", Ty::Double),
        (7, "mmin", Ty::Double),
        (8, "mmax", Ty::Double),
    ],
};

static KEY_VALUE: Struct = Struct {
    name: "KeyValue",
    fields: &[(1, "key", Ty::Binary), (2, "value", Ty::Binary)],
};

static SORTING_COLUMN: Struct = Struct {
    name: "SortingColumn",
    fields: &[
        (1, "column_idx", Ty::I32),
        (2, "descending", Ty::Bool),
        (3, "nulls_first", Ty::Bool),
    ],
};

static COLUMN_ORDER: Struct = Struct {
    name: "ColumnOrder",
    fields: &[(1, "TYPE_ORDER", Ty::Struct(&EMPTY))],
};

static ENCRYPTION_ALGORITHM: Struct = Struct {
    name: "EncryptionAlgorithm",
    fields: &[
        (1, "AES_GCM_V1", Ty::Struct(&AES_GCM_V1)),
        (2, "AES_GCM_CTR_V1", Ty::Struct(&AES_GCM_CTR_V1)),
    ],
};

static AES_GCM_V1: Struct = Struct {
    name: "AesGcmV1",
    fields: &[
        (1, "aad_prefix", Ty::Binary),
        (2, "aad_file_unique", Ty::Binary),
        (3, "supply_aad_prefix", Ty::Bool),
    ],
};

static AES_GCM_CTR_V1: Struct = Struct {
    name: "AesGcmCtrV1",
    fields: AES_GCM_V1.fields,
};

static COLUMN_CRYPTO_META_DATA: Struct = Struct {
    name: "ColumnCryptoMetaData",
    fields: &[
        (1, "ENCRYPTION_WITH_FOOTER_KEY", Ty::Struct(&EMPTY)),
        (
            2,
            "ENCRYPTION_WITH_COLUMN_KEY",
            Ty::Struct(&ENCRYPTION_WITH_COLUMN_KEY),
        ),
    ],
};

static ENCRYPTION_WITH_COLUMN_KEY: Struct = Struct {
    name: "EncryptionWithColumnKey",
    fields: &[
        (1, "path_in_schema", Ty::List(&Ty::Binary, 24)),
        (2, "key_metadata", Ty::Binary),
    ],
};

static PAGE_HEADER: Struct = Struct {
    name: "PageHeader",
    fields: &[
        (1, "type", Ty::I32),
        (2, "uncompressed_page_size", Ty::I32),
        (3, "compressed_page_size", Ty::I32),
        (4, "crc", Ty::I32),
        (5, "data_page_header", Ty::Struct(&DATA_PAGE_HEADER)),
        (6, "index_page_header", Ty::Struct(&EMPTY)),
        (
            7,
            "dictionary_page_header",
            Ty::Struct(&DICTIONARY_PAGE_HEADER),
        ),
        (8, "data_page_header_v2", Ty::Struct(&DATA_PAGE_HEADER_V2)),
    ],
};

static DATA_PAGE_HEADER: Struct = Struct {
    name: "DataPageHeader",
    fields: &[
        (1, "num_values", Ty::I32),
        (2, "encoding", Ty::I32),
        (3, "definition_level_encoding", Ty::I32),
        (4, "repetition_level_encoding", Ty::I32),
        (5, "statistics", Ty::Struct(&STATISTICS)),
    ],
};

static DICTIONARY_PAGE_HEADER: Struct = Struct {
    name: "DictionaryPageHeader",
    fields: &[
        (1, "num_values", Ty::I32),
        (2, "encoding", Ty::I32),
        (3, "is_sorted", Ty::Bool),
    ],
};

static DATA_PAGE_HEADER_V2: Struct = Struct {
    name: "DataPageHeaderV2",
    fields: &[
        (1, "num_values", Ty::I32),
        (2, "num_nulls", Ty::I32),
        (3, "num_rows", Ty::I32),
        (4, "encoding", Ty::I32),
        (5, "definition_levels_byte_length", Ty::I32),
        (6, "repetition_levels_byte_length", Ty::I32),
        (7, "is_compressed", Ty::Bool),
        (8, "statistics", Ty::Struct(&STATISTICS)),
    ],
};

/// Bytes the walk reads: a footer in memory, or a column chunk of a file.
pub trait Input {
    fn byte(&mut self) -> Result<u8, String>;
    /// Skips `n` bytes; the walk checked that `n <= self.left()`.
    fn skip(&mut self, n: u64) -> Result<(), String>;
    fn left(&self) -> u64;
}

impl Input for &[u8] {
    fn byte(&mut self) -> Result<u8, String> {
        let (&b, rest) = self.split_first().ok_or("ends inside a value")?;
        *self = rest;
        Ok(b)
    }

    fn skip(&mut self, n: u64) -> Result<(), String> {
        *self = usize::try_from(n)
            .ok()
            .and_then(|n| self.get(n..))
            .ok_or("ends inside a value")?;
        Ok(())
    }

    fn left(&self) -> u64 {
        self.len() as u64
    }
}

/// One schema element, as far as the schema tree needs it.
#[derive(Default)]
struct Node {
    physical: Option<i32>,
    children: Option<i32>,
    name_len: u64,
}

/// What a page header declares.
#[derive(Debug, Default, Clone, Copy)]
pub struct PageHeader {
    /// Bytes of the header itself.
    pub len: u64,
    pub uncompressed: Option<i32>,
    pub compressed: Option<i32>,
}

struct Walk<I> {
    input: I,
    /// "footer" or "page header", for messages.
    what: &'static str,
    /// Bytes the crate will reserve, as estimated so far.
    reserved: u64,
    schema: Vec<Node>,
    /// Physical types of the leaf columns of the last schema read.
    leaves: Vec<Option<i32>>,
    /// The leaf whose column chunk is being read.
    column: Option<usize>,
    page: PageHeader,
}

impl<I: Input> Walk<I> {
    fn new(input: I, what: &'static str) -> Self {
        Walk {
            input,
            what,
            reserved: 0,
            schema: Vec::new(),
            leaves: Vec::new(),
            column: None,
            page: PageHeader::default(),
        }
    }

    fn byte(&mut self) -> Result<u8, String> {
        self.input.byte().map_err(|e| format!("{} {e}", self.what))
    }

    /// An unsigned varint, as the crate reads it (at most 10 bytes here).
    fn varint(&mut self) -> Result<u64, String> {
        let mut v = 0u64;
        for shift in (0..70).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f).checked_shl(shift).unwrap_or(0);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(format!("{} varint too long", self.what))
    }

    fn zigzag(&mut self) -> Result<i64, String> {
        let v = self.varint()?;
        Ok((v >> 1) as i64 ^ -((v & 1) as i64))
    }

    /// Checks that `n` bytes (or list elements of at least a byte) are left.
    fn fits(&self, n: u64, unit: &str) -> Result<(), String> {
        let left = self.input.left();
        if n > left {
            return Err(format!(
                "{} declares {n} {unit} with {left} bytes left",
                self.what
            ));
        }
        Ok(())
    }

    fn take(&mut self, n: u64) -> Result<(), String> {
        self.fits(n, "bytes")?;
        self.input.skip(n).map_err(|e| format!("{} {e}", self.what))
    }

    fn reserve(&mut self, bytes: u64) -> Result<(), String> {
        self.reserved = self.reserved.saturating_add(bytes);
        if self.reserved > MEMORY_BUDGET {
            return Err(format!(
                "{} would make the reader reserve over {} bytes (limit {MEMORY_BUDGET})",
                self.what, self.reserved
            ));
        }
        Ok(())
    }

    /// A list header: its element type code and count (`None` for the crate's
    /// "empty list" byte 0).
    fn list_head(&mut self) -> Result<Option<(u8, u64)>, String> {
        let head = self.byte()?;
        if head == 0 {
            return Ok(None);
        }
        let n = match head >> 4 {
            15 => self.varint()?,
            n => u64::from(n),
        };
        // Each element takes at least a byte (booleans skipped as unknown take
        // none, but the crate needs no memory for them either).
        self.fits(n, "list elements")?;
        Ok(Some((head & 0x0f, n)))
    }

    /// Skips a value of an unknown field exactly as the crate does: booleans in
    /// lists take no bytes, sets and maps are errors.
    fn skip(&mut self, code: u8, depth: u32) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err(format!("{} nested too deeply", self.what));
        }
        match code {
            1 | 2 => Ok(()),
            3 => self.take(1),
            4..=6 => self.varint().map(drop),
            7 => self.take(8),
            8 => {
                let n = self.varint()?;
                self.take(n)
            }
            9 => {
                let Some((elem, n)) = self.list_head()? else {
                    return Ok(());
                };
                if !matches!(elem, 1..=9 | 12) {
                    return Err(format!(
                        "{} has a list of Thrift type {} the reader cannot skip",
                        self.what,
                        type_name(elem)
                    ));
                }
                for _ in 0..n {
                    self.skip(elem, depth + 1)?;
                }
                Ok(())
            }
            12 => self.structure(&EMPTY, depth + 1),
            other => Err(format!(
                "{} has a value of Thrift type {} the reader cannot skip",
                self.what,
                type_name(other)
            )),
        }
    }

    /// A value of a known field or list element.
    fn value(&mut self, ty: Ty, owner: &'static Struct, id: i16, depth: u32) -> Result<(), String> {
        match ty {
            Ty::Bool => Ok(()),
            Ty::I8 => self.take(1),
            Ty::Double => self.take(8),
            Ty::I16 | Ty::I32 | Ty::I64 => {
                let v = self.zigzag()?;
                self.note(owner, id, v as i32);
                Ok(())
            }
            Ty::Binary => {
                let n = self.varint()?;
                self.take(n)?;
                self.reserve(n.saturating_mul(BINARY_COPIES))?;
                self.note_binary(owner, id, n)
            }
            Ty::Struct(s) => self.structure(s, depth + 1),
            Ty::List(elem, cost) => self.list(*elem, cost, owner, id, depth + 1),
        }
    }

    fn list(
        &mut self,
        elem: Ty,
        cost: u64,
        owner: &'static Struct,
        id: i16,
        depth: u32,
    ) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err(format!("{} nested too deeply", self.what));
        }
        let schema = std::ptr::eq(owner, &FILE_META_DATA) && id == 2;
        let columns = std::ptr::eq(owner, &ROW_GROUP) && id == 1;
        if schema {
            self.schema.clear();
        }
        if let Some((code, n)) = self.list_head()? {
            if !elem.matches(code) {
                return Err(format!(
                    "{} field {id} ({}) of {} is a list of {}, expected a list of {}",
                    self.what,
                    field_name(owner, id),
                    owner.name,
                    type_name(code),
                    type_name(elem.code())
                ));
            }
            self.reserve(n.saturating_mul(cost))?;
            for i in 0..n {
                if schema {
                    self.schema.push(Node::default());
                }
                if columns {
                    self.column = usize::try_from(i).ok();
                }
                match elem {
                    // Booleans in lists take a byte each.
                    Ty::Bool => self.take(1)?,
                    _ => self.value(elem, owner, id, depth)?,
                }
            }
        }
        if schema {
            self.schema_tree()?;
        }
        if columns {
            self.column = None;
        }
        Ok(())
    }

    /// A struct or union: known fields by their expected type, others skipped.
    fn structure(&mut self, s: &'static Struct, depth: u32) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err(format!("{} nested too deeply", self.what));
        }
        let mut last: i16 = 0;
        loop {
            let head = self.byte()?;
            let code = head & 0x0f;
            if code == 0 {
                return Ok(());
            }
            if code > 12 {
                return Err(format!("{} has unknown Thrift type {code}", self.what));
            }
            let id = match head >> 4 {
                0 => self.zigzag()? as i16,
                delta => last
                    .checked_add(i16::from(delta))
                    .ok_or_else(|| format!("{} field id overflows after {last}", self.what))?,
            };
            last = id;
            match s.field(id) {
                Some(&(_, name, ty)) if !ty.matches(code) => {
                    return Err(format!(
                        "{} field {id} ({name}) of {} has type {}, expected {}",
                        self.what,
                        s.name,
                        type_name(code),
                        type_name(ty.code())
                    ))
                }
                Some(&(_, _, ty)) => self.value(ty, s, id, depth)?,
                None => self.skip(code, depth)?,
            }
        }
    }

    /// Keeps the integers later checks need.
    fn note(&mut self, owner: &'static Struct, id: i16, v: i32) {
        if std::ptr::eq(owner, &SCHEMA_ELEMENT) {
            if let Some(node) = self.schema.last_mut() {
                match id {
                    1 => node.physical = Some(v),
                    5 => node.children = Some(v),
                    _ => {}
                }
            }
        } else if std::ptr::eq(owner, &PAGE_HEADER) {
            match id {
                2 => self.page.uncompressed = Some(v),
                3 => self.page.compressed = Some(v),
                _ => {}
            }
        }
    }

    fn note_binary(&mut self, owner: &'static Struct, id: i16, n: u64) -> Result<(), String> {
        if std::ptr::eq(owner, &SCHEMA_ELEMENT) && id == 4 {
            if let Some(node) = self.schema.last_mut() {
                node.name_len = n;
            }
        }
        let column = self.column.and_then(|c| Some((c, *self.leaves.get(c)?)));
        if std::ptr::eq(owner, &STATISTICS) && matches!(id, 1 | 2 | 5 | 6) && n > 12 {
            if let Some((c, Some(INT96))) = column {
                return Err(format!(
                    "{} has {n}-byte statistics for INT96 column {c} (INT96 is 12 bytes)",
                    self.what
                ));
            }
        }
        Ok(())
    }

    /// Checks the schema elements form the one tree the crate rebuilds from them
    /// (element 0 the root, each group followed by its `num_children` children,
    /// depth first), no deeper than [`MAX_SCHEMA_DEPTH`], and adds what the
    /// crate reserves for it: a path of names copied for every leaf.
    fn schema_tree(&mut self) -> Result<(), String> {
        let mut leaves = Vec::new();
        let mut cost = 0u64;
        // Open groups: children still to come, and the path bytes down to them.
        let mut open: Vec<(i32, u64)> = Vec::new();
        for (i, node) in self.schema.iter().enumerate() {
            let children = node.children.unwrap_or(0);
            if children < 0 {
                return Err(format!(
                    "{} schema element {i} declares {children} children",
                    self.what
                ));
            }
            let path = match open.last_mut() {
                Some((left, path)) => {
                    *left -= 1;
                    path.saturating_add(node.name_len + size_of::<String>() as u64)
                }
                None if i == 0 => 0,
                None => {
                    return Err(format!(
                        "{} schema has elements after its root's children (element {i})",
                        self.what
                    ))
                }
            };
            if open.len() >= MAX_SCHEMA_DEPTH {
                return Err(format!(
                    "{} schema is nested over {MAX_SCHEMA_DEPTH} levels deep",
                    self.what
                ));
            }
            if children > 0 {
                open.push((children, path));
            } else if i > 0 {
                leaves.push(node.physical);
                cost = cost.saturating_add(path).saturating_add(LEAF_COST);
            }
            while open.last().is_some_and(|g| g.0 == 0) {
                open.pop();
            }
        }
        if !open.is_empty() {
            return Err(format!(
                "{} schema declares more children than it has elements",
                self.what
            ));
        }
        self.leaves = leaves;
        self.reserve(cost)
    }
}

fn field_name(s: &Struct, id: i16) -> &'static str {
    s.field(id).map_or("?", |f| f.1)
}

/// Checks the footer of a whole Parquet file held in `data`.
pub fn check(data: &[u8]) -> Result<(), String> {
    let n = data.len();
    if n < 12 || data.get(n - 4..) != Some(b"PAR1") {
        return Err("no Parquet footer (file truncated?)".into());
    }
    let len_bytes: [u8; 4] = data
        .get(n - 8..n - 4)
        .and_then(|s| s.try_into().ok())
        .ok_or("no footer length")?;
    let len = u32::from_le_bytes(len_bytes) as usize;
    if len > n - 8 {
        return Err(format!("footer length {len} is larger than the file"));
    }
    let footer = data.get(n - 8 - len..n - 8).ok_or("footer out of range")?;
    Walk::new(footer, "footer").structure(&FILE_META_DATA, 0)
}

/// Walks the page header at the start of `input` (the rest of its column chunk).
pub fn page_header(input: impl Input) -> Result<PageHeader, String> {
    let start = input.left();
    let mut walk = Walk::new(input, "page header");
    walk.structure(&PAGE_HEADER, 0)?;
    Ok(PageHeader {
        len: start - walk.input.left(),
        ..walk.page
    })
}
