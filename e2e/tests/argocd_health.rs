//! The Argo CD health check for Tenant (charts/argocd/resource_customizations/atendo.io/Tenant),
//! run in a real Lua interpreter against every case of its `health_test.yaml`, as Argo CD's own
//! test suite runs its built-in checks. The interpreter is Lua 5.1 (mlua's `lua51`), Argo CD's
//! language: checked by putting `//` (5.3's integer division) into health.lua, which failed
//! every case here with a syntax error, and taking it out again.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use e2e::argocd::{evaluate, load_tests};

fn check_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../charts/argocd/resource_customizations/atendo.io/Tenant")
}

fn script() -> String {
    std::fs::read_to_string(check_dir().join("health.lua")).expect("health.lua")
}

#[test]
fn every_case_in_health_test_yaml_gets_its_status_and_message() {
    let script = script();
    let cases = load_tests(&check_dir()).expect("health_test.yaml and its inputs");
    let mut failures = vec![];
    for case in &cases {
        match evaluate(&script, &case.input) {
            Ok(got) if got == case.expected => {}
            Ok(got) => failures.push(format!(
                "{}: expected {:?}, got {:?}",
                case.input_path, case.expected, got
            )),
            Err(e) => failures.push(format!("{}: {e}", case.input_path)),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_testdata_file_is_a_case_and_every_status_the_check_gives_is_covered() {
    let cases = load_tests(&check_dir()).unwrap();
    let listed: BTreeSet<String> = cases.iter().map(|c| c.input_path.clone()).collect();
    let on_disk: BTreeSet<String> = std::fs::read_dir(check_dir().join("testdata"))
        .unwrap()
        .map(|e| format!("testdata/{}", e.unwrap().file_name().to_string_lossy()))
        .collect();
    assert_eq!(
        listed, on_disk,
        "testdata files and health_test.yaml cases differ"
    );
    let statuses: BTreeSet<&str> = cases.iter().map(|c| c.expected.status.as_str()).collect();
    assert_eq!(
        statuses,
        BTreeSet::from(["Degraded", "Healthy", "Progressing", "Suspended"])
    );
}

#[test]
fn every_testdata_input_is_a_tenant_the_operator_can_read() {
    for case in load_tests(&check_dir()).unwrap() {
        let tenant: Result<atendo_operator::tenant::Tenant, _> =
            serde_json::from_value(case.input.clone());
        assert!(tenant.is_ok(), "{}: {:?}", case.input_path, tenant.err());
    }
}

#[test]
fn a_ready_condition_from_an_older_generation_is_not_healthy() {
    let cases = load_tests(&check_dir()).unwrap();
    let healthy = cases
        .iter()
        .find(|c| c.expected.status == "Healthy")
        .expect("a Healthy case");
    let mut newer = healthy.input.clone();
    // The status says generation 4 was observed, but Ready still speaks of generation 3.
    newer["metadata"]["generation"] = serde_json::json!(4);
    newer["status"]["observedGeneration"] = serde_json::json!(4);
    let got = evaluate(&script(), &newer).unwrap();
    assert_eq!(got.status, "Progressing", "{got:?}");
}
