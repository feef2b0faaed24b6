//! The Tenant rules in Rust, shared by `render` and the controller.
//!
//! They repeat what the CRD schema enforces (OpenAPI bounds and CEL rules in [`crate::tenant`]) so
//! that a Tenant which never met an API server (a file given to `render`, an object created before a
//! CRD upgrade) is judged the same way. The immutability of the subdomain needs the previous object
//! and is left to the API server's transition rule.

use std::fmt;

use chat_settings::business_hours::BusinessHours as ParsedHours;
use chat_settings::origins::{MAX_ALLOWED_ORIGINS, allowed_origin};
use chat_settings::rules::{is_colour, is_email, is_https_url, is_locale};

use crate::plan::Sizing;
use crate::tenant::{
    BusinessHours, MAX_AGENT_CAPACITY, MAX_HOLIDAYS, MAX_NAME_LEN, MAX_OPENING_SPANS, MAX_REPLICAS,
    Plan, SsoSpec, Tenant, TenantSpec,
};

/// One broken rule, named by the field's path as `kubectl explain` spells it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Every rule the Tenant breaks, not just the first, so one round of fixes is enough.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("Tenant {name:?} is invalid: {}", list(.errors))]
pub struct InvalidTenant {
    pub name: String,
    pub errors: Vec<FieldError>,
}

fn list(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Checks `tenant` against every rule of the CRD schema.
pub fn validate(tenant: &Tenant) -> Result<(), InvalidTenant> {
    let mut errors = Errors::default();
    let spec = &tenant.spec;

    match tenant.metadata.name.as_deref() {
        None | Some("") => errors.add("metadata.name", "is required"),
        Some(name) if name.len() > MAX_NAME_LEN || !is_dns_label(name) => errors.add(
            "metadata.name",
            format!(
                "{name:?} must be a DNS label of at most {MAX_NAME_LEN} characters (the namespace is tenant-<name>)"
            ),
        ),
        Some(_) => {}
    }

    errors.length("spec.displayName", Some(&spec.display_name), 1, 100);

    if let Some(subdomain) = &spec.subdomain
        && !is_dns_label(subdomain)
    {
        errors.add(
            "spec.subdomain",
            format!(
                "{subdomain:?} must be a DNS label: lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters"
            ),
        );
    }

    if let Some(branding) = &spec.branding {
        errors.length(
            "spec.branding.productName",
            branding.product_name.as_deref(),
            1,
            100,
        );
        if let Some(color) = &branding.primary_color
            && !is_colour(color)
        {
            errors.add(
                "spec.branding.primaryColor",
                format!("{color:?} must be a #rrggbb colour"),
            );
        }
        if let Some(url) = &branding.logo_url
            && (url.chars().count() > 2048 || !is_https_url(url))
        {
            errors.add(
                "spec.branding.logoUrl",
                format!("{url:?} must be an absolute https:// URL of at most 2048 characters"),
            );
        }
        if let Some(locale) = &branding.locale
            && !is_locale(locale)
        {
            errors.add(
                "spec.branding.locale",
                format!(
                    "{locale:?} must be a language the widget and console speak: en or pt, optionally with a region (en-GB, pt-BR)"
                ),
            );
        }
        errors.length(
            "spec.branding.welcomeMessage",
            branding.welcome_message.as_deref(),
            0,
            500,
        );
    }

    if let Some(email) = &spec.admin_email
        && (email.chars().count() > 254 || !is_email(email))
    {
        errors.add(
            "spec.adminEmail",
            format!("{email:?} must be an email address such as support-lead@acme.com"),
        );
    }

    if let Some(sso) = &spec.sso {
        for (field, url) in [
            ("spec.sso.issuer", &sso.issuer),
            ("spec.sso.jwksUrl", &sso.jwks_url),
        ] {
            if url.chars().count() > 2048 || !is_https_url(url) {
                errors.add(
                    field,
                    format!("{url:?} must be an absolute https:// URL of at most 2048 characters"),
                );
            }
        }
        errors.length("spec.sso.audience", Some(&sso.audience), 1, 256);
        sso_extras(sso, &mut errors);
    }

    if let Some(chat) = &spec.chat {
        errors.range("spec.chat.replicas", chat.replicas, 1, MAX_REPLICAS);
        if let Some(auto) = &chat.autoscaling {
            let (min, max) = (auto.min_replicas, auto.max_replicas);
            errors.range("spec.chat.autoscaling.minReplicas", min, 1, MAX_REPLICAS);
            errors.range("spec.chat.autoscaling.maxReplicas", max, 1, MAX_REPLICAS);
            errors.range(
                "spec.chat.autoscaling.targetCPUUtilization",
                auto.target_cpu_utilization,
                10,
                95,
            );
            if let (Some(min), Some(max)) = (min, max)
                && min > max
            {
                errors.add(
                    "spec.chat.autoscaling",
                    format!("minReplicas ({min}) must not exceed maxReplicas ({max})"),
                );
            }
            if let Some(replicas) = chat.replicas
                && (min.is_some_and(|m| replicas < m) || max.is_some_and(|m| replicas > m))
            {
                errors.add(
                    "spec.chat",
                    format!(
                        "replicas ({replicas}) must lie between autoscaling.minReplicas and autoscaling.maxReplicas"
                    ),
                );
            }
        }
    }

    if let Some(chat) = &spec.chat {
        if let Some(hours) = &chat.business_hours {
            business_hours(hours, &mut errors);
        }
        if let Some(routing) = &chat.routing {
            errors.range(
                "spec.chat.routing.agentCapacity",
                routing.agent_capacity,
                1,
                MAX_AGENT_CAPACITY,
            );
        }
    }

    if let Some(widget) = &spec.widget {
        let origins = &widget.allowed_origins;
        if origins.len() > MAX_ALLOWED_ORIGINS {
            errors.add(
                "spec.widget.allowedOrigins",
                format!(
                    "has {} entries, at most {MAX_ALLOWED_ORIGINS} (https://*.example.com covers every subdomain)",
                    origins.len()
                ),
            );
        }
        for (i, origin) in origins.iter().enumerate() {
            if let Err(why) = allowed_origin(origin) {
                errors.add("spec.widget.allowedOrigins", format!("[{i}]: {why}"));
            }
        }
    }

    // Dedicated database (issue 16); its immutability is the API server's transition rule.
    if spec.plan == Plan::Starter && spec.database.as_ref().and_then(|d| d.dedicated) == Some(true)
    {
        errors.add(
            "spec.database.dedicated",
            "a dedicated database cluster needs the professional or enterprise plan",
        );
    }

    if let Some(storage) = &spec.storage {
        errors.range(
            "spec.storage.retentionDays",
            storage.retention_days,
            1,
            3650,
        );
        errors.range("spec.storage.maxUploadMB", storage.max_upload_mb, 1, 1024);
    }

    if errors.0.is_empty() {
        check_resolved_sizing(spec, &mut errors);
    }
    errors.into_result(tenant)
}

/// What the chat-server's CHAT_OIDC_ALLOWED_DOMAINS, CHAT_OIDC_ADMIN_GROUP and
/// CHAT_OIDC_TOKEN_ENDPOINT accept (its `email_domain`, `group_name` and `http_url`), so a Tenant
/// accepted here never stops its chat-server at start.
fn sso_extras(sso: &SsoSpec, errors: &mut Errors) {
    if sso.allowed_domains.len() > 32 {
        errors.add(
            "spec.sso.allowedDomains",
            format!("has {} entries, at most 32", sso.allowed_domains.len()),
        );
    }
    for (i, domain) in sso.allowed_domains.iter().enumerate() {
        if !is_email_domain(domain) {
            errors.add(
                "spec.sso.allowedDomains",
                format!("[{i}]: {domain:?} must be an email domain such as acme.com (no '@', no wildcard)"),
            );
        }
    }
    if let Some(group) = &sso.admin_group {
        if group.trim().is_empty() {
            errors.add(
                "spec.sso.adminGroup",
                "must name a group, e.g. atendo-admins",
            );
        }
        errors.length("spec.sso.adminGroup", Some(group), 1, 256);
    }
    errors.length("spec.sso.displayName", sso.display_name.as_deref(), 1, 100);
    if let Some(url) = &sso.token_endpoint
        && (url.chars().count() > 2048 || !is_https_url(url))
    {
        errors.add(
            "spec.sso.tokenEndpoint",
            format!("{url:?} must be an absolute https:// URL of at most 2048 characters"),
        );
    }
}

/// A DNS name with at least one dot, labels of letters, digits and inner '-'.
fn is_email_domain(s: &str) -> bool {
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    s.len() <= 253 && s.contains('.') && s.split('.').all(label_ok)
}

/// Open hours the chat-server starts on. Each part is judged by the chat-server's own parser
/// (`chat_settings::business_hours`, the tz database included) so that the message can name the
/// field; the whole value is parsed last, so nothing the chat-server refuses gets through.
fn business_hours(hours: &BusinessHours, errors: &mut Errors) {
    const FIELD: &str = "spec.chat.businessHours";
    let before = errors.0.len();
    // Every part judged inside an otherwise valid value, so only that part can be refused.
    let judge = |timezone: &str, spans: serde_json::Value, holidays: &[&String]| {
        let json = serde_json::json!({"timezone": timezone, "weekly": spans, "holidays": holidays});
        ParsedHours::parse(&json.to_string())
    };
    let all_day = serde_json::json!([{"day": "mon", "from": "00:00", "to": "24:00"}]);
    if judge(&hours.timezone, all_day.clone(), &[]).is_err() {
        errors.add(
            &format!("{FIELD}.timezone"),
            format!(
                "{:?} is not an IANA time zone; use one such as America/Sao_Paulo or UTC",
                hours.timezone
            ),
        );
    }
    if hours.weekly.is_empty() || hours.weekly.len() > MAX_OPENING_SPANS {
        errors.add(
            &format!("{FIELD}.weekly"),
            format!(
                "has {} spans; give 1 to {MAX_OPENING_SPANS} (leave businessHours out to be always open)",
                hours.weekly.len()
            ),
        );
    }
    for (i, span) in hours.weekly.iter().enumerate() {
        let day = span.day.as_str();
        let spans =
            |from: &str, to: &str| serde_json::json!([{"day": day, "from": from, "to": to}]);
        let from_ok = judge("UTC", spans(&span.from, "24:00"), &[]).is_ok();
        let to_ok = judge("UTC", spans("00:00", &span.to), &[]).is_ok();
        if !from_ok {
            errors.add(
                &format!("{FIELD}.weekly[{i}].from"),
                format!(
                    "{:?} must be a time HH:MM between 00:00 and 23:59",
                    span.from
                ),
            );
        }
        if !to_ok {
            errors.add(
                &format!("{FIELD}.weekly[{i}].to"),
                format!("{:?} must be a time HH:MM between 00:01 and 24:00", span.to),
            );
        }
        if from_ok && to_ok && judge("UTC", spans(&span.from, &span.to), &[]).is_err() {
            errors.add(
                &format!("{FIELD}.weekly[{i}]"),
                format!(
                    "{day} opens at {} and closes at {}: from must be earlier than to; an opening past midnight is two spans, e.g. fri 22:00-24:00 and sat 00:00-06:00",
                    span.from, span.to
                ),
            );
        }
    }
    if hours.holidays.len() > MAX_HOLIDAYS {
        errors.add(
            &format!("{FIELD}.holidays"),
            format!("has {} dates, at most {MAX_HOLIDAYS}", hours.holidays.len()),
        );
    }
    for (i, day) in hours.holidays.iter().enumerate() {
        if judge("UTC", all_day.clone(), &[day]).is_err() {
            errors.add(
                &format!("{FIELD}.holidays[{i}]"),
                format!("{day:?} must be a date of the calendar, YYYY-MM-DD"),
            );
        }
    }
    if errors.0.len() == before
        && let Err(why) = ParsedHours::parse(&hours.to_contract_json())
    {
        errors.add(FIELD, format!("the chat-server refuses it: {why}"));
    }
}

/// Partial overrides can clash with the plan's defaults (a professional plan's minReplicas 2 with
/// an explicit maxReplicas 1); the schema cannot see plan defaults, so only this check catches it.
fn check_resolved_sizing(spec: &TenantSpec, errors: &mut Errors) {
    let sizing = Sizing::resolve(spec);
    let plan = spec.plan.as_str();
    let Some(auto) = sizing.autoscaling else {
        return;
    };
    if auto.min_replicas > auto.max_replicas {
        errors.add(
            "spec.chat.autoscaling",
            format!(
                "with the {plan} plan's defaults this gives minReplicas {} above maxReplicas {}; set both",
                auto.min_replicas, auto.max_replicas
            ),
        );
    } else if let Some(replicas) = spec.chat.as_ref().and_then(|c| c.replicas)
        && !(auto.min_replicas..=auto.max_replicas).contains(&replicas)
    {
        errors.add(
            "spec.chat.replicas",
            format!(
                "{replicas} lies outside the autoscaling range {}..{} (the {plan} plan's unless set in chat.autoscaling); the autoscaler would ignore it",
                auto.min_replicas, auto.max_replicas
            ),
        );
    }
}

#[derive(Default)]
struct Errors(Vec<FieldError>);

impl Errors {
    fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.to_string(),
            message: message.into(),
        });
    }

    /// Lengths count characters, as OpenAPI's minLength/maxLength do.
    fn length(&mut self, field: &str, value: Option<&str>, min: usize, max: usize) {
        if let Some(value) = value {
            let n = value.chars().count();
            if n < min || n > max {
                self.add(
                    field,
                    format!("must be {min} to {max} characters long, got {n}"),
                );
            }
        }
    }

    fn range(&mut self, field: &str, value: Option<i32>, min: i32, max: i32) {
        if let Some(v) = value
            && (v < min || v > max)
        {
            self.add(field, format!("must be between {min} and {max}, got {v}"));
        }
    }

    fn into_result(self, tenant: &Tenant) -> Result<(), InvalidTenant> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(InvalidTenant {
                name: tenant.metadata.name.clone().unwrap_or_default(),
                errors: self.0,
            })
        }
    }
}

/// RFC 1123 label, as `^[a-z0-9]([-a-z0-9]*[a-z0-9])?$` with at most 63 characters.
pub fn is_dns_label(s: &str) -> bool {
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    let bytes = s.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes.iter().all(|&c| alnum(c) || c == b'-')
        && alnum(bytes[0])
        && alnum(bytes[bytes.len() - 1])
}
