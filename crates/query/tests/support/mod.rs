//! What the query crate's tests share: the catalog they compile against.

use std::path::{Path, PathBuf};

use rapport_meta::{Catalog, parse_document};
use serde_json::Value;

pub fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// The standard objects (`schema/objects`) and `tests/golden/vehicle.json`,
/// which has a field of every type.
pub fn catalog() -> Catalog {
    let standard = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schema/objects");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&standard)
        .expect("schema/objects")
        .map(|e| e.expect("an entry").path())
        .collect();
    files.push(golden_dir().join("vehicle.json"));
    files.sort();
    let objects = files
        .iter()
        .map(|path| {
            let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            parse_document(&doc).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()))
        })
        .collect();
    Catalog::build(objects).expect("the golden catalog builds")
}
