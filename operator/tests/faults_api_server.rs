//! The Kubernetes API server itself failing under the real watching Controller: 5xx answers on
//! writes and reads, answers slower than the client's timeout, and watch streams dropped with
//! the next watch refused 410 Gone (so the watchers re-list). While the faults last the
//! controller must retry (its failures show in the metrics, the faults in the fake's counts);
//! once they stop, every Tenant is Ready with every object present, each external user made
//! for the credentials in its Secret (a reconcile that lost a read and made new ones would
//! leave them apart), and nothing external made twice.
//!
//! The fake's faults are in tests/support/fake_api/faults.rs; the Deployment and ingress
//! controllers are played by `faults::report_workload_up`.

mod common;
mod support;

use std::sync::Arc;
use std::time::Duration;

use atendo_operator::controller::{Context, controller};
use atendo_operator::tenant::Tenant;
use futures::StreamExt;
use kube::api::{Api, PostParams};
use support::fake_api::FakeApi;
use support::fake_api::faults::{Fault, Rule};
use support::faults::{condition, report_workload_up};
use support::providers::{MemoryBus, MemoryDatabase, MemoryStorage};

const TENANTS: [&str; 3] = ["acme", "globex", "initech"];

/// What the operator makes in each tenant namespace.
const OBJECTS: [(&str, &str, &str); 12] = [
    ("", "resourcequotas", "tenant-quota"),
    ("", "limitranges", "tenant-limits"),
    ("networking.k8s.io", "networkpolicies", "tenant-isolation"),
    ("", "serviceaccounts", "chat-server"),
    ("", "secrets", "chat-database"),
    ("", "secrets", "chat-credentials"),
    ("", "configmaps", "chat-server"),
    ("apps", "deployments", "chat-server"),
    ("", "services", "chat-server"),
    ("networking.k8s.io", "ingresses", "chat-server"),
    ("autoscaling", "horizontalpodautoscalers", "chat-server"),
    ("policy", "poddisruptionbudgets", "chat-server"),
];

fn secret_value(api: &FakeApi, ns: &str, name: &str, key: &str) -> String {
    let secret = api.get("", "secrets", ns, name).unwrap();
    let encoded = secret["data"][key].as_str().unwrap();
    let bytes: k8s_openapi::ByteString =
        serde_json::from_value(serde_json::Value::String(encoded.into())).unwrap();
    String::from_utf8(bytes.0).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_controller_converges_once_api_server_faults_stop() {
    let api = FakeApi::default();
    let storage = Arc::new(MemoryStorage::default());
    let database = Arc::new(MemoryDatabase::default());
    let bus = Arc::new(MemoryBus::default());
    let client = api.client_with_timeout(Duration::from_millis(500));
    let ctx = Arc::new(Context::new(
        client,
        common::settings(&[]),
        storage.clone(),
        database.clone(),
        bus.clone(),
    ));
    let tenants: Api<Tenant> = Api::all(api.client());
    for name in TENANTS {
        let tenant: Tenant =
            serde_json::from_value(common::minimal_json(name, "professional")).unwrap();
        tenants
            .create(&PostParams::default(), &tenant)
            .await
            .unwrap();
    }

    // From the start: every 3rd server-side apply and every 2nd status write fail with 500/503,
    // every 4th Secret request (the watches' lists, and the reads made while a watch has not
    // listed) takes 2 s against the client's 500 ms, every 5th Tenant list 500s.
    let faults = api.faults.clone();
    for rule in [
        Rule {
            verb: "PATCH",
            resource: "/namespaces/tenant-",
            every: 3,
            fault: Fault::Status(500),
        },
        Rule {
            verb: "PATCH",
            resource: "/status",
            every: 2,
            fault: Fault::Status(503),
        },
        Rule {
            verb: "GET",
            resource: "/secrets",
            every: 4,
            fault: Fault::Slow(Duration::from_secs(2)),
        },
        Rule {
            verb: "GET",
            resource: "/tenants",
            every: 5,
            fault: Fault::Status(500),
        },
    ] {
        faults.add(rule);
    }
    let running = tokio::spawn(controller(ctx.clone()).for_each(|_| async {}));
    // Watches dropped four times while the faults last, the next two re-watches refused 410.
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(750)).await;
        faults.drop_watches(2);
        for name in TENANTS {
            report_workload_up(&api, &format!("tenant-{name}"));
        }
    }
    let (injected, gone) = faults.counts();
    faults.clear();
    assert!(injected >= 3, "faults were met: {injected}");
    assert!(gone >= 1, "a re-watch was refused 410: {gone}");
    let metrics = ctx.metrics.encode();
    let failures: f64 = metrics
        .lines()
        .filter(|l| l.starts_with("atendo_operator_reconcile_failures_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert!(
        failures >= 1.0,
        "the controller saw failures and retried them:\n{metrics}"
    );
    // Reads come from the watch caches once they have listed, so a read failure is not certain
    // (a slow Secret list only delays its cache); applies get 5xx whatever happens.
    assert!(
        metrics.contains("{stage=\"apply\""),
        "an apply failure (applies get 5xx):\n{metrics}"
    );

    // Faults off: every Tenant Ready within the error policy's backoff (5 s, 10 s, 20 s … at most
    // 5 minutes). Usually within seconds; but drift events reconcile a Tenant at once, so its
    // failures can pile up during the faults, and once a local run waited out a backoff past 60 s.
    let deadline = std::time::Instant::now() + Duration::from_secs(330);
    loop {
        for name in TENANTS {
            report_workload_up(&api, &format!("tenant-{name}"));
        }
        let ready = TENANTS
            .iter()
            .all(|name| condition(&api, name, "Ready").is_some_and(|(status, _)| status == "True"));
        if ready {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not all Ready 330 s after the faults stopped: {:?}",
            TENANTS.map(|n| condition(&api, n, "Ready"))
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    running.abort();

    for name in TENANTS {
        let ns = format!("tenant-{name}");
        assert!(api.get("", "namespaces", "", &ns).is_some());
        for (group, resource, object) in OBJECTS {
            assert!(
                api.get(group, resource, &ns, object).is_some(),
                "{ns}: {resource}/{object} missing"
            );
        }
        // The users hold the passwords in the Secrets: no credentials made twice.
        let (db, password) = database.users.lock().unwrap()[&format!("chat-{name}")].clone();
        assert_eq!(db, format!("tenant_{name}"));
        assert_eq!(
            secret_value(&api, &ns, "chat-database", "password"),
            password,
            "{name}: the database user's password is the Secret's"
        );
        let (_, bus_password) = bus.users.lock().unwrap()[&ns].clone();
        assert_eq!(secret_value(&api, &ns, "chat-credentials", "busUser"), ns);
        assert!(
            secret_value(&api, &ns, "chat-credentials", "busUrl")
                .contains(&format!(":{bus_password}@")),
            "{name}: the Redis user's password is the Secret's"
        );
    }
    assert_eq!(storage.buckets.lock().unwrap().len(), TENANTS.len());
    assert_eq!(database.users.lock().unwrap().len(), TENANTS.len());
    assert_eq!(bus.users.lock().unwrap().len(), TENANTS.len());
    assert_eq!(
        api.names("", "namespaces", "").len(),
        TENANTS.len(),
        "one namespace per Tenant"
    );
}
