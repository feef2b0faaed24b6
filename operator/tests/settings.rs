//! Operator flags: names, env twins, defaults and the messages of bad values.

use atendo_operator::settings::{
    BusArgs, DatabaseArgs, DatabaseProvider, DatabaseUrl, IssuerKind, RedisProvider, RuntimeArgs,
    Settings, SettingsError,
};
use clap::{CommandFactory, Parser};

#[derive(Debug, Parser)]
struct All {
    #[command(flatten)]
    settings: Settings,
    #[command(flatten)]
    database: DatabaseArgs,
    #[command(flatten)]
    bus: BusArgs,
    #[command(flatten)]
    runtime: RuntimeArgs,
}

const REQUIRED: &[&str] = &[
    "--base-domain=chat.example.com",
    "--chat-image=registry.example.com/atendo/chat-server:1.0.0",
    "--redis-url=redis://redis.atendo:6379",
    "--database-url=mongodb://mongo-0.mongo:27017,mongo-1.mongo:27017/?replicaSet=rs0",
    "--database-provider=mongodb",
    "--mongodb-admin-uri=mongodb://admin:pw@mongo-0.mongo:27017/admin",
    "--redis-provider=self-managed",
    "--redis-admin-url=redis://atendo-admin:pw@redis.atendo:6379",
];

/// REQUIRED with the flags in `extra` replacing their defaults there.
fn parse(extra: &[&str]) -> Result<All, clap::Error> {
    let flag = |a: &&str| a.split('=').next().unwrap().to_string();
    let overridden: Vec<String> = extra.iter().map(flag).collect();
    let base = REQUIRED.iter().filter(|a| !overridden.contains(&flag(a)));
    All::try_parse_from(["atendo-operator"].iter().chain(base).chain(extra))
}

fn error(extra: &[&str]) -> String {
    parse(extra).unwrap_err().to_string()
}

#[test]
fn every_flag_has_an_env_twin_named_after_it() {
    let command = All::command();
    let mut checked = 0;
    for arg in command.get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        let expected = format!("ATENDO_{}", long.to_uppercase().replace('-', "_"));
        assert_eq!(
            arg.get_env().and_then(|e| e.to_str()),
            Some(expected.as_str()),
            "--{long}"
        );
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} flags found");
}

#[test]
fn minimal_flags_give_the_documented_defaults() {
    let all = parse(&[]).unwrap();
    let s = all.settings;
    assert_eq!(s.base_domain, "chat.example.com");
    assert_eq!(s.ingress_class, None);
    assert!(s.ingress_annotations.is_empty());
    assert_eq!(s.ingress_namespace, "ingress-nginx");
    assert_eq!((s.tls_secret, s.cert_issuer), (None, None));
    assert_eq!(s.cert_issuer_kind, IssuerKind::ClusterIssuer);
    assert_eq!(s.s3_region, "us-east-1");
    assert_eq!(s.s3_endpoint, None);
    assert_eq!(s.bucket_name_template, "atendo-{tenant}-uploads");
    assert_eq!(s.iam_role_arn_template, None);
    assert_eq!(all.database.database_provider, DatabaseProvider::Mongodb);
    assert_eq!(all.database.atlas_api_url, "https://cloud.mongodb.com");
    assert_eq!(all.runtime.max_concurrent_reconciles, 16);
    assert!(!all.runtime.leader_election);
}

#[test]
fn concurrent_reconciles_are_bounded_and_static_s3_keys_come_in_pairs() {
    let all = parse(&["--max-concurrent-reconciles=64"]).unwrap();
    assert_eq!(all.runtime.max_concurrent_reconciles, 64);
    for bad in ["0", "1001", "many"] {
        let e = error(&[&format!("--max-concurrent-reconciles={bad}")]);
        assert!(e.contains("--max-concurrent-reconciles"), "{e}");
    }
    let e = error(&["--chat-s3-access-key-id=minio"]);
    assert!(e.contains("--chat-s3-secret-access-key"), "{e}");
    let all = parse(&[
        "--chat-s3-access-key-id=minio",
        "--chat-s3-secret-access-key=minio-secret",
    ])
    .unwrap();
    assert_eq!(
        all.settings.chat_s3_keys().map(|k| k.access_key_id),
        Some("minio".into())
    );
}

#[test]
fn a_shared_static_s3_key_is_refused_unless_explicitly_allowed() {
    let keys = [
        "--chat-s3-access-key-id=minio",
        "--chat-s3-secret-access-key=minio-secret",
    ];
    let refused = parse(&keys).unwrap().settings.check().unwrap_err();
    assert_eq!(refused, SettingsError::SharedS3Key);
    let message = refused.to_string();
    for needle in [
        "--chat-s3-access-key-id",
        "every other tenant's uploads",
        "--iam-role-arn-template",
        "--allow-shared-s3-key",
        "ATENDO_ALLOW_SHARED_S3_KEY=true",
    ] {
        assert!(message.contains(needle), "{needle} missing from: {message}");
    }
    assert!(!message.contains("minio-secret"), "{message}");

    for allow in ["--allow-shared-s3-key", "--allow-shared-s3-key=true"] {
        let all = parse(&[keys[0], keys[1], allow]).unwrap();
        assert_eq!(all.settings.check(), Ok(()), "{allow}");
    }
    let all = parse(&[keys[0], keys[1], "--allow-shared-s3-key=false"]).unwrap();
    assert_eq!(all.settings.check(), Err(SettingsError::SharedS3Key));
    // Without static keys there is nothing to allow, and per-tenant roles need no flag.
    assert_eq!(parse(&[]).unwrap().settings.check(), Ok(()));
    assert!(!parse(&[]).unwrap().settings.allow_shared_s3_key);
}

#[test]
fn the_operator_binary_refuses_a_shared_s3_key_at_start() {
    let tenant = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/starter.yaml");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_atendo-operator"))
        .args(["render", "-f", tenant])
        .args(REQUIRED.iter().take(4))
        .env("ATENDO_CHAT_S3_ACCESS_KEY_ID", "minio")
        .env("ATENDO_CHAT_S3_SECRET_ACCESS_KEY", "minio-secret")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("--allow-shared-s3-key"), "{stderr}");
    assert!(!stderr.contains("minio-secret"), "{stderr}");
    let allowed = std::process::Command::new(env!("CARGO_BIN_EXE_atendo-operator"))
        .args(["render", "-f", tenant])
        .args(REQUIRED.iter().take(4))
        .env("ATENDO_CHAT_S3_ACCESS_KEY_ID", "minio")
        .env("ATENDO_CHAT_S3_SECRET_ACCESS_KEY", "minio-secret")
        .env("ATENDO_ALLOW_SHARED_S3_KEY", "true")
        .output()
        .unwrap();
    assert!(
        allowed.status.success(),
        "{}",
        String::from_utf8_lossy(&allowed.stderr)
    );
}

#[test]
fn base_domain_is_normalised_and_checked() {
    let all = parse(&["--base-domain=Chat.Example.COM."]).unwrap();
    assert_eq!(all.settings.base_domain, "chat.example.com");
    let err = error(&["--base-domain=localhost"]);
    assert!(
        err.contains("--base-domain") && err.contains("not a domain name"),
        "{err}"
    );
    let err = error(&["--base-domain=chat_example.com"]);
    assert!(err.contains("not a domain name"), "{err}");
}

#[test]
fn database_url_is_split_and_rejects_credentials_or_a_database() {
    let all = parse(&[]).unwrap();
    assert_eq!(
        all.settings.database_url,
        DatabaseUrl {
            scheme: "mongodb://".into(),
            hosts: "mongo-0.mongo:27017,mongo-1.mongo:27017".into(),
            options: "replicaSet=rs0".into()
        }
    );
    assert!(
        error(&["--database-url=mongodb://u:p@h:27017/"]).contains("must not contain credentials")
    );
    assert!(error(&["--database-url=mongodb://h:27017/app"]).contains("must not name a database"));
    assert!(error(&["--database-url=postgres://h/"]).contains("must start with mongodb://"));
}

#[test]
fn tenant_connection_strings_encode_credentials_and_authenticate_against_admin() {
    let url = parse(&[]).unwrap().settings.database_url;
    assert_eq!(
        url.for_user("chat-acme", "p@ss:w/rd", "tenant_acme"),
        "mongodb://chat-acme:p%40ss%3Aw%2Frd@mongo-0.mongo:27017,mongo-1.mongo:27017/tenant_acme?replicaSet=rs0&authSource=admin"
    );
    let srv = parse(&["--database-url=mongodb+srv://cluster0.abcde.mongodb.net/?authSource=other"])
        .unwrap();
    assert_eq!(
        srv.settings.database_url.for_user("u", "p", "d"),
        "mongodb+srv://u:p@cluster0.abcde.mongodb.net/d?authSource=other"
    );
}

#[test]
fn ingress_annotations_are_a_json_object() {
    let all =
        parse(&[r#"--ingress-annotations={"alb.ingress.kubernetes.io/group.name":"atendo"}"#])
            .unwrap();
    assert_eq!(
        all.settings.ingress_annotations["alb.ingress.kubernetes.io/group.name"],
        "atendo"
    );
    let err = error(&["--ingress-annotations=a=b"]);
    assert!(
        err.contains("ATENDO_INGRESS_ANNOTATIONS") || err.contains("--ingress-annotations"),
        "{err}"
    );
    assert!(err.contains("JSON object"), "{err}");
}

#[test]
fn a_tls_secret_and_a_cert_issuer_exclude_each_other() {
    let err = error(&["--tls-secret=wildcard", "--cert-issuer=letsencrypt"]);
    assert!(err.contains("cannot be used with"), "{err}");
}

#[test]
fn templates_need_the_tenant_placeholder_where_sharing_would_be_wrong() {
    assert!(error(&["--bucket-name-template=atendo-uploads"]).contains("must contain {tenant}"));
    assert!(
        error(&["--iam-role-arn-template=arn:aws:iam::1:role/{name}"])
            .contains("placeholder other than")
    );
    let all = parse(&["--iam-role-arn-template=arn:aws:iam::1:role/atendo-chat"]).unwrap();
    assert_eq!(
        all.settings.iam_role_arn_template.as_deref(),
        Some("arn:aws:iam::1:role/atendo-chat")
    );
}

#[test]
fn each_database_provider_requires_its_own_credentials() {
    let args = [
        "atendo-operator",
        REQUIRED[0],
        REQUIRED[1],
        REQUIRED[2],
        REQUIRED[3],
    ];
    let err = All::try_parse_from(args).unwrap_err().to_string();
    assert!(err.contains("--database-provider"), "{err}");
    let mongodb = args.iter().copied().chain(["--database-provider=mongodb"]);
    let err = All::try_parse_from(mongodb).unwrap_err().to_string();
    assert!(err.contains("--mongodb-admin-uri"), "{err}");
    let atlas = args.iter().copied().chain(["--database-provider=atlas"]);
    let err = All::try_parse_from(atlas).unwrap_err().to_string();
    for flag in [
        "--atlas-project-id",
        "--atlas-cluster",
        "--atlas-public-key",
        "--atlas-private-key",
    ] {
        assert!(err.contains(flag), "{flag} missing from: {err}");
    }
}

#[test]
fn egress_blocks_are_cidrs_with_an_optional_port_and_never_instance_metadata() {
    let all = parse(&[]).unwrap();
    let default: Vec<(String, Option<u16>)> = all
        .settings
        .egress_cidrs
        .iter()
        .map(|e| (e.cidr.clone(), e.port))
        .collect();
    assert_eq!(
        default,
        [
            ("10.0.0.0/8".to_string(), None),
            ("172.16.0.0/12".into(), None),
            ("192.168.0.0/16".into(), None),
            ("0.0.0.0/0".into(), Some(443)),
            ("0.0.0.0/0".into(), Some(27017)),
        ]
    );
    let holds: Vec<bool> = all
        .settings
        .egress_cidrs
        .iter()
        .map(|e| e.holds_metadata)
        .collect();
    assert_eq!(holds, [false, false, false, true, true]);
    let all = parse(&["--egress-cidrs=2001:db8::/32:6379, 169.254.0.0/16"]).unwrap();
    let parsed: Vec<_> = all
        .settings
        .egress_cidrs
        .iter()
        .map(|e| (e.cidr.as_str(), e.port, e.holds_metadata))
        .collect();
    assert_eq!(
        parsed,
        [
            ("2001:db8::/32", Some(6379), false),
            ("169.254.0.0/16", None, true)
        ]
    );
    for (bad, says) in [
        ("redis.atendo:6379", "is not CIDR or CIDR:port"),
        ("10.0.0.0/33", "is not CIDR or CIDR:port"),
        ("10.0.0.0/8:0", "is not a port"),
        ("10.0.0.0/8:http", "is not a port"),
        ("10.1.2.3/8", "did you mean 10.0.0.0/8?"),
        ("169.254.169.254/32", "instance metadata is never reachable"),
    ] {
        let e = error(&[&format!("--egress-cidrs={bad}")]);
        assert!(
            e.contains("--egress-cidrs") && e.contains(says),
            "{bad}: {e}"
        );
    }
    let e = error(&["--monitoring-namespace=Monitoring"]);
    assert!(e.contains("--monitoring-namespace"), "{e}");
}

#[test]
fn the_redis_endpoint_carries_no_credential_and_each_tenant_signs_in_as_its_own_user() {
    let all = parse(&[]).unwrap();
    assert_eq!(all.bus.redis_provider, RedisProvider::SelfManaged);
    assert_eq!(
        all.settings.redis_url_for("tenant-acme", "p@ss:w/rd"),
        "redis://tenant-acme:p%40ss%3Aw%2Frd@redis.atendo:6379"
    );
    let tls = parse(&["--redis-url=rediss://master.abc.use1.cache.amazonaws.com:6379/0"]).unwrap();
    assert_eq!(
        tls.settings.redis_url_for("tenant-a", "pw"),
        "rediss://tenant-a:pw@master.abc.use1.cache.amazonaws.com:6379/0"
    );
    for shared in [
        "redis://:secret@redis:6379",
        "redis://default:secret@redis:6379",
    ] {
        let err = error(&[&format!("--redis-url={shared}")]);
        assert!(
            err.contains("must not contain credentials") && err.contains("--redis-admin-url"),
            "{err}"
        );
    }
    assert!(error(&["--redis-url=redis://"]).contains("names no host"));
    assert!(error(&["--redis-url=http://redis:6379"]).contains("must start with redis://"));
}

#[test]
fn a_cluster_endpoint_gets_the_tenant_user_in_front_of_its_seeds() {
    let elasticache =
        parse(&["--redis-url=rediss-cluster://clustercfg.abc.use1.cache.amazonaws.com:6379"])
            .unwrap();
    assert_eq!(
        elasticache.settings.redis_url_for("tenant-a", "p@ss"),
        "rediss-cluster://tenant-a:p%40ss@clustercfg.abc.use1.cache.amazonaws.com:6379"
    );
    let seeds = parse(&["--redis-url=redis-cluster://10.0.0.1:7000?node=10.0.0.2:7000"]).unwrap();
    assert_eq!(
        seeds.settings.redis_url_for("tenant-a", "pw"),
        "redis-cluster://tenant-a:pw@10.0.0.1:7000?node=10.0.0.2:7000"
    );
    for bad in ["redis-cluster://", "redis-cluster://?node=10.0.0.2:7000"] {
        assert!(
            error(&[&format!("--redis-url={bad}")]).contains("names no host"),
            "{bad}"
        );
    }
    let err = error(&["--redis-url=redis-cluster://:secret@10.0.0.1:7000"]);
    assert!(err.contains("must not contain credentials"), "{err}");
    // A private CA goes with TLS to a cluster as it does to one server.
    let ca = format!("--redis-ca-file={}", fixture("bus-ca-1.pem"));
    let tls = parse(&["--redis-url=rediss-cluster://10.0.0.1:7000", &ca]).unwrap();
    assert_eq!(tls.settings.check(), Ok(()));
    let plain = parse(&["--redis-url=redis-cluster://10.0.0.1:7000", &ca]).unwrap();
    assert!(matches!(
        plain.settings.check(),
        Err(SettingsError::CaWithoutTls(_))
    ));
    assert!(error(&["--redis-url=redis-sentinel://h:26379"]).contains("redis-cluster://"));
}

#[test]
fn the_self_managed_redis_provider_requires_an_admin_url() {
    let without: Vec<&str> = REQUIRED
        .iter()
        .copied()
        .filter(|a| !a.starts_with("--redis-admin-url"))
        .collect();
    let err = All::try_parse_from(["atendo-operator"].iter().chain(&without))
        .unwrap_err()
        .to_string();
    assert!(err.contains("--redis-admin-url"), "{err}");
    let err = error(&["--redis-provider=memcached"]);
    assert!(
        err.contains("self-managed") && err.contains("elasticache"),
        "the choices are listed: {err}"
    );
}

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// `contents` in a file of its own under the system's temp directory.
fn temp_file(name: &str, contents: &[u8]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(testkit::unique("redis-ca"));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

#[test]
fn a_redis_ca_file_is_read_and_checked_when_the_flags_are_parsed() {
    let all = parse(&[
        "--redis-url=rediss://redis.atendo:6380",
        &format!("--redis-ca-file={}", fixture("bus-ca-1.pem")),
    ])
    .unwrap();
    let ca = all.settings.redis_ca_file.as_ref().expect("the CA");
    assert_eq!(ca.certificates(), 1);
    assert_eq!(
        ca.pem(),
        std::fs::read_to_string(fixture("bus-ca-1.pem")).unwrap()
    );
    all.settings.check().unwrap();
    assert_eq!(parse(&[]).unwrap().settings.redis_ca_file, None);

    let cert = std::fs::read_to_string(fixture("bus-ca-1.pem")).unwrap();
    let cases: Vec<(std::path::PathBuf, &str)> = vec![
        (
            std::env::temp_dir().join("no-such-dir/ca.pem"),
            "cannot read",
        ),
        (
            temp_file("notes.txt", b"ask the Redis team\n"),
            "no PEM certificate",
        ),
        (temp_file("empty.pem", b""), "no PEM certificate"),
        (
            temp_file("binary.der", &[0x30, 0x82, 0xff, 0xfe]),
            "is not a PEM file",
        ),
        (
            temp_file(
                "garbage.pem",
                b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            ),
            "certificate 1 is not a usable CA certificate",
        ),
        (
            temp_file(
                "with-key.pem",
                format!("{cert}-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
                    .as_bytes(),
            ),
            "section besides certificates",
        ),
    ];
    for (path, says) in cases {
        let e = error(&[
            "--redis-url=rediss://redis.atendo:6380",
            &format!("--redis-ca-file={}", path.display()),
        ]);
        assert!(
            e.contains("--redis-ca-file")
                && e.contains(&path.display().to_string())
                && e.contains(says),
            "{says}: {e}"
        );
    }
}

#[test]
fn a_redis_ca_file_with_a_plaintext_redis_url_is_refused() {
    let all = parse(&[&format!("--redis-ca-file={}", fixture("bus-ca-1.pem"))]).unwrap();
    let e = all.settings.check().unwrap_err().to_string();
    assert!(
        e.contains("--redis-ca-file") && e.contains("bus-ca-1.pem") && e.contains("rediss://"),
        "{e}"
    );
}

/// The binary, as the chart starts it, with `extra` flags; its exit status and standard error.
fn operator_run(extra: &[&str]) -> (Option<i32>, String) {
    let mut args = vec!["run".to_string()];
    let flag = |a: &str| a.split('=').next().unwrap().to_string();
    let overridden: Vec<String> = extra.iter().map(|a| flag(a)).collect();
    args.extend(
        REQUIRED
            .iter()
            .filter(|a| !overridden.contains(&flag(a)))
            .map(|a| a.to_string()),
    );
    args.extend(extra.iter().map(|a| a.to_string()));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_atendo-operator"))
        .args(&args)
        .env_clear()
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_operator_refuses_to_start_with_a_bad_redis_ca_file_and_names_the_file() {
    let bad = temp_file("redis-ca.pem", b"not a certificate\n");
    let (code, stderr) = operator_run(&[
        "--redis-url=rediss://redis.atendo:6380",
        &format!("--redis-ca-file={}", bad.display()),
    ]);
    assert_ne!(code, Some(0));
    assert!(
        stderr.contains(&bad.display().to_string()) && stderr.contains("no PEM certificate"),
        "{stderr}"
    );
    let (code, stderr) = operator_run(&[&format!("--redis-ca-file={}", fixture("bus-ca-1.pem"))]);
    assert_ne!(code, Some(0));
    assert!(
        stderr.contains("bus-ca-1.pem") && stderr.contains("is not rediss://"),
        "refused before connecting anywhere: {stderr}"
    );
}

#[test]
fn the_elasticache_redis_provider_requires_its_user_group_and_checks_the_ids() {
    let without_admin: Vec<&str> = REQUIRED
        .iter()
        .copied()
        .filter(|a| !a.starts_with("--redis-admin-url") && !a.starts_with("--redis-provider"))
        .collect();
    let parse_with = |extra: &[&str]| {
        All::try_parse_from(
            ["atendo-operator", "--redis-provider=elasticache"]
                .iter()
                .chain(&without_admin)
                .chain(extra),
        )
    };
    let err = parse_with(&[]).unwrap_err().to_string();
    assert!(err.contains("--elasticache-user-group-id"), "{err}");
    let all = parse_with(&[
        "--elasticache-user-group-id=atendo-tenants",
        "--elasticache-region=sa-east-1",
        "--elasticache-endpoint=http://127.0.0.1:4566",
    ])
    .unwrap();
    assert_eq!(all.bus.redis_provider, RedisProvider::Elasticache);
    assert_eq!(
        (
            all.bus.elasticache_user_group_id.as_deref(),
            all.bus.elasticache_region.as_deref(),
            all.bus.elasticache_endpoint.as_deref(),
            all.bus.redis_admin_url.as_deref()
        ),
        (
            Some("atendo-tenants"),
            Some("sa-east-1"),
            Some("http://127.0.0.1:4566"),
            None
        )
    );
    for bad in [
        "atendo_tenants",
        "9tenants",
        "atendo-",
        "a--b",
        &"a".repeat(41),
    ] {
        let err = parse_with(&[&format!("--elasticache-user-group-id={bad}")])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("--elasticache-user-group-id")
                && err.contains("not an ElastiCache user group id"),
            "{bad}: {err}"
        );
    }
    let err = parse_with(&[
        "--elasticache-user-group-id=atendo-tenants",
        "--elasticache-endpoint=elasticache.internal",
    ])
    .unwrap_err()
    .to_string();
    assert!(err.contains("not an http(s):// URL"), "{err}");
}

#[test]
fn dedicated_database_settings_default_to_aws_us_east_1_and_check_their_form() {
    let all = parse(&[]).unwrap();
    assert_eq!(
        (
            all.database.atlas_dedicated_provider.as_str(),
            all.database.atlas_dedicated_region.as_str()
        ),
        ("AWS", "US_EAST_1")
    );
    assert_eq!(all.database.mongodb_dedicated_admin_uri_template, None);
    let region = parse(&["--atlas-dedicated-region=SA_EAST_1"]).unwrap();
    assert_eq!(region.database.atlas_dedicated_region, "SA_EAST_1");
    assert!(error(&["--atlas-dedicated-region=us-east-1"]).contains("US_EAST_1"));
    let template = "mongodb://admin:pw@mongo-{tenant}.db.svc:27017/?authSource=admin";
    let ok = parse(&[&format!(
        "--mongodb-dedicated-admin-uri-template={template}"
    )])
    .unwrap();
    assert_eq!(
        ok.database.mongodb_dedicated_admin_uri_template.as_deref(),
        Some(template)
    );
    for (bad, why) in [
        ("mongodb://admin:pw@mongo.db.svc:27017/", "{tenant}"),
        (
            "mongodb://admin:pw@mongo-{tenant}-{zone}:27017/",
            "placeholder",
        ),
        ("http://mongo-{tenant}:27017/", "mongodb://"),
    ] {
        let e = error(&[&format!("--mongodb-dedicated-admin-uri-template={bad}")]);
        assert!(e.contains(why), "{bad}: {e}");
    }
}

#[test]
fn an_admin_uri_gives_the_address_tenants_use_without_its_credentials() {
    let url = DatabaseUrl::parse_admin(
        "mongodb://admin:p%40ss@mongo-acme.db.svc:27017/admin?authSource=admin&tls=true",
    )
    .unwrap();
    assert_eq!(url.address(), "mongodb://mongo-acme.db.svc:27017/?tls=true");
    assert_eq!(
        url.for_user("chat-acme", "pw", "tenant_acme"),
        "mongodb://chat-acme:pw@mongo-acme.db.svc:27017/tenant_acme?tls=true&authSource=admin"
    );
    let srv = DatabaseUrl::parse("mongodb+srv://atendo-acme.x7k2p.mongodb.net").unwrap();
    assert_eq!(srv.address(), "mongodb+srv://atendo-acme.x7k2p.mongodb.net");
}

const MAIL_FROM: &str = "--mail-from=no-reply@chat.example.com";

#[test]
fn mail_needs_a_relay_and_a_sender_together_and_the_sender_is_a_bare_address() {
    let ok = parse(&[
        "--smtp-url=smtps://u:pw@email-smtp.us-east-1.amazonaws.com",
        MAIL_FROM,
    ])
    .unwrap();
    assert_eq!(ok.settings.check(), Ok(()));
    assert_eq!(ok.settings.smtp_port(), Some(465));
    assert_eq!(parse(&[]).unwrap().settings.smtp_port(), None);

    let e = error(&["--smtp-url=smtp://u:relay-pw-5d1c@smtp.example.com"]);
    assert!(e.contains("--mail-from"), "{e}");
    assert!(
        !e.contains("relay-pw-5d1c"),
        "the relay's password is never printed: {e}"
    );
    let e = error(&[MAIL_FROM]);
    assert!(e.contains("--smtp-url"), "{e}");
    for bad in [
        "Atendo <no-reply@chat.example.com>",
        "no-reply",
        "no-reply@localhost",
        "no reply@chat.example.com",
        "no-reply@chat..example.com",
    ] {
        let e = error(&[
            "--smtp-url=smtp://smtp.example.com",
            &format!("--mail-from={bad}"),
        ]);
        assert!(e.contains("bare mail address"), "{bad}: {e}");
    }
}

#[test]
fn an_smtp_url_is_checked_like_the_chat_server_reads_it_and_never_repeated() {
    let port = |url: &str| {
        let all = parse(&[&format!("--smtp-url={url}"), MAIL_FROM]).unwrap();
        all.settings
            .check()
            .map(|()| all.settings.smtp_port().unwrap())
    };
    assert_eq!(port("smtp://u:pw@smtp.example.com"), Ok(587));
    assert_eq!(port("smtps://u:pw@smtp.example.com"), Ok(465));
    assert_eq!(port("smtp://u:p%40w@smtp.example.com:2525/"), Ok(2525));
    assert_eq!(port("smtp://relay.mail.svc:25?tls=none"), Ok(25));
    assert_eq!(port("smtps://u:pw@[2001:db8::25]:465"), Ok(465));
    assert_eq!(port("smtps://u:pw@[2001:db8::25]"), Ok(465));
    assert_eq!(port("SMTP://u:pw@smtp.example.com/?tls=required"), Ok(587));
    for (bad, reason) in [
        ("https://u:secret-4e1f@smtp.example.com", "scheme"),
        ("smtp://u:secret-4e1f@:587", "names no host"),
        ("smtp://u:secret-4e1f@smtp.example.com:99999", "port"),
        ("smtp://u:secret-4e1f@smtp.example.com:0", "port"),
        ("u:secret-4e1f@smtp.example.com", "not a URL"),
        ("smtp://u:secret-4e1f@smtp.example.com/mail", "path"),
        (
            "smtp://u:secret-4e1f@smtp.example.com?tls=maybe",
            "query parameter",
        ),
        (
            "smtps://u:secret-4e1f@smtp.example.com?tls=none",
            "query parameter",
        ),
    ] {
        let e = port(bad).unwrap_err().to_string();
        assert!(e.contains("--smtp-url") && e.contains(reason), "{bad}: {e}");
        assert!(
            !e.contains("secret-4e1f"),
            "{bad}: the message repeats the URL: {e}"
        );
    }
}

#[test]
fn the_operator_refuses_to_start_with_a_bad_smtp_url_without_printing_it() {
    let (code, stderr) = operator_run(&[
        "--smtp-url=smtp://u:secret-9a7b@smtp.example.com:x",
        MAIL_FROM,
    ]);
    assert_ne!(code, Some(0));
    assert!(
        stderr.contains("--smtp-url") && stderr.contains("port"),
        "{stderr}"
    );
    assert!(!stderr.contains("secret-9a7b"), "{stderr}");
}
