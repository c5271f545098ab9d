//! Detector throughput over CSV-like text, single- and multi-threaded.
//!
//! ```text
//! cargo run --release -p mlsec-pii --example throughput [FILE] [--threads N] [--mb SIZE] [--entities A,B]
//! ```
//!
//! `--entities` limits the detector to those entities (all by default), to
//! see what each costs.
//!
//! Without FILE it synthesizes a realistic corpus (customer, order and log
//! records: mostly ordinary values with some PII and secrets). Each cell is
//! one `detect_in_field` call with its column name, as `mlsec data pii` calls
//! it (a simple split: commas outside double quotes).

use std::time::Instant;

use mlsec_pii::Detector;

/// A small deterministic generator (xorshift), so runs are comparable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
    fn num(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

fn synthesize(bytes: usize) -> String {
    let first = [
        "James", "Maria", "Wei", "Aisha", "Lukas", "Sofia", "Ravi", "Emma", "Kenji", "Olga",
    ];
    let last = [
        "Smith", "Garcia", "Chen", "Khan", "Muller", "Rossi", "Patel", "Brown", "Tanaka", "Ivanova",
    ];
    let cities = [
        "Berlin", "Austin", "Lyon", "Pune", "Leeds", "Osaka", "Toronto", "Madrid",
    ];
    let notes = [
        "Customer asked about delivery times for the spring collection",
        "Refund processed after the item arrived damaged",
        "Prefers contact in the evening; loyalty tier gold",
        "Upgraded to the annual plan, invoice sent",
        "Ticket closed, no further action required",
        "Called support twice about the login page timing out",
        "Left a five star review for the running shoes",
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut out = String::with_capacity(bytes + 256);
    out.push_str("id,name,email,phone,city,order,amount,created,status,note\n");
    while out.len() < bytes {
        let (f, l) = (rng.pick(&first), rng.pick(&last));
        let id = rng.num(100_000, 999_999);
        let email = if rng.num(0, 9) < 3 {
            format!("{}.{}@example.com", f.to_lowercase(), l.to_lowercase())
        } else {
            String::new()
        };
        let phone = if rng.num(0, 9) < 2 {
            format!("+1 415 555 {:04}", rng.num(100, 9999))
        } else {
            String::new()
        };
        let note = match rng.num(0, 99) {
            0 => format!("card on file 4111 1111 1111 {:04}", 1111),
            1 => "db url postgres://svc:Hx7#kq2Lm@db.internal:5432/shop".to_string(),
            2 => format!("debug token={:016x}{:08X}", rng.next(), rng.next() as u32),
            3 => format!(
                "client 10.{}.{}.{} retried",
                rng.num(0, 255),
                rng.num(0, 255),
                rng.num(1, 254)
            ),
            _ => rng.pick(&notes).to_string(),
        };
        out.push_str(&format!(
            "{id},{f} {l},{email},{phone},{},ORD-{}-{:06},{}.{:02},2024-{:02}-{:02}T{:02}:{:02}:00Z,{},\"{note}\"\n",
            rng.pick(&cities),
            rng.num(2019, 2024),
            rng.num(0, 999_999),
            rng.num(1, 999),
            rng.num(0, 99),
            rng.num(1, 12),
            rng.num(1, 28),
            rng.num(0, 23),
            rng.num(0, 59),
            rng.pick(&["shipped", "pending", "returned", "delivered"]),
        ));
    }
    out
}

/// CPU seconds this process has used (user + system), from /proc on Linux:
/// on a shared machine, MB per CPU-second is the number that does not depend
/// on what else runs.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// The cells of a CSV line: split on commas outside double quotes, quotes kept.
fn cells(line: &str) -> impl Iterator<Item = &str> {
    let mut quoted = false;
    line.split(move |c| {
        if c == '"' {
            quoted = !quoted;
        }
        c == ',' && !quoted
    })
}

fn run(detector: &Detector, header: &[&str], lines: &[&str], threads: usize) -> (f64, usize) {
    let bytes: usize = lines.iter().map(|l| l.len() + 1).sum();
    let chunk = lines.len().div_ceil(threads.max(1)).max(1);
    let start = Instant::now();
    let found: usize = std::thread::scope(|scope| {
        let handles: Vec<_> = lines
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    let mut spans = Vec::new();
                    let mut found = 0;
                    for line in part {
                        for (i, cell) in cells(line).enumerate() {
                            let field = header.get(i).copied();
                            spans.clear();
                            detector.detect_into(field, cell, &mut spans);
                            found += spans.len();
                        }
                    }
                    found
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
    });
    let secs = start.elapsed().as_secs_f64();
    (bytes as f64 / secs / 1e6, found)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse::<usize>().ok())
    };
    let threads = flag("--threads").unwrap_or(2);
    let mb = flag("--mb").unwrap_or(64);
    let file = args
        .iter()
        .enumerate()
        .find(|(i, a)| !a.starts_with("--") && (*i == 0 || !args[i - 1].starts_with("--")))
        .map(|(_, a)| a);
    let corpus = match file {
        Some(path) => match std::fs::read(path) {
            Ok(data) => String::from_utf8_lossy(&data).into_owned(),
            Err(e) => {
                eprintln!("error: {path}: {e}");
                std::process::exit(2);
            }
        },
        None => synthesize(mb * 1_000_000),
    };
    let mut lines = corpus.lines();
    let header: Vec<&str> = lines.next().map(|h| cells(h).collect()).unwrap_or_default();
    let lines: Vec<&str> = lines.collect();
    let entities: Vec<mlsec_pii::Entity> = args
        .iter()
        .position(|a| a == "--entities")
        .and_then(|i| args.get(i + 1))
        .map(|list| list.split(',').filter_map(|e| e.parse().ok()).collect())
        .unwrap_or_default();
    let detector = Detector::new(&entities);
    // Warm-up: page in the corpus and the automata.
    run(&detector, &header, &lines[..lines.len().min(2000)], 1);
    let cpu_before = cpu_seconds();
    let (one, found) = run(&detector, &header, &lines, 1);
    let cpu = cpu_before.zip(cpu_seconds()).map(|(a, b)| b - a);
    let (many, _) = run(&detector, &header, &lines, threads);
    let mb = corpus.len() as f64 / 1e6;
    println!("corpus {mb:.1} MB, {} lines, {found} spans", lines.len());
    if let Some(cpu) = cpu.filter(|c| *c > 0.0) {
        println!("per CPU-second: {:.0} MB/s", mb / cpu);
    }
    println!("1 thread: {one:.0} MB/s\n{threads} threads: {many:.0} MB/s");
}
