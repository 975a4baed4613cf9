//! The test modules share helpers only through `herald_tests` (tests/src): a module that imports
//! another module's helpers ties the two together, and the helper is found in neither place one
//! would look for it.

#[test]
fn no_test_module_imports_from_another() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it");
    let mut offenders = Vec::new();
    for entry in std::fs::read_dir(dir).expect("tests/it is readable") {
        let path = entry.expect("a directory entry").path();
        let source = std::fs::read_to_string(&path).expect("a test module is readable");
        for (n, line) in source.lines().enumerate() {
            let line = line.trim_start();
            if line.starts_with("use crate::") || line.starts_with("use super::") {
                offenders.push(format!("{}:{}: {line}", path.display(), n + 1));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "move shared helpers to tests/src (e.g. `herald_tests::fixtures`):\n{}",
        offenders.join("\n")
    );
}
