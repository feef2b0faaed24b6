//! `crds/` is generated, never edited: the committed file must equal `atendo-operator crd`.

use std::path::Path;

#[test]
fn committed_crd_matches_the_generated_one() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crds/tenant.yaml");
    let committed = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let generated = atendo_operator::crd::tenant_crd_yaml().unwrap();
    pretty_assertions::assert_eq!(
        committed,
        generated,
        "crds/tenant.yaml is stale; regenerate it with `cargo run -p operator -- crd > crds/tenant.yaml`"
    );
}
