//! `render`: the examples render to the reviewed golden files, invalid input fails clearly, and
//! the binary exits non-zero with the reason.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use atendo_operator::render::{RenderError, render};
use atendo_operator::tenant::Tenant;
use common::settings;
use k8s_openapi::api::core::v1::Secret;
use pretty_assertions::assert_eq;

fn dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(name)
}

/// Each example with the operator flags of a different kind of cluster.
const EXAMPLES: [(&str, &[&str]); 3] = [
    // kind / self-managed: no TLS at the Ingress, MinIO for S3 with static keys for the pods.
    (
        "starter",
        &[
            "--redis-url=redis://redis.atendo:6379",
            "--s3-endpoint=http://minio.storage:9000",
            "--chat-s3-access-key-id=atendo-chat",
            "--chat-s3-secret-access-key=do-not-print-me",
            "--allow-shared-s3-key",
        ],
    ),
    // nginx + cert-manager, IRSA on EKS; a Redis of one's own over TLS, behind a private CA.
    (
        "professional",
        &[
            "--redis-url=rediss://redis.atendo:6380",
            "--redis-ca-file=tests/fixtures/bus-ca-1.pem",
            "--cert-issuer=letsencrypt-prod",
            r#"--ingress-annotations={"nginx.ingress.kubernetes.io/proxy-read-timeout":"3600","nginx.ingress.kubernetes.io/proxy-send-timeout":"3600"}"#,
            "--iam-role-arn-template=arn:aws:iam::123456789012:role/atendo-{tenant}-chat",
        ],
    ),
    // EKS: an ALB shared by all tenants whose listener holds an ACM certificate, so no tls block.
    (
        "enterprise",
        &[
            "--ingress-class=alb",
            r#"--ingress-annotations={"alb.ingress.kubernetes.io/group.name":"atendo","alb.ingress.kubernetes.io/target-type":"ip","alb.ingress.kubernetes.io/listen-ports":"[{\"HTTPS\":443}]"}"#,
            "--bucket-name-template=atendo-prod-{tenant}-uploads",
            "--s3-region=sa-east-1",
            "--iam-role-arn-template=arn:aws:iam::123456789012:role/atendo-{tenant}-chat",
            // Mail through Amazon SES's SMTP interface.
            "--smtp-url=smtps://AKIAEXAMPLE:ses-smtp-password@email-smtp.sa-east-1.amazonaws.com:465",
            "--mail-from=no-reply@chat.example.com",
        ],
    ),
];

#[test]
fn every_example_renders_to_its_reviewed_golden_file() {
    for (plan, flags) in EXAMPLES {
        let input = std::fs::read_to_string(dir("examples").join(format!("{plan}.yaml"))).unwrap();
        let rendered = render(&input, &settings(flags)).unwrap_or_else(|e| panic!("{plan}: {e}"));
        let golden = dir("tests/golden").join(format!("{plan}.yaml"));
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&golden, &rendered).unwrap();
        }
        let expected = std::fs::read_to_string(&golden)
            .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_GOLDEN=1 writes it)", golden.display()));
        assert_eq!(
            rendered, expected,
            "{plan}: review the diff, then rerun with UPDATE_GOLDEN=1"
        );
    }
}

#[test]
fn secret_values_from_the_operator_settings_are_never_printed() {
    let (plan, flags) = EXAMPLES[0];
    assert!(flags.iter().any(|f| f.contains("do-not-print-me")));
    let input = std::fs::read_to_string(dir("examples").join(format!("{plan}.yaml"))).unwrap();
    let rendered = render(&input, &settings(flags)).unwrap();
    let values: Vec<String> = serde_yaml_ng::Deserializer::from_str(&rendered)
        .filter_map(|doc| {
            let v: serde_json::Value = serde::Deserialize::deserialize(doc).unwrap();
            (v["kind"] == "Secret").then(|| serde_json::from_value::<Secret>(v).unwrap())
        })
        .flat_map(|s| s.data.unwrap_or_default().into_values())
        .map(|v| String::from_utf8(v.0).unwrap())
        .collect();
    assert!(
        values
            .iter()
            .all(|v| !v.contains("do-not-print") && v != "atendo-chat"),
        "{values:?}"
    );
    assert!(!rendered.contains("do-not-print"));
    assert_eq!(
        values
            .iter()
            .filter(|v| *v == "PLACEHOLDER-from-the-operator-settings")
            .count(),
        2,
        "{values:?}"
    );
    assert!(
        values.contains(
            &"redis://tenant-padaria-sol:PLACEHOLDER-bus-password-generated-by-the-operator@redis.atendo:6379"
                .into()
        ),
        "the bus URL keeps its host and the tenant's user for review, without the password: {values:?}"
    );
}

/// Every value `render` prints, with Secret data decoded: a secret must not hide in base64.
fn everything_printed(rendered: &str) -> String {
    let mut all = rendered.to_string();
    for doc in serde_yaml_ng::Deserializer::from_str(rendered) {
        let v: serde_json::Value = serde::Deserialize::deserialize(doc).unwrap();
        if v["kind"] == "Secret" {
            let secret: Secret = serde_json::from_value(v).unwrap();
            for value in secret.data.unwrap_or_default().into_values() {
                all.push('\n');
                all.push_str(&String::from_utf8_lossy(&value.0));
            }
        }
    }
    all
}

/// The sender that comes with every --smtp-url.
const MAIL_FROM: &str = "--mail-from=no-reply@chat.example.com";

/// A value for `flag` that its parser accepts, carrying `secret` where a secret goes.
fn secret_value(flag: &str, secret: &str) -> String {
    let candidates = [
        secret.to_string(),
        format!("redis://tenant:{secret}@redis.atendo:6379"),
        format!("mongodb://admin:{secret}@mongo:27017/"),
        format!("smtps://AKIAEXAMPLE:{secret}@email-smtp.us-east-1.amazonaws.com"),
    ];
    let base = [
        "atendo-operator",
        "render",
        "-f",
        "-",
        FLAGS[0],
        FLAGS[1],
        FLAGS[2],
        FLAGS[3],
        "--chat-s3-access-key-id=atendo-chat",
        "--chat-s3-secret-access-key=x",
        "--smtp-url=smtp://smtp.example.com",
        MAIL_FROM,
    ];
    // Accepted by clap and by the check at start, as render runs it.
    let accepted = |cli: atendo_operator::cli::Cli| match cli.command {
        atendo_operator::cli::Command::Render(args) => {
            let mut settings = args.settings;
            settings.allow_shared_s3_key = true;
            settings.check().is_ok()
        }
        _ => false,
    };
    candidates
        .into_iter()
        .map(|value| format!("--{flag}={value}"))
        .find(|arg| {
            <atendo_operator::cli::Cli as clap::Parser>::try_parse_from(
                base.iter()
                    .filter(|b| !b.starts_with(&format!("--{flag}=")))
                    .map(|s| s.to_string())
                    .chain([arg.clone()]),
            )
            .is_ok_and(accepted)
        })
        .unwrap_or_else(|| panic!("no sample value for --{flag} parses"))
}

#[test]
fn no_secret_operator_setting_reaches_the_render_output_in_any_form() {
    // The operator's secret settings are the ones clap hides the values of; a new one is covered
    // here as soon as it is marked so.
    let cli = <atendo_operator::cli::Cli as clap::CommandFactory>::command();
    let secret_flags: Vec<String> = cli
        .find_subcommand("render")
        .unwrap()
        .get_arguments()
        .filter(|a| a.is_hide_env_values_set())
        .map(|a| a.get_long().unwrap().to_string())
        .collect();
    // --redis-url is no longer one: it refuses credentials (each tenant has its own Redis user).
    for flag in ["chat-s3-secret-access-key", "smtp-url"] {
        assert!(secret_flags.contains(&flag.to_string()), "{secret_flags:?}");
    }
    let input = std::fs::read_to_string(dir("examples/starter.yaml")).unwrap();
    let render_with = |secret: &str| {
        let mut flags: Vec<String> = secret_flags
            .iter()
            .map(|f| secret_value(f, secret))
            .collect();
        flags.push("--chat-s3-access-key-id=atendo-chat".into());
        flags.push("--allow-shared-s3-key".into());
        flags.push(MAIL_FROM.into());
        let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
        render(&input, &settings(&flags)).unwrap()
    };
    let one = render_with("first-secret-value-7f3a");
    let two = render_with("second-secret-value-c91e");
    let printed = everything_printed(&one);
    assert!(
        !printed.contains("first-secret-value-7f3a"),
        "a secret setting was printed:\n{printed}"
    );
    // Not even a hash of a secret: the whole output (the pods' config hash included) is the same
    // whatever the secret values are.
    assert_eq!(one, two);
}

#[test]
fn every_example_is_a_valid_tenant_on_the_plan_it_is_named_after() {
    for (plan, _) in EXAMPLES {
        let input = std::fs::read_to_string(dir("examples").join(format!("{plan}.yaml"))).unwrap();
        let tenant: Tenant = serde_yaml_ng::from_str(&input).unwrap();
        assert_eq!(tenant.spec.plan.as_str(), plan);
        atendo_operator::validation::validate(&tenant).unwrap();
    }
}

#[test]
fn every_kind_appears_once_and_the_autoscaler_and_the_redis_ca_only_where_asked_for() {
    for (plan, flags) in EXAMPLES {
        let input = std::fs::read_to_string(dir("examples").join(format!("{plan}.yaml"))).unwrap();
        let rendered = render(&input, &settings(flags)).unwrap();
        let kinds: Vec<String> = serde_yaml_ng::Deserializer::from_str(&rendered)
            .map(|doc| {
                let v: serde_json::Value = serde::Deserialize::deserialize(doc).unwrap();
                v["kind"].as_str().unwrap().to_string()
            })
            .collect();
        let mut expected = vec![
            "Namespace",
            "ResourceQuota",
            "LimitRange",
            "NetworkPolicy",
            "NetworkPolicy",
            "ServiceAccount",
            "Secret",
            "Secret",
            "Secret",
            "ConfigMap",
        ];
        // The Redis CA's ConfigMap, where the settings name one.
        if flags.iter().any(|f| f.starts_with("--redis-ca-file=")) {
            expected.push("ConfigMap");
        }
        expected.extend(["Deployment", "Service", "Ingress"]);
        if plan != "starter" {
            expected.push("HorizontalPodAutoscaler");
        }
        expected.extend(["PodDisruptionBudget", "CronJob"]);
        assert_eq!(kinds, expected, "{plan}");
    }
}

const INVALID: &str = "apiVersion: atendo.io/v1alpha1
kind: Tenant
metadata: {name: acme}
spec:
  displayName: ACME
  plan: professional
  subdomain: ACME_Support
  branding: {primaryColor: blue}
";

#[test]
fn an_invalid_tenant_is_refused_with_every_reason() {
    let err = render(INVALID, &settings(&[])).unwrap_err();
    assert!(
        matches!(err, RenderError::Invalid(ref e) if e.errors.len() == 2),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("spec.subdomain: \"ACME_Support\" must be a DNS label"),
        "{msg}"
    );
    assert!(
        msg.contains("spec.branding.primaryColor: \"blue\" must be a #rrggbb colour"),
        "{msg}"
    );
}

#[test]
fn a_plan_outside_the_three_is_refused_while_parsing() {
    let err = render(
        &INVALID.replace("plan: professional", "plan: gold"),
        &settings(&[]),
    )
    .unwrap_err();
    assert!(matches!(err, RenderError::Parse(_)), "{err:?}");
    assert!(err.to_string().contains("unknown variant `gold`"), "{err}");
}

#[test]
fn another_kind_of_object_is_refused_by_name() {
    let err = render(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
        &settings(&[]),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "expected apiVersion atendo.io/v1alpha1 and kind Tenant, found v1 ConfigMap"
    );
}

#[test]
fn a_bucket_template_that_gives_an_invalid_name_is_refused_for_that_tenant() {
    let long = "a".repeat(50);
    let input = format!(
        "apiVersion: atendo.io/v1alpha1\nkind: Tenant\nmetadata: {{name: {long}}}\nspec: {{displayName: X, plan: starter}}\n"
    );
    let err = render(
        &input,
        &settings(&["--bucket-name-template=atendo-prod-{tenant}-uploads"]),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("which S3 refuses: it must be 3 to 63 characters long"),
        "{err}"
    );
}

fn operator(args: &[&str], stdin: Option<&str>) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_atendo-operator"))
        .args(args)
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    child.wait_with_output().unwrap()
}

const FLAGS: [&str; 4] = [
    "--base-domain=chat.example.com",
    "--chat-image=registry.example.com/atendo/chat-server:1.0.0",
    "--redis-url=redis://redis:6379",
    "--database-url=mongodb://mongo:27017/",
];

#[test]
fn the_binary_exits_non_zero_naming_the_file_and_every_broken_rule() {
    let out = operator(
        &[&["render", "-f", "-"][..], &FLAGS].concat(),
        Some(INVALID),
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("rendering -"), "{stderr}");
    assert!(
        stderr.contains("spec.subdomain") && stderr.contains("spec.branding.primaryColor"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn the_binary_renders_a_file_and_prints_the_crd() {
    let file = dir("examples/starter.yaml");
    let out = operator(
        &[&["render", "-f", file.to_str().unwrap()][..], &FLAGS].concat(),
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.starts_with("# Rendered by atendo-operator for Tenant \"padaria-sol\": https://padaria-sol.chat.example.com\n"));
    let out = operator(&["crd"], None);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        atendo_operator::crd::tenant_crd_yaml().unwrap()
    );
}

#[test]
fn the_binary_names_a_missing_setting_by_flag_and_variable() {
    let file = dir("examples/starter.yaml");
    let out = operator(
        &[
            "render",
            "-f",
            file.to_str().unwrap(),
            FLAGS[1],
            FLAGS[2],
            FLAGS[3],
        ],
        None,
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("--base-domain"), "{stderr}");
}

#[test]
fn run_accepts_the_atlas_provider_and_then_needs_a_cluster() {
    let atlas = [
        "--database-provider=atlas",
        "--atlas-project-id=p",
        "--atlas-cluster=c",
        "--atlas-public-key=k",
        "--atlas-private-key=s",
        "--redis-provider=self-managed",
        // The admin connection is made in the background: nothing listens here, and the
        // operator still starts (BusReady would say Unavailable).
        "--redis-admin-url=redis://atendo-admin:pw@127.0.0.1:1",
    ];
    // No kubeconfig and no in-cluster environment (the environment is cleared).
    let out = operator(&[&["run"][..], &FLAGS, &atlas].concat(), None);
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("connecting to the Kubernetes API") && !stderr.contains("atlas"),
        "{stderr}"
    );
}
