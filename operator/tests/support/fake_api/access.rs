//! What the fake enforces on the requests of one user when a test asks for it, read from the
//! chart's own files: RBAC as the API server's authorizer applies a ClusterRole's rules
//! (charts/atendo/files/rbac/operator-rules.yaml), and ValidatingAdmissionPolicies as the
//! admission chain applies them (charts/atendo/files/admission/*.yaml, evaluated by kube-cel).
//!
//! Modelled: verbs from method and path (get/list/watch/create/update/patch/delete/
//! deletecollection), list and watch authorised by name through a `metadata.name` field selector,
//! an apply that creates also needing `create`, subresources as `resource/subresource`;
//! admission with `object`, `oldObject`, `request` and `namespaceObject`. Not modelled (only a real
//! API server shows them): aggregated roles, non-resource URLs, the type-checking of the CEL
//! against the schemas, `authorizer` in CEL, and whether the admission plugin is on at all.

use std::path::Path;

use k8s_openapi::api::admissionregistration::v1::ValidatingAdmissionPolicySpec;
use k8s_openapi::api::rbac::v1::PolicyRule;
use kube_cel::{
    AdmissionRequest, GroupVersionKind, GroupVersionResource, VapEvaluator, VapExpression,
};
use serde_json::Value;

/// Who a request is made as, and what that user may do.
#[derive(Clone, Debug)]
pub struct Access {
    pub user: String,
    pub rules: Vec<PolicyRule>,
    pub policies: Vec<(String, ValidatingAdmissionPolicySpec)>,
}

/// One authorisation question, as the API server's RequestInfo puts it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attributes {
    pub verb: String,
    pub group: String,
    /// `resource` or `resource/subresource`.
    pub resource: String,
    pub namespace: String,
    /// Empty for a list, watch or create without a name.
    pub name: String,
}

/// An admission request, with the objects as the policies see them.
pub struct Admission<'a> {
    pub operation: &'static str,
    pub group: &'a str,
    pub resource: &'a str,
    pub namespace: &'a str,
    pub name: &'a str,
    pub object: Option<&'a Value>,
    pub old_object: Option<&'a Value>,
    pub namespace_object: Option<&'a Value>,
}

fn chart_file(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../charts/atendo/files")
        .join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

impl Access {
    /// The operator's ServiceAccount as the chart installs it: its ClusterRole's rules, the events
    /// Role's rule, and both admission policies.
    pub fn chart_operator(user: &str) -> Self {
        let mut rules: Vec<PolicyRule> =
            serde_yaml_ng::from_str(&chart_file("rbac/operator-rules.yaml")).unwrap();
        // templates/rbac.yaml: the Role in "default" for the Tenants' events.
        rules.push(PolicyRule {
            api_groups: Some(vec!["events.k8s.io".into()]),
            resources: Some(vec!["events".into()]),
            verbs: vec!["create".into(), "patch".into()],
            ..PolicyRule::default()
        });
        let policies = ["tenant-namespaces", "tenant-objects"]
            .into_iter()
            .map(|name| {
                let spec = serde_yaml_ng::from_str(&chart_file(&format!("admission/{name}.yaml")))
                    .unwrap_or_else(|e| panic!("admission/{name}.yaml: {e}"));
                (name.to_string(), spec)
            })
            .collect();
        Access {
            user: user.into(),
            rules,
            policies,
        }
    }

    pub fn allows(&self, a: &Attributes) -> bool {
        self.rules.iter().any(|rule| {
            let has = |list: &Option<Vec<String>>, value: &str| {
                list.iter().flatten().any(|v| v == "*" || v == value)
            };
            let names = rule.resource_names.as_deref().unwrap_or_default();
            has(&rule.api_groups, &a.group)
                && has(&rule.resources, &a.resource)
                && rule.verbs.iter().any(|v| v == "*" || *v == a.verb)
                && (names.is_empty() || names.contains(&a.name))
        })
    }

    /// The first policy that denies `request`, with its message.
    pub fn admit(&self, request: &Admission) -> Result<(), String> {
        for (name, spec) in &self.policies {
            let matched = spec
                .match_constraints
                .iter()
                .flat_map(|m| m.resource_rules.iter().flatten())
                .any(|r| {
                    let has = |list: &Option<Vec<String>>, value: &str| {
                        list.iter().flatten().any(|v| v == "*" || v == value)
                    };
                    has(&r.api_groups, request.group)
                        && has(&r.resources, request.resource)
                        && has(&r.operations, request.operation)
                });
            if !matched {
                continue;
            }
            let expressions: Vec<VapExpression> = spec
                .validations
                .iter()
                .flatten()
                .map(|v| VapExpression {
                    expression: escape_key_literals(&v.expression),
                    message: v.message.clone(),
                    message_expression: v.message_expression.clone(),
                })
                .collect();
            let mut evaluator = VapEvaluator::builder()
                .object(request.object.cloned().unwrap_or(Value::Null))
                .request(AdmissionRequest {
                    operation: request.operation.into(),
                    username: self.user.clone(),
                    namespace: request.namespace.into(),
                    name: request.name.into(),
                    kind: GroupVersionKind::default(),
                    resource: GroupVersionResource {
                        group: request.group.into(),
                        version: String::new(),
                        resource: request.resource.into(),
                    },
                    ..AdmissionRequest::default()
                });
            if let Some(old) = request.old_object {
                evaluator = evaluator.old_object(old.clone());
            }
            if let Some(ns) = request.namespace_object {
                evaluator = evaluator.namespace_object(ns.clone());
            }
            if let Some(denied) = evaluator
                .build()
                .evaluate(&expressions)
                .into_iter()
                .find(|r| !r.passed)
            {
                return Err(format!(
                    "ValidatingAdmissionPolicy '{name}' denied request: {}",
                    denied.message.unwrap_or_default()
                ));
            }
        }
        Ok(())
    }
}

/// The RBAC verb and name of a request, as the API server's RequestInfo derives them.
pub fn attributes(
    method: &str,
    group: &str,
    resource: &str,
    subresource: Option<&str>,
    namespace: &str,
    name: Option<&str>,
    query: &str,
) -> Attributes {
    let param = |key: &str| {
        query
            .split('&')
            .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
    };
    let watch = param("watch").is_some_and(|w| w == "true" || w == "1");
    let (verb, name) = match (method, name) {
        ("GET", Some(name)) => ("get", name.to_string()),
        ("GET", None) => {
            // A list or watch naming one object through its field selector is authorised by
            // that name.
            let fields = param("fieldSelector")
                .map(super::percent_decode)
                .unwrap_or_default();
            let name = fields
                .split(',')
                .find_map(|f| f.strip_prefix("metadata.name="))
                .unwrap_or_default()
                .to_string();
            (if watch { "watch" } else { "list" }, name)
        }
        ("POST", _) => ("create", String::new()),
        ("PUT", Some(name)) => ("update", name.to_string()),
        ("PATCH", Some(name)) => ("patch", name.to_string()),
        ("DELETE", Some(name)) => ("delete", name.to_string()),
        ("DELETE", None) => ("deletecollection", String::new()),
        (other, _) => (other, String::new()),
    };
    Attributes {
        verb: verb.into(),
        group: group.into(),
        resource: match subresource {
            Some(sub) => format!("{resource}/{sub}"),
            None => resource.into(),
        },
        namespace: namespace.into(),
        name,
    }
}

/// kube-cel's VapEvaluator binds objects without their schema, so it escapes every key as the
/// API server escapes schema property names (`app.kubernetes.io/x` becomes
/// `app__dot__kubernetes__dot__io__slash__x`), while the API server leaves the keys of maps
/// such as labels as they are. The expressions are written for the API server; here each string
/// literal used as a map key (`'k' in m`, `m['k']`) is put in the escaped form before evaluation.
pub fn escape_key_literals(expression: &str) -> String {
    let escape = |key: &str| {
        let mut out = String::new();
        for ch in key.chars() {
            match ch {
                '_' => out.push_str("__"),
                '.' => out.push_str("__dot__"),
                '-' => out.push_str("__dash__"),
                '/' => out.push_str("__slash__"),
                other => out.push(other),
            }
        }
        out
    };
    let mut out = String::new();
    let mut rest = expression;
    while let Some(start) = rest.find('\'') {
        let (before, after) = rest.split_at(start);
        let Some(len) = after[1..].find('\'') else {
            break;
        };
        let literal = &after[1..1 + len];
        let tail = &after[len + 2..];
        let is_key =
            before.ends_with('[') && tail.starts_with(']') || tail.trim_start().starts_with("in ");
        out.push_str(before);
        out.push('\'');
        out.push_str(&if is_key {
            escape(literal)
        } else {
            literal.to_string()
        });
        out.push('\'');
        rest = tail;
    }
    out.push_str(rest);
    out
}
