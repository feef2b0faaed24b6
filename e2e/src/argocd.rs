//! Runs an Argo CD resource health check (`health.lua`) the way Argo CD does, in Lua 5.1 (the
//! language of Argo CD's gopher-lua): the resource as a Lua table in the global `obj` (JSON null
//! and absent fields both nil, arrays as 1-based tables without metatables), the script's
//! returned table read as `{status, message}`. Only the base, table, string and math libraries
//! are open, like Argo CD's sandbox.
//!
//! [`load_tests`] reads `health_test.yaml` in Argo CD's own layout for its built-in checks:
//! `tests: [{healthStatus: {status, message}, inputPath: testdata/x.yaml}]`.

use std::path::{Path, PathBuf};

use mlua::{Lua, LuaOptions, LuaSerdeExt, StdLib};
use serde::Deserialize;

/// The statuses Argo CD knows; anything else is a broken check.
pub const STATUSES: [&str; 6] = [
    "Healthy",
    "Progressing",
    "Degraded",
    "Suspended",
    "Missing",
    "Unknown",
];

#[derive(Debug, thiserror::Error)]
pub enum HealthError {
    #[error("Lua: {0}")]
    Lua(#[from] mlua::Error),
    #[error("the check returned {0:?}, not a status Argo CD knows ({STATUSES:?})")]
    UnknownStatus(String),
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Health {
    pub status: String,
    #[serde(default)]
    pub message: String,
}

/// Evaluates `script` against `obj` (a Kubernetes object as JSON).
pub fn evaluate(script: &str, obj: &serde_json::Value) -> Result<Health, HealthError> {
    let lua = Lua::new_with(
        StdLib::TABLE | StdLib::STRING | StdLib::MATH,
        LuaOptions::default(),
    )?;
    let options = mlua::serde::SerializeOptions::new()
        .set_array_metatable(false)
        .serialize_none_to_null(false)
        .serialize_unit_to_null(false);
    lua.globals()
        .set("obj", lua.to_value_with(&without_nulls(obj), options)?)?;
    let result: mlua::Table = lua.load(script).set_name("health.lua").eval()?;
    let health = Health {
        status: result.get::<Option<String>>("status")?.unwrap_or_default(),
        message: result.get::<Option<String>>("message")?.unwrap_or_default(),
    };
    if !STATUSES.contains(&health.status.as_str()) {
        return Err(HealthError::UnknownStatus(health.status));
    }
    Ok(health)
}

/// JSON nulls removed from objects: Argo CD's Go map holds them as nil, which is no table entry.
fn without_nulls(value: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

/// One case of `health_test.yaml`, its input already read.
#[derive(Clone, Debug)]
pub struct HealthCase {
    pub input_path: String,
    pub expected: Health,
    pub input: serde_json::Value,
}

#[derive(Deserialize)]
struct TestFile {
    tests: Vec<TestEntry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TestEntry {
    health_status: Health,
    input_path: String,
}

/// The cases of `<dir>/health_test.yaml`, with each input read relative to `dir`.
pub fn load_tests(dir: &Path) -> Result<Vec<HealthCase>, HealthError> {
    let read = |path: &Path| {
        std::fs::read_to_string(path).map_err(|e| HealthError::File {
            path: path.into(),
            message: e.to_string(),
        })
    };
    let index = dir.join("health_test.yaml");
    let file: TestFile =
        serde_yaml_ng::from_str(&read(&index)?).map_err(|e| HealthError::File {
            path: index.clone(),
            message: e.to_string(),
        })?;
    file.tests
        .into_iter()
        .map(|entry| {
            let path = dir.join(&entry.input_path);
            let input = serde_yaml_ng::from_str(&read(&path)?).map_err(|e| HealthError::File {
                path: path.clone(),
                message: e.to_string(),
            })?;
            Ok(HealthCase {
                input_path: entry.input_path,
                expected: entry.health_status,
                input,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nulls_and_absent_fields_are_both_nil_and_arrays_count_from_one() {
        let script = r#"
            local hs = {}
            if obj.a == nil and obj.b == nil and #obj.list == 2 and obj.list[1] == "x" then
              hs.status = "Healthy"
            else
              hs.status = "Degraded"
            end
            hs.message = tostring(obj.n)
            return hs
        "#;
        let health = evaluate(script, &json!({"a": null, "list": ["x", "y"], "n": 3})).unwrap();
        assert_eq!(
            health,
            Health {
                status: "Healthy".into(),
                message: "3".into()
            }
        );
    }

    #[test]
    fn a_status_argo_cd_does_not_know_is_an_error() {
        let err = evaluate("return {status = 'Fine'}", &json!({})).unwrap_err();
        assert!(matches!(err, HealthError::UnknownStatus(s) if s == "Fine"));
    }

    #[test]
    fn the_interpreter_is_lua_5_1_like_argo_cds() {
        let health = evaluate(
            "return {status = 'Healthy', message = _VERSION}",
            &json!({}),
        )
        .unwrap();
        assert_eq!(health.message, "Lua 5.1");
    }

    #[test]
    fn the_sandbox_has_no_os_or_io() {
        assert!(evaluate("os.exit(1)", &json!({})).is_err());
        let health = evaluate(
            "return {status = (io or os or require) and 'Degraded' or 'Healthy'}",
            &json!({}),
        )
        .unwrap();
        assert_eq!(health.status, "Healthy");
    }
}
