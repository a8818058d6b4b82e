//! The store's SQLite database (WAL): schema, migrations, transactions.
//!
//! Tables: `images`, `names`, `layers` (unpacked snapshots by chain id, with a `complete`
//! flag), `snapshots` (writable), `mounts`. Every multi-row change is one transaction; a busy
//! timeout lets concurrent `berth` processes wait for each other.
