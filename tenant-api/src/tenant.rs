//! The `Tenant` custom resource (atendo.io/v1alpha1, cluster-scoped): the product's public face.
//!
//! The schema carries every rule the API server can check on its own: OpenAPI bounds, enums and
//! lengths, plus CEL (`x-kubernetes-validations`) where OpenAPI is not enough. The same rules are
//! applied in Rust by [`crate::validation`], which also checks the values that only exist once plan
//! defaults are merged in.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A DNS label (RFC 1123): what a subdomain and a namespace name must be.
pub const DNS_LABEL_REGEX: &str = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
/// `#rrggbb`.
pub const COLOR_REGEX: &str = "^#[0-9a-fA-F]{6}$";
/// A BCP 47 tag in a language the widget and console speak: English or Portuguese, with any
/// region (`en`, `en-GB`, `pt-BR`, `pt-PT`). The chat-server refuses to start on any other.
pub const LOCALE_REGEX: &str = "^([eE][nN]|[pP][tT])(-[a-zA-Z0-9]{2,8})*$";
/// Within what the chat-server accepts as an agent's email: no whitespace or control characters,
/// one `@`, a dotted domain.
pub const EMAIL_REGEX: &str =
    r"^[^@\s\pZ\p{Cc}]+@[^@.\s\pZ\p{Cc}][^@\s\pZ\p{Cc}]*\.[^@\s\pZ\p{Cc}]+$";
/// The namespace is `tenant-<name>` and must stay a 63-character DNS label.
pub const MAX_NAME_LEN: usize = 56;
/// Upper bound for every replica count; far above any plan, low enough to catch typos.
pub const MAX_REPLICAS: i32 = 50;
/// Most conversations automatic assignment may give one agent.
pub const MAX_AGENT_CAPACITY: i32 = 1000;
/// Most opening spans in a week (four a day).
pub const MAX_OPENING_SPANS: usize = 28;
/// Most holidays listed at once (a year's worth).
pub const MAX_HOLIDAYS: usize = 366;

/// A customer of the platform: its own namespace, bucket, database user and chat-server.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "atendo.io",
    version = "v1alpha1",
    kind = "Tenant",
    plural = "tenants",
    singular = "tenant",
    shortname = "tn",
    category = "atendo",
    status = "TenantStatus",
    derive = "PartialEq",
    doc = "An Atendo tenant: a dedicated chat-server on https://<subdomain>.<base-domain> with its own namespace, bucket and database user.",
    printcolumn(name = "Plan", type_ = "string", json_path = ".spec.plan"),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(name = "URL", type_ = "string", json_path = ".status.url"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    validation = Rule::new(
        "self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$') && size(self.metadata.name) <= 56"
    )
    .message("metadata.name must be a DNS label of at most 56 characters (the namespace is tenant-<name>)"),
    validation = Rule::new(
        "(has(self.spec.subdomain) ? self.spec.subdomain : self.metadata.name) == (has(oldSelf.spec.subdomain) ? oldSelf.spec.subdomain : oldSelf.metadata.name)"
    )
    .message("spec.subdomain is immutable (it defaults to metadata.name)"),
    // Dedicated database (issue 16): where the data lives is decided once. The effective value
    // (spec.database.dedicated, else true on enterprise) may not change, whether by the field or
    // by a plan change that moves the default: the operator does not move data between clusters.
    validation = Rule::new(
        "(has(self.spec.database) && has(self.spec.database.dedicated) ? self.spec.database.dedicated : self.spec.plan == 'enterprise') == (has(oldSelf.spec.database) && has(oldSelf.spec.database.dedicated) ? oldSelf.spec.database.dedicated : oldSelf.spec.plan == 'enterprise')"
    )
    .message("spec.database.dedicated cannot change after creation (unset, it is true on the enterprise plan): the operator does not move data between database clusters; to change plan, set spec.database.dedicated to the placement the Tenant has"),
    validation = Rule::new(
        "!(has(self.spec.database) && has(self.spec.database.dedicated) && self.spec.database.dedicated && self.spec.plan == 'starter')"
    )
    .message("spec.database.dedicated: a dedicated database cluster needs the professional or enterprise plan")
)]
#[serde(rename_all = "camelCase")]
pub struct TenantSpec {
    /// Customer name as people read it, e.g. "ACME Ltda".
    #[schemars(length(min = 1, max = 100))]
    pub display_name: String,

    /// Commercial plan; gives the defaults every other field overrides.
    pub plan: Plan,

    /// DNS label under the operator's base domain; defaults to metadata.name; immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    #[x_kube(validation = Rule::new("self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')").message("must be a DNS label: lowercase letters, digits and '-', starting and ending with a letter or digit"))]
    pub subdomain: Option<String>,

    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branding: Option<Branding>,

    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat: Option<ChatSpec>,

    /// Email of the first agent, an admin the chat-server creates on its first start; defaults
    /// to admin@<subdomain>.<base-domain>. Its initial password is generated once and kept in
    /// Secret chat-admin of the tenant namespace. Changing it later adds another admin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 3, max = 254))]
    #[x_kube(validation = Rule::new("self.matches('^[^@\\\\s\\\\pZ\\\\p{Cc}]+@[^@.\\\\s\\\\pZ\\\\p{Cc}][^@\\\\s\\\\pZ\\\\p{Cc}]*\\\\.[^@\\\\s\\\\pZ\\\\p{Cc}]+$')").message("must be an email address such as support-lead@acme.com"))]
    pub admin_email: Option<String>,

    /// Single sign-on for agents through the company's OpenID Connect provider (e.g. a Cognito
    /// user pool); agents with passwords keep working alongside it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sso: Option<SsoSpec>,

    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<StorageSpec>,

    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub widget: Option<WidgetSpec>,

    /// Where the tenant's data lives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<DatabaseSpec>,

    /// What deletion does to data: Retain keeps bucket objects and the database; Delete removes them.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,

    /// true scales the chat-server to zero and keeps everything else.
    #[serde(default)]
    pub suspended: bool,
}

#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "camelCase")]
pub enum Plan {
    Starter,
    Professional,
    Enterprise,
}

impl Plan {
    pub const ALL: [Plan; 3] = [Plan::Starter, Plan::Professional, Plan::Enterprise];

    pub fn as_str(self) -> &'static str {
        match self {
            Plan::Starter => "starter",
            Plan::Professional => "professional",
            Plan::Enterprise => "enterprise",
        }
    }
}

#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DeletionPolicy {
    #[default]
    Retain,
    Delete,
}

/// How the widget and the agent console present the tenant.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Branding {
    /// Defaults to spec.displayName.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 100))]
    pub product_name: Option<String>,

    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 7))]
    #[x_kube(validation = Rule::new("self.matches('^#[0-9a-fA-F]{6}$')").message("must be a #rrggbb colour"))]
    pub primary_color: Option<String>,

    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048))]
    #[x_kube(validation = Rule::new("isURL(self) && url(self).getScheme() == 'https' && url(self).getHostname() != ''").message("must be an absolute https:// URL"))]
    pub logo_url: Option<String>,

    /// BCP 47 language tag, e.g. pt-BR.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 35))]
    #[x_kube(validation = Rule::new("self.matches('^([eE][nN]|[pP][tT])(-[a-zA-Z0-9]{2,8})*$')").message("must be a language the widget and console speak: en or pt, optionally with a region (en-GB, pt-BR)"))]
    pub locale: Option<String>,

    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 500))]
    pub welcome_message: Option<String>,
}

/// The identity provider whose access tokens the chat-server accepts for agents.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SsoSpec {
    /// The token issuer (`iss`), e.g. https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf.
    #[schemars(length(max = 2048))]
    #[x_kube(validation = Rule::new("isURL(self) && url(self).getScheme() == 'https' && url(self).getHostname() != ''").message("must be an absolute https:// URL"))]
    pub issuer: String,

    /// The audience (`aud`, or Cognito's `client_id`) the tokens must carry.
    #[schemars(length(min = 1, max = 256))]
    pub audience: String,

    /// Where the provider publishes its signing keys, e.g. <issuer>/.well-known/jwks.json.
    #[schemars(length(max = 2048))]
    #[x_kube(validation = Rule::new("isURL(self) && url(self).getScheme() == 'https' && url(self).getHostname() != ''").message("must be an absolute https:// URL"))]
    pub jwks_url: String,

    /// Email domains whose users may sign in (acme.com, acme.com.br; exact match, so list
    /// subdomains too). Empty: every verified email the provider vouches for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32), inner(length(max = 253)))]
    #[x_kube(validation = Rule::new("self.all(d, d.matches('^([a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?\\\\.)+[a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?$'))").message("each entry must be an email domain such as acme.com (no '@', no wildcard)"))]
    pub allowed_domains: Vec<String>,

    /// Group (in the token's cognito:groups or groups claim) whose members sign in as admins;
    /// every other user signs in as an agent. Unset: the role stored with the account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 256))]
    #[x_kube(validation = Rule::new("self.matches('\\\\S')").message("must name a group, e.g. atendo-admins"))]
    pub admin_group: Option<String>,

    /// Name on the console's "Sign in with …" button, e.g. "ACME Google". Unset: the issuer's host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 100))]
    pub display_name: Option<String>,

    /// The provider's token endpoint when it is on another origin than the issuer (Cognito's
    /// hosted domain, Google), e.g. https://acme.auth.sa-east-1.amazoncognito.com/oauth2/token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048))]
    #[x_kube(validation = Rule::new("isURL(self) && url(self).getScheme() == 'https' && url(self).getHostname() != ''").message("must be an absolute https:// URL"))]
    pub token_endpoint: Option<String>,
}

/// The chat-server's size; unset fields come from the plan.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new(
    "!has(self.replicas) || !has(self.autoscaling) || ((!has(self.autoscaling.minReplicas) || self.replicas >= self.autoscaling.minReplicas) && (!has(self.autoscaling.maxReplicas) || self.replicas <= self.autoscaling.maxReplicas))"
).message("replicas must lie between autoscaling.minReplicas and autoscaling.maxReplicas"))]
pub struct ChatSpec {
    /// Fixed replica count when the chat-server is not autoscaled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 50))]
    pub replicas: Option<i32>,

    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<AutoscalingSpec>,

    /// When agents answer. Outside these hours the widget says so and takes the visitor's name,
    /// email and message instead (CHAT_BUSINESS_HOURS). Unset: always open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_hours: Option<BusinessHours>,

    /// How new conversations find an agent (CHAT_AUTO_ASSIGN, CHAT_AGENT_CAPACITY). Unset: they
    /// wait for an agent to take them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing: Option<RoutingSpec>,
}

/// `HH:MM`, 00:00 to 23:59: when an opening starts.
pub const TIME_OF_DAY_REGEX: &str = "^([01][0-9]|2[0-3]):[0-5][0-9]$";
/// `HH:MM` or `24:00` (the end of the day): when an opening ends.
pub const END_OF_OPENING_REGEX: &str = "^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$";
/// `YYYY-MM-DD` (whether the day exists is checked by [`crate::validation`]).
pub const DATE_REGEX: &str = "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$";
/// The shape of an IANA time zone name (`UTC`, `America/Sao_Paulo`,
/// `America/Argentina/Buenos_Aires`); [`crate::validation`] checks it names a real zone.
pub const TIME_ZONE_REGEX: &str = "^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9][A-Za-z0-9_+-]*){0,2}$";

/// Opening hours in one time zone, with days off.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BusinessHours {
    /// IANA time zone the hours are in, e.g. America/Sao_Paulo.
    #[schemars(length(min = 1, max = 64))]
    #[x_kube(validation = Rule::new("self.matches('^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9][A-Za-z0-9_+-]*){0,2}$')").message("must be an IANA time zone such as America/Sao_Paulo or UTC"))]
    pub timezone: String,

    /// Opening spans; a day may have several (09:00-12:00 and 13:00-18:00), a day without one
    /// is closed.
    #[schemars(length(min = 1, max = 28))]
    pub weekly: Vec<OpeningHours>,

    /// Dates (YYYY-MM-DD, in the time zone) closed all day, e.g. 2026-12-25.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 366), inner(length(max = 10)))]
    #[x_kube(validation = Rule::new("self.all(d, d.matches('^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$'))").message("each holiday must be a date YYYY-MM-DD"))]
    pub holidays: Vec<String>,
}

/// One span of one weekday, `from` inclusive to `to` exclusive, in the business hours' zone
/// (chat_settings::business_hours says what the hours mean, daylight saving included).
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
// Compared only when both are well-formed times, so a malformed one is reported once, by its own rule.
#[x_kube(validation = Rule::new("!self.from.matches('^([01][0-9]|2[0-3]):[0-5][0-9]$') || !self.to.matches('^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$') || self.from < self.to").message("from must be earlier than to; an opening past midnight is two spans, e.g. fri 22:00-24:00 and sat 00:00-06:00"))]
pub struct OpeningHours {
    pub day: Weekday,

    /// Opening time, HH:MM (24-hour).
    #[schemars(length(max = 5))]
    #[x_kube(validation = Rule::new("self.matches('^([01][0-9]|2[0-3]):[0-5][0-9]$')").message("must be a time HH:MM between 00:00 and 23:59"))]
    pub from: String,

    /// Closing time, HH:MM (24-hour) or 24:00 for the end of the day, later than from.
    #[schemars(length(max = 5))]
    #[x_kube(validation = Rule::new("self.matches('^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$')").message("must be a time HH:MM between 00:01 and 24:00"))]
    pub to: String,
}

#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl BusinessHours {
    /// CHAT_BUSINESS_HOURS in the contract's shape (chat-api-v1.md "When no one is there"):
    /// `{"timezone","weekly":[{"day","from","to"}],"holidays":[…]}`. Written out field by field,
    /// so a renamed Tenant field cannot change what the chat-server reads.
    pub fn to_contract_json(&self) -> String {
        let weekly: Vec<serde_json::Value> = self
            .weekly
            .iter()
            .map(|s| serde_json::json!({"day": s.day.as_str(), "from": s.from, "to": s.to}))
            .collect();
        serde_json::json!({
            "timezone": self.timezone,
            "weekly": weekly,
            "holidays": self.holidays,
        })
        .to_string()
    }
}

impl Weekday {
    pub fn as_str(self) -> &'static str {
        match self {
            Weekday::Mon => "mon",
            Weekday::Tue => "tue",
            Weekday::Wed => "wed",
            Weekday::Thu => "thu",
            Weekday::Fri => "fri",
            Weekday::Sat => "sat",
            Weekday::Sun => "sun",
        }
    }
}

/// Automatic assignment of new conversations.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RoutingSpec {
    /// roundRobin: a new conversation goes at once to the online agent (of its team, when it has
    /// one) with the fewest open conversations below agentCapacity; off: it waits for an agent
    /// to take it or an admin to assign it.
    #[serde(default)]
    pub mode: RoutingMode,

    /// Open conversations automatic assignment gives one agent at most; the chat-server's
    /// default (10) when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1000))]
    pub agent_capacity: Option<i32>,
}

#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum RoutingMode {
    #[default]
    Off,
    RoundRobin,
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new(
    "!has(self.minReplicas) || !has(self.maxReplicas) || self.minReplicas <= self.maxReplicas"
).message("minReplicas must not exceed maxReplicas"))]
pub struct AutoscalingSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 50))]
    pub min_replicas: Option<i32>,

    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 50))]
    pub max_replicas: Option<i32>,

    /// Average CPU utilisation (percent of requests) the autoscaler aims for.
    #[serde(
        default,
        rename = "targetCPUUtilization",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(range(min = 10, max = 95))]
    pub target_cpu_utilization: Option<i32>,
}

/// Dedicated database (issue 16).
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseSpec {
    /// true gives the tenant a database cluster of its own (on Atlas: a cluster sized by plan;
    /// self-managed: the server of the operator's dedicated template) instead of a database on the
    /// shared cluster. Unset: true on the enterprise plan, false otherwise; the starter plan
    /// cannot have one. Fixed at creation: the operator does not move data between clusters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedicated: Option<bool>,
}

impl TenantSpec {
    /// Whether the spec asks for a dedicated database: spec.database.dedicated, else the plan's
    /// default (true on enterprise).
    pub fn wants_dedicated_database(&self) -> bool {
        self.database
            .as_ref()
            .and_then(|d| d.dedicated)
            .unwrap_or(self.plan == Plan::Enterprise)
    }
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StorageSpec {
    /// Days a resolved conversation nobody changed is kept; then the chat-server erases it with
    /// its messages and files (CHAT_RETENTION_DAYS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 3650))]
    pub retention_days: Option<i32>,

    /// Largest attachment, in MiB.
    #[serde(
        default,
        rename = "maxUploadMB",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(range(min = 1, max = 1024))]
    pub max_upload_mb: Option<i32>,
}

/// Where the visitor widget may run.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WidgetSpec {
    /// Browser origins of the sites that embed the widget, e.g. https://www.acme.com or
    /// https://*.acme.com (any subdomain). Only these pages may call the chat API, open a visitor
    /// websocket, and upload to or download from the tenant's bucket; the tenant's own
    /// https://<subdomain>.<base-domain> is always allowed. Each entry is scheme://host[:port],
    /// lower case, without a path; http only for localhost and 127.0.0.1 (development).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32), inner(length(max = 270)))]
    #[x_kube(validation = Rule::new(ORIGINS_RULE).message("each entry must be a browser origin: https://host[:port] in lower case without a path (https://*.example.com for every subdomain), or http://localhost[:port] / http://127.0.0.1[:port]"))]
    pub allowed_origins: Vec<String>,
}

/// Every entry is an origin the chat-server accepts (chat_settings::rules::allowed_origin): one
/// regular expression, with the port 1..65535 spelled out and a default port (:443 for https,
/// :80 for http) refused because browsers never send it.
pub const ORIGINS_RULE: &str = concat!(
    "self.all(o, o.matches('",
    r"^(https://(\\*\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+|[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)|http://(localhost|127\\.0\\.0\\.1))(:([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?$",
    "') && !(o.startsWith('https://') && o.endsWith(':443')) && !(o.startsWith('http://') && o.endsWith(':80')))"
);

/// What the operator last did; written only through the status subresource.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TenantStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,

    /// Ready plus one per step: NamespaceReady, StorageReady, DatabaseReady, ChatServerReady, IngressReady.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,

    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,

    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,

    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,

    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<DatabaseStatus>,

    /// The tenant's own Redis user, as provisioned: deletion removes this one even if the
    /// operator would name it differently by then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bus: Option<BusStatus>,

    /// Fingerprints of what was last applied to the bucket and the database user, so a resync
    /// with nothing changed calls neither external system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied: Option<AppliedStatus>,

    /// The "tenant ready" notice of the last Ready transition (only with a notice sink
    /// configured): kept here so an operator restart neither loses nor repeats it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<NoticeStatus>,
}

/// Delivery of the notice for one Ready transition (False or absent → True).
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NoticeStatus {
    /// The Ready condition's lastTransitionTime this notice announces: a later transition to
    /// True is a new notice, the same one never is.
    pub ready_since: Time,
    /// The notice's id (the CloudEvent id, the SNS message's `id`), the same on every retry so a
    /// receiver can drop a repeat.
    pub id: String,
    /// Publish attempts so far. (The optional fields below serialize as null when unset: the
    /// status is written as a merge patch, where only null removes a field, and a new transition
    /// must not keep the last one's deliveredAt.)
    pub attempts: u32,
    #[serde(default)]
    pub last_attempt_at: Option<Time>,
    /// When the sink accepted it; unset while it is still being retried.
    #[serde(default)]
    pub delivered_at: Option<Time>,
    /// Why the last attempt failed; cleared on delivery.
    #[serde(default)]
    pub last_error: Option<String>,
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AppliedStatus {
    /// SHA-256 of the bucket settings last converged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<String>,
    /// SHA-256 of the database user (name, database, password) last converged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// SHA-256 of the tenant's Redis user (name, channels, password, commands) last converged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bus: Option<String>,
    /// The atendo.io/reconcile-requested-at value last honoured: a new one re-applies them all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconcile_requested_at: Option<String>,
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct DatabaseStatus {
    pub name: String,
    pub user: String,
    /// The tenant's dedicated database cluster (spec.database.dedicated), absent on the shared
    /// one: deletion retires this cluster, and the placement it records is never changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// The dedicated cluster's address without credentials (e.g. Atlas's standardSrv), once the
    /// provider reported it; the tenant's CHAT_STORE points there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct BusStatus {
    /// The Redis ACL (or ElastiCache) user the tenant's chat-servers sign in as.
    pub user: String,
}

impl Tenant {
    /// The subdomain in force: spec.subdomain, or metadata.name.
    pub fn subdomain(&self) -> &str {
        self.spec
            .subdomain
            .as_deref()
            .or(self.metadata.name.as_deref())
            .unwrap_or_default()
    }
}
