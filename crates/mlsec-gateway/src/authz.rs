//! Authorization with Cedar policies: may this key do this operation on this
//! model? Deny unless a policy permits, and no policy forbids.
//!
//! - principal: `Key::"<key id>"`, in `Group::"<group>"` for each of its
//!   groups, with `owner` and `tier` ("" when none);
//! - action: `Action::"chat" | "complete" | "embed" | "infer" | "metadata"`,
//!   or `Action::"admin"` for the admin endpoints;
//! - resource: `Model::"<model>"` with `route`, `protocol` and `sensitivity`
//!   (from `[models.NAME]`, default "normal"); for admin, `Gateway::"gateway"`
//!   with route and protocol "admin" and sensitivity "high";
//! - context: `client` (the client's IP address) and `stream`.
//!
//! Policies are checked against the schema below when they are loaded; a
//! policy that names an unknown attribute or action is refused then, not
//! found wanting on a live request.

use cedar_policy::{
    Authorizer, Context, Decision, Entities, Entity, EntityId, EntityTypeName, EntityUid, PolicyId,
    PolicySet, Request, RestrictedExpression, Schema, ValidationMode, Validator,
};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::str::FromStr;
use std::sync::Mutex;

/// The entities, actions and context policies are written against.
pub const SCHEMA: &str = r#"
entity Group;
entity Key in [Group] {
  owner: String,
  tier: String,
};
entity Model {
  route: String,
  protocol: String,
  sensitivity: String,
};
action chat, complete, embed, infer, metadata appliesTo {
  principal: [Key],
  resource: [Model],
  context: {
    client: String,
    stream: Bool,
  },
};
entity Gateway {
  route: String,
  protocol: String,
  sensitivity: String,
};
action admin appliesTo {
  principal: [Key],
  resource: [Gateway],
  context: {
    client: String,
    stream: Bool,
  },
};
"#;

/// What a request asks, as Cedar sees it.
pub struct Query<'a> {
    pub key_id: &'a str,
    pub owner: &'a str,
    pub tier: &'a str,
    pub groups: &'a [String],
    pub action: &'a str,
    pub model: &'a str,
    pub route: &'a str,
    pub protocol: &'a str,
    pub sensitivity: &'a str,
    pub client: &'a str,
    pub stream: bool,
}

/// The decision and the policies that made it (their `@id`, or Cedar's id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub allowed: bool,
    pub policies: Vec<String>,
    /// Errors evaluating policies (a policy that errors does not apply).
    pub errors: Vec<String>,
}

pub struct Policies {
    set: PolicySet,
    schema: Schema,
    authorizer: Authorizer,
    types: TypeNames,
    /// Each policy's `@id` (or Cedar's id), looked up once: reading an
    /// annotation parses its key.
    names: HashMap<PolicyId, String>,
    /// Decisions already made. Cedar's answer depends on nothing but the
    /// query, and building its entities is most of a request's authorization
    /// cost; a reload makes new `Policies` and so starts a new cache.
    decided: Mutex<HashMap<QueryKey, Verdict>>,
}

/// Most decisions kept; the cache is emptied when it is full.
const MAX_DECIDED: usize = 4096;
/// Queries longer than this (all fields together) are decided, not kept.
const MAX_KEPT_QUERY: usize = 1024;

/// Every field of a `Query`, owned: two queries share a decision only when
/// all of them are equal.
#[derive(Hash, PartialEq, Eq)]
struct QueryKey {
    key_id: String,
    owner: String,
    tier: String,
    groups: Vec<String>,
    action: String,
    model: String,
    route: String,
    protocol: String,
    sensitivity: String,
    client: String,
    stream: bool,
}

impl QueryKey {
    fn of(q: &Query<'_>) -> Option<QueryKey> {
        let fields = [
            q.key_id,
            q.owner,
            q.tier,
            q.action,
            q.model,
            q.route,
            q.protocol,
            q.sensitivity,
            q.client,
        ];
        let size = fields.iter().map(|f| f.len()).sum::<usize>()
            + q.groups.iter().map(String::len).sum::<usize>();
        (size <= MAX_KEPT_QUERY).then(|| QueryKey {
            key_id: q.key_id.to_string(),
            owner: q.owner.to_string(),
            tier: q.tier.to_string(),
            groups: q.groups.to_vec(),
            action: q.action.to_string(),
            model: q.model.to_string(),
            route: q.route.to_string(),
            protocol: q.protocol.to_string(),
            sensitivity: q.sensitivity.to_string(),
            client: q.client.to_string(),
            stream: q.stream,
        })
    }
}

/// The schema's entity type names, parsed once: parsing one runs Cedar's
/// parser, which builds its lexer's regexes on every call.
struct TypeNames {
    key: EntityTypeName,
    group: EntityTypeName,
    model: EntityTypeName,
    gateway: EntityTypeName,
    action: EntityTypeName,
}

impl TypeNames {
    fn new() -> Result<TypeNames, String> {
        let name = |n: &str| {
            EntityTypeName::from_str(n).map_err(|e| format!("internal error: type {n}: {e}"))
        };
        Ok(TypeNames {
            key: name("Key")?,
            group: name("Group")?,
            model: name("Model")?,
            gateway: name("Gateway")?,
            action: name("Action")?,
        })
    }
}

impl Policies {
    /// Reads and validates the Cedar policies at `path`.
    pub fn load(path: &Path) -> Result<Policies, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Policies::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Policies, String> {
        let (schema, _) = Schema::from_cedarschema_str(SCHEMA)
            .map_err(|e| format!("internal error: built-in schema: {e}"))?;
        let set = PolicySet::from_str(text).map_err(|e| first_line(&e.to_string()))?;
        let result = Validator::new(schema.clone()).validate(&set, ValidationMode::Strict);
        if let Some(e) = result.validation_errors().next() {
            return Err(format!("policy does not fit the gateway's schema: {e}"));
        }
        let names = set
            .policies()
            .map(|p| {
                let name = p
                    .annotation("id")
                    .map_or_else(|| p.id().to_string(), str::to_string);
                (p.id().clone(), name)
            })
            .collect();
        Ok(Policies {
            set,
            schema,
            authorizer: Authorizer::new(),
            types: TypeNames::new()?,
            names,
            decided: Mutex::new(HashMap::new()),
        })
    }

    pub fn len(&self) -> usize {
        self.set.policies().count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Decides one request.
    pub fn decide(&self, q: &Query<'_>) -> Result<Verdict, String> {
        let Some(key) = QueryKey::of(q) else {
            return self.evaluate(q);
        };
        let lock = || self.decided.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(v) = lock().get(&key) {
            return Ok(v.clone());
        }
        let verdict = self.evaluate(q)?;
        let mut decided = lock();
        if decided.len() >= MAX_DECIDED {
            decided.clear();
        }
        decided.insert(key, verdict.clone());
        Ok(verdict)
    }

    /// Asks Cedar.
    fn evaluate(&self, q: &Query<'_>) -> Result<Verdict, String> {
        let t = &self.types;
        let uid = |kind: &EntityTypeName, id: &str| {
            EntityUid::from_type_name_and_id(kind.clone(), EntityId::new(id))
        };
        let s = |v: &str| RestrictedExpression::new_string(v.to_string());
        let key = uid(&t.key, q.key_id);
        let admin = q.action == "admin";
        let model = uid(if admin { &t.gateway } else { &t.model }, q.model);
        let groups: HashSet<EntityUid> = q.groups.iter().map(|g| uid(&t.group, g)).collect();
        let mut entities: Vec<Entity> = groups
            .iter()
            .map(|g| Entity::new_no_attrs(g.clone(), HashSet::new()))
            .collect();
        entities.push(
            Entity::new(
                key.clone(),
                HashMap::from([
                    ("owner".to_string(), s(q.owner)),
                    ("tier".to_string(), s(q.tier)),
                ]),
                groups,
            )
            .map_err(|e| e.to_string())?,
        );
        // The gateway has the attributes a model has, so that policies
        // written for every action still check against the schema.
        entities.push(
            Entity::new(
                model.clone(),
                HashMap::from([
                    ("route".to_string(), s(q.route)),
                    ("protocol".to_string(), s(q.protocol)),
                    ("sensitivity".to_string(), s(q.sensitivity)),
                ]),
                HashSet::new(),
            )
            .map_err(|e| e.to_string())?,
        );
        let entities =
            Entities::from_entities(entities, Some(&self.schema)).map_err(|e| e.to_string())?;
        let context = Context::from_pairs([
            ("client".to_string(), s(q.client)),
            (
                "stream".to_string(),
                RestrictedExpression::new_bool(q.stream),
            ),
        ])
        .map_err(|e| e.to_string())?;
        let request = Request::new(
            key,
            uid(&t.action, q.action),
            model,
            context,
            Some(&self.schema),
        )
        .map_err(|e| e.to_string())?;
        let response = self
            .authorizer
            .is_authorized(&request, &self.set, &entities);
        let policies = response
            .diagnostics()
            .reason()
            .map(|id| {
                self.names
                    .get(id)
                    .cloned()
                    .unwrap_or_else(|| id.to_string())
            })
            .collect();
        Ok(Verdict {
            allowed: response.decision() == Decision::Allow,
            policies,
            errors: response
                .diagnostics()
                .errors()
                .map(|e| e.to_string())
                .collect(),
        })
    }
}

/// Cedar's parse errors span lines; the first line names the problem.
fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or(text).to_string()
}

impl std::fmt::Debug for Policies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Policies({} policies)", self.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query<'a>(groups: &'a [String], action: &'a str, sensitivity: &'a str) -> Query<'a> {
        Query {
            key_id: "k1",
            owner: "alice",
            tier: "",
            groups,
            action,
            model: "llama",
            route: "llm",
            protocol: "openai",
            sensitivity,
            client: "10.0.0.1",
            stream: false,
        }
    }

    const POLICIES: &str = r#"
@id("ml-team-chat")
permit (principal in Group::"ml", action in [Action::"chat", Action::"embed"], resource);

@id("no-high-sensitivity-for-interns")
forbid (principal in Group::"interns", action, resource)
when { resource.sensitivity == "high" };
"#;

    #[test]
    fn permits_forbids_and_denies_by_default() {
        let p = Policies::parse(POLICIES).unwrap();
        let ml = vec!["ml".to_string()];
        let v = p.decide(&query(&ml, "chat", "normal")).unwrap();
        assert!(v.allowed);
        assert_eq!(v.policies, vec!["ml-team-chat"]);
        assert!(
            !p.decide(&query(&ml, "infer", "normal")).unwrap().allowed,
            "no policy permits infer"
        );
        let intern = vec!["ml".to_string(), "interns".to_string()];
        let v = p.decide(&query(&intern, "chat", "high")).unwrap();
        assert!(!v.allowed);
        assert_eq!(v.policies, vec!["no-high-sensitivity-for-interns"]);
        assert!(!p.decide(&query(&[], "chat", "normal")).unwrap().allowed);
    }

    /// Kept decisions answer only the very same query: one field apart
    /// (here the client, which the policy reads) is decided anew.
    #[test]
    fn kept_decisions_answer_only_the_same_query() {
        let p = Policies::parse(
            r#"@id("office") permit (principal, action == Action::"chat", resource)
               when { context.client == "10.0.0.1" };"#,
        )
        .unwrap();
        let ml = vec!["ml".to_string()];
        let office = query(&ml, "chat", "normal");
        let home = Query {
            client: "10.0.0.2",
            ..query(&ml, "chat", "normal")
        };
        for _ in 0..2 {
            assert!(p.decide(&office).unwrap().allowed);
            assert!(!p.decide(&home).unwrap().allowed);
        }
        // Groups that join to the same text are still different queries.
        let split = vec!["a".to_string(), "b".to_string()];
        let joined = vec!["ab".to_string()];
        assert!(
            QueryKey::of(&query(&split, "chat", "normal"))
                != QueryKey::of(&query(&joined, "chat", "normal"))
        );
        // The cache stays bounded however many clients ask.
        let clients: Vec<String> = (0..MAX_DECIDED + 10)
            .map(|i| format!("10.1.{}.{}", i / 256, i % 256))
            .collect();
        for c in &clients {
            let q = Query {
                client: c,
                ..query(&ml, "chat", "normal")
            };
            assert!(!p.decide(&q).unwrap().allowed);
        }
        assert!(p.decided.lock().unwrap().len() <= MAX_DECIDED);
        assert!(p.decide(&office).unwrap().allowed);
    }

    #[test]
    fn a_policy_without_an_id_is_named_by_cedar() {
        let p = Policies::parse(
            r#"permit (principal in Group::"ml", action == Action::"chat", resource);"#,
        )
        .unwrap();
        let ml = vec!["ml".to_string()];
        let v = p.decide(&query(&ml, "chat", "normal")).unwrap();
        assert!(v.allowed);
        assert_eq!(v.policies, vec!["policy0"]);
    }

    #[test]
    fn policies_that_do_not_fit_the_schema_are_refused_at_load() {
        let e = Policies::parse("permit (principal, action == Action::\"delete\", resource);")
            .err()
            .unwrap();
        assert!(e.contains("schema"), "{e}");
        let e = Policies::parse(
            "permit (principal, action, resource) when { resource.colour == \"red\" };",
        )
        .err()
        .unwrap();
        assert!(e.contains("schema"), "{e}");
        assert!(Policies::parse("permit (principal, action, resource").is_err());
    }
}
