"""Writes the valid Parquet seeds of the data_parquet fuzz target.

The fuzzer mutates what it is given; started from broken files only, it stays
in the footer. These small files cover what the reader must walk: every
compression codec, dictionary and plain pages, data page v1 and v2, nulls,
nested lists and structs, several row groups, statistics and page indexes.
Run with pyarrow installed:  python make-parquet.py. Two runs give the same
bytes; another pyarrow version writes its own name into each file (26.0.1
wrote the committed ones). The seed-flat-*.parquet files are also the
reader's test fixtures (crates/mlsec-data/tests/fixtures/pyarrow-*.parquet).
"""
import datetime
import decimal
import pathlib

import pyarrow as pa
import pyarrow.parquet as pq

out = pathlib.Path(__file__).resolve().parent.parent / "corpora" / "data_parquet"
out.mkdir(parents=True, exist_ok=True)

rows = 40
table = pa.table(
    {
        "id": pa.array(range(rows), pa.int64()),
        "score": pa.array([i / 7 for i in range(rows)], pa.float64()),
        "label": pa.array([["cat", "dog", None][i % 3] for i in range(rows)]),
        "email": pa.array([f"user{i}@example.com" for i in range(rows)]),
        "ok": pa.array([i % 2 == 0 for i in range(rows)]),
        "when": pa.array(
            [datetime.datetime(2026, 1, 1) + datetime.timedelta(hours=i) for i in range(rows)],
            pa.timestamp("ms"),
        ),
        "price": pa.array([decimal.Decimal(f"{i}.25") for i in range(rows)], pa.decimal128(9, 2)),
        "small": pa.array([i % 100 for i in range(rows)], pa.int8()),
    }
)
nested = pa.table(
    {
        "tags": pa.array([[f"t{j}" for j in range(i % 4)] or None for i in range(rows)], pa.list_(pa.string())),
        "point": pa.array([{"x": i, "y": float(i) / 3} for i in range(rows)]),
        "blob": pa.array([bytes([i]) * (i % 5) for i in range(rows)], pa.binary()),
    }
)

for codec in ["none", "snappy", "gzip", "zstd", "lz4", "brotli"]:
    pq.write_table(table, out / f"seed-flat-{codec}.parquet", compression=codec)
pq.write_table(table, out / "seed-plain-v2.parquet", use_dictionary=False, data_page_version="2.0", compression="none")
pq.write_table(table, out / "seed-row-groups.parquet", row_group_size=7, write_statistics=True, write_page_index=True, compression="none")
pq.write_table(nested, out / "seed-nested.parquet", compression="none")
pq.write_table(table.slice(0, 0), out / "seed-empty.parquet", compression="none")
