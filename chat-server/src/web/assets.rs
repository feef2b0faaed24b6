//! The static files of both screens, compiled into the binary so that a plain `cargo build`
//! yields a server that needs no files next to it (and no npm step).

/// Who loads a file, which decides its cross-origin headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audience {
    /// The console page, only ever loaded by this server's own origin.
    ConsolePage,
    /// Scripts and styles of the console: same-origin only.
    Console,
    /// The widget and the modules it shares with the console: loaded by customers' sites.
    Widget,
}

pub struct Asset {
    /// Where it is served.
    pub url: &'static str,
    /// Its path below `chat-server/web/`; only tests read it (every file there is embedded).
    #[cfg_attr(not(test), allow(dead_code))]
    pub file: &'static str,
    pub content_type: &'static str,
    pub audience: Audience,
    pub body: &'static [u8],
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

macro_rules! asset {
    ($url:literal, $file:literal, $type:expr, $audience:ident) => {
        Asset {
            url: $url,
            file: $file,
            content_type: $type,
            audience: Audience::$audience,
            body: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/web/", $file)),
        }
    };
}

pub static ASSETS: &[Asset] = &[
    asset!("/", "console/index.html", HTML, ConsolePage),
    asset!("/assets/console/app.js", "console/app.js", JS, Console),
    asset!("/assets/console/admin.js", "console/admin.js", JS, Console),
    asset!(
        "/assets/console/admin-data.js",
        "console/admin-data.js",
        JS,
        Console
    ),
    asset!(
        "/assets/console/admin-agents.js",
        "console/admin-agents.js",
        JS,
        Console
    ),
    asset!("/assets/console/inbox.js", "console/inbox.js", JS, Console),
    asset!(
        "/assets/console/reports.js",
        "console/reports.js",
        JS,
        Console
    ),
    asset!("/assets/console/chart.js", "console/chart.js", JS, Console),
    asset!(
        "/assets/console/thread.js",
        "console/thread.js",
        JS,
        Console
    ),
    asset!("/assets/console/team.js", "console/team.js", JS, Console),
    asset!(
        "/assets/console/notify.js",
        "console/notify.js",
        JS,
        Console
    ),
    asset!("/assets/console/sso.js", "console/sso.js", JS, Console),
    asset!(
        "/assets/console/compose.js",
        "console/compose.js",
        JS,
        Console
    ),
    asset!(
        "/assets/console/canned.js",
        "console/canned.js",
        JS,
        Console
    ),
    asset!(
        "/assets/console/assign.js",
        "console/assign.js",
        JS,
        Console
    ),
    asset!(
        "/assets/console/labels.js",
        "console/labels.js",
        JS,
        Console
    ),
    asset!(
        "/assets/console/search.js",
        "console/search.js",
        JS,
        Console
    ),
    asset!(
        "/assets/console/fields.js",
        "console/fields.js",
        JS,
        Console
    ),
    asset!(
        "/assets/console/admin-canned.js",
        "console/admin-canned.js",
        JS,
        Console
    ),
    asset!(
        "/assets/console/admin-webhooks.js",
        "console/admin-webhooks.js",
        JS,
        Console
    ),
    asset!(
        "/assets/console/webhook-log.js",
        "console/webhook-log.js",
        JS,
        Console
    ),
    asset!(
        "/assets/console/admin-teams.js",
        "console/admin-teams.js",
        JS,
        Console
    ),
    asset!(
        "/assets/console/account.js",
        "console/account.js",
        JS,
        Console
    ),
    asset!(
        "/assets/console/password-reset.js",
        "console/password-reset.js",
        JS,
        Console
    ),
    asset!(
        "/assets/console/console.css",
        "console/console.css",
        CSS,
        Console
    ),
    asset!("/widget.js", "widget/loader.js", JS, Widget),
    asset!("/assets/widget/main.js", "widget/main.js", JS, Widget),
    asset!("/assets/widget/view.js", "widget/view.js", JS, Widget),
    asset!("/assets/widget/rating.js", "widget/rating.js", JS, Widget),
    asset!("/assets/widget/offline.js", "widget/offline.js", JS, Widget),
    asset!(
        "/assets/widget/viewport.js",
        "widget/viewport.js",
        JS,
        Widget
    ),
    asset!(
        "/assets/widget/widget.css",
        "widget/widget.css",
        CSS,
        Widget
    ),
    asset!("/assets/shared/client.js", "shared/client.js", JS, Widget),
    asset!(
        "/assets/shared/conversation.js",
        "shared/conversation.js",
        JS,
        Widget
    ),
    asset!("/assets/shared/limits.js", "shared/limits.js", JS, Widget),
    asset!(
        "/assets/shared/reconnect.js",
        "shared/reconnect.js",
        JS,
        Widget
    ),
    asset!("/assets/shared/socket.js", "shared/socket.js", JS, Widget),
    asset!(
        "/assets/shared/timeline.js",
        "shared/timeline.js",
        JS,
        Widget
    ),
    asset!("/assets/shared/dom.js", "shared/dom.js", JS, Widget),
    asset!("/assets/shared/i18n.js", "shared/i18n.js", JS, Widget),
];

/// A strong validator for the embedded bytes (FNV-1a): stable for one build, new when a file
/// changes, so browsers revalidate cheaply and never keep a stale script after an upgrade.
pub fn etag(body: &[u8]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in body {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("\"{hash:016x}\"")
}
