//! The `/api/v1` route table, written once and expanded twice: into the router the server
//! serves, and into the OpenAPI router [`openapi::document`](super::openapi::document) is built
//! from. Each group is the handlers of one path, each annotated with `#[utoipa::path]`, which
//! names its path and methods, so neither expansion can miss or misplace a route.
//!
//! Why two: `utoipa_axum::routes!` builds every operation's OpenAPI description (its schemas,
//! responses, examples) as it routes. Served that way, every start ran 0.8 MB of such code that
//! nobody reads unless `/api/v1/openapi.json` is asked for, and an idle tenant kept those pages.

use axum::Router;
use utoipa_axum::router::OpenApiRouter;

use super::{
    AppState, api_tokens, availability, canned, conversations, identity, openapi, password_reset,
    ratings, reports, rights, search, sessions, teams, transcript, transcript_mail, uploads,
    visitors, webhooks, ws,
};

macro_rules! route_table {
    ($( ( $( $module:ident :: $handler:ident ),+ $(,)? ) ),* $(,)?) => {
        /// The routes as served: each handler on the path and methods its `#[utoipa::path]` names.
        pub(super) fn served() -> Router<AppState> {
            use utoipa::Path as _;
            use utoipa_axum::PathItemExt as _;
            let router = Router::new();
            $(
                let mut paths = Vec::new();
                let mut methods = axum::routing::MethodRouter::new();
                $(
                    utoipa_axum::paste! {
                        paths.push($module::[<__path_ $handler>]::path());
                        for method in $module::[<__path_ $handler>]::methods() {
                            methods = methods.on(method.to_method_filter(), $module::$handler);
                        }
                    }
                )+
                paths.dedup();
                assert_eq!(paths.len(), 1, "one group of the route table, one path: {paths:?}");
                let router = router.route(&paths[0], methods);
            )*
            router
        }

        /// The same routes with their OpenAPI operations, for the document.
        pub(crate) fn documented() -> OpenApiRouter<AppState> {
            OpenApiRouter::new()
                $( .routes(utoipa_axum::routes!($( $module::$handler ),+)) )*
        }
    };
}

route_table![
    (identity::create_visitor),
    (identity::login),
    (identity::create_agent, identity::list_agents),
    (sessions::change, sessions::delete),
    (sessions::password),
    (password_reset::request),
    (password_reset::confirm),
    (sessions::logout),
    (identity::me),
    (conversations::create, conversations::list),
    (conversations::get),
    (conversations::messages, conversations::send),
    (conversations::assign),
    (conversations::status),
    (conversations::labels),
    (transcript::transcript),
    (rights::export),
    (rights::erase_visitor),
    (teams::list, teams::create),
    (teams::get, teams::update, teams::delete),
    (canned::list, canned::create),
    (canned::replace, canned::delete),
    (search::search),
    (ratings::rate),
    (reports::summary),
    (api_tokens::list, api_tokens::create),
    (api_tokens::delete),
    (webhooks::create, webhooks::list),
    (webhooks::get, webhooks::delete),
    (webhooks::deliveries),
    (uploads::create),
    (uploads::download),
    (ws::upgrade),
    (openapi::openapi_json),
    // When no one is there (chat-api-v1 v1.1).
    (availability::availability),
    (visitors::update_me),
    (transcript_mail::email),
];
