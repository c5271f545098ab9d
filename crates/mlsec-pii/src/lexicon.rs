//! Bundled word lists: census names, GeoNames places, English words and a
//! few hand-written lists (titles, organisation and street suffixes, group
//! words), folded into one hash map from a lower-cased word (or phrase) to
//! what it can be. Built once per process, on first use.
//!
//! Sources and licences: `crates/mlsec-pii/data/LICENSES.md`; the script that
//! rebuilds the files: `crates/mlsec-pii/data/fetch_lists.py`.

use std::sync::OnceLock;

/// Given name; bucket in [`GIVEN_SHIFT`] (1: 500 most common, 2: 2,000, 3: rest).
pub(crate) const GIVEN: u32 = 0b11;
const GIVEN_SHIFT: u32 = 0;
/// Surname; bucket (1: census rank <= 1,000, 2: <= 5,000, 3: <= 20,000).
pub(crate) const SURNAME: u32 = 0b11 << 2;
const SURNAME_SHIFT: u32 = 2;
/// City; bucket (1: population >= 1M, 2: >= 100k, 3: >= 15k).
pub(crate) const CITY: u32 = 0b11 << 4;
const CITY_SHIFT: u32 = 4;
pub(crate) const COUNTRY: u32 = 1 << 6;
pub(crate) const STATE: u32 = 1 << 7;
/// A lower-case English dictionary word (SCOWL).
pub(crate) const WORD: u32 = 1 << 8;
/// A function word or a common sentence opener (hand-written).
pub(crate) const STOP: u32 = 1 << 9;
/// A title before a name: Mr, Dr, Prof ...
pub(crate) const TITLE: u32 = 1 << 10;
/// A legal form that ends an organisation's name: Inc, Ltd, GmbH ...
pub(crate) const ORG_LEGAL: u32 = 1 << 11;
/// A word that heads or ends an organisation's name: Bank, University, Group ...
pub(crate) const ORG_WORD: u32 = 1 << 12;
/// A street type: Street, Ave, Road ...
pub(crate) const STREET: u32 = 1 << 13;
/// A nationality, religious or political group word.
pub(crate) const NRP: u32 = 1 << 14;
/// A month or weekday name.
pub(crate) const MONTH: u32 = 1 << 15;
/// The first word of a phrase in the map (`new` of `new york`).
pub(crate) const PHRASE_START: u32 = 1 << 16;

/// Names, places, or anything that makes a token worth scoring.
pub(crate) const NAMEISH: u32 = GIVEN | SURNAME | CITY | COUNTRY | STATE | ORG_LEGAL | ORG_WORD;

const SURNAMES: &str = include_str!("../data/surnames.txt");
const GIVEN_NAMES: &str = include_str!("../data/given_names.txt");
const CITIES: &str = include_str!("../data/cities.txt");
const REGIONS: &str = include_str!("../data/regions.txt");
const WORDS: &str = include_str!("../data/words.txt");

const TITLES: &[&str] = &[
    "mr",
    "mrs",
    "ms",
    "miss",
    "mx",
    "dr",
    "prof",
    "professor",
    "sir",
    "dame",
    "lord",
    "lady",
    "rev",
    "reverend",
    "fr",
    "capt",
    "captain",
    "sgt",
    "sergeant",
    "officer",
    "judge",
    "senator",
    "mayor",
    "rabbi",
    "imam",
    "pastor",
    "herr",
    "frau",
    "mme",
    "mlle",
    "monsieur",
    "madame",
    "señor",
    "señora",
    "sra",
    "sr",
    "jr",
    "nurse",
    "doctor",
    "agent",
    "detective",
    "coach",
];
const ORG_LEGALS: &[&str] = &[
    "inc",
    "incorporated",
    "corp",
    "corporation",
    "co",
    "ltd",
    "limited",
    "llc",
    "llp",
    "lp",
    "plc",
    "gmbh",
    "ag",
    "sa",
    "sas",
    "sarl",
    "srl",
    "spa",
    "bv",
    "nv",
    "ab",
    "oy",
    "asa",
    "kg",
    "pty",
    "pte",
    "kk",
];
const ORG_WORDS: &[&str] = &[
    "company",
    "group",
    "holdings",
    "partners",
    "associates",
    "bank",
    "university",
    "college",
    "institute",
    "foundation",
    "technologies",
    "technology",
    "labs",
    "laboratories",
    "systems",
    "solutions",
    "software",
    "industries",
    "enterprises",
    "ventures",
    "capital",
    "consulting",
    "services",
    "international",
    "pharmaceuticals",
    "pharma",
    "motors",
    "airlines",
    "airways",
    "insurance",
    "hospital",
    "clinic",
    "agency",
    "trust",
    "council",
    "ministry",
    "bureau",
    "society",
    "association",
    "federation",
    "networks",
    "media",
    "studios",
    "logistics",
    "energy",
    "analytics",
    "therapeutics",
    "biosciences",
    "traders",
    "trading",
    "electronics",
    "foods",
    "brands",
    "communications",
    "telecom",
    "health",
    "healthcare",
    "academy",
    "union",
    "church",
    "museum",
    "club",
    "center",
    "centre",
    "hotel",
    "restaurant",
    "pharmacy",
    "school",
    "press",
    "records",
    "airport",
    "stores",
    "market",
    "markets",
    "factory",
    "studio",
];
const STREETS: &[&str] = &[
    "street",
    "st",
    "avenue",
    "ave",
    "road",
    "rd",
    "boulevard",
    "blvd",
    "lane",
    "ln",
    "drive",
    "dr",
    "court",
    "ct",
    "way",
    "place",
    "pl",
    "terrace",
    "parkway",
    "pkwy",
    "highway",
    "hwy",
    "square",
    "sq",
    "circle",
    "cir",
    "close",
    "crescent",
    "trail",
    "alley",
    "row",
    "gardens",
    "mews",
    "walk",
    "plaza",
    "grove",
    "hill",
    "park",
];
const STOPS: &[&str] = &[
    "the",
    "a",
    "an",
    "this",
    "that",
    "these",
    "those",
    "i",
    "we",
    "you",
    "he",
    "she",
    "they",
    "it",
    "my",
    "our",
    "your",
    "his",
    "her",
    "their",
    "its",
    "me",
    "us",
    "them",
    "please",
    "thanks",
    "thank",
    "hi",
    "hello",
    "hey",
    "dear",
    "regards",
    "best",
    "cheers",
    "yes",
    "no",
    "ok",
    "okay",
    "sorry",
    "note",
    "update",
    "re",
    "fw",
    "fwd",
    "subject",
    "from",
    "to",
    "cc",
    "and",
    "or",
    "but",
    "if",
    "when",
    "where",
    "what",
    "who",
    "whom",
    "why",
    "how",
    "after",
    "before",
    "during",
    "also",
    "then",
    "there",
    "here",
    "all",
    "any",
    "some",
    "each",
    "every",
    "new",
    "old",
    "first",
    "last",
    "next",
    "great",
    "good",
    "very",
    "not",
    "never",
    "just",
    "only",
    "still",
    "so",
    "as",
    "at",
    "in",
    "on",
    "of",
    "for",
    "with",
    "by",
    "about",
    "into",
    "over",
    "under",
    "is",
    "was",
    "are",
    "were",
    "be",
    "been",
    "has",
    "have",
    "had",
    "do",
    "does",
    "did",
    "will",
    "would",
    "can",
    "could",
    "should",
    "may",
    "might",
    "must",
    "today",
    "tomorrow",
    "yesterday",
    "tonight",
    "customer",
    "client",
    "user",
    "order",
    "ticket",
    "issue",
    "status",
    "total",
    "item",
    "product",
    "payment",
    "account",
    "support",
    "team",
    "admin",
    "patient",
    "subject",
    "summary",
    "reason",
    "result",
    "error",
    "warning",
    "info",
    "debug",
    "none",
    "null",
    "n/a",
    "unknown",
    "true",
    "false",
    "yes",
    "see",
    "per",
    "via",
    "tel",
    "fax",
    "mob",
    "ph",
    "nr",
    "ref",
    "attn",
    "case",
    "thx",
    "kind",
    "warm",
    "sincerely",
    // Software words missing from the dictionary list.
    "login",
    "logout",
    "signup",
    "signin",
    "checkout",
    "config",
    "docs",
    "repo",
    "api",
    "app",
    "ok",
    "todo",
    "fixme",
    "readme",
    "changelog",
    "webhook",
    "dashboard",
    "backend",
    "frontend",
];
const MONTHS: &[&str] = &[
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "mon",
    "tue",
    "tues",
    "wed",
    "thu",
    "thur",
    "thurs",
    "fri",
    "sat",
    "sun",
];
/// Nationalities, religions and political groups (capitalised in use).
const NRPS: &[&str] = &[
    "afghan",
    "albanian",
    "algerian",
    "american",
    "argentine",
    "argentinian",
    "armenian",
    "australian",
    "austrian",
    "bangladeshi",
    "belgian",
    "bolivian",
    "bosnian",
    "brazilian",
    "british",
    "bulgarian",
    "cambodian",
    "cameroonian",
    "canadian",
    "chilean",
    "chinese",
    "colombian",
    "congolese",
    "croatian",
    "cuban",
    "czech",
    "danish",
    "dominican",
    "dutch",
    "ecuadorian",
    "egyptian",
    "english",
    "eritrean",
    "estonian",
    "ethiopian",
    "filipino",
    "finnish",
    "french",
    "georgian",
    "german",
    "ghanaian",
    "greek",
    "guatemalan",
    "haitian",
    "honduran",
    "hungarian",
    "icelandic",
    "indian",
    "indonesian",
    "iranian",
    "iraqi",
    "irish",
    "israeli",
    "italian",
    "ivorian",
    "jamaican",
    "japanese",
    "jordanian",
    "kazakh",
    "kenyan",
    "korean",
    "kurdish",
    "kuwaiti",
    "lao",
    "latvian",
    "lebanese",
    "libyan",
    "lithuanian",
    "malaysian",
    "malian",
    "maltese",
    "mexican",
    "moldovan",
    "mongolian",
    "moroccan",
    "mozambican",
    "nepalese",
    "nepali",
    "nigerian",
    "norwegian",
    "pakistani",
    "palestinian",
    "panamanian",
    "paraguayan",
    "peruvian",
    "polish",
    "portuguese",
    "romanian",
    "russian",
    "rwandan",
    "salvadoran",
    "saudi",
    "scottish",
    "senegalese",
    "serbian",
    "singaporean",
    "slovak",
    "slovenian",
    "somali",
    "spanish",
    "sri lankan",
    "sudanese",
    "swedish",
    "swiss",
    "syrian",
    "taiwanese",
    "tajik",
    "tanzanian",
    "thai",
    "tunisian",
    "turkish",
    "ugandan",
    "ukrainian",
    "uruguayan",
    "uzbek",
    "venezuelan",
    "vietnamese",
    "welsh",
    "yemeni",
    "zambian",
    "zimbabwean",
    "hispanic",
    "latino",
    "latina",
    "asian",
    "african",
    "european",
    "arab",
    "caucasian",
    "christian",
    "catholic",
    "protestant",
    "muslim",
    "moslem",
    "jewish",
    "jew",
    "hindu",
    "buddhist",
    "sikh",
    "mormon",
    "evangelical",
    "baptist",
    "methodist",
    "anglican",
    "lutheran",
    "presbyterian",
    "pentecostal",
    "orthodox",
    "shia",
    "shiite",
    "sunni",
    "jain",
    "taoist",
    "atheist",
    "agnostic",
    "democrat",
    "democratic",
    "republican",
    "labour",
    "tory",
    "socialist",
    "communist",
    "libertarian",
    "liberal democrat",
];

/// A 64-bit hash of the lower-cased bytes of a key: the table keeps only
/// this fingerprint, so a lookup is one hash and one probe, with no key
/// comparison (about 94,000 keys: a false match between two 47-bit
/// fingerprints in one probe run is a one in 10^13 event per lookup).
///
/// Bytes are folded with `| 0x20` (upper-case ASCII letters to lower case;
/// every other byte of a key, space, `-`, `'`, `.`, digits and UTF-8, is
/// folded the same way at insertion and lookup), eight at a time. So an
/// ASCII word needs no lower-casing before it is hashed. Short keys (most
/// words) are read as two overlapping loads that together cover every
/// byte, the length hashed first: no byte loop.
fn fingerprint(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    const FOLD: u64 = 0x2020_2020_2020_2020;
    let n = bytes.len();
    let mix = |h: u64, w: u64| {
        let h = (h ^ w).wrapping_mul(K);
        h ^ (h >> 29)
    };
    // The length gets a round of its own: xor-ed straight into the first
    // word it would make `vo` and `woo` one key.
    let mut h = mix(0xcbf2_9ce4_8422_2325, n as u64);
    let le4 = |b: &[u8; 4]| u64::from(u32::from_le_bytes(*b));
    if n >= 8 {
        let (chunks, rest) = bytes.as_chunks::<8>();
        for c in chunks {
            h = mix(h, u64::from_le_bytes(*c) | FOLD);
        }
        if let (false, Some(last)) = (rest.is_empty(), bytes.last_chunk::<8>()) {
            // The last eight bytes, overlapping the chunk before.
            h = mix(h, u64::from_le_bytes(*last) | FOLD);
        }
    } else if let (Some(first), Some(last)) = (bytes.first_chunk::<4>(), bytes.last_chunk::<4>()) {
        // 4 to 7 bytes.
        let w = le4(first) | le4(last) << 32;
        h = mix(h, w | FOLD);
    } else if let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) {
        // 1 to 3 bytes.
        let middle = bytes.get(n / 2).copied().unwrap_or(0);
        let w = u64::from(first) | u64::from(middle) << 8 | u64::from(last) << 16;
        h = mix(h, w | 0x20_2020);
    }
    h = h.wrapping_mul(K);
    h ^ (h >> 32)
}

/// The flags live in the low bits of a slot, the fingerprint above them.
const FLAG_BITS: u32 = 17;
const FLAG_MASK: u64 = (1 << FLAG_BITS) - 1;
const _: () = assert!(PHRASE_START as u64 <= FLAG_MASK);
/// Slots of the table: 2^18 at 8 bytes is 2 MiB, about a third full. Lookups
/// land on random slots, so the table's size is what decides how many of
/// them miss the CPU caches (it was 8 MiB of 16-byte slots).
const SLOT_BITS: u32 = 18;

/// An open-addressing table of fingerprints and flags, each slot one `u64`:
/// the fingerprint's top 47 bits (never 0: bit 63 is set) over 17 flag bits;
/// 0 is an empty slot. Linear probing, at most half full.
pub(crate) struct Lexicon {
    slots: Vec<u64>,
}

/// Entries of a list file: (section index, entry), skipping the header.
fn entries(file: &'static str) -> impl Iterator<Item = (u32, &'static str)> {
    let mut section = 0;
    file.lines().filter_map(move |line| {
        if line.starts_with("# ") {
            return None;
        }
        if line.starts_with('#') {
            section += 1;
            return None;
        }
        (!line.is_empty()).then_some((section, line))
    })
}

/// A key's fingerprint as stored: its top bits, bit 63 set so that no key is 0.
fn key_of(fp: u64) -> u64 {
    (fp | 1 << 63) & !FLAG_MASK
}

impl Lexicon {
    /// The process-wide lexicon, built on first use.
    pub(crate) fn get() -> &'static Lexicon {
        static LEXICON: OnceLock<Lexicon> = OnceLock::new();
        LEXICON.get_or_init(Lexicon::build)
    }

    fn build() -> Lexicon {
        let mut lex = Lexicon {
            slots: vec![0; 1 << SLOT_BITS],
        };
        for (section, name) in entries(SURNAMES) {
            lex.add_bucket(name, SURNAME, SURNAME_SHIFT, section);
        }
        for (section, name) in entries(GIVEN_NAMES) {
            lex.add_bucket(name, GIVEN, GIVEN_SHIFT, section);
        }
        for (section, name) in entries(CITIES) {
            lex.add_bucket(name, CITY, CITY_SHIFT, section);
        }
        for (section, name) in entries(REGIONS) {
            lex.add(name, if section == 1 { COUNTRY } else { STATE });
        }
        for (_, word) in entries(WORDS) {
            lex.add(word, WORD);
        }
        for (list, flag) in [
            (TITLES, TITLE),
            (ORG_LEGALS, ORG_LEGAL),
            (ORG_WORDS, ORG_WORD),
            (STREETS, STREET),
            (STOPS, STOP),
            (MONTHS, MONTH),
            (NRPS, NRP),
        ] {
            for w in list {
                lex.add(w, flag);
            }
        }
        // Plural group words: Americans, Democrats, Muslims.
        for w in NRPS {
            if !w.ends_with('s') && !w.ends_with("ese") && !w.ends_with("ish") && !w.contains(' ') {
                lex.add(&format!("{w}s"), NRP);
            }
        }
        lex
    }

    /// The slot of a fingerprint: where its key is, or the empty one it would
    /// take. (Masked by the table's length, a power of two, `i` is always a
    /// slot; one past the end would read as empty.)
    fn slot(&self, fp: u64) -> usize {
        let mask = self.slots.len() - 1;
        let key = key_of(fp);
        let mut i = (fp.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40) as usize & mask;
        loop {
            let k = self.slots.get(i).map_or(0, |slot| slot & !FLAG_MASK);
            if k == key || k == 0 {
                return i;
            }
            i = (i + 1) & mask;
        }
    }

    fn lookup(&self, fp: u64) -> u32 {
        let slot = self.slots.get(self.slot(fp)).copied().unwrap_or(0);
        if slot & !FLAG_MASK == key_of(fp) {
            (slot & FLAG_MASK) as u32
        } else {
            0
        }
    }

    fn insert(&mut self, key: &[u8], flag: u32) {
        let fp = fingerprint(key);
        let i = self.slot(fp);
        if let Some(slot) = self.slots.get_mut(i) {
            *slot |= key_of(fp) | u64::from(flag);
        }
    }

    /// Adds a bucketed flag, keeping the most frequent bucket seen.
    fn add_bucket(&mut self, name: &str, mask: u32, shift: u32, section: u32) {
        let bucket = section.clamp(1, 3) << shift;
        let mut buf = [0u8; 208];
        let Some(key) = key_bytes(name, &mut buf) else {
            return;
        };
        if self.lookup(fingerprint(key)) & mask == 0 {
            self.add_key(key, bucket);
        }
    }

    fn add(&mut self, name: &str, flag: u32) {
        let mut buf = [0u8; 208];
        if let Some(key) = key_bytes(name, &mut buf) {
            self.add_key(key, flag);
        }
    }

    /// Adds a key and, for a phrase, its first word as a [`PHRASE_START`].
    fn add_key(&mut self, key: &[u8], flag: u32) {
        let space = key.iter().position(|&c| c == b' ');
        if let Some(first) = space.and_then(|space| key.get(..space)) {
            self.insert(first, PHRASE_START);
        }
        self.insert(key, flag);
    }

    /// What `word` (any case) can be; 0 when it is in no list.
    pub(crate) fn flags(&self, word: &str) -> u32 {
        let b = word.as_bytes();
        if b.len() > 200 {
            return 0;
        }
        if b.is_ascii() {
            return self.lookup(fingerprint(b));
        }
        // Lower-cased, and lower-cased with diacritics off, into buffers on
        // the stack in one pass.
        let mut lower = [0u8; 208];
        let mut folded = [0u8; 208];
        let Some((n, m)) = lower_and_fold(word, &mut lower, &mut folded) else {
            return 0;
        };
        let (Some(lower), Some(folded)) = (lower.get(..n), folded.get(..m)) else {
            return 0;
        };
        let f = self.lookup(fingerprint(lower));
        // `García`, `José`, `Zoë`: the census lists are ASCII; what the
        // word is with and without its diacritics (García is also a city).
        if lower == folded {
            return f;
        }
        f | self.lookup(fingerprint(folded))
    }
}

/// The bytes a list entry is stored under: an ASCII entry as it is (the
/// fingerprint folds its case), any other lower-cased into `buf`, on the
/// stack (building the table allocates nothing per entry).
fn key_bytes<'a>(name: &'a str, buf: &'a mut [u8]) -> Option<&'a [u8]> {
    if name.is_ascii() {
        return Some(name.as_bytes());
    }
    let n = lower_into(name, false, buf)?;
    buf.get(..n)
}

/// `word` lower-cased into `lower` and lower-cased with diacritics off into
/// `folded`: their lengths (None when a buffer is too short).
fn lower_and_fold(word: &str, lower: &mut [u8], folded: &mut [u8]) -> Option<(usize, usize)> {
    let (mut n, mut m) = (0, 0);
    for c in word.chars() {
        if c.is_ascii() {
            let c = c.to_ascii_lowercase() as u8;
            *lower.get_mut(n)? = c;
            *folded.get_mut(m)? = c;
            n += 1;
            m += 1;
            continue;
        }
        // Latin-1 letters (`É`, `ü`, `ß`), the usual non-ASCII in names,
        // lower-case without the Unicode tables: capitals are 0x20 below.
        let lowered = match c {
            '\u{C0}'..='\u{DE}' if c != '\u{D7}' => char::from_u32(c as u32 + 0x20),
            '\u{DF}'..='\u{FF}' => Some(c),
            _ => None,
        };
        if let Some(c) = lowered {
            push_lower_folded(c, lower, &mut n, folded, &mut m)?;
            continue;
        }
        for c in c.to_lowercase() {
            push_lower_folded(c, lower, &mut n, folded, &mut m)?;
        }
    }
    Some((n, m))
}

/// Appends a lower-case char to `lower` and its base letter to `folded`.
fn push_lower_folded(
    c: char,
    lower: &mut [u8],
    n: &mut usize,
    folded: &mut [u8],
    m: &mut usize,
) -> Option<()> {
    let len = c.len_utf8();
    c.encode_utf8(lower.get_mut(*n..*n + len)?);
    *n += len;
    let f = fold_latin(c);
    let len = f.len_utf8();
    f.encode_utf8(folded.get_mut(*m..*m + len)?);
    *m += len;
    Some(())
}

/// `word` lower-cased (and with `fold`, diacritics off) into `buf`: its length.
fn lower_into(word: &str, fold: bool, buf: &mut [u8]) -> Option<usize> {
    let mut n = 0;
    for c in word.chars().flat_map(char::to_lowercase) {
        let c = if fold { fold_latin(c) } else { c };
        let len = c.len_utf8();
        c.encode_utf8(buf.get_mut(n..n + len)?);
        n += len;
    }
    Some(n)
}

/// A Latin letter with a diacritic as its base letter.
pub(crate) fn fold_latin(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => 'a',
        'ç' | 'ć' | 'č' => 'c',
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ė' | 'ę' | 'ě' => 'e',
        'ì' | 'í' | 'î' | 'ï' | 'ī' | 'į' | 'ı' => 'i',
        'ñ' | 'ń' | 'ň' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' => 'o',
        'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' | 'ų' => 'u',
        'ý' | 'ÿ' => 'y',
        'ś' | 'š' | 'ş' => 's',
        'ź' | 'ż' | 'ž' => 'z',
        'ł' => 'l',
        'ř' => 'r',
        'ť' | 'ţ' => 't',
        'ď' => 'd',
        'ğ' => 'g',
        _ => c,
    }
}

/// The given-name bucket (0 none, 1 most common .. 3 rarest).
pub(crate) fn given_bucket(flags: u32) -> u32 {
    (flags & GIVEN) >> GIVEN_SHIFT
}

pub(crate) fn surname_bucket(flags: u32) -> u32 {
    (flags & SURNAME) >> SURNAME_SHIFT
}

pub(crate) fn city_bucket(flags: u32) -> u32 {
    (flags & CITY) >> CITY_SHIFT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_are_short() {
        let lex = Lexicon::get();
        let (mut used, mut longest, mut run) = (0, 0, 0);
        for k in &lex.slots {
            if *k != 0 {
                used += 1;
                run += 1;
                longest = longest.max(run);
            } else {
                run = 0;
            }
        }
        println!(
            "{used} keys in {} slots, longest run {longest}",
            lex.slots.len()
        );
        assert!(longest < 64, "{longest}");
    }

    #[test]
    fn list_keys_have_distinct_fingerprints() {
        use std::collections::HashSet;
        let (mut keys, mut fps) = (HashSet::new(), HashSet::new());
        for file in [SURNAMES, GIVEN_NAMES, CITIES, REGIONS, WORDS] {
            for (_, name) in entries(file) {
                let mut buf = [0u8; 208];
                let key = key_bytes(name, &mut buf).unwrap();
                let first = key.split(|&c| c == b' ').next().unwrap();
                for k in [key, first] {
                    // What the fingerprint sees: bytes folded with | 0x20.
                    keys.insert(k.iter().map(|c| c | 0x20).collect::<Vec<u8>>());
                    fps.insert(key_of(fingerprint(k)));
                }
            }
        }
        assert_eq!(keys.len(), fps.len());
    }

    #[test]
    fn latin1_fast_path_lowers_as_unicode_does() {
        for c in '\u{80}'..='\u{17F}' {
            let word = format!("A{c}b");
            let (mut lower, mut folded) = ([0u8; 16], [0u8; 16]);
            let (n, m) = lower_and_fold(&word, &mut lower, &mut folded).unwrap();
            let want = word.to_lowercase();
            assert_eq!(&lower[..n], want.as_bytes(), "{c}");
            let want: String = want.chars().map(fold_latin).collect();
            assert_eq!(&folded[..m], want.as_bytes(), "{c}");
        }
    }

    #[test]
    fn lists_load_with_their_buckets() {
        let lex = Lexicon::get();
        assert_eq!(surname_bucket(lex.flags("Smith")), 1);
        assert_eq!(surname_bucket(lex.flags("GARCIA")), 1);
        assert_eq!(given_bucket(lex.flags("mary")), 1);
        assert_eq!(city_bucket(lex.flags("Berlin")), 1);
        assert_ne!(lex.flags("São Paulo") & CITY, 0);
        assert_ne!(lex.flags("São") & PHRASE_START, 0);
        assert_ne!(lex.flags("García") & SURNAME, 0);
        assert_ne!(lex.flags("new") & PHRASE_START, 0);
        assert_ne!(lex.flags("Portugal") & COUNTRY, 0);
        assert_ne!(lex.flags("Ohio") & STATE, 0);
        assert_ne!(lex.flags("table") & WORD, 0);
        assert_ne!(lex.flags("Dr") & TITLE, 0);
        assert_ne!(lex.flags("GmbH") & ORG_LEGAL, 0);
        assert_ne!(lex.flags("Germans") & NRP, 0);
        assert_eq!(lex.flags("Xqzvt"), 0);
        assert_eq!(lex.flags(&"a".repeat(500)), 0);
    }
}
