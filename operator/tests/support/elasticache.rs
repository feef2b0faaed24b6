//! An ElastiCache RBAC stand-in on `wiremock` (moto 5.2.5 models CreateUser, DeleteUser and
//! DescribeUsers but neither ModifyUser nor user groups, so it cannot stand in here). It speaks
//! the Query protocol the SDK uses (form-encoded POST, Action and Version=2015-02-02, XML answers
//! and errors), refuses requests that are not SigV4-signed for the `elasticache` service, records
//! every request, and keeps users and one user group in memory with ElastiCache's asynchrony: a
//! created or modified user, and a modified group, stay `modifying` for a number of Describe calls
//! and refuse changes meanwhile (InvalidUserState / InvalidUserGroupState), as ElastiCache does.
//!
//! Not modelled: other actions, pagination, replication groups, the engine's own ACLs (the probe
//! reads the access string instead), real rate limits.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

pub const GROUP: &str = "atendo-tenants";
const XMLNS: &str = "http://elasticache.amazonaws.com/doc/2015-02-02/";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub access_string: String,
    pub passwords: Vec<String>,
    pub engine: String,
    /// Describe calls left before it is `active` again.
    pub modifying: u32,
}

#[derive(Clone, Debug, Default)]
pub struct Group {
    pub members: Vec<String>,
    pub adding: Vec<String>,
    pub removing: Vec<String>,
    pub modifying: u32,
}

#[derive(Default)]
pub struct World {
    pub users: BTreeMap<String, User>,
    pub group: Group,
    /// Every request: its form parameters (Action first).
    pub requests: Vec<BTreeMap<String, String>>,
    /// Describe calls a change keeps a user or the group `modifying`.
    pub settle_after: u32,
    /// Every answer while set, instead of serving: (status, code).
    pub fault: Option<(u16, String)>,
    /// The next this many ModifyUserGroup calls find the group just changed by someone else:
    /// InvalidUserGroupState, and the group `modifying` for `settle_after` looks.
    pub concurrent_group_changes: u32,
}

#[derive(Clone)]
pub struct State(pub Arc<Mutex<World>>);

pub struct ElastiCacheStandIn {
    pub server: MockServer,
    pub state: State,
}

impl ElastiCacheStandIn {
    pub async fn start() -> Self {
        let server = MockServer::start().await;
        let state = State(Arc::new(Mutex::new(World {
            group: Group {
                members: vec!["default".into()],
                ..Group::default()
            },
            settle_after: 2,
            ..World::default()
        })));
        Mock::given(any())
            .respond_with(Serve(state.clone()))
            .mount(&server)
            .await;
        ElastiCacheStandIn { server, state }
    }

    pub fn world(&self) -> std::sync::MutexGuard<'_, World> {
        self.state.0.lock().unwrap()
    }

    /// The actions received, in order.
    pub fn actions(&self) -> Vec<String> {
        self.world()
            .requests
            .iter()
            .map(|r| r["Action"].clone())
            .collect()
    }

    /// An SDK client signed with static test keys, pointed at the stand-in. Without the SDK's
    /// retries, so one injected fault is one failure.
    pub fn client(&self) -> aws_sdk_elasticache::Client {
        let config = aws_sdk_elasticache::Config::builder()
            .behavior_version(aws_sdk_elasticache::config::BehaviorVersion::latest())
            .region(aws_sdk_elasticache::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_elasticache::config::Credentials::new(
                "AKIDTEST",
                "test-secret",
                None,
                None,
                "test",
            ))
            .endpoint_url(self.server.uri())
            .retry_config(aws_sdk_elasticache::config::retry::RetryConfig::disabled())
            .build();
        aws_sdk_elasticache::Client::from_conf(config)
    }
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

fn form(body: &[u8]) -> BTreeMap<String, String> {
    std::str::from_utf8(body)
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// `Prefix.member.1`, `Prefix.member.2`, … in order.
fn members(params: &BTreeMap<String, String>, prefix: &str) -> Vec<String> {
    (1..)
        .map_while(|n| params.get(&format!("{prefix}.member.{n}")).cloned())
        .collect()
}

fn list(items: &[String]) -> String {
    items
        .iter()
        .map(|i| format!("<member>{i}</member>"))
        .collect()
}

fn user_xml(id: &str, u: &User) -> String {
    let status = if u.modifying > 0 {
        "modifying"
    } else {
        "active"
    };
    format!(
        "<UserId>{id}</UserId><UserName>{id}</UserName><Status>{status}</Status><Engine>{}</Engine>\
         <MinimumEngineVersion>6.0</MinimumEngineVersion><AccessString>{}</AccessString>\
         <Authentication><Type>password</Type><PasswordCount>{}</PasswordCount></Authentication>\
         <ARN>arn:aws:elasticache:us-east-1:123456789012:user:{id}</ARN>",
        u.engine,
        u.access_string.replace('&', "&amp;"),
        u.passwords.len()
    )
}

fn group_xml(g: &Group) -> String {
    let status = if g.modifying > 0 {
        "modifying"
    } else {
        "active"
    };
    let pending = if g.adding.is_empty() && g.removing.is_empty() {
        String::new()
    } else {
        format!(
            "<PendingChanges><UserIdsToAdd>{}</UserIdsToAdd><UserIdsToRemove>{}</UserIdsToRemove></PendingChanges>",
            list(&g.adding),
            list(&g.removing)
        )
    };
    format!(
        "<UserGroupId>{GROUP}</UserGroupId><Status>{status}</Status><Engine>redis</Engine>\
         <UserIds>{}</UserIds>{pending}<ReplicationGroups><member>atendo</member></ReplicationGroups>\
         <ARN>arn:aws:elasticache:us-east-1:123456789012:usergroup:{GROUP}</ARN>",
        list(&g.members)
    )
}

fn ok(action: &str, result: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(
        format!(
            "<{action}Response xmlns=\"{XMLNS}\"><{action}Result>{result}</{action}Result>\
             <ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></{action}Response>"
        ),
        "text/xml",
    )
}

fn error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(
        format!(
            "<ErrorResponse xmlns=\"{XMLNS}\"><Error><Type>Sender</Type><Code>{code}</Code>\
             <Message>{message}</Message></Error><RequestId>req-1</RequestId></ErrorResponse>"
        ),
        "text/xml",
    )
}

struct Serve(State);

impl Respond for Serve {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let signed = request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| {
                a.starts_with("AWS4-HMAC-SHA256 Credential=AKIDTEST/")
                    && a.contains("/us-east-1/elasticache/aws4_request")
            });
        if !signed {
            return error(
                403,
                "InvalidClientTokenId",
                "the request is not signed for elasticache",
            );
        }
        let params = form(&request.body);
        let mut w = self.0.0.lock().unwrap();
        w.requests.push(params.clone());
        if params.get("Version").map(String::as_str) != Some("2015-02-02") {
            return error(400, "InvalidParameterValue", "Version must be 2015-02-02");
        }
        if let Some((status, code)) = w.fault.clone() {
            return error(status, &code, "injected by the test");
        }
        let action = params.get("Action").cloned().unwrap_or_default();
        let settle = w.settle_after;
        let p = |k: &str| params.get(k).cloned().unwrap_or_default();
        match action.as_str() {
            "DescribeUsers" => {
                let id = p("UserId");
                let Some(user) = w.users.get_mut(&id) else {
                    return error(404, "UserNotFound", &format!("User {id} not found."));
                };
                let xml = user_xml(&id, user);
                user.modifying = user.modifying.saturating_sub(1);
                ok(&action, &format!("<Users><member>{xml}</member></Users>"))
            }
            "CreateUser" => {
                let id = p("UserId");
                if w.users.contains_key(&id) {
                    return error(
                        400,
                        "UserAlreadyExists",
                        &format!("User {id} already exists."),
                    );
                }
                if p("UserName") != id
                    || p("Engine") != "redis"
                    || p("AuthenticationMode.Type") != "password"
                {
                    return error(
                        400,
                        "InvalidParameterValue",
                        "unexpected CreateUser parameters",
                    );
                }
                let user = User {
                    access_string: p("AccessString"),
                    passwords: members(&params, "AuthenticationMode.Passwords"),
                    engine: p("Engine"),
                    modifying: settle,
                };
                let xml = user_xml(&id, &user);
                w.users.insert(id, user);
                ok(&action, &xml)
            }
            "ModifyUser" => {
                let id = p("UserId");
                let Some(user) = w.users.get_mut(&id) else {
                    return error(404, "UserNotFound", &format!("User {id} not found."));
                };
                if user.modifying > 0 {
                    return error(
                        400,
                        "InvalidUserState",
                        &format!("User {id} is not active."),
                    );
                }
                if let Some(access) = params.get("AccessString") {
                    user.access_string = access.clone();
                }
                if params.contains_key("AuthenticationMode.Type") {
                    user.passwords = members(&params, "AuthenticationMode.Passwords");
                }
                user.modifying = settle;
                ok(&action, &user_xml(&id, user))
            }
            "DeleteUser" => {
                let id = p("UserId");
                match w.users.get(&id) {
                    None => error(404, "UserNotFound", &format!("User {id} not found.")),
                    Some(u) if u.modifying > 0 => error(
                        400,
                        "InvalidUserState",
                        &format!("User {id} is not active."),
                    ),
                    Some(u) => {
                        let xml = user_xml(&id, u);
                        w.users.remove(&id);
                        w.group.members.retain(|m| *m != id);
                        ok(&action, &xml)
                    }
                }
            }
            "DescribeUserGroups" => {
                if p("UserGroupId") != GROUP {
                    return error(404, "UserGroupNotFound", "User group not found.");
                }
                let xml = group_xml(&w.group);
                let g = &mut w.group;
                if g.modifying > 0 {
                    g.modifying -= 1;
                    if g.modifying == 0 {
                        let adding = std::mem::take(&mut g.adding);
                        let removing = std::mem::take(&mut g.removing);
                        g.members.extend(adding);
                        g.members.retain(|m| !removing.contains(m));
                    }
                }
                ok(
                    &action,
                    &format!("<UserGroups><member>{xml}</member></UserGroups>"),
                )
            }
            "ModifyUserGroup" => {
                if p("UserGroupId") != GROUP {
                    return error(404, "UserGroupNotFound", "User group not found.");
                }
                if w.concurrent_group_changes > 0 {
                    w.concurrent_group_changes -= 1;
                    w.group.modifying = settle;
                }
                if w.group.modifying > 0 {
                    return error(400, "InvalidUserGroupState", "User group is not active.");
                }
                let adding = members(&params, "UserIdsToAdd");
                if let Some(missing) = adding.iter().find(|id| !w.users.contains_key(*id)) {
                    return error(404, "UserNotFound", &format!("User {missing} not found."));
                }
                if let Some(busy) = adding.iter().find(|id| w.users[*id].modifying > 0) {
                    return error(
                        400,
                        "InvalidUserState",
                        &format!("User {busy} is not active."),
                    );
                }
                let removing = members(&params, "UserIdsToRemove");
                if let Some(stranger) = removing.iter().find(|id| !w.group.members.contains(id)) {
                    return error(
                        400,
                        "InvalidParameterValue",
                        &format!("User {stranger} is not a member of the user group."),
                    );
                }
                w.group.adding = adding;
                w.group.removing = removing;
                w.group.modifying = settle;
                ok(&action, &group_xml(&w.group))
            }
            other => error(400, "InvalidAction", &format!("{other} is not modelled")),
        }
    }
}
