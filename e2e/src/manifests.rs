//! The objects `atendo-operator render` prints, parsed into typed Kubernetes objects and looked up
//! the way the API server would find them (by kind, namespace and name).

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service};
use k8s_openapi::api::networking::v1::Ingress;
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("document {index} of the rendered YAML does not parse: {source}")]
    Yaml {
        index: usize,
        source: serde_yaml_ng::Error,
    },
    #[error("document {index} has no kind")]
    NoKind { index: usize },
    #[error("the {kind} {name:?} does not parse: {source}")]
    Object {
        kind: String,
        name: String,
        source: serde_json::Error,
    },
    #[error("no {kind} {namespace}/{name} was rendered")]
    Missing {
        kind: &'static str,
        namespace: String,
        name: String,
    },
    #[error("expected exactly one {kind}, the render has {count}")]
    NotOne { kind: &'static str, count: usize },
}

/// Every object of one render, by kind; other kinds are kept as JSON.
#[derive(Clone, Debug, Default)]
pub struct Manifests {
    pub deployments: Vec<Deployment>,
    pub secrets: Vec<Secret>,
    pub config_maps: Vec<ConfigMap>,
    pub services: Vec<Service>,
    pub ingresses: Vec<Ingress>,
    pub others: Vec<Value>,
}

impl Manifests {
    /// Parses multi-document YAML (comments and empty documents allowed).
    pub fn parse(yaml: &str) -> Result<Self, ManifestError> {
        let mut out = Manifests::default();
        for (index, document) in serde_yaml_ng::Deserializer::from_str(yaml).enumerate() {
            let value = Option::<Value>::deserialize(document)
                .map_err(|source| ManifestError::Yaml { index, source })?;
            let Some(value) = value else { continue };
            let kind = value["kind"]
                .as_str()
                .ok_or(ManifestError::NoKind { index })?
                .to_string();
            let name = value["metadata"]["name"].as_str().unwrap_or("").to_string();
            let typed = |e| ManifestError::Object {
                kind: kind.clone(),
                name: name.clone(),
                source: e,
            };
            match kind.as_str() {
                "Deployment" => out
                    .deployments
                    .push(serde_json::from_value(value).map_err(typed)?),
                "Secret" => out
                    .secrets
                    .push(serde_json::from_value(value).map_err(typed)?),
                "ConfigMap" => out
                    .config_maps
                    .push(serde_json::from_value(value).map_err(typed)?),
                "Service" => out
                    .services
                    .push(serde_json::from_value(value).map_err(typed)?),
                "Ingress" => out
                    .ingresses
                    .push(serde_json::from_value(value).map_err(typed)?),
                _ => out.others.push(value),
            }
        }
        Ok(out)
    }

    pub fn secret(&self, namespace: &str, name: &str) -> Result<&Secret, ManifestError> {
        find(&self.secrets, "Secret", namespace, name, |s| &s.metadata)
    }

    pub fn secret_mut(
        &mut self,
        namespace: &str,
        name: &str,
    ) -> Result<&mut Secret, ManifestError> {
        self.secrets
            .iter_mut()
            .find(|s| is(&s.metadata, namespace, name))
            .ok_or_else(|| missing("Secret", namespace, name))
    }

    pub fn config_map(&self, namespace: &str, name: &str) -> Result<&ConfigMap, ManifestError> {
        find(&self.config_maps, "ConfigMap", namespace, name, |c| {
            &c.metadata
        })
    }

    pub fn service(&self, namespace: &str, name: &str) -> Result<&Service, ManifestError> {
        find(&self.services, "Service", namespace, name, |s| &s.metadata)
    }

    /// The one Deployment of a tenant's render.
    pub fn only_deployment(&self) -> Result<&Deployment, ManifestError> {
        match self.deployments.as_slice() {
            [one] => Ok(one),
            all => Err(ManifestError::NotOne {
                kind: "Deployment",
                count: all.len(),
            }),
        }
    }
}

type Meta = k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

fn is(meta: &Meta, namespace: &str, name: &str) -> bool {
    meta.namespace.as_deref() == Some(namespace) && meta.name.as_deref() == Some(name)
}

fn missing(kind: &'static str, namespace: &str, name: &str) -> ManifestError {
    ManifestError::Missing {
        kind,
        namespace: namespace.into(),
        name: name.into(),
    }
}

fn find<'a, T>(
    all: &'a [T],
    kind: &'static str,
    namespace: &str,
    name: &str,
    meta: impl Fn(&T) -> &Meta,
) -> Result<&'a T, ManifestError> {
    all.iter()
        .find(|o| is(meta(o), namespace, name))
        .ok_or_else(|| missing(kind, namespace, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO: &str = "# a comment\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: ns}\ndata: {A: '1'}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: ns}\ndata: {k: dmFsdWU=}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: ns}\n";

    #[test]
    fn documents_are_sorted_by_kind_and_secret_data_is_decoded() {
        let m = Manifests::parse(TWO).unwrap();
        assert_eq!(m.config_maps.len(), 1);
        assert_eq!(m.others.len(), 1);
        let secret = m.secret("ns", "s").unwrap();
        assert_eq!(secret.data.as_ref().unwrap()["k"].0, b"value");
    }

    #[test]
    fn a_lookup_in_another_namespace_names_what_is_missing() {
        let m = Manifests::parse(TWO).unwrap();
        let err = m.config_map("other", "c").unwrap_err().to_string();
        assert_eq!(err, "no ConfigMap other/c was rendered");
    }
}
