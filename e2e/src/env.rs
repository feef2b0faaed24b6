//! A container's environment as the kubelet would build it from the rendered Secrets and
//! ConfigMaps: `envFrom` sources in order, then `env` entries overriding them.
//!
//! Whatever the kubelet would refuse to start (a missing Secret, key or ConfigMap that is not
//! optional) is an error, and so is anything this stand-in does not model (`fieldRef`,
//! `resourceFieldRef`, `$(VAR)` references), so a rendered setting can never be dropped silently.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, EnvVarSource};

use crate::manifests::Manifests;

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum EnvError {
    #[error("{var}: {kind} {namespace}/{name} is not rendered and the reference is not optional")]
    MissingSource {
        var: String,
        kind: &'static str,
        namespace: String,
        name: String,
    },
    #[error(
        "{var}: {kind} {namespace}/{name} has no key {key:?} and the reference is not optional"
    )]
    MissingKey {
        var: String,
        kind: &'static str,
        namespace: String,
        name: String,
        key: String,
    },
    #[error("{var}: {what} is not modelled by this stand-in; resolve it here before relying on it")]
    Unsupported { var: String, what: &'static str },
    #[error("{var}: the value of key {key:?} in Secret {name} is not UTF-8")]
    NotText {
        var: String,
        name: String,
        key: String,
    },
    #[error("{var:?} from {source_name} is not a valid environment variable name")]
    InvalidName { var: String, source_name: String },
}

/// The variables `container` gets in `namespace`, sorted by name.
pub fn resolve(
    container: &Container,
    namespace: &str,
    objects: &Manifests,
) -> Result<BTreeMap<String, String>, EnvError> {
    let mut env = BTreeMap::new();
    for source in container.env_from.iter().flatten() {
        let prefix = source.prefix.clone().unwrap_or_default();
        let (kind, name, optional, data) = if let Some(r) = &source.config_map_ref {
            let data = objects
                .config_map(namespace, &r.name)
                .ok()
                .map(|c| c.data.clone().unwrap_or_default());
            ("ConfigMap", r.name.clone(), r.optional, data)
        } else if let Some(r) = &source.secret_ref {
            let data = match objects.secret(namespace, &r.name).ok() {
                Some(s) => Some(secret_text(s, &r.name, "envFrom")?),
                None => None,
            };
            ("Secret", r.name.clone(), r.optional, data)
        } else {
            return Err(EnvError::Unsupported {
                var: "envFrom".into(),
                what: "an envFrom entry with neither configMapRef nor secretRef",
            });
        };
        let Some(data) = data else {
            if optional == Some(true) {
                continue;
            }
            return Err(EnvError::MissingSource {
                var: format!("envFrom {kind}"),
                kind,
                namespace: namespace.into(),
                name,
            });
        };
        for (key, value) in data {
            let var = format!("{prefix}{key}");
            if !valid_name(&var) {
                return Err(EnvError::InvalidName {
                    var,
                    source_name: format!("{kind} {name}"),
                });
            }
            env.insert(var, value);
        }
    }
    for var in container.env.iter().flatten() {
        let value = match (&var.value, &var.value_from) {
            (_, Some(from)) => value_from(&var.name, from, namespace, objects)?,
            (Some(value), None) if value.contains("$(") => {
                return Err(EnvError::Unsupported {
                    var: var.name.clone(),
                    what: "a $(VAR) reference",
                });
            }
            (value, None) => Some(value.clone().unwrap_or_default()),
        };
        match value {
            Some(value) => env.insert(var.name.clone(), value),
            None => env.remove(&var.name),
        };
    }
    Ok(env)
}

/// `None` when an optional reference finds nothing (the variable is then unset).
fn value_from(
    var: &str,
    from: &EnvVarSource,
    namespace: &str,
    objects: &Manifests,
) -> Result<Option<String>, EnvError> {
    let unsupported = |what| EnvError::Unsupported {
        var: var.into(),
        what,
    };
    let (kind, name, key, optional, data) = if let Some(r) = &from.secret_key_ref {
        let data = match objects.secret(namespace, &r.name).ok() {
            Some(s) => Some(secret_text(s, &r.name, var)?),
            None => None,
        };
        ("Secret", &r.name, &r.key, r.optional, data)
    } else if let Some(r) = &from.config_map_key_ref {
        let data = objects
            .config_map(namespace, &r.name)
            .ok()
            .map(|c| c.data.clone().unwrap_or_default());
        ("ConfigMap", &r.name, &r.key, r.optional, data)
    } else if from.field_ref.is_some() {
        return Err(unsupported("fieldRef (the pod's own metadata)"));
    } else if from.resource_field_ref.is_some() {
        return Err(unsupported("resourceFieldRef"));
    } else {
        return Err(unsupported("a valueFrom of an unknown kind"));
    };
    let optional = optional == Some(true);
    let Some(data) = data else {
        return if optional {
            Ok(None)
        } else {
            Err(EnvError::MissingSource {
                var: var.into(),
                kind,
                namespace: namespace.into(),
                name: name.clone(),
            })
        };
    };
    match data.get(key) {
        Some(value) => Ok(Some(value.clone())),
        None if optional => Ok(None),
        None => Err(EnvError::MissingKey {
            var: var.into(),
            kind,
            namespace: namespace.into(),
            name: name.clone(),
            key: key.clone(),
        }),
    }
}

/// `data` (base64 in YAML, decoded by the type) merged with `stringData`, as the API server does.
fn secret_text(
    secret: &k8s_openapi::api::core::v1::Secret,
    name: &str,
    var: &str,
) -> Result<BTreeMap<String, String>, EnvError> {
    let mut out = BTreeMap::new();
    for (key, bytes) in secret.data.iter().flatten() {
        let text = String::from_utf8(bytes.0.clone()).map_err(|_| EnvError::NotText {
            var: var.into(),
            name: name.into(),
            key: key.clone(),
        })?;
        out.insert(key.clone(), text);
    }
    out.extend(secret.string_data.clone().unwrap_or_default());
    Ok(out)
}

/// What the kubelet accepts as a variable name from envFrom (C identifier rules here; the
/// kubelet is laxer, but the chat-server only reads such names).
fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn objects() -> Manifests {
        Manifests::parse(
            "kind: ConfigMap\napiVersion: v1\nmetadata: {name: cm, namespace: ns}\ndata: {A: from-cm, B: from-cm}\n---\nkind: Secret\napiVersion: v1\nmetadata: {name: s, namespace: ns}\ndata: {token: c2VjcmV0}\nstringData: {plain: text}\n",
        )
        .unwrap()
    }

    fn container(spec: serde_json::Value) -> Container {
        let mut value = json!({"name": "c"});
        value
            .as_object_mut()
            .unwrap()
            .extend(spec.as_object().unwrap().clone());
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn env_entries_override_env_from_and_secret_values_are_decoded() {
        let c = container(json!({
            "envFrom": [{"configMapRef": {"name": "cm"}}, {"secretRef": {"name": "s"}, "prefix": "S_"}],
            "env": [
                {"name": "B", "value": "literal"},
                {"name": "T", "valueFrom": {"secretKeyRef": {"name": "s", "key": "token"}}},
                {"name": "P", "valueFrom": {"secretKeyRef": {"name": "s", "key": "plain"}}},
                {"name": "C", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "A"}}},
            ]
        }));
        let env = resolve(&c, "ns", &objects()).unwrap();
        let expected = [
            ("A", "from-cm"),
            ("B", "literal"),
            ("C", "from-cm"),
            ("P", "text"),
            ("S_plain", "text"),
            ("S_token", "secret"),
            ("T", "secret"),
        ];
        assert_eq!(
            env,
            expected
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>()
        );
    }

    #[test]
    fn a_missing_key_that_is_not_optional_fails_naming_variable_secret_and_key() {
        let c = container(json!({"env": [
            {"name": "X", "valueFrom": {"secretKeyRef": {"name": "s", "key": "nope"}}}
        ]}));
        let err = resolve(&c, "ns", &objects()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "X: Secret ns/s has no key \"nope\" and the reference is not optional"
        );
    }

    #[test]
    fn optional_references_to_missing_things_leave_the_variable_unset() {
        let c = container(json!({
            "envFrom": [{"configMapRef": {"name": "absent", "optional": true}}],
            "env": [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "nope", "optional": true}}}]
        }));
        assert!(resolve(&c, "ns", &objects()).unwrap().is_empty());
    }

    #[test]
    fn a_missing_env_from_source_and_unmodelled_references_fail() {
        let c = container(json!({"envFrom": [{"secretRef": {"name": "absent"}}]}));
        assert!(matches!(
            resolve(&c, "ns", &objects()),
            Err(EnvError::MissingSource { .. })
        ));
        let c = container(json!({"env": [
            {"name": "N", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}
        ]}));
        assert!(matches!(
            resolve(&c, "ns", &objects()),
            Err(EnvError::Unsupported { .. })
        ));
        let c = container(json!({"env": [{"name": "N", "value": "$(A)-x"}]}));
        assert!(matches!(
            resolve(&c, "ns", &objects()),
            Err(EnvError::Unsupported { .. })
        ));
    }
}
